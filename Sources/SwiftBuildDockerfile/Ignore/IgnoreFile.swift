/// Reading a `.dockerignore` file into its pattern list, as BuildKit does with `ignorefile.ReadAll`
/// (testdata/conformance/dockerignore/FORMAT.md section 2).
public enum IgnoreFile {
    /// The longest line BuildKit's line reader accepts (Go's `bufio.MaxScanTokenSize` is 64 KiB; a line needs
    /// to fit in that buffer together with its newline, or reach the end of the file before filling it).
    public static let maxLineLength = 64 * 1024 - 1

    /// The patterns of a `.dockerignore` file, in order.
    ///
    /// Lines are split at LF (a CR before the LF or at the end is dropped); a UTF-8 BOM on the first line is
    /// removed; a line whose first character is `#` is a comment; lines are trimmed of Unicode whitespace and
    /// empty ones skipped; `!` is split off and the rest trimmed again, cleaned as a path, and one leading `/`
    /// removed; then `!` is put back. A lone `!` is kept (`PatternMatcher` rejects it).
    /// Invalid UTF-8 is replaced by U+FFFD. Lines longer than `maxLineLength` are accepted here; use
    /// `readAllChecked` to reject them as BuildKit does.
    public static func readAll(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        forEachLine(bytes) { line, number in
            if let pattern = pattern(fromLine: line, number: number) { out.append(pattern) }
        }
        return out
    }

    /// `readAll`, but failing like BuildKit when a line is longer than `maxLineLength` bytes.
    public static func readAllChecked(_ bytes: [UInt8]) throws(IgnoreFileError) -> [String] {
        var tooLong: Int? = nil
        forEachLine(bytes) { line, number in
            if tooLong == nil && line.count > maxLineLength { tooLong = number }
        }
        if let tooLong { throw .lineTooLong(line: tooLong, limit: maxLineLength) }
        return readAll(bytes)
    }

    /// Calls `body` with each raw line (without LF; a trailing CR still present) and its 1-based number.
    private static func forEachLine(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>, Int) -> Void) {
        var start = 0
        var number = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            number += 1
            body(bytes[start..<end], number)
            start = end + 1
        }
    }

    private static func pattern(fromLine raw: ArraySlice<UInt8>, number: Int) -> String? {
        var line = raw
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if number == 1 && line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }
        if line.first == UInt8(ascii: "#") { return nil }
        let text = String(decoding: line, as: UTF8.self)
        var pattern = GoText.trimSpace(Substring(text))
        if pattern.isEmpty { return nil }
        let invert = pattern.hasPrefix("!")
        if invert { pattern = GoText.trimSpace(pattern.dropFirst()) }
        var result = ""
        if !pattern.isEmpty {
            var cleaned = GoText.clean(Array(pattern.utf8))
            if cleaned.count > 1 && cleaned.first == UInt8(ascii: "/") { cleaned.removeFirst() }
            result = String(decoding: cleaned, as: UTF8.self)
        }
        return invert ? "!" + result : result
    }
}

/// Why a `.dockerignore` file could not be read.
public enum IgnoreFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A line is longer than BuildKit's reader accepts.
    case lineTooLong(line: Int, limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let line, let limit):
            return "error reading .dockerignore: line \(line) is longer than \(limit) bytes (token too long)"
        }
    }
}
