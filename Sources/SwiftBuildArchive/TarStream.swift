#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// The tar byte stream: appends into the encoder's chunk buffers and hashes every full chunk for the diff ID.
/// File contents are `read` straight into the chunk buffer, so they are copied exactly once.
final class TarStream {
    private let encoder: any ChunkEncoder
    /// Hashes the chunks here unless the encoder does (`ChunkEncoder.inputHasher`).
    private let diffHasher: SHA256Hasher?
    private var buffer: UnsafeMutableRawBufferPointer
    private var fill = 0
    private(set) var total: Int64 = 0

    init(encoder: any ChunkEncoder) {
        self.encoder = encoder
        self.buffer = encoder.firstBuffer()
        diffHasher = encoder.inputHasher == nil ? SHA256Hasher() : nil
    }

    private func flushChunk() throws {
        let full = UnsafeRawBufferPointer(rebasing: buffer[0..<fill])
        diffHasher?.update(full)
        buffer = try encoder.submit(fill)
        fill = 0
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if fill == buffer.count { try flushChunk() }
            let n = min(buffer.count - fill, bytes.count - offset)
            guard let dst = buffer.baseAddress, let src = bytes.baseAddress else { return }
            (dst + fill).copyMemory(from: src + offset, byteCount: n)
            fill += n
            offset += n
        }
        total += Int64(bytes.count)
    }

    func appendZeros(_ count: Int) throws {
        var left = count
        while left > 0 {
            if fill == buffer.count { try flushChunk() }
            let n = min(buffer.count - fill, left)
            guard let dst = buffer.baseAddress else { return }
            (dst + fill).initializeMemory(as: UInt8.self, repeating: 0, count: n)
            fill += n
            left -= n
        }
        total += Int64(count)
    }

    /// Reads exactly `count` bytes of `fd` into the stream.
    func appendFile(fd: Int32, count: Int64, path: @autoclosure () -> String, tap: (any LayerContentTap)? = nil) throws {
        var left = count
        while left > 0 {
            if fill == buffer.count { try flushChunk() }
            let want = Int(min(Int64(buffer.count - fill), left))
            guard let dst = buffer.baseAddress else { return }
            let n = read(fd, dst + fill, want)
            if n < 0 {
                if errno == EINTR { continue }
                throw LayerWriterError.system(operation: "read", path: path(), errno: errno)
            }
            if n == 0 { throw LayerWriterError.fileShrank(path: path(), expected: count, read: count - left) }
            tap?.update(UnsafeRawBufferPointer(start: dst + fill, count: n))
            fill += n
            left -= Int64(n)
        }
        total += count
    }

    /// Ends the stream and returns the diff ID.
    func finish() throws -> Digest {
        diffHasher?.update(UnsafeRawBufferPointer(rebasing: buffer[0..<fill]))
        try encoder.finish(fill)
        guard let hasher = diffHasher ?? encoder.inputHasher else { preconditionFailure("no diff ID hasher") }
        return hasher.finalize()
    }
}
