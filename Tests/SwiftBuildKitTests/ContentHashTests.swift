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
}
