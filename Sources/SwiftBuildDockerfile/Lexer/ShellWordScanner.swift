/// One left-to-right pass over a word: quotes, escapes and `$` expansions (BuildKit's `shellWord`).
///
/// Nested parts (`${NAME:-word}`, patterns, replacements) are scanned by the same scanner up to their closing
/// character, so the scanner's position after a failure tells whether the text simply ended.
struct ShellWordScanner {
    struct Failure: Error {
        var kind: ShellLexerError.Kind
        var offset: Int
    }

    private let text: [Unicode.Scalar]
    private var index = 0
    private let environment: ShellEnvironment
    private let escapeToken: Unicode.Scalar
    private let rawQuotes: Bool
    private let processesQuotes: Bool
    private let skipsUnsetVariables: Bool
    /// Whether escape characters are kept in the output; changes while a pattern is scanned.
    private var rawEscapes: Bool
    /// How many `${...}` enclose the current position.
    private var depth = 0
    private(set) var matched: Set<String> = []
    private(set) var unmatched: Set<String> = []

    init(_ word: String, environment: ShellEnvironment, lexer: ShellLexer) {
        text = Array(word.unicodeScalars)
        self.environment = environment
        escapeToken = lexer.escapeToken
        rawQuotes = lexer.options.contains(.rawQuotes)
        rawEscapes = lexer.options.contains(.rawEscapes)
        processesQuotes = !lexer.options.contains(.skipProcessQuotes)
        skipsUnsetVariables = lexer.options.contains(.skipUnsetEnv)
    }

    /// Scans the whole word: its expanded text, and its words when `collectsWords`.
    mutating func scanWord(collectsWords: Bool) throws(Failure) -> (text: String, words: [String]) {
        var output = ShellWordAccumulator(collectsWords: collectsWords)
        try scan(until: nil, rawEscapes: rawEscapes, into: &output)
        return (output.text.string, output.finishWords())
    }

    // MARK: - Reading

    private var atEnd: Bool { index >= text.count }

    private func peek() -> Unicode.Scalar? {
        index < text.count ? text[index] : nil
    }

    private mutating func next() -> Unicode.Scalar? {
        guard index < text.count else { return nil }
        defer { index += 1 }
        return text[index]
    }

    private func failure(_ kind: ShellLexerError.Kind) -> Failure {
        Failure(kind: kind, offset: index)
    }

    // MARK: - Scanning

    /// Scans up to `stop` (consumed, not part of the output) or to the end of the text when `stop` is nil.
    private mutating func scan(until stop: Unicode.Scalar?, rawEscapes: Bool,
                               into output: inout ShellWordAccumulator) throws(Failure) {
        let savedRawEscapes = self.rawEscapes
        self.rawEscapes = rawEscapes
        defer { self.rawEscapes = savedRawEscapes }

        while let scalar = peek() {
            if let stop, scalar == stop {
                index += 1
                return
            }
            if scalar == "$" {
                output.appendExpansion(try expandDollar())
            } else if processesQuotes && scalar == "'" {
                output.appendQuoted(try singleQuoted())
            } else if processesQuotes && scalar == "\"" {
                output.appendQuoted(try doubleQuoted())
            } else {
                index += 1
                if scalar == escapeToken {
                    if rawEscapes { output.appendLiteral(scalar) }
                    // An escape token at the very end is dropped.
                    guard let escaped = next() else { break }
                    output.appendLiteral(escaped)
                } else if scalar == "<" && peek() == "<" {
                    // A heredoc opener keeps the blanks right after `<<` in its word (`<<  EOF` is one word).
                    index += 1
                    output.appendLiteral("<")
                    output.appendLiteral("<")
                    while let blank = peek(), blank == " " || blank == "\t" || blank == "\r" {
                        index += 1
                        output.appendLiteral(blank)
                    }
                } else {
                    output.appendSplitting(scalar)
                }
            }
        }
        if let stop {
            switch stop {
            case "}": throw failure(.missingClosingBrace)
            default: throw failure(.missingSlash)
            }
        }
    }

    /// Scans a nested part up to `stop` and returns its text.
    private mutating func scanPart(until stop: Unicode.Scalar, rawEscapes: Bool) throws(Failure) -> String {
        var output = ShellWordAccumulator(collectsWords: false)
        try scan(until: stop, rawEscapes: rawEscapes, into: &output)
        return output.text.string
    }

    /// `'...'`: everything literal up to the next `'`.
    private mutating func singleQuoted() throws(Failure) -> String {
        var out = UTF8Text()
        index += 1
        if rawQuotes { out.append("'" as Unicode.Scalar) }
        while true {
            guard let scalar = next() else { throw failure(.unterminatedSingleQuote) }
            if scalar == "'" {
                if rawQuotes { out.append(scalar) }
                return out.string
            }
            out.append(scalar)
        }
    }

    /// `"..."`: literal except `$` expansions; the escape token escapes only `"`, `$` and itself.
    private mutating func doubleQuoted() throws(Failure) -> String {
        var out = UTF8Text()
        index += 1
        if rawQuotes { out.append("\"" as Unicode.Scalar) }
        while true {
            guard let scalar = peek() else { throw failure(.unterminatedDoubleQuote) }
            switch scalar {
            case "\"":
                index += 1
                if rawQuotes { out.append(scalar) }
                return out.string
            case "$":
                out.append(try expandDollar())
            default:
                index += 1
                guard scalar == escapeToken else {
                    out.append(scalar)
                    continue
                }
                if rawEscapes { out.append(scalar) }
                guard let following = peek() else { continue }  // ignored at the end; the quote is unterminated
                if following == "\"" || following == "$" || following == escapeToken {
                    index += 1
                    out.append(following)
                } else {
                    // Not escapable here: the escape token stays (BuildKit writes it again even when kept raw).
                    out.append(scalar)
                }
            }
        }
    }

    // MARK: - Variables

    /// A variable name after `$` or `${`: a run of digits, one special parameter character, or a run of letters,
    /// digits and `_` (any script). Empty when none of these follows.
    private mutating func name() -> String {
        var name = UTF8Text()
        guard let first = peek() else { return "" }
        if first.isGoDigit {
            while let scalar = peek(), scalar.isGoDigit {
                index += 1
                name.append(scalar)
            }
            return name.string
        }
        switch first {
        case "@", "*", "#", "?", "-", "$", "!":
            index += 1
            return String(first)
        default:
            break
        }
        while let scalar = peek(), scalar.isGoLetter || scalar.isGoDigit || scalar == "_" {
            index += 1
            name.append(scalar)
        }
        return name.string
    }

    private mutating func lookup(_ name: String) -> String? {
        if let value = environment.lookup(name) {
            matched.insert(name)
            return value
        }
        unmatched.insert(name)
        return nil
    }

    /// Scans a nested part; a failure at the end of the text becomes `missing`.
    private mutating func scanOperand(until stop: Unicode.Scalar, rawEscapes: Bool,
                                      missing: ShellLexerError.Kind) throws(Failure) -> String {
        do {
            return try scanPart(until: stop, rawEscapes: rawEscapes)
        } catch {
            if atEnd { throw failure(missing) }
            throw error
        }
    }

    /// `$NAME` or `${...}`, starting at the `$`.
    private mutating func expandDollar() throws(Failure) -> String {
        index += 1
        guard peek() == "{" else {
            let name = name()
            if name.isEmpty { return "$" }
            guard let value = lookup(name) else { return skipsUnsetVariables ? "$" + name : "" }
            return value
        }
        index += 1
        guard depth < ShellLexer.maximumNesting else { throw failure(.nestingTooDeep(limit: ShellLexer.maximumNesting)) }
        depth += 1
        defer { depth -= 1 }
        switch peek() {
        case nil: throw failure(.missingClosingBrace)
        case "{", "}", ":": throw failure(.badSubstitution)
        default: break
        }
        let name = name()
        guard let op = next() else { throw failure(.missingClosingBrace) }
        switch op {
        case "}":
            guard let value = lookup(name) else { return skipsUnsetVariables ? "${" + name + "}" : "" }
            return value
        case ":", "+", "-", "?", "#", "%":
            return try expandModifier(name: name, first: op)
        case "/":
            return try expandReplacement(name: name)
        default:
            throw failure(.unsupportedModifier(String(op)))
        }
    }

    /// `${NAME<op>word}` for the operators `-`, `+`, `?`, `#`, `##`, `%`, `%%` and their `:` forms.
    private mutating func expandModifier(name: String, first: Unicode.Scalar) throws(Failure) -> String {
        var op = first
        var modifier = String(first)
        let emptyIsUnset = first == ":"
        if emptyIsUnset {
            guard let second = next() else { throw failure(.missingClosingBrace) }
            op = second
            modifier.unicodeScalars.append(second)
        }
        let isPattern = op == "#" || op == "%"
        if emptyIsUnset && isPattern { throw failure(.unsupportedModifier(modifier)) }
        var word = try scanOperand(until: "}", rawEscapes: isPattern, missing: .missingClosingBrace)

        let value = lookup(name)
        if skipsUnsetVariables && value == nil {
            return "${" + name + modifier + word + "}"
        }
        let unset = value == nil || (emptyIsUnset && value == "")
        switch op {
        case "-":
            return unset ? word : (value ?? "")
        case "+":
            return unset ? "" : word
        case "?":
            guard let value else {
                throw failure(.requiredVariable(name: name, message: word.isEmpty ? "is not allowed to be unset" : word))
            }
            if emptyIsUnset && value.isEmpty {
                throw failure(.requiredVariable(name: name, message: word.isEmpty ? "is not allowed to be empty" : word))
            }
            return value
        case "#", "%":
            var greedy = false
            if word.unicodeScalars.first == op {
                greedy = true
                word.unicodeScalars.removeFirst()
            }
            return try removeAffix(pattern: word, from: value ?? "", suffix: op == "%", greedy: greedy)
        default:
            throw failure(.unsupportedModifier(modifier))
        }
    }

    /// `${NAME#pattern}` and friends: removes the shortest (or longest, `greedy`) matching prefix or suffix.
    /// A suffix is removed by reversing the value and the pattern and removing a prefix.
    private func removeAffix(pattern text: String, from value: String, suffix: Bool,
                             greedy: Bool) throws(Failure) -> String {
        let patternText = suffix ? ShellPattern.reversedPattern(text) : text
        let pattern: ShellPattern
        do {
            pattern = try ShellPattern(patternText)
        } catch {
            throw failure(.invalidPattern(pattern: patternText, detail: error.detail))
        }
        var scalars = Array(value.unicodeScalars)
        if suffix { scalars.reverse() }
        guard let match = pattern.firstMatch(in: scalars, from: 0, anchored: true, greedy: greedy) else {
            return value
        }
        let rest = scalars[match.upperBound...]
        var out = UTF8Text()
        if suffix {
            out.append(contentsOf: rest.reversed())
        } else {
            out.append(contentsOf: rest)
        }
        return out.string
    }

    /// `${NAME/pattern/replacement}` (first match) and `${NAME//pattern/replacement}` (every match).
    private mutating func expandReplacement(name: String) throws(Failure) -> String {
        let replacesAll = peek() == "/"
        if replacesAll { index += 1 }
        let patternText = try scanOperand(until: "/", rawEscapes: true, missing: .missingSlash)
        let replacement = try scanOperand(until: "}", rawEscapes: true, missing: .missingClosingBrace)

        let value = lookup(name)
        if skipsUnsetVariables && value == nil {
            return "${" + name + "/" + patternText + "/" + replacement + "}"
        }
        return try replace(patternText, with: replacement, in: value ?? "", all: replacesAll)
    }

    private func replace(_ patternText: String, with replacement: String, in value: String,
                         all: Bool) throws(Failure) -> String {
        let pattern: ShellPattern
        do {
            pattern = try ShellPattern(patternText)
        } catch {
            throw failure(.invalidPattern(pattern: patternText, detail: error.detail))
        }
        let scalars = Array(value.unicodeScalars)
        let replacementScalars = Array(replacement.unicodeScalars)
        var out: [Unicode.Scalar] = []
        if !all {
            guard let match = pattern.firstMatch(in: scalars, from: 0, anchored: false, greedy: true) else {
                return value
            }
            out.append(contentsOf: scalars[..<match.lowerBound])
            out.append(contentsOf: replacementScalars)
            out.append(contentsOf: scalars[match.upperBound...])
        } else {
            // Go's ReplaceAllString: no replacement for an empty match right after a match, and always move on.
            let template = ShellReplacementTemplate(replacementScalars)
            var lastEnd = 0
            var searchFrom = 0
            while searchFrom <= scalars.count,
                  let match = pattern.firstMatch(in: scalars, from: searchFrom, anchored: false, greedy: true) {
                out.append(contentsOf: scalars[lastEnd..<match.lowerBound])
                if match.upperBound > lastEnd || match.lowerBound == 0 {
                    template.expand(match: match, of: scalars, into: &out)
                }
                lastEnd = match.upperBound
                searchFrom = match.upperBound > searchFrom ? match.upperBound : searchFrom + 1
            }
            out.append(contentsOf: scalars[lastEnd...])
        }
        var text = UTF8Text()
        text.append(contentsOf: out)
        return text.string
    }
}
