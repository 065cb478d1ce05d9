/// One instruction of a Dockerfile as the parser sees it: the keyword as written, builder flags
/// (`--name=value` before the arguments), the argument strings, heredocs, and where it came from.
///
/// This is the node tree of BuildKit's parser, flattened: the root's children are the instructions,
/// and the argument list replaces BuildKit's `next` chain. `ONBUILD` keeps its sub-instruction in `child`.
public struct Node: Sendable, Equatable {
    /// The instruction keyword exactly as written (`RuN`, `copy`).
    public var keyword: String
    /// The keyword lower-cased (Go `strings.ToLower`), used for dispatch.
    public var command: String
    /// Builder flags in order, quotes and escapes already removed (`--from=build`).
    public var flags: [String]
    /// The argument byte strings. Kept as bytes: the Dockerfile may hold invalid UTF-8.
    public var rawArguments: [[UInt8]]
    /// The sub-instruction of `ONBUILD`, if any.
    public var child: [Node]
    /// Whether the arguments came from JSON (exec) form.
    public var isJSONForm: Bool
    /// Heredocs opened on this instruction's line, in order.
    public var heredocs: [Heredoc]
    /// Where the instruction is in the file, continuation lines and heredoc bodies included.
    public var range: SourceRange
    /// The logical line as assembled from its physical lines (continuations joined, comments removed).
    public var original: String

    /// The arguments as strings (invalid UTF-8 bytes appear as U+FFFD).
    public var arguments: [String] { rawArguments.map { GoText.string($0[...]) } }

    /// The sub-instruction of `ONBUILD`.
    public var subInstruction: Node? { child.first }
}

/// A here-document attached to `RUN`, `COPY` or `ADD`.
public struct Heredoc: Sendable, Equatable, Encodable {
    /// The delimiter word, quotes removed.
    public var name: String
    /// The body: every line between the opener and the terminator, with its original line ending.
    public var content: String
    /// Whether variables in the body are expanded (the delimiter was not quoted).
    public var expand: Bool
    /// `<<-`: leading tabs are removed from body lines when the heredoc is used.
    public var chomp: Bool
    /// The file descriptor the heredoc feeds (`3<<EOF`); 0 by default.
    public var fileDescriptor: Int

    public init(name: String, content: String, expand: Bool, chomp: Bool, fileDescriptor: Int) {
        self.name = name
        self.content = content
        self.expand = expand
        self.chomp = chomp
        self.fileDescriptor = fileDescriptor
    }

    /// The delimiter a word opens (`<<EOF`, `<<-EOF`, `<<"EOF"`, `<<-'EOF'`, `3<<EOF`), nil if it opens none.
    public static func delimiter(openedBy word: String) -> String? {
        guard let opener = try? HeredocOpener.parse(word: word) else { return nil }
        return opener.name
    }

    /// The content with leading tabs removed from every line (what `<<-` means when the heredoc is used).
    public static func chomped(_ content: String) -> String {
        var out = ""
        var atLineStart = true
        for ch in content.unicodeScalars {
            if atLineStart && ch == "\t" { continue }
            atLineStart = ch == "\n"
            out.unicodeScalars.append(ch)
        }
        return out
    }
}

/// A parser directive from the top of the file (`# syntax=`, `# escape=`, `# check=`).
public struct ParserDirective: Sendable, Equatable {
    public enum Name: String, Sendable, CaseIterable {
        case syntax, escape, check
    }
    public var name: Name
    public var value: String
    public var line: Int
}

/// A problem that does not stop the parse (BuildKit's lint-style warnings).
public struct ParseWarning: Sendable, Equatable, CustomStringConvertible {
    public var short: String
    public var detail: [String]
    public var url: String
    public var range: SourceRange

    public var description: String { "line \(range.start.line): \(short)" }
}

/// A parsed Dockerfile.
public struct Dockerfile: Sendable, Equatable {
    /// Instructions in file order (BuildKit's root children).
    public var instructions: [Node]
    public var directives: [ParserDirective]
    public var warnings: [ParseWarning]
    /// The escape token in effect (`\` or `` ` ``).
    public var escapeToken: Unicode.Scalar

    /// First line of the first instruction and last line of the last one.
    public var range: SourceRange? {
        guard let first = instructions.first, let last = instructions.last else { return nil }
        return SourceRange(start: first.range.start, end: last.range.end)
    }
}
