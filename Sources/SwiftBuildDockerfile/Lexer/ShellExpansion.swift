/// The outcome of expanding one word: its text and which variable names the expansion looked up.
public struct ShellExpansion: Sendable, Equatable {
    /// The expanded text (quotes removed, variables substituted, escapes applied; whitespace kept as is).
    public var result: String
    /// Names that were looked up and were set (even when set to the empty string).
    public var matched: Set<String>
    /// Names that were looked up and were not set.
    public var unmatched: Set<String>

    public init(result: String, matched: Set<String> = [], unmatched: Set<String> = []) {
        self.result = result
        self.matched = matched
        self.unmatched = unmatched
    }
}
