/// BuildKit's Dockerfile word expander: removes quotes, applies escapes and expands `$NAME` / `${NAME...}`
/// against an environment, optionally splitting the result into words.
///
/// The escape token is `\` or the Dockerfile's `# escape=` choice (`` ` ``). Quotes: `'...'` is literal;
/// `"..."` is literal except `$` expansions and the escape token before `"`, `$` or itself. Supported forms:
/// `$NAME`, `${NAME}`, `${NAME-word}`, `${NAME:-word}`, `${NAME+word}`, `${NAME:+word}`, `${NAME?word}`,
/// `${NAME:?word}`, `${NAME#pattern}`, `${NAME##pattern}`, `${NAME%pattern}`, `${NAME%%pattern}`,
/// `${NAME/pattern/replacement}` and `${NAME//pattern/replacement}` (see ``ShellPattern`` for patterns).
/// Unset names expand to the empty string unless ``Options-swift.struct/skipUnsetEnv`` is given.
public struct ShellLexer: Sendable {
    public struct Options: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Keep quote characters in the output (their content is still treated as quoted).
        public static let rawQuotes = Options(rawValue: 1 << 0)
        /// Keep escape tokens in the output (the escaped character is still taken literally).
        public static let rawEscapes = Options(rawValue: 1 << 1)
        /// Treat `'` and `"` as ordinary characters.
        public static let skipProcessQuotes = Options(rawValue: 1 << 2)
        /// Leave references to unset names as written (`$X`, `${X}`, `${X:-word}` with its word expanded).
        public static let skipUnsetEnv = Options(rawValue: 1 << 3)
    }

    /// How deeply `${...}` may nest inside the word, pattern or replacement of another `${...}`. Expansion is
    /// recursive; the limit keeps hostile input from exhausting the stack. Real Dockerfiles nest a few levels.
    public static let maximumNesting = 64

    /// The character that makes the next one literal: `\` (default) or `` ` ``.
    public var escapeToken: Unicode.Scalar
    public var options: Options

    public init(escapeToken: Unicode.Scalar = "\\", options: Options = []) {
        self.escapeToken = escapeToken
        self.options = options
    }

    /// The expanded text of `text`, without word splitting (whitespace is kept as is).
    public func processWord(_ text: String, environment: ShellEnvironment) throws(ShellLexerError) -> String {
        try processWordWithMatches(text, environment: environment).result
    }

    /// The expanded text of `text` and the names it looked up, split into those that were set and those that
    /// were not. A name counts once however often it is looked up, including inside defaults and patterns.
    public func processWordWithMatches(_ text: String,
                                       environment: ShellEnvironment) throws(ShellLexerError) -> ShellExpansion {
        var scanner = ShellWordScanner(text, environment: environment, lexer: self)
        do {
            let (result, _) = try scanner.scanWord(collectsWords: false)
            return ShellExpansion(result: result, matched: scanner.matched, unmatched: scanner.unmatched)
        } catch {
            throw ShellLexerError(kind: error.kind, word: text, offset: error.offset)
        }
    }

    /// The words of `text` after expansion: unquoted whitespace of the text and of `$` expansions separates
    /// words; quoted or escaped whitespace does not; empty words are dropped. A `<<` outside quotes keeps the
    /// spaces, tabs and carriage returns right after it in its word (for heredoc openers such as `<<  EOF`).
    public func processWords(_ text: String, environment: ShellEnvironment) throws(ShellLexerError) -> [String] {
        var scanner = ShellWordScanner(text, environment: environment, lexer: self)
        do {
            return try scanner.scanWord(collectsWords: true).words
        } catch {
            throw ShellLexerError(kind: error.kind, word: text, offset: error.offset)
        }
    }
}
