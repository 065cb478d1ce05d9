import Foundation
import Testing
import TestSupport
import Glibc
import SwiftBuildOCI
@testable import SwiftBuildArchive

/// A sink that fails part way (a full disk: ENOSPC from the content store's writer) ends the layer with that
/// error, whatever the compression and however many batches are in flight: no hang, no crash, no result.
@Suite struct SinkFailureTests {
    struct DiskFull: Error, Equatable {}

    /// Fails once `limit` bytes have been written.
    final class FailingSink: LayerSink {
        let limit: Int
        var written = 0
        init(limit: Int) { self.limit = limit }
        func write(_ buffer: UnsafeRawBufferPointer) throws {
            written += buffer.count
            if written > limit { throw DiskFull() }
        }
    }

    @Test(arguments: [(LayerCompression.gzip, 6), (.gzip, 9), (.gzip, 0), (.zstd, 3), (.uncompressed, 0)])
    func aFailingSinkEndsTheLayerWithItsError(_ compression: LayerCompression, _ level: Int) throws {
        let scratch = try TemporaryDirectory()
        let tree = TreeBuilder(root: try scratch.sub("tree"))
        // 24 MiB of text-like and random data: many chunks, so several batches are in flight when it fails.
        var x: UInt32 = 7
        for i in 0..<6 {
            var bytes = [UInt8](repeating: 0, count: 4 << 20)
            for j in bytes.indices {
                x = x &* 1_103_515_245 &+ 12345
                bytes[j] = i % 2 == 0 ? UInt8(97 + (x >> 16) % 7) : UInt8(truncatingIfNeeded: x >> 16)
            }
            try tree.file("f\(i)", bytes)
        }
        for limit in [0, 100, 1 << 20, 5 << 20] {
            let writer = try LayerWriter(compression: compression, level: level, threads: 2)
            #expect(throws: DiskFull.self, "\(compression) \(level), failing after \(limit) bytes") {
                _ = try writer.write(tree: tree.root, to: FailingSink(limit: limit))
            }
        }
    }
}
