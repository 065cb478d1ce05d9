import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import SwiftBuildKit
import SwiftBuildArchive
import SwiftBuildOCI

@Suite(.serialized) struct SnapshotStoreTests {
    /// A layer with a file, a directory, a whiteout and an opaque directory, written into `content`.
    static func layer(_ scratch: TemporaryDirectory, _ content: ContentStore) throws -> LayerResult {
        let src = try scratch.sub("layer-src")
        try put(src + "/etc/hello", "hi\n")
        try put(src + "/opt/x/new", "n")
        try FileManager.default.createDirectory(atPath: src + "/etc", withIntermediateDirectories: true)
        let entries: [LayerEntry] = [.path("etc"), .path("etc/hello"), .whiteout("etc/motd"),
                                     .path("opt"), .path("opt/x"), .opaqueDirectory("opt/x"), .path("opt/x/new")]
        return try LayerWriter(compression: .gzip).write(entries: entries, from: src, into: content)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func extractsOnceInOverlayFormAndRepairs() async throws {
        let scratch = try TemporaryDirectory()
        let root = try scratch.sub("root")
        let content = try ContentStore(root: root)
        let result = try Self.layer(scratch, content)
        let store = try SnapshotStore(root: root, content: content)

        let dir = try await store.unpacked(layer: result.digest, diffID: result.diffID)
        #expect(dir == root + "/snapshots/" + result.diffID.encoded)
        #expect(text(dir + "/etc/hello") == "hi\n")
        let wh = try #require(lstatOf(dir + "/etc/motd"))
        #expect(wh.st_mode & S_IFMT == S_IFCHR && wh.st_rdev == 0)
        #expect(store.isUnpacked(diffID: result.diffID))

        // Extracted once: a second call does not touch it.
        try put(dir + "/marker-from-test", "x")
        _ = try await store.unpacked(layer: result.digest, diffID: result.diffID)
        #expect(FileManager.default.fileExists(atPath: dir + "/marker-from-test"))

        // Partial (no completion marker, as after kill -9): rebuilt from the blob; stale temp dirs removed.
        try FileManager.default.removeItem(atPath: dir + ".complete")
        try put(root + "/snapshots/.tmp-\(result.diffID.encoded)-1-2/half", "h")
        try FileManager.default.removeItem(atPath: dir + "/etc/hello")
        _ = try await store.unpacked(layer: result.digest, diffID: result.diffID)
        #expect(text(dir + "/etc/hello") == "hi\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/marker-from-test"))
        #expect(!tree(root + "/snapshots").contains { $0.hasPrefix(".tmp") })
    }

    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func wrongDiffIDIsRefusedAndNothingKept() async throws {
        let scratch = try TemporaryDirectory()
        let root = try scratch.sub("root")
        let content = try ContentStore(root: root)
        let result = try Self.layer(scratch, content)
        let store = try SnapshotStore(root: root, content: content)
        let wrong = SHA256Hasher.digest(Array("not the layer".utf8))
        await #expect(throws: SnapshotError.self) {
            _ = try await store.unpacked(layer: result.digest, diffID: wrong)
        }
        #expect(!store.isUnpacked(diffID: wrong))
        #expect(!FileManager.default.fileExists(atPath: store.path(diffID: wrong)))
        #expect(!tree(root + "/snapshots").contains { $0.hasPrefix(".tmp") })
        let missing = SHA256Hasher.digest(Array("no blob".utf8))
        await #expect(throws: SnapshotError.self) {
            _ = try await store.unpacked(layer: missing, diffID: missing)
        }
    }

    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func concurrentCallsExtractOnce() async throws {
        let scratch = try TemporaryDirectory()
        let root = try scratch.sub("root")
        let content = try ContentStore(root: root)
        let result = try Self.layer(scratch, content)
        let store = try SnapshotStore(root: root, content: content)
        let paths = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 { group.addTask { try await store.unpacked(layer: result.digest, diffID: result.diffID) } }
            var out: [String] = []
            for try await p in group { out.append(p) }
            return out
        }
        #expect(Set(paths).count == 1)
        #expect(text(paths[0] + "/opt/x/new") == "n")
    }
}
