import Foundation
import Testing
import TestSupport
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ContentHashTests {
    /// Big files are hashed in pieces: the result is stable, changes with any byte, and differs from a plain SHA-256
    /// only by construction (it is a cache identity, not a digest anyone else computes).
    @Test func pieceHashOfBigFiles() throws {
        let path = NSTemporaryDirectory() + "/sb-piecehash-\(getpid())"
        defer { unlink(path) }
        let size = StatIndex.pieceSize * 2 + 4096
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0 && ftruncate(fd, off_t(size)) == 0)  // sparse: cheap to create and read
        let first = try StatIndex.contentHash(path, size: size)
        #expect(try StatIndex.contentHash(path, size: size) == first)
        var byte: UInt8 = 1
        #expect(pwrite(fd, &byte, 1, off_t(StatIndex.pieceSize + 17)) == 1)
        close(fd)
        let changed = try StatIndex.contentHash(path, size: size)
        #expect(changed != first)
        #expect(changed.count == 32)
        // Small files keep the plain SHA-256.
        let small = path + "-small"
        defer { unlink(small) }
        try Data("abc".utf8).write(to: URL(fileURLWithPath: small))
        #expect(try StatIndex.contentHash(small, size: 3) == StatIndex.hashFile(small))
    }

    /// The recorder's one-pass hash (fed in whatever slices the tar writer reads) is the stat index's hash, for
    /// small files and for pieced ones (a piece boundary inside a slice included).
    @Test func recorderHashesLikeTheStatIndex() throws {
        let path = NSTemporaryDirectory() + "/sb-taphash-\(getpid())"
        defer { unlink(path) }
        for size in [Int64(0), 5, 70_000, StatIndex.pieceSize * 2 + 12_345] {
            let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            #expect(fd >= 0 && ftruncate(fd, off_t(size)) == 0)
            var marker: [UInt8] = [7, 8, 9]
            if size > 3 { #expect(pwrite(fd, &marker, 3, off_t(size / 2)) == 3) }
            var st = stat()
            #expect(fstat(fd, &st) == 0)
            let recorder = ContentHashRecorder()
            let tap = try #require(recorder.willRead(source: path, path: "f", stat: st))
            // Slices of 1 MiB + 3 bytes, so slices straddle the 64 MiB piece boundaries.
            var buffer = [UInt8](repeating: 0, count: (1 << 20) + 3)
            var offset: Int64 = 0
            while offset < size {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                #expect(n > 0)
                buffer.withUnsafeBytes { tap.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                offset += Int64(n)
            }
            tap.finish()
            close(fd)
            let results = recorder.results
            #expect(results.count == 1 && results.first?.host == path)
            #expect(results.first?.hash == (try StatIndex.contentHash(path, size: size)), "size \(size)")
        }
    }
}
