/// Parses one logical line into a `Node`: keyword, builder flags, then the arguments with the parser
/// that BuildKit uses for that keyword (JSON or shell form, key/value pairs, words, …).
struct LineParser {
    struct Failure: Error {
        var message: String
    }

    /// The escape token byte (`\` or `` ` ``).
    let escape: UInt8

    /// How an instruction's argument text is split into argument nodes.
    enum ArgumentForm {
        case jsonOrList, words, jsonOrString, keyValue, split, healthcheck, string, subInstruction, ignore

        init(command: String) {
            switch command {
            case "add", "copy", "volume": self = .jsonOrList
            case "arg": self = .words
            case "cmd", "entrypoint", "run", "shell": self = .jsonOrString
            case "env", "label": self = .keyValue
            case "expose", "from": self = .split
            case "healthcheck": self = .healthcheck
            case "maintainer", "stopsignal", "user", "workdir": self = .string
            case "onbuild": self = .subInstruction
            default: self = .ignore
            }
        }
    }

    func node(from line: ArraySlice<UInt8>, range: SourceRange) throws(Failure) -> Node {
        let trimmed = GoText.trimSpace(line)
        var split = trimmed.startIndex
        while split < trimmed.endIndex && !GoText.isASCIISpace(trimmed[split]) { split += 1 }
        let keywordBytes = trimmed[trimmed.startIndex..<split]
        var restStart = split
        while restStart < trimmed.endIndex && GoText.isASCIISpace(trimmed[restStart]) { restStart += 1 }

        let (flags, remaining) = extractFlags(trimmed[restStart...])
        let argumentText = GoText.trimSpace(remaining)
        let command = GoText.lowercased(keywordBytes)
        var node = Node(keyword: GoText.string(keywordBytes), command: command, flags: flags, rawArguments: [],
                        child: [], isJSONForm: false, heredocs: [], range: range,
                        original: GoText.string(line))
        try parseArguments(argumentText, form: ArgumentForm(command: command), into: &node)
        return node
    }

    func parseArguments(_ a: ArraySlice<UInt8>, form: ArgumentForm, into node: inout Node) throws(Failure) {
        switch form {
        case .string:
            if !a.isEmpty { node.rawArguments = [Array(a)] }
        case .split:
            node.rawArguments = splitOnASCIISpace(a)
        case .jsonOrString:
            guard !a.isEmpty else { return }
            if let values = try jsonStrings(a) {
                node.rawArguments = values
                node.isJSONForm = true
            } else {
                node.rawArguments = [Array(a)]
            }
        case .jsonOrList:
            if let values = try jsonStrings(a) {
                node.rawArguments = values
                node.isJSONForm = true
            } else {
                node.rawArguments = splitOnASCIISpace(a)
            }
        case .words:
            node.rawArguments = words(a).map { Array($0.utf8) }
        case .keyValue:
            node.rawArguments = try keyValues(a, instruction: node.command.uppercased())
        case .healthcheck:
            guard !a.isEmpty else { return }
            var i = a.startIndex
            while i < a.endIndex && !GoText.isSpaceByte(a[i]) { i += 1 }
            let kind = Array(a[a.startIndex..<i])
            while i < a.endIndex && GoText.isSpaceByte(a[i]) { i += 1 }
            var rest = node
            rest.rawArguments = []
            try parseArguments(a[i...], form: .jsonOrString, into: &rest)
            node.rawArguments = [kind] + rest.rawArguments
            node.isJSONForm = rest.isJSONForm
        case .subInstruction:
            guard !a.isEmpty else { return }
            node.child = [try self.node(from: a, range: node.range)]
        case .ignore:
            node.rawArguments = [[]]
        }
    }

    /// Arguments from JSON form, nil when the text is not a JSON array (shell form is used then).
    func jsonStrings(_ a: ArraySlice<UInt8>) throws(Failure) -> [[UInt8]]? {
        switch JSONArrayParser.parse(GoText.trimLeadingSpace(a)) {
        case .strings(let values): return values.map { Array($0.utf8) }
        case .notJSON: return nil
        case .notAllStrings:
            throw Failure(message: "when using JSON array syntax, arrays must be comprised of strings only")
        }
    }

    /// Splits at every run of `[\t\v\f\r ]`.
    func splitOnASCIISpace(_ a: ArraySlice<UInt8>) -> [[UInt8]] {
        guard !a.isEmpty else { return [] }
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        var i = a.startIndex
        while i < a.endIndex {
            if GoText.isASCIISpace(a[i]) {
                out.append(current)
                current = []
                while i < a.endIndex && GoText.isASCIISpace(a[i]) { i += 1 }
                continue
            }
            current.append(a[i])
            i += 1
        }
        out.append(current)
        return out
    }

    /// ENV and LABEL: `key value` (old form) or `k=v k2="v 2"` (new form).
    func keyValues(_ a: ArraySlice<UInt8>, instruction: String) throws(Failure) -> [[UInt8]] {
        let ws = words(a)
        guard let first = ws.first else { return [] }
        if !first.contains("=") {
            var i = a.startIndex
            while i < a.endIndex && !GoText.isASCIISpace(a[i]) { i += 1 }
            let key = Array(a[a.startIndex..<i])
            guard i < a.endIndex else { throw Failure(message: "\(instruction) must have two arguments") }
            while i < a.endIndex && GoText.isASCIISpace(a[i]) { i += 1 }
            return [key, Array(a[i...]), []]
        }
        var out: [[UInt8]] = []
        for word in ws {
            guard let eq = word.firstIndex(of: "=") else {
                var quoted: [UInt8] = []
                GoText.quote(Array(word.utf8)[...], into: &quoted)
                throw Failure(message: "Syntax error - can't find = in \(String(decoding: quoted, as: UTF8.self)). Must be of the form: name=value")
            }
            out.append(Array(word[..<eq].utf8))
            out.append(Array(word[word.index(after: eq)...].utf8))
            out.append(Array("=".utf8))
        }
        return out
    }

    /// Word splitting for ENV, LABEL and ARG: quotes and escape tokens are kept in the words.
    func words(_ a: ArraySlice<UInt8>) -> [String] {
        enum Phase { case spaces, word, quote }
        let escapeScalar = Unicode.Scalar(escape)
        var out: [String] = []
        var word = String.UnicodeScalarView()
        var phase = Phase.spaces
        var quote: Unicode.Scalar = "\""
        var blankOK = false
        var i = a.startIndex

        func next() -> Unicode.Scalar? {
            guard i < a.endIndex else { return nil }
            let (s, w) = GoText.decodeRune(a, at: i)
            i += w
            return s ?? "\u{FFFD}"
        }
        while let ch = next() {
            switch phase {
            case .spaces:
                if GoText.isSpace(ch) { continue }
                phase = .word
                fallthrough
            case .word:
                if GoText.isSpace(ch) {
                    if blankOK || !word.isEmpty { out.append(String(word)) }
                    word = String.UnicodeScalarView()
                    blankOK = false
                    phase = .spaces
                } else if ch == "'" || ch == "\"" {
                    word.append(ch)
                    quote = ch
                    blankOK = true
                    phase = .quote
                } else if ch == escapeScalar {
                    guard let escaped = next() else { break }  // a trailing escape token is dropped
                    word.append(ch)
                    word.append(escaped)
                } else {
                    word.append(ch)
                }
            case .quote:
                if ch == quote {
                    word.append(ch)
                    phase = .word
                } else if ch == escapeScalar && quote != "'" {
                    guard let escaped = next() else { phase = .word; break }
                    word.append(ch)
                    word.append(escaped)
                } else {
                    word.append(ch)
                }
            }
        }
        if phase != .spaces && (blankOK || !word.isEmpty) { out.append(String(word)) }
        return out
    }

    /// Builder flags before the arguments, scanned byte by byte; returns the flags and what remains.
    func extractFlags(_ rest: ArraySlice<UInt8>) -> ([String], ArraySlice<UInt8>) {
        enum Phase { case spaces, word, quote }
        var flags: [String] = []
        var word: [UInt8] = []
        var phase = Phase.spaces
        var quote: UInt8 = 0
        var i = rest.startIndex
        func append(_ b: UInt8) { GoText.appendUTF8(Unicode.Scalar(b), to: &word) }

        while i < rest.endIndex {
            let b = rest[i]
            switch phase {
            case .spaces:
                if GoText.isSpaceByte(b) { i += 1; continue }
                guard b == 0x2D, i + 1 < rest.endIndex, rest[i + 1] == 0x2D else { return (flags, rest[i...]) }
                phase = .word
                continue
            case .word:
                if GoText.isSpaceByte(b) {
                    if word == [0x2D, 0x2D] { return (flags, rest[i...]) }
                    flags.append(String(decoding: word, as: UTF8.self))
                    word = []
                    phase = .spaces
                } else if b == 0x27 || b == 0x22 {
                    quote = b
                    phase = .quote
                } else if b == escape {
                    if i + 1 < rest.endIndex {
                        i += 1
                        append(rest[i])
                    }
                } else {
                    append(b)
                }
            case .quote:
                if b == quote {
                    phase = .word
                } else if b == escape {
                    if i + 1 < rest.endIndex {
                        i += 1
                        append(rest[i])
                    } else {
                        phase = .word
                    }
                } else {
                    append(b)
                }
            }
            i += 1
        }
        if phase != .spaces && word != [0x2D, 0x2D] { flags.append(String(decoding: word, as: UTF8.self)) }
        return (flags, rest[rest.endIndex...])
    }
}

extension Node {
    /// RUN, COPY and ADD (also under ONBUILD) may open heredocs, unless written in JSON form.
    var canContainHeredoc: Bool {
        var node = self
        if command == "onbuild", let sub = child.first { node = sub }
        return ["run", "copy", "add"].contains(node.command) && !node.isJSONForm
    }
}
