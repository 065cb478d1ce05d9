/// Why a word could not be expanded. ``message`` is BuildKit's text: `failed to process "<word>": <reason>`.
public struct ShellLexerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong; a closed set.
    public enum Kind: Equatable, Sendable {
        /// A `'` without its closing `'`.
        case unterminatedSingleQuote
        /// A `"` without its closing `"`.
        case unterminatedDoubleQuote
        /// The text ended inside `${...}` before its closing `}`.
        case missingClosingBrace
        /// `${NAME/pattern/replacement}` without the second `/`.
        case missingSlash
        /// `${{`, `${}` or `${:`.
        case badSubstitution
        /// An operator inside `${NAME...}` that is not supported (`=`, `:=`, `:#`, `:2`, ...); holds the operator.
        case unsupportedModifier(String)
        /// `${NAME?message}` / `${NAME:?message}` with `NAME` unset (or empty, for `:?`).
        case requiredVariable(name: String, message: String)
        /// `${...}` nested deeper than ``ShellLexer/maximumNesting`` levels.
        case nestingTooDeep(limit: Int)
        /// A pattern of `${NAME#...}`, `${NAME%...}` or `${NAME/.../...}` with a bad escape.
        case invalidPattern(pattern: String, detail: String)

        /// BuildKit's wording of the reason (the part after `failed to process "...": `).
        public var reason: String {
            switch self {
            case .unterminatedSingleQuote: "unexpected end of statement while looking for matching single-quote"
            case .unterminatedDoubleQuote: "unexpected end of statement while looking for matching double-quote"
            case .missingClosingBrace: "syntax error: missing '}'"
            case .missingSlash: "syntax error: missing '/' in ${}"
            case .badSubstitution: "syntax error: bad substitution"
            case .unsupportedModifier(let modifier): "unsupported modifier (\(modifier)) in substitution"
            case .requiredVariable(let name, let message): "\(name): \(message)"
            case .nestingTooDeep(let limit): "syntax error: ${} nested more than \(limit) levels deep"
            case .invalidPattern(let pattern, let detail): "invalid pattern (\(pattern)) in substitution: \(detail)"
            }
        }
    }

    /// What went wrong.
    public var kind: Kind
    /// The word that was being expanded.
    public var word: String
    /// Offset, in Unicode scalars from the start of ``word``, where scanning stopped.
    public var offset: Int
    /// The full text, as BuildKit prints it.
    public var message: String

    public init(kind: Kind, word: String, offset: Int) {
        self.kind = kind
        self.word = word
        self.offset = offset
        self.message = "failed to process \(word.goQuoted): \(kind.reason)"
    }

    public var description: String { message }
}
