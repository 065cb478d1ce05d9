import SwiftBuildDockerfile

/// A build failure, said the way a user can act on it: which file and line, which instruction, why,
/// and for a failed RUN the last lines of its output.
public struct BuildError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The Dockerfile's name as the user gave it.
    public var fileName: String
    public var range: SourceRange?
    /// The instruction's first line, e.g. `RUN make`.
    public var instruction: String?
    /// The last lines a failed RUN printed.
    public var outputTail: [String]
    /// The Dockerfile excerpt for a Dockerfile error.
    public var excerpt: String?
    /// The error underneath (a system call's, the registry's, the sandbox's), kept whole for `--debug`.
    public var cause: (any Error)?

    public init(_ message: String, fileName: String = "Dockerfile", range: SourceRange? = nil,
                instruction: String? = nil, outputTail: [String] = [], excerpt: String? = nil,
                cause: (any Error)? = nil) {
        self.message = message
        self.cause = cause
        self.fileName = fileName
        self.range = range
        self.instruction = instruction
        self.outputTail = outputTail
        self.excerpt = excerpt
    }

    /// `Dockerfile:12:1: RUN make: process "/bin/sh -c make" did not complete successfully: exit code: 2`.
    public var description: String {
        var text = ""
        if let range { text += "\(fileName):\(range.start.line):\(range.start.column): " }
        if let instruction { text += "\(instruction): " }
        text += message
        if let excerpt { text += "\n" + excerpt }
        if !outputTail.isEmpty {
            text += "\n------\n" + outputTail.map { " > " + $0 }.joined(separator: "\n") + "\n------"
        }
        return text
    }

    /// The chain of causes, outermost first: this error's text, then each underlying error with its type, as
    /// `--debug` prints it.
    public var causeChain: [String] {
        var lines = [description]
        var next = cause
        var depth = 0
        while let error = next, depth < 16 {
            lines.append("caused by (\(type(of: error))): \(error)")
            next = (error as? BuildError)?.cause
            depth += 1
        }
        return lines
    }

    init(dockerfile error: DockerfileError, fileName: String, source: [UInt8]) {
        self.init(error.message, fileName: fileName, range: error.range, cause: error)
        let full = error.formatted(fileName: fileName, source: source)
        let header = error.formatted(fileName: fileName)
        if full.count > header.count { excerpt = String(full.dropFirst(header.count)).trimmingCharacters(in: .newlines) }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

extension Set where Element == Character {
    static let newlines: Set<Character> = ["\n", "\r"]
}
