/// An error in a Dockerfile: what is wrong and where (`Dockerfile:12:1: COPY requires at least two arguments`).
public struct DockerfileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in BuildKit's words where BuildKit has words for it.
    public var message: String
    /// Where: the instruction's range, if the error belongs to one.
    public var range: SourceRange?

    public init(_ message: String, range: SourceRange? = nil) {
        self.message = message
        self.range = range
    }

    public var description: String { formatted(fileName: "Dockerfile") }

    /// `NAME:LINE:COL: message`, or `NAME: message` without a location.
    public func formatted(fileName: String) -> String {
        guard let range else { return "\(fileName): \(message)" }
        return "\(fileName):\(range.start.line):\(range.start.column): \(message)"
    }

    /// The formatted error followed by the offending lines of `source`, numbered, for people to read.
    public func formatted(fileName: String, source: [UInt8]) -> String {
        var text = formatted(fileName: fileName)
        guard let range else { return text }
        let lines = source.split(separator: 0x0A, omittingEmptySubsequences: false)
        let first = max(1, range.start.line)
        let last = min(lines.count, max(first, range.end.line), first + 4)
        guard first <= last else { return text }
        text += "\n"
        for n in first...last {
            var line = lines[n - 1]
            if line.last == 0x0D { line = line.dropLast() }
            text += "\n \(n) | " + GoText.string(line)
        }
        if range.end.line > last { text += "\n   | …" }
        return text
    }
}
