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
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        return try pipeline(sink) { stream in
            while true {
                let n = try reader.read(into: buffer)
                if n == 0 { break }
                try stream.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        }
    }

    /// `recompress(fileDescriptor:to:)` straight into the content store.
    public func recompress(fileDescriptor fd: Int32, into store: ContentStore) throws -> LayerResult {
        try ingest(into: store) { sink in try recompress(fileDescriptor: fd, to: sink) }
    }
}
