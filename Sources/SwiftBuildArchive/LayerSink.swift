#if canImport(Glibc)
import Glibc
#endif

/// Where the bytes of a finished (compressed) layer blob go, in order, exactly once each.
/// The buffer is only valid during the call: copy what you keep. The writer calls it from the thread that
/// called `LayerWriter.write`, never concurrently.
public protocol LayerSink {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Writes a layer blob to a file descriptor, retrying short writes and `EINTR`.
public final class FileLayerSink: LayerSink {
    public let path: String
    private var fd: Int32
    private let ownsDescriptor: Bool

    /// Creates (or truncates) the file at `path` with mode 0644.
    public init(path: String) throws(LayerWriterError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        self.path = path
        self.fd = fd
        self.ownsDescriptor = true
    }

    /// Writes to an already open descriptor, which the caller keeps owning.
    public init(fileDescriptor: Int32, name: String = "<fd>") {
        self.path = name
        self.fd = fileDescriptor
        self.ownsDescriptor = false
    }

    deinit { if ownsDescriptor && fd >= 0 { _ = Glibc.close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw LayerWriterError.system(operation: "write", path: path, errno: errno)
            }
            p += n
            left -= n
        }
    }

    /// Flushes to stable storage when `sync` is set, then closes the file (if this sink opened it).
    public func close(sync: Bool = false) throws(LayerWriterError) {
        guard ownsDescriptor, fd >= 0 else { return }
        if sync && fsync(fd) != 0 { throw .system(operation: "fsync", path: path, errno: errno) }
        let rc = Glibc.close(fd)
        fd = -1
        if rc != 0 { throw .system(operation: "close", path: path, errno: errno) }
    }
}

/// Counts the bytes and drops them: for measuring, or when only the digests are wanted.
public final class DiscardingLayerSink: LayerSink {
    public private(set) var count: Int64 = 0
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws { count += Int64(bytes.count) }
}
