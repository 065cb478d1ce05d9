import Foundation
import Testing
import TestSupport
import Glibc
import SwiftBuildOCI
@testable import SwiftBuildArchive

/// A step's layer cut into several: at file boundaries, big files alone, the same cut every time, and the
/// layers unpacked in order give the tree the single layer gives (GNU tar, times and modes included).
@Suite struct LayerSplitTests {
    static func tree(_ scratch: TemporaryDirectory) throws -> String {
        let root = try scratch.sub("tree")
        let t = TreeBuilder(root: root)
        try t.dir("app")
        try t.dir("app/lib", mode: 0o750)
        try t.dir("models")
        for i in 0..<6 { try t.file("app/lib/m\(i).py", Array(repeating: UInt8(97 + i), count: 40_000)) }
        try t.file("app/main.py", Array("print(1)\n".utf8))
        try t.file("models/weights.bin", Array(repeating: 7, count: 300_000))  // "big": its own layer
        try t.file("z.txt", Array("z\n".utf8))
        for dir in ["app/lib", "app", "models", ""] {
            var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, root + "/" + dir, &times, 0)
        }
        return root
    }

    static func entries(_ root: String) -> [LayerEntry] {
        let paths: [String] = ["app", "app/lib"] + (0..<6).map { "app/lib/m\($0).py" }
            + ["app/main.py", "models", "models/weights.bin", "z.txt"]
        return paths.map { LayerEntry.path($0) }
    }

    @Test func cutsAtFileBoundariesBigFilesAlone() throws {
        let scratch = try TemporaryDirectory()
        let root = try Self.tree(scratch)
        let split = LayerSplit(maximum: 100_000, ownLayer: 200_000)
        let groups = try split.groups(Self.entries(root), root: root)
        let paths = groups.map { $0.map { entry -> String in if case .path(let p) = entry { return p } else { return "?" } } }
        #expect(paths == [
            ["app", "app/lib", "app/lib/m0.py", "app/lib/m1.py"],
            ["app", "app/lib", "app/lib/m2.py", "app/lib/m3.py"],
            ["app", "app/lib", "app/lib/m4.py", "app/lib/m5.py", "app/main.py", "models"],
            ["models", "models/weights.bin"],
            ["z.txt"],
        ])
        #expect(try split.groups(Self.entries(root), root: root) == groups, "the same cut every time")
        // The default policy leaves a small layer whole.
        #expect(try LayerSplit.default.groups(Self.entries(root), root: root).count == 1)
    }

    /// Sizes from the walk that made the list are taken as they are: within the default policy's limits the
    /// layer stays whole without a look at the files; beyond them, the cut is the one the files' own sizes give.
    @Test func sizesFromTheWalkDecideWithoutStats() throws {
        let scratch = try TemporaryDirectory()
        let root = try Self.tree(scratch)
        let entries = Self.entries(root)
        var small = LayerSplit.Sizes()
        small.add(fileSize: 1000)
        let policy = LayerSplit(maximum: 100_000, ownLayer: 200_000, onlyWhenLarger: true)
        #expect(try policy.groups(entries, root: root, sizes: small) == [entries])
        var large = LayerSplit.Sizes()
        for _ in 0..<3 { large.add(fileSize: 60_000) }
        #expect(large.tarBytes == 3 * (512 + 60_416) && large.largestFile == 60_000)
        #expect(try policy.groups(entries, root: root, sizes: large) == policy.groups(entries, root: root))
        #expect(try policy.groups(entries, root: root).count == 5)
        var oneBig = LayerSplit.Sizes()
        oneBig.add(fileSize: 250_000)
        #expect(!policy.keepsWhole(oneBig) && policy.keepsWhole(small))
        #expect(!LayerSplit(maximum: 100_000, ownLayer: 200_000).keepsWhole(small), "split-layers=SIZE always cuts")
    }

    @Test func layersUnpackedInOrderGiveTheSingleLayersTree() throws {
        let scratch = try TemporaryDirectory()
        let root = try Self.tree(scratch)
        let store = try ContentStore(root: try scratch.sub("store"))
        let writer = try LayerWriter(compression: .gzip, sourceDateEpoch: nil)
        let single = try writer.write(entries: Self.entries(root), from: root, into: store)
        let parts = try writer.write(entries: Self.entries(root), from: root, into: store,
                                     split: LayerSplit(maximum: 100_000, ownLayer: 200_000))
        #expect(parts.count == 5)
        func unpack(_ layers: [LayerResult], into name: String) throws -> String {
            let dir = try scratch.sub(name)
            // GNU tar sets a directory's times after the whole archive, as containerd, umoci and podman do (bsdtar
            // sets them at once when the directory exists already, before its new children arrive).
            for layer in layers { try runTool("/usr/bin/tar", ["-xpf", store.path(for: layer.digest), "-C", dir]) }
            return try shell("cd \(dir) && find . -mindepth 1 -printf '%p %M %T@ %s %u:%g\\n' | sort")
        }
        let a = try unpack(parts, into: "split"), b = try unpack([single], into: "single")
        #expect(a == b, "split:\n\(a)\nsingle:\n\(b)")
    }
}
