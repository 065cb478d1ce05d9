#if canImport(Glibc)
import Glibc
#endif

/// An open blob. Owns its descriptor and closes it in `deinit`. One reader belongs to one task at a time.
public final class BlobReader {
    /// The open descriptor, valid while the reader lives (for `sendfile`, `mmap`, or handing to libarchive).
    public let fileDescriptor: Int32
    public let size: Int64
    /// The blob's path in the store.
    public let path: String

    init(fileDescriptor: Int32, size: Int64, path: String) {
        self.fileDescriptor = fileDescriptor
        self.size = size
        self.path = path
    }

    deinit { _ = close(fileDescriptor) }

    /// Reads the next bytes into `buffer`; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ContentStoreError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fileDescriptor, base, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw .system(call: "read", path: path, errno: errno) }
        }
    }
}
