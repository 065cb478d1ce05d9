import Foundation
import Testing
import TestSupport
@testable import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ContentStoreTests {
    /// A store in a fresh temp directory, removed afterwards.
    final class Fixture {
        let directory: TemporaryDirectory
        var dir: String { directory.path }
        let store: ContentStore

        init() throws {
            directory = try TemporaryDirectory(prefix: "swiftbuild-store")
            store = try ContentStore(root: directory.path + "/store")
        }

        func blobFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: store.root + "/blobs/sha256").sorted()
        }

        func ingestFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: store.root + "/ingest").sorted()
        }
    }

    static func bytes(_ count: Int, seed: UInt32) -> [UInt8] {
        var x = seed
        return (0..<count).map { _ in
            x = x &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: x >> 24)
        }
    }

    @Test func ingestThenReadBack() throws {
        let f = try Fixture()
        let data = Self.bytes(300_000, seed: 1)
        let info = try f.store.ingest(bytes: data)
        #expect(info.digest == SHA256Hasher.digest(data))
        #expect(info.size == 300_000)
        #expect(f.store.has(info.digest))
        #expect(try f.store.info(info.digest) == info)
        #expect(try f.store.read(info.digest) == data)
        #expect(try f.store.list() == [info.digest])
        #expect(try f.blobFiles() == [info.digest.encoded])
        #expect(try f.ingestFiles().isEmpty)
        // Streamed through a reader too.
        let reader = try f.store.open(info.digest)
        #expect(reader.size == 300_000)
        var back: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            back += chunk[0..<n]
        }
        #expect(back == data)
        // Blobs are read-only.
        var st = stat()
        #expect(stat(f.store.path(for: info.digest), &st) == 0)
        #expect(st.st_mode & 0o777 == 0o444)
    }

    @Test func streamingWriterWithExpectedDigestAndSize() throws {
        let f = try Fixture()
        let data = Self.bytes(1_000_000, seed: 2)
        let w = try f.store.writer()
        for start in stride(from: 0, to: data.count, by: 77_777) {
            try w.write(Array(data[start..<min(start + 77_777, data.count)]))
        }
        #expect(w.bytesWritten == 1_000_000)
        let info = try w.commit(expected: SHA256Hasher.digest(data), expectedSize: 1_000_000)
        #expect(try f.store.read(info.digest) == data)
        #expect(throws: ContentStoreError.writerFinished) { try w.write([1]) }
    }

    @Test func wrongExpectedDigestIsRejectedAndNothingIsVisible() throws {
        let f = try Fixture()
        let data = Self.bytes(10_000, seed: 3)
        let wrong = SHA256Hasher.digest(Array("something else".utf8))
        #expect(throws: ContentStoreError.digestMismatch(expected: wrong, actual: SHA256Hasher.digest(data))) {
            try f.store.ingest(bytes: data, expected: wrong)
        }
        #expect(!f.store.has(wrong))
        #expect(!f.store.has(SHA256Hasher.digest(data)))
        #expect(try f.blobFiles().isEmpty)
        #expect(try f.ingestFiles().isEmpty)

        let w = try f.store.writer()
        try w.write(data)
        #expect(throws: ContentStoreError.sizeMismatch(expected: 9_999, actual: 10_000)) {
            try w.commit(expected: SHA256Hasher.digest(data), expectedSize: 9_999)
        }
        #expect(try f.blobFiles().isEmpty)
        #expect(try f.ingestFiles().isEmpty)
    }

    @Test func concurrentWritersOfTheSameBlobAllSucceed() async throws {
        let f = try Fixture()
        let data = Self.bytes(2_000_000, seed: 4)
        let expected = SHA256Hasher.digest(data)
        let store = f.store
        let results = try await withThrowingTaskGroup(of: BlobInfo.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let w = try store.writer()
                    for start in stride(from: 0, to: data.count, by: 100_000) {
                        try w.write(Array(data[start..<min(start + 100_000, data.count)]))
                        await Task.yield()
                    }
                    return try w.commit(expected: expected)
                }
            }
            var all: [BlobInfo] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 8)
        #expect(Set(results) == [BlobInfo(digest: expected, size: 2_000_000)])
        #expect(try f.blobFiles() == [expected.encoded])
        #expect(try f.ingestFiles().isEmpty)
        #expect(try f.store.read(expected) == data)
    }

    @Test func concurrentWritersFromTwoStoreInstances() async throws {
        // Two store objects on one root behave like two processes sharing it.
        let f = try Fixture()
        let other = try ContentStore(root: f.store.root)
        let blobs = (0..<6).map { Self.bytes(50_000 + $0, seed: UInt32(10 + $0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, blob) in blobs.enumerated() {
                let store = i % 2 == 0 ? f.store : other
                group.addTask { try store.ingest(bytes: blob) }
                group.addTask { try store.ingest(bytes: blob) }
            }
            try await group.waitForAll()
        }
        #expect(try f.store.list() == blobs.map { SHA256Hasher.digest($0) }.sorted())
        #expect(try f.store.verify().isEmpty)
    }

    @Test func abortLeavesNothing() throws {
        let f = try Fixture()
        let w = try f.store.writer()
        try w.write(Self.bytes(5000, seed: 5))
        #expect(try f.ingestFiles().count == 1)
        w.abort()
        w.abort()
        #expect(try f.ingestFiles().isEmpty)
        #expect(try f.blobFiles().isEmpty)
        #expect(throws: ContentStoreError.writerFinished) { try w.commit() }

        // A writer dropped without commit cleans up too.
        do {
            let dropped = try f.store.writer()
            try dropped.write([1, 2, 3])
        }
        #expect(try f.ingestFiles().isEmpty)
        #expect(try f.blobFiles().isEmpty)
    }

    @Test func crashedWriterNeverShowsAsABlob() throws {
        let f = try Fixture()
        // What a killed process leaves: a temp file with complete-looking content, never renamed.
        let content = Self.bytes(4096, seed: 6)
        let digest = SHA256Hasher.digest(content)
        let stale = f.store.root + "/ingest/0123456789abcdef-999" + ContentStore.temporarySuffix
        try Data(content).write(to: URL(fileURLWithPath: stale))
        #expect(!f.store.has(digest))
        #expect(try f.store.list().isEmpty)
        #expect(throws: ContentStoreError.notFound(digest)) { try f.store.read(digest) }

        // A live writer's temp file is recent; the stale one is old.
        let live = try f.store.writer()
        try live.write([9])
        var old = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, stale, &old, 0) == 0)
        #expect(try f.store.cleanIngest(olderThan: .seconds(3600)) == 1)
        #expect(try f.ingestFiles() == [String(live.temporaryPath.split(separator: "/").last ?? "")])
        try live.commit()
        #expect(try f.ingestFiles().isEmpty)
    }

    @Test func verifyFindsAndQuarantinesACorruptBlob() throws {
        let f = try Fixture()
        let good = try f.store.ingest(bytes: Self.bytes(1000, seed: 7))
        let bad = try f.store.ingest(bytes: Self.bytes(1000, seed: 8))
        #expect(try f.store.verify().isEmpty)

        // Bit rot: flip a byte in place.
        let p = f.store.path(for: bad.digest)
        #expect(chmod(p, 0o644) == 0)
        var corrupt = try Array(Data(contentsOf: URL(fileURLWithPath: p)))
        corrupt[500] ^= 0xff
        try Data(corrupt).write(to: URL(fileURLWithPath: p))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: f.store.root + "/blobs/sha256/not-a-digest"))

        let report = try f.store.verify()
        #expect(report.count == 2)
        #expect(report.contains(BlobProblem(path: p, kind: .digestMismatch(actual: SHA256Hasher.digest(corrupt)),
                                            action: .reported)))
        #expect(report.contains { $0.kind == .unexpectedFile && $0.path.hasSuffix("not-a-digest") })
        // Never served: neither whole nor streamed to the end.
        let mismatch = ContentStoreError.digestMismatch(expected: bad.digest, actual: SHA256Hasher.digest(corrupt))
        #expect(throws: mismatch) { try f.store.read(bad.digest) }
        let reader = try f.store.open(bad.digest)
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(try buffer.withUnsafeMutableBytes { try reader.read(into: $0) } == 1000)
        #expect(throws: mismatch) { try buffer.withUnsafeMutableBytes { try reader.read(into: $0) } }
        let unchecked = try f.store.open(bad.digest, verify: false)
        #expect(try buffer.withUnsafeMutableBytes { try unchecked.read(into: $0) } == 1000)
        #expect(try buffer.withUnsafeMutableBytes { try unchecked.read(into: $0) } == 0)

        let fixed = try f.store.verify(action: .quarantine)
        #expect(fixed.count == 2)
        #expect(!f.store.has(bad.digest))
        #expect(f.store.has(good.digest))
        #expect(try f.store.verify().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.store.root + "/quarantine/sha256").count == 2)

        // A fresh good copy can be stored again.
        try f.store.ingest(bytes: Self.bytes(1000, seed: 8), expected: bad.digest)
        #expect(try f.store.read(bad.digest) == Self.bytes(1000, seed: 8))
    }

    @Test func reingestRepairsABlobOfTheWrongSize() throws {
        let f = try Fixture()
        let data = Self.bytes(2000, seed: 9)
        let info = try f.store.ingest(bytes: data)
        let p = f.store.path(for: info.digest)
        #expect(chmod(p, 0o644) == 0)
        #expect(truncate(p, 10) == 0)
        try f.store.ingest(bytes: data)
        #expect(try f.store.read(info.digest) == data)
    }

    @Test func ingestExistingFileAndDelete() throws {
        let f = try Fixture()
        let data = Self.bytes(3_000_000, seed: 11)
        let source = f.dir + "/source.bin"
        try Data(data).write(to: URL(fileURLWithPath: source))
        let info = try f.store.ingest(file: source, expected: SHA256Hasher.digest(data), expectedSize: 3_000_000)
        #expect(try f.store.info(info.digest).size == 3_000_000)
        #expect(FileManager.default.fileExists(atPath: source), "the source is copied, not moved")
        #expect(try f.store.delete(info.digest))
        #expect(!f.store.has(info.digest))
        #expect(try !f.store.delete(info.digest))
        #expect(throws: ContentStoreError.notFound(info.digest)) { try f.store.info(info.digest) }
        #expect(throws: ContentStoreError.self) { try f.store.ingest(file: f.dir + "/missing") }
    }

    @Test(arguments: [
        (["SWIFTBUILD_ROOT": "/srv/sb", "HOME": "/home/u"], "/srv/sb"),
        (["HOME": "/home/u"], "/home/u/.local/share/swiftbuild"),
        (["SWIFTBUILD_ROOT": "", "HOME": "/root"], "/root/.local/share/swiftbuild"),
    ])
    func defaultRoot(environment: [String: String], expected: String) throws {
        #expect(try ContentStore.defaultRoot(environment: environment) == expected)
    }

    @Test func openingWithoutCreatingRequiresAStore() throws {
        let f = try Fixture()
        #expect(throws: ContentStoreError.system(call: "stat", path: f.dir + "/none", errno: ENOENT)) {
            try ContentStore(root: f.dir + "/none", create: false)
        }
        #expect(!FileManager.default.fileExists(atPath: f.dir + "/none"))
        let info = try f.store.ingest(bytes: [1, 2, 3])
        #expect(try ContentStore(root: f.store.root, create: false).read(info.digest) == [1, 2, 3])
    }

    @Test func noDefaultRootWithoutHome() {
        #expect(throws: ContentStoreError.noDefaultRoot) { try ContentStore.defaultRoot(environment: [:]) }
    }
}
