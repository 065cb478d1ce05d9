#if canImport(Glibc)
import Glibc
#endif

/// Why a layer could not be written, with the path and system call that failed.
public enum LayerWriterError: Error, Equatable, CustomStringConvertible {
    /// A system call failed on `path`.
    case system(operation: String, path: String, errno: Int32)
    /// A regular file got shorter between `stat` and the end of reading it.
    case fileShrank(path: String, expected: Int64, read: Int64)
    /// An entry path given to `write(entries:)` is empty, absolute, or has `.`, `..` or empty components.
    case invalidEntryPath(String)
    /// Two entries of `write(entries:)` produce the same tar path.
    case duplicateEntry(String)
    /// The compression level is outside the range the codec accepts.
    case invalidLevel(LayerCompression, Int)
    /// The compression library reported an error.
    case compression(codec: String, detail: String)

    public var description: String {
        switch self {
        case let .system(operation, path, code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .fileShrank(path, expected, read):
            return "\(path): file changed while it was archived (stat said \(expected) bytes, only \(read) could be read)"
        case let .invalidEntryPath(path):
            return "invalid layer entry path '\(path)': it must be relative, without '.', '..' or empty components"
        case let .duplicateEntry(path):
            return "layer entry '\(path)' is listed twice"
        case let .invalidLevel(compression, level):
            return "compression level \(level) is not valid for \(compression.rawValue)"
        case let .compression(codec, detail):
            return "\(codec) compression failed: \(detail)"
        }
    }
}
