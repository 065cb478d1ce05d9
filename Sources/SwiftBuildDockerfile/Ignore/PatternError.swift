/// Why a `.dockerignore` pattern list was rejected or could not be matched. `index` is the pattern's position
/// (0-based) in the list given to `PatternMatcher`.
public enum PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A pattern that is only `!` (BuildKit: `illegal exclusion pattern: "!"`).
    case illegalExclusion(index: Int)
    /// A malformed pattern (BuildKit: `syntax error in pattern`), with the detail that made it so.
    case syntax(pattern: String, index: Int, reason: String)

    public var description: String {
        switch self {
        case .illegalExclusion(let index):
            return "pattern \(index + 1): illegal exclusion pattern: \"!\""
        case .syntax(let pattern, let index, let reason):
            return "pattern \(index + 1) \"\(pattern)\": syntax error in pattern (\(reason))"
        }
    }
}
