/// Why an expression was rejected, with Go's error code names and the offending text.
struct MiniRegexError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        case invalidCharRange = "invalid character class range"
        case invalidEscape = "invalid escape sequence"
        case invalidNestedRepeat = "invalid nested repetition operator"
        case missingBracket = "missing closing ]"
        case missingParen = "missing closing )"
        case missingRepeatArgument = "missing argument to repetition operator"
        case trailingBackslash = "trailing backslash at end of expression"
        case unexpectedParen = "unexpected )"
        case nestingDepth = "expression nests too deeply"
        case unsupported = "unsupported syntax"
    }
    var code: Code
    var expression: String
    var description: String { expression.isEmpty ? code.rawValue : "\(code.rawValue): `\(expression)`" }
}
