// TEMPORARY, NOT COMMITTED: replaced by the real lexer on merge.
public struct ShellLexerError: Error, CustomStringConvertible { public var message: String; public var description: String { message } }
public struct ShellEnvironment: Sendable { public init(entries: [String]) {} }
public struct ShellLexer: Sendable {
    public struct Options: OptionSet, Sendable { public let rawValue: Int; public init(rawValue: Int) { self.rawValue = rawValue }
        public static let rawQuotes = Options(rawValue: 1); public static let rawEscapes = Options(rawValue: 2)
        public static let skipProcessQuotes = Options(rawValue: 4); public static let skipUnsetEnv = Options(rawValue: 8) }
    var options: Options
    public init(escapeToken: Unicode.Scalar = "\\", options: Options = []) { self.options = options }
    public func processWord(_ text: String, environment: ShellEnvironment) throws(ShellLexerError) -> String { text }
    public func processWords(_ text: String, environment: ShellEnvironment) throws(ShellLexerError) -> [String] {
        var out: [String] = []; var w = ""; var q: Character? = nil
        for c in text { if let qq = q { if c == qq { q = nil; if options.contains(.rawQuotes) { w.append(c) } } else { w.append(c) }; continue }
            if c == "'" || c == "\"" { q = c; if options.contains(.rawQuotes) { w.append(c) }; continue }
            if c == " " || c == "\t" { if !w.isEmpty { out.append(w); w = "" }; continue }; w.append(c) }
        if q != nil { throw ShellLexerError(message: "unterminated quote") }
        if !w.isEmpty { out.append(w) }; return out
    }
}
