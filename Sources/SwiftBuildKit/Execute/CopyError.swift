#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// Why a COPY or ADD failed; texts follow BuildKit's and Docker's where they have one.
public enum CopyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two errors are the same when they say the same (a cause is compared by what it says).
    public static func == (a: CopyError, b: CopyError) -> Bool { a.description == b.description }

    /// A source that does not exist in the source root (or is excluded by .dockerignore): `"/nope": not found`.
    case notFound(String)
    /// Several sources and a destination without a trailing `/`.
    case destinationNotDirectory(instruction: String)
    /// A directory source copied onto an existing non-directory.
    case cannotCopyToNonDirectory(String)
    /// A file copied where a directory already is.
    case cannotReplaceDirectory(String)
    case gitNotSupported(String)
    /// `ADD <url>` on `COPY`.
    case urlNotAllowedInCopy(String)
    case download(url: String, message: String)
    case checksumMismatch(url: String, expected: Digest, actual: Digest)
    /// `--checksum` on COPY, with several sources, or without a URL source (BuildKit's three texts).
    case checksumNotAllowed(String)
    /// A git URL on COPY.
    case gitRefInCopy(String)
    case invalidExcludePattern(String, message: String)
    case archive(path: String, message: String)
    case system(operation: String, path: String, errno: Int32)
    /// An operation failed with another layer's error, kept whole.
    case failed(operation: String, path: String, cause: any Error)
    /// A file changed size while it was read (it was written to during the build).
    case changedWhileReading(String)
    /// The task was cancelled; what was copied so far stays in the (discarded) upper directory.
    case cancelled

    public var description: String {
        switch self {
        case .notFound(let path): return "\"\(path)\": not found"
        case .destinationNotDirectory(let instruction):
            return "When using \(instruction) with more than one source file, the destination must be a directory and end with a /"
        case .cannotCopyToNonDirectory(let path): return "cannot copy to non-directory: \(path)"
        case .cannotReplaceDirectory(let path): return "cannot replace to directory \(path) with file"
        case .gitNotSupported(let url): return "git sources are not supported yet: \(url)"
        case .urlNotAllowedInCopy(let url): return "source can't be a URL for COPY: \(url)"
        case .download(let url, let message): return "failed to download \(url): \(message)"
        case .checksumMismatch(let url, let expected, let actual):
            return "digest mismatch for \(url): expected \(expected), got \(actual)"
        case .checksumNotAllowed(let why): return "checksum can't be specified for \(why)"
        case .gitRefInCopy: return "source can't be a git ref for COPY"
        case .invalidExcludePattern(let pattern, let message): return "invalid --exclude pattern \(pattern): \(message)"
        case .archive(let path, let message): return "failed to extract \(path): \(message)"
        case .system(let operation, let path, let code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case .failed(let operation, let path, let cause): return "\(path): \(operation) failed: \(cause)"
        case .changedWhileReading(let path): return "\(path): the file changed while it was read"
        case .cancelled: return "cancelled"
        }
    }
}
