/// Reading parser directives without parsing the whole Dockerfile: what a frontend needs to pick
/// its syntax (`# syntax=`) or lint settings (`# check=`) before anything else.
public enum ParserDirectives {
    /// A directive found by `detectSyntax` or `find`.
    public struct Match: Sendable, Equatable {
        /// The value up to its first space (`docker/dockerfile:1` in `docker/dockerfile:1 // opts`).
        public var reference: String
        /// The whole value.
        public var value: String
        /// 1-based line of the directive.
        public var line: Int
    }

    /// The leading directives of `text`, scanned line by line until the first line that is not one.
    /// Duplicate names are an error, as in the parser.
    public static func parseAll(_ bytes: [UInt8], commentPrefix: String = "#", firstLine: Int = 1)
        throws(DockerfileError) -> [ParserDirective]
    {
        let prefix = Array(commentPrefix.utf8)
        var found: [ParserDirective] = []
        var lineNumber = firstLine - 1
        for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            guard line.starts(with: prefix),
                  let (rawName, value) = ParseState.directiveParts(line.dropFirst(prefix.count)),
                  let name = ParserDirective.Name(rawValue: rawName.lowercased()) else { break }
            if found.contains(where: { $0.name == name }) {
                throw DockerfileError("only one \(name.rawValue) parser directive can be used",
                                      range: SourceRange(start: .init(line: lineNumber, column: 1),
                                                         end: .init(line: lineNumber, column: 1)))
            }
            found.append(ParserDirective(name: name, value: value, line: lineNumber))
        }
        return found
    }

    /// The `syntax` directive: `#` comments, then `//` comments, then a JSON object's `syntax` member.
    public static func detectSyntax(_ bytes: [UInt8]) -> Match? {
        find(.syntax, in: bytes, anyFormat: true)
    }

    /// A directive in `#` comments only.
    public static func find(_ name: ParserDirective.Name, in bytes: [UInt8]) -> Match? {
        find(name, in: bytes, anyFormat: false)
    }

    static func find(_ name: ParserDirective.Name, in input: [UInt8], anyFormat: Bool) -> Match? {
        var bytes = input[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var firstLine = 1
        if bytes.starts(with: [0x23, 0x21]) {  // #!
            firstLine = 2
            if let lf = bytes.firstIndex(of: 0x0A) { bytes = bytes[(lf + 1)...] } else { bytes = bytes[bytes.endIndex...] }
        }
        for prefix in ["#", "//"] where prefix == "#" || anyFormat {
            if let all = try? parseAll(Array(bytes), commentPrefix: prefix, firstLine: firstLine),
               let hit = all.first(where: { $0.name == name }) {
                return match(hit.value, line: hit.line)
            }
        }
        if anyFormat, let value = JSONArrayParser.stringMember(name.rawValue, ofObject: bytes) {
            return match(value, line: firstLine)
        }
        return nil
    }

    static func match(_ value: String, line: Int) -> Match {
        let reference = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? value
        return Match(reference: reference, value: value, line: line)
    }
}

extension JSONArrayParser {
    /// The string member `key` of a JSON object that is the whole input; nil if the input is not one.
    static func stringMember(_ key: String, ofObject bytes: ArraySlice<UInt8>) -> String? {
        var s = Scanner(bytes: bytes, index: bytes.startIndex)
        var found: String?
        s.skipSpace()
        guard s.consume(0x7B) else { return nil }
        s.skipSpace()
        if !s.consume(0x7D) {
            while true {
                s.skipSpace()
                guard s.peek == 0x22, let k = s.string() else { return nil }
                s.skipSpace()
                guard s.consume(0x3A) else { return nil }
                s.skipSpace()
                if s.peek == 0x22 {
                    guard let v = s.string() else { return nil }
                    if k == key { found = v }
                } else {
                    guard s.skipValue(depth: 1) else { return nil }
                    if k == key { found = nil }
                }
                s.skipSpace()
                if s.consume(0x2C) { continue }
                if s.consume(0x7D) { break }
                return nil
            }
        }
        s.skipSpace()
        return s.index == bytes.endIndex ? found : nil
    }
}
