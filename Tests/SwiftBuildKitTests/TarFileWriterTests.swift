import Foundation
import Testing
import TestSupport
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// The OCI archive writer copies big blobs in ranges on several threads: the entry must hold exactly the
/// blob's bytes, whole, at the right place, and the entries after it must follow on.
@Suite struct TarFileWriterTests {
    @Test func rangesCoverTheBlobInOrder() {
        for (size, pieces) in [(Int64(0), 2), (1, 2), (33 << 20, 2), ((64 << 20) + 5, 3), (100, 1)] {
            let ranges = TarFileWriter.split(size, pieces: pieces)
            #expect(ranges.count <= max(1, pieces))
            var next: Int64 = 0
            for range in ranges {
                #expect(range.offset == next)
                next += range.count
            }
            #expect(next == size, "size \(size) in \(pieces)")
        }
    }

    @Test func bigBlobCopiedInParallelRangesReadsBackWhole() throws {
        let scratch = try TemporaryDirectory()
        let blob = scratch.path + "/blob"
        let size = Int(TarFileWriter.parallelCopyMinimum) + 3 * (1 << 20) + 4321
        var bytes = [UInt8](repeating: 0, count: size)
        var x: UInt32 = 12345
        for i in bytes.indices {
            x = x &* 1_103_515_245 &+ 12345
            bytes[i] = UInt8(truncatingIfNeeded: x >> 16)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: blob))
        let archive = scratch.path + "/out.tar"
        let writer = try TarFileWriter(creating: archive)
        try writer.file("first", bytes: Array("abc".utf8))
        let fd = open(blob, O_RDONLY)
        #expect(fd >= 0)
        try writer.file("blob", size: Int64(size), copyingFrom: fd)
        close(fd)
        try writer.file("after", bytes: Array("tail".utf8))
        try writer.finish()
        let out = try scratch.sub("x")
        try runTool("/usr/bin/tar", ["-xf", archive, "-C", out])
        #expect(FileManager.default.contents(atPath: out + "/blob") == Data(bytes))
        #expect(FileManager.default.contents(atPath: out + "/after") == Data("tail".utf8))
        #expect(FileManager.default.contents(atPath: out + "/first") == Data("abc".utf8))
    }
}
