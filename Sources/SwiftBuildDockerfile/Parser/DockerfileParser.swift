/// Dockerfile text → instruction nodes, with BuildKit's parser semantics (`frontend/dockerfile/parser`).
///
/// The input is taken as bytes and read once, line by line: directives at the top, comments, line
/// continuations with the escape token, heredoc bodies after the line that opens them. Each logical
/// line becomes one `Node` (see `LineParser`). The work is linear in the input size.
public struct DockerfileParser: Sendable {
    /// The longest physical line BuildKit's scanner accepts, its line feed included.
    static let maxLineLength = 65536

    public init() {}

    public func parse(_ text: String) throws(DockerfileError) -> Dockerfile {
        try parse(bytes: Array(text.utf8))
    }

    public func parse(bytes: [UInt8]) throws(DockerfileError) -> Dockerfile {
        var state = ParseState(bytes: bytes)
        return try state.run()
    }
}

/// The physical lines of the input: each ends after a line feed; the last may have none.
struct PhysicalLines {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// Number of the line last returned (1-based).
    private(set) var number = 0
    /// Set when a line longer than the scanner's limit stopped the reading.
    private(set) var tooLong = false

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte order mark is removed from the first line only.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { offset = 3 }
    }

    /// The next line with its line ending, or nil at the end of input or at an over-long line.
    mutating func next() -> ArraySlice<UInt8>? {
        guard !tooLong, offset < bytes.count else { return nil }
        let start = offset
        let limit = min(bytes.count, start + DockerfileParser.maxLineLength)
        var end = start
        while end < limit && bytes[end] != 0x0A { end += 1 }
        if end < limit {
            end += 1  // include the line feed
        } else if end == bytes.count && end - start < DockerfileParser.maxLineLength {
            // final line without a line feed, within the limit
        } else {
            tooLong = true
            return nil
        }
        offset = end
        number += 1
        return bytes[start..<end]
    }
}

struct ParseState {
    var lines: PhysicalLines
    var escape: UInt8 = 0x5C
    var directivesOpen = true
    var directives: [ParserDirective] = []
    var warnings: [ParseWarning] = []
    var instructions: [Node] = []

    init(bytes: [UInt8]) {
        lines = PhysicalLines(bytes: bytes)
    }

    mutating func run() throws(DockerfileError) -> Dockerfile {
        while let raw = lines.next() {
            let first = try clean(raw, isFirstLine: true)
            var (text, continues) = splitContinuation(first)
            if !continues && text.isEmpty { continue }

            let startLine = lines.number
            let startColumn = column(ofContentIn: raw)
            var logical = Array(text)
            var emptyContinuation = false
            while continues, let next = lines.next() {
                if isComment(next) { continue }
                let piece = try clean(next, isFirstLine: false)
                if GoText.trimLeadingSpace(piece).isEmpty {
                    emptyContinuation = true
                    continue
                }
                (text, continues) = splitContinuation(piece)
                logical.append(contentsOf: text)
            }
            let lastLine = lines.number
            let original = GoText.string(logical[...])
            if emptyContinuation {
                warnings.append(ParseWarning(
                    short: "Empty continuation line found in: \(original)",
                    detail: ["Empty continuation lines will become errors in a future release"],
                    url: "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                    range: SourceRange(start: .init(line: lastLine, column: 1), end: .init(line: lastLine, column: 1))))
            }

            let range = SourceRange(start: .init(line: startLine, column: startColumn),
                                    end: .init(line: lastLine, column: 1))
            var node: Node
            do {
                node = try LineParser(escape: escape).node(from: logical[...], range: range)
            } catch {
                throw DockerfileError(error.message, range: range)
            }
            if node.canContainHeredoc, logical.containsSubsequence(0x3C, 0x3C) {
                let openers: [HeredocOpener]
                do {
                    openers = try HeredocOpener.openers(inLine: original)
                } catch {
                    throw DockerfileError(error.message, range: range)
                }
                for opener in openers {
                    node.heredocs.append(try readBody(of: opener, range: range))
                }
            }
            node.range.end = SourcePosition(line: lines.number, column: endColumn(ofLine: lines.number))
            instructions.append(node)
        }
        if lines.tooLong && !instructions.isEmpty {
            throw DockerfileError("dockerfile line greater than max allowed size of 65535",
                                  range: SourceRange(start: .init(line: lines.number + 1, column: 1),
                                                     end: .init(line: lines.number + 1, column: 1)))
        }
        if instructions.isEmpty {
            throw DockerfileError("file with no instructions")
        }
        return Dockerfile(instructions: instructions, directives: directives, warnings: warnings,
                          escapeToken: Unicode.Scalar(escape))
    }

    /// Reads a heredoc body up to its terminator line.
    mutating func readBody(of opener: HeredocOpener, range: SourceRange) throws(DockerfileError) -> Heredoc {
        var body: [UInt8] = []
        let terminator = Array(opener.name.utf8)
        while let raw = lines.next() {
            var candidate = trimLineEnding(raw)
            if opener.chomp {
                while candidate.first == 0x09 { candidate = candidate.dropFirst() }
            }
            if candidate.elementsEqual(terminator) {
                return Heredoc(name: opener.name, content: GoText.string(body[...]), expand: opener.expand,
                               chomp: opener.chomp, fileDescriptor: opener.fileDescriptor)
            }
            body.append(contentsOf: raw)
        }
        throw DockerfileError("unterminated heredoc",
                              range: SourceRange(start: range.start, end: .init(line: lines.number, column: 1)))
    }

    /// Per-line clean-up: line ending removed, leading whitespace removed on first lines, directives
    /// recognised while the directive section is open, comments blanked.
    mutating func clean(_ raw: ArraySlice<UInt8>, isFirstLine: Bool) throws(DockerfileError) -> ArraySlice<UInt8> {
        var line = trimLineEnding(raw)
        if isFirstLine { line = GoText.trimLeadingSpace(line) }
        if directivesOpen { try scanDirective(line) }
        if line.first == 0x23 || GoText.trimLeadingSpace(line).first == 0x23 { return line[line.endIndex...] }
        return line
    }

    func isComment(_ raw: ArraySlice<UInt8>) -> Bool {
        GoText.trimLeadingSpace(trimLineEnding(raw)).first == 0x23
    }

    func trimLineEnding(_ raw: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = raw.endIndex
        while end > raw.startIndex && (raw[end - 1] == 0x0A || raw[end - 1] == 0x0D) { end -= 1 }
        return raw[raw.startIndex..<end]
    }

    /// Whether a cleaned line continues on the next one, and its text without the continuation token.
    func splitContinuation(_ line: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, Bool) {
        var end = line.endIndex
        while end > line.startIndex && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        guard end > line.startIndex, line[end - 1] == escape else { return (line, false) }
        let tokenAt = end - 1
        if tokenAt == line.startIndex || line[tokenAt - 1] != escape {
            return (line[line.startIndex..<tokenAt], true)
        }
        return (line, false)
    }

    /// Recognises `# name=value` directives at the top of the file.
    mutating func scanDirective(_ line: ArraySlice<UInt8>) throws(DockerfileError) {
        guard line.first == 0x23 else { directivesOpen = false; return }
        guard let (rawName, value) = Self.directiveParts(line.dropFirst()),
              let name = ParserDirective.Name(rawValue: rawName.lowercased()) else {
            directivesOpen = false
            return
        }
        let here = SourceRange(start: .init(line: lines.number, column: 1), end: .init(line: lines.number, column: 1))
        if directives.contains(where: { $0.name == name }) {
            throw DockerfileError("only one \(name.rawValue) parser directive can be used", range: here)
        }
        if name == .escape {
            guard value == "`" || value == "\\" else {
                throw DockerfileError("invalid escape token '\(value)' does not match ` or \\", range: here)
            }
            escape = value == "`" ? 0x60 : 0x5C
        }
        directives.append(ParserDirective(name: name, value: value, line: lines.number))
    }

    /// Matches `\s*NAME\s*=\s*VALUE\s*` (after the `#`), with `\s` = TAB, LF, FF, CR, SPACE.
    static func directiveParts(_ text: ArraySlice<UInt8>) -> (String, String)? {
        func isRegexSpace(_ b: UInt8) -> Bool { b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D || b == 0x20 }
        func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        var i = text.startIndex
        while i < text.endIndex && isRegexSpace(text[i]) { i += 1 }
        let nameStart = i
        guard i < text.endIndex, isLetter(text[i]) else { return nil }
        while i < text.endIndex && (isLetter(text[i]) || (text[i] >= 0x30 && text[i] <= 0x39)) { i += 1 }
        let name = String(decoding: text[nameStart..<i], as: UTF8.self)
        while i < text.endIndex && isRegexSpace(text[i]) { i += 1 }
        guard i < text.endIndex, text[i] == 0x3D else { return nil }
        i += 1
        var rest = text[i...]
        guard !rest.isEmpty else { return nil }
        // The value is lazy and needs one character: all-space text leaves its last space as the value.
        while rest.count > 1 && isRegexSpace(rest[rest.startIndex]) { rest = rest.dropFirst() }
        while rest.count > 1 && isRegexSpace(rest[rest.endIndex - 1]) { rest = rest.dropLast() }
        return (name, GoText.string(rest))
    }

    /// 1-based column of the first non-space character of a first line.
    func column(ofContentIn raw: ArraySlice<UInt8>) -> Int {
        let end = GoText.leadingSpaceEnd(raw)
        return GoText.string(raw[raw.startIndex..<end]).unicodeScalars.count + 1
    }

    /// 1-based column just past the last character of a line.
    func endColumn(ofLine n: Int) -> Int {
        guard n == lines.number else { return 1 }
        let bytes = lines.bytes
        var end = lines.offset
        while end > 0 && (bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D) { end -= 1 }
        var start = end
        while start > 0 && bytes[start - 1] != 0x0A { start -= 1 }
        return GoText.string(bytes[start..<end]).unicodeScalars.count + 1
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ a: UInt8, _ b: UInt8) -> Bool {
        guard count >= 2 else { return false }
        for i in 0..<(count - 1) where self[i] == a && self[i + 1] == b { return true }
        return false
    }
}
