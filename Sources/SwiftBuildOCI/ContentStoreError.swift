#if canImport(Glibc)
import Glibc
#endif

/// Why a content store operation failed.
public enum ContentStoreError: Error, Equatable, CustomStringConvertible {
    /// No blob with this digest is in the store.
    case notFound(Digest)
    /// The bytes hash to `actual`, not to the digest they were meant to have. Nothing was stored.
    case digestMismatch(expected: Digest, actual: Digest)
    /// The byte count differs from the size the caller declared. Nothing was stored.
    case sizeMismatch(expected: Int64, actual: Int64)
    /// A writer was used after `commit` or `abort`.
    case writerFinished
    /// A writer for a hashing producer was committed without the producer's digest.
    case producerDigestMissing
    /// Neither `SWIFTBUILD_ROOT` nor `HOME` is set, so there is no default store location.
    case noDefaultRoot
    /// A system call failed on `path`.
    case system(call: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .notFound(let d): return "blob \(d) is not in the content store"
        case .digestMismatch(let expected, let actual):
            return "content digest mismatch: expected \(expected), got \(actual)"
        case .sizeMismatch(let expected, let actual):
            return "content size mismatch: expected \(expected) bytes, got \(actual)"
        case .writerFinished: return "the ingest writer was already committed or aborted"
        case .producerDigestMissing: return "the blob's producer did not give its digest to commit"
        case .noDefaultRoot: return "cannot choose a content store location: set SWIFTBUILD_ROOT or HOME"
        case .system(let call, let path, let code):
            return "\(call) \(path): \(String(cString: strerror(code)))"
        }
    }
}
