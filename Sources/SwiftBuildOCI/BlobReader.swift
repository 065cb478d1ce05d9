#if canImport(Glibc)
import Glibc
#endif

/// An open blob. Owns its descriptor and closes it in `deinit`. One reader belongs to one task at a time.
///
/// When opened with verification (the default), `read(into:)` hashes what it returns and, at the end of the
/// blob, throws `digestMismatch` instead of reporting the end if the bytes were not the blob's: a consumer that
/// reads to the end never silently accepts corrupt content.
public final class BlobReader {
    /// The open descriptor, valid while the reader lives. Reading it directly bypasses verification.
    public let fileDescriptor: Int32
    public let size: Int64
    /// The blob's path in the store.
    public let path: String
    public let digest: Digest
    private let hasher: SHA256Hasher?
    private var verified = false

    init(fileDescriptor: Int32, size: Int64, path: String, digest: Digest, verify: Bool) {
        self.fileDescriptor = fileDescriptor
        self.size = size
        self.path = path
        self.digest = digest
        hasher = verify ? SHA256Hasher() : nil
    }

    deinit { _ = close(fileDescriptor) }

    /// Reads the next bytes into `buffer`; 0 at the end (after verification, when enabled).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ContentStoreError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fileDescriptor, base, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "read", path: path, errno: errno)
            }
            guard let hasher else { return n }
            if n > 0 {
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                return n
            }
            if !verified {
                let actual = hasher.finalize()
                guard actual == digest else { throw .digestMismatch(expected: digest, actual: actual) }
                verified = true
            }
            return 0
        }
    }
}
