#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

extension LayerWriter {
    /// Re-encodes an existing layer blob (gzip, zstd, xz, bzip2 or plain tar, detected from the data) with this
    /// writer's compression and level. The tar bytes pass through unchanged, so the diff ID stays the same and
    /// the image config needs no change; only the blob digest, size and media type do. Used by exporters for
    /// `compression=` / `force-compression=true` and to write uncompressed layers into docker-archives.
    /// `fileDescriptor` stays owned by the caller.
    public func recompress(fileDescriptor fd: Int32, to sink: some LayerSink) throws -> LayerResult {
        let reader = try DecompressingReader(fileDescriptor: fd)
        let output = BlobOutput(sink: sink, hashing: compression != .uncompressed)
        let encoder: any ChunkEncoder
        switch compression {
        case .gzip:
            encoder = try ParallelGzipEncoder(level: level, threads: threads, chunkSize: chunkSize,
                                              probing: detectsIncompressibleData, output: output)
        case .zstd:
            encoder = try ZstdEncoder(level: level, threads: threads, chunkSize: chunkSize, output: output)
        case .uncompressed:
            encoder = UncompressedEncoder(chunkSize: chunkSize, output: output)
        }
        let stream = TarStream(encoder: encoder)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = try reader.read(into: buffer)
            if n == 0 { break }
            try stream.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        let diffID = try stream.finish()
        return LayerResult(diffID: diffID, digest: output.finalize() ?? diffID, size: output.size,
                           uncompressedSize: stream.total, compression: compression)
    }

    /// `recompress(fileDescriptor:to:)` straight into the content store.
    public func recompress(fileDescriptor fd: Int32, into store: ContentStore) throws -> LayerResult {
        let writer = try store.writerForHashingProducer()
        do {
            let result = try recompress(fileDescriptor: fd, to: writer)
            try writer.commit(expected: result.digest, expectedSize: result.size)
            return result
        } catch {
            writer.abort()
            throw error
        }
    }
}
