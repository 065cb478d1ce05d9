import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import SwiftBuildKit
import SwiftBuildArchive
import SwiftBuildOCI

@Suite(.serialized) struct OverlayTests {
    /// Two lower layers in overlay form: bottom has a/keep a/gone d/old, top deletes d/old's sibling.
    static func lowers(_ scratch: TemporaryDirectory) throws -> [String] {
        let bottom = try scratch.sub("bottom"), top = try scratch.sub("top")
        try put(bottom + "/a/keep", "k")
        try put(bottom + "/a/gone", "g")
        try put(bottom + "/d/old", "o")
        try put(bottom + "/d/sub/deep", "d")
        try put(top + "/a/top", "t")
        try shell("mknod \(top)/a/gone c 0 0")
        return [top, bottom]
    }

    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func mountDiffWithDeletionsAndOpaqueDirectories() throws {
        let scratch = try TemporaryDirectory()
        #expect(Overlay.isSupported(scratch: scratch.path))
        let lower = try Self.lowers(scratch)
        let upper = scratch.path + "/upper"
        let entries = try Overlay.withMergedView(lower: lower, upper: upper, work: scratch.path + "/work") { merged in
            #expect(tree(merged) == ["a", "a/keep", "a/top", "d", "d/old", "d/sub", "d/sub/deep"])
            try FileManager.default.removeItem(atPath: merged + "/a/keep")
            try FileManager.default.removeItem(atPath: merged + "/d")
            try put(merged + "/d/fresh", "f")      // d recreated: opaque
            try put(merged + "/a/top", "changed")
            try put(merged + "/n/new", "new")
            return try OverlayDiff.entries(upper: upper)
        }
        #expect(Set(entries) == [.path("a"), .whiteout("a/keep"), .path("a/top"), .path("d"), .opaqueDirectory("d"),
                                 .path("d/fresh"), .path("n"), .path("n/new")])
        // Unmounted and cleaned.
        let info = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!info.contains(scratch.path))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/work"))

        // The layer written from the upper has OCI whiteouts and no overlay xattrs.
        let store = try ContentStore(root: try scratch.sub("store"))
        let result = try LayerWriter(compression: .uncompressed).write(entries: entries, from: upper, into: store)
        let listing = try shell("tar --xattrs -tvf \(store.path(for: result.digest))")
        #expect(listing.contains("a/.wh.keep"))
        #expect(listing.contains("d/.wh..wh..opq"))
        #expect(!listing.contains("trusted.overlay"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func mountFailureAndUnmountInBodyError() throws {
        let scratch = try TemporaryDirectory()
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try Overlay.withMergedView(lower: [try scratch.sub("l")], upper: scratch.path + "/u",
                                       work: scratch.path + "/w") { _ in throw Boom() }
        }
        let info = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!info.contains(scratch.path))
        #expect(throws: SnapshotError.self) {
            try Overlay.mount(lower: [scratch.path + "/a:b"], upper: scratch.path + "/u", work: scratch.path + "/w",
                              at: scratch.path + "/m")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func fallbackMaterializeAndTreeDiff() throws {
        let scratch = try TemporaryDirectory()
        let lower = try Self.lowers(scratch)
        // An opaque directory in the top layer hides the bottom's d.
        try put(lower[0] + "/d/only", "x")
        try shell("setfattr -n trusted.overlay.opaque -v y \(lower[0])/d 2>/dev/null || python3 -c \"import os; os.setxattr('\(lower[0])/d', 'trusted.overlay.opaque', b'y')\"")
        let before = scratch.path + "/before"
        try Overlay.materialize(lower: lower, into: before)
        #expect(tree(before) == ["a", "a/keep", "a/top", "d", "d/only"])
        #expect(text(before + "/a/top") == "t")

        let after = scratch.path + "/after"
        try Overlay.materialize(lower: [before], into: after)
        #expect(tree(after) == tree(before))
        #expect(try TreeDiff.entries(lower: before, upper: after).isEmpty)
        try FileManager.default.removeItem(atPath: after + "/a/keep")
        try put(after + "/a/top", "changed!")
        try put(after + "/z/new", "z")
        let diff = try TreeDiff.entries(lower: before, upper: after)
        #expect(diff == [.path("a"), .path("a/top"), .whiteout("a/keep"), .path("z"), .path("z/new")])
    }
}
