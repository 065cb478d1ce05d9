import SwiftBuildOCI

/// The compressing end of the pipeline. It lends the tar producer one chunk buffer at a time:
/// the producer fills it, hands it back with `submit`, and gets the next one.
/// Chunk boundaries depend only on the tar byte offsets, never on threads, so the output is deterministic.
protocol ChunkEncoder: AnyObject {
    /// The buffer to fill first.
    func firstBuffer() -> UnsafeMutableRawBufferPointer
    /// Takes the first `count` bytes of the current buffer (which is full) and returns the next buffer to fill.
    func submit(_ count: Int) throws -> UnsafeMutableRawBufferPointer
    /// Takes the last `count` bytes of the stream and writes everything that is left to the output.
    func finish(_ count: Int) throws
    /// When the encoder hashes the stream it is given (off the producer's thread), the hasher that holds the
    /// diff ID after `finish`; nil when the producer must hash it.
    var inputHasher: SHA256Hasher? { get }
}

extension ChunkEncoder {
    var inputHasher: SHA256Hasher? { nil }
}

/// Stores the tar stream as is.
final class UncompressedEncoder: ChunkEncoder {
    private let buffer: UnsafeMutableRawBufferPointer
    private let output: BlobOutput

    init(chunkSize: Int, output: BlobOutput) {
        buffer = .allocate(byteCount: chunkSize, alignment: 64)
        self.output = output
    }

    deinit { buffer.deallocate() }

    func firstBuffer() -> UnsafeMutableRawBufferPointer { buffer }

    func submit(_ count: Int) throws -> UnsafeMutableRawBufferPointer {
        try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        return buffer
    }

    func finish(_ count: Int) throws {
        try output.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }
}
