import Foundation
import Testing
import TestSupport
@testable import SwiftBuildArchive
#if canImport(Glibc)
import Glibc
#endif

/// Layers built to escape the root. Each must be refused (or neutralised) with an error naming the entry, and
/// nothing outside the root may change: a sibling "outside" directory is snapshotted before and after.
@Suite struct LayerExtractorHostileTests {
    /// A work area: `base/root` (the target) and `base/outside` (must never change).
    final class Arena {
        let tmp: TemporaryDirectory
        let root: String
        let outside: String

        init() throws {
            tmp = try TemporaryDirectory()
            root = try tmp.sub("root")
            outside = try tmp.sub("outside")
            try FileManager.default.createDirectory(atPath: outside + "/etc", withIntermediateDirectories: true)
            try writeFile(outside + "/passwd", Array("root:x:0:0\n".utf8))
            try writeFile(outside + "/etc/passwd", Array("root:x:0:0\n".utf8))
        }

        /// Extracts `tar`, returning the error (nil on success), and checks the outside did not change.
        func extract(_ tar: TestTarBuilder, options: LayerExtractor.Options = .init(),
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> LayerExtractionError? {
            let archive = tmp.path + "/layer.tar"
            try writeFile(archive, tar.finished())
            let before = try snapshot(outside, includeRoot: true)
            let siblings = try FileManager.default.contentsOfDirectory(atPath: tmp.path).sorted()
            var failure: LayerExtractionError?
            do {
                _ = try LayerExtractor(options: options).extract(archiveAt: archive, into: root)
            } catch {
                failure = error
            }
            #expect(try snapshot(outside, includeRoot: true) == before, "outside changed", sourceLocation: sourceLocation)
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).sorted() == siblings,
                    sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: "/pwned"), sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: "/etc/pwned"), sourceLocation: sourceLocation)
            return failure
        }
    }

    static let resolvers: [Bool] = [true, false]  // openat2 fast path, portable openat walk

    @Test(arguments: resolvers)
    func parentTraversal(openat2: Bool) throws {
        let arena = try Arena()
        for path in ["../x", "a/../../x", "./../outside/passwd", "a/b/../../../x"] {
            var tar = TestTarBuilder()
            tar.file(path, "pwned")
            let e = try arena.extract(tar, options: .init(useOpenat2: openat2))
            #expect(e?.reason == .parentTraversal, "\(path)")
            #expect(e?.entry == path)
        }
    }

    @Test func absolutePath() throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.file(arena.outside + "/passwd", "pwned")
        let e = try arena.extract(tar)
        #expect(e?.reason == .absolutePath)
        #expect(e.map { $0.description.contains("outside/passwd") } == true)
    }

    @Test(arguments: resolvers)
    func entryThroughSymlinkInLayer(openat2: Bool) throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.symlink("link", to: "/")
        tar.file("link/etc/pwned", "pwned")
        #expect(try arena.extract(tar, options: .init(useOpenat2: openat2))?.reason == .symlinkInPath(component: "link"))

        var tar2 = TestTarBuilder()
        tar2.directory("d")
        tar2.symlink("d/out", to: "../../outside")
        tar2.file("d/out/passwd", "pwned")
        let e = try arena.extract(tar2, options: .init(useOpenat2: openat2))
        #expect(e?.reason == .symlinkInPath(component: "d/out"))
        #expect(e?.entry == "d/out/passwd")
    }

    @Test(arguments: resolvers)
    func entryThroughSymlinkAlreadyOnDisk(openat2: Bool) throws {
        let arena = try Arena()
        try FileManager.default.createSymbolicLink(atPath: arena.root + "/disklink", withDestinationPath: arena.outside)
        var tar = TestTarBuilder()
        tar.file("disklink/passwd", "pwned")
        #expect(try arena.extract(tar, options: .init(useOpenat2: openat2))?.reason
                == .symlinkInPath(component: "disklink"))
        // And a directory entry through it.
        var tar2 = TestTarBuilder()
        tar2.directory("disklink/newdir")
        #expect(try arena.extract(tar2, options: .init(useOpenat2: openat2))?.reason
                == .symlinkInPath(component: "disklink"))
    }

    @Test func finalSymlinkIsReplacedNotFollowed() throws {
        let arena = try Arena()
        try FileManager.default.createSymbolicLink(atPath: arena.root + "/victim", withDestinationPath: arena.outside + "/passwd")
        try FileManager.default.createSymbolicLink(atPath: arena.root + "/victimdir", withDestinationPath: arena.outside)
        var tar = TestTarBuilder()
        tar.file("victim", "inside")
        tar.directory("victimdir")
        tar.file("victimdir/passwd", "inside too")
        #expect(try arena.extract(tar) == nil)
        let s = try snapshot(arena.root)
        #expect(s["victim"]?.content == Array("inside".utf8))
        #expect(s["victimdir"]?.type == "dir")
        #expect(s["victimdir/passwd"]?.content == Array("inside too".utf8))
    }

    @Test(arguments: resolvers)
    func hardlinkOutsideRoot(openat2: Bool) throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.hardlink("hl", to: "../../outside/passwd")
        #expect(try arena.extract(tar, options: .init(useOpenat2: openat2))?.reason
                == .hardlinkTargetOutsideRoot(target: "../../outside/passwd"))

        var tar2 = TestTarBuilder()
        tar2.hardlink("hl", to: "/etc/passwd")
        #expect(try arena.extract(tar2, options: .init(useOpenat2: openat2))?.reason
                == .hardlinkTargetOutsideRoot(target: "/etc/passwd"))

        var tar3 = TestTarBuilder()
        tar3.symlink("out", to: arena.outside)
        tar3.hardlink("hl", to: "out/passwd")
        #expect(try arena.extract(tar3, options: .init(useOpenat2: openat2))?.reason
                == .hardlinkTargetOutsideRoot(target: "out/passwd"))
        #expect(!FileManager.default.fileExists(atPath: arena.root + "/hl"))
    }

    @Test func hardlinkToSymlinkLinksTheSymlinkItself() throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.symlink("s", to: arena.outside + "/passwd")
        tar.hardlink("hl", to: "s")
        tar.file("hl2", "x")
        #expect(try arena.extract(tar) == nil)
        let s = try snapshot(arena.root)
        #expect(s["hl"]?.type == "symlink")
        #expect(s["hl"]?.inode == s["s"]?.inode)
    }

    @Test func hardlinkProblems() throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.hardlink("hl", to: "missing")
        #expect(try arena.extract(tar)?.reason == .hardlinkTargetMissing(target: "missing"))
        var tar2 = TestTarBuilder()
        tar2.directory("d")
        tar2.hardlink("hl", to: "d")
        #expect(try arena.extract(tar2)?.reason == .hardlinkToDirectory(target: "d"))
    }

    @Test(arguments: resolvers)
    func symlinkChainLeavingTheRoot(openat2: Bool) throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.symlink("s1", to: "s2")
        tar.symlink("s2", to: "sub/../s3")
        tar.symlink("s3", to: "../outside")
        tar.file("s1/passwd", "pwned")
        #expect(try arena.extract(tar, options: .init(useOpenat2: openat2))?.reason == .symlinkInPath(component: "s1"))
        // Writing to the chain's first name replaces the link, never its far end.
        var tar2 = TestTarBuilder()
        tar2.file("s3", "replaced")
        tar2.file("s1", "replaced")
        #expect(try arena.extract(tar2, options: .init(useOpenat2: openat2)) == nil)
        #expect(try snapshot(arena.root)["s3"]?.content == Array("replaced".utf8))
    }

    @Test func tenThousandLinkSymlinkChain() throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        let n = 10_000
        for i in 0..<n { tar.symlink("c\(i)", to: i == n - 1 ? "../outside" : "c\(i + 1)") }
        tar.file("c0/passwd", "pwned")
        let e = try arena.extract(tar)
        #expect(e?.reason == .symlinkInPath(component: "c0"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: arena.root).count == n)
    }

    @Test func deepPathBomb() throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.file(Array(repeating: "a", count: 2000).joined(separator: "/") + "/f", "deep")
        let e = try arena.extract(tar)
        #expect(e?.reason == .pathTooDeep(depth: 2001, limit: 1024))
        #expect(!FileManager.default.fileExists(atPath: arena.root + "/a"), "refused before creating anything")

        // Within the limits, deep trees are fine.
        var ok = TestTarBuilder()
        ok.file(Array(repeating: "b", count: 200).joined(separator: "/") + "/f", "deep")
        #expect(try arena.extract(ok) == nil)
        #expect(FileManager.default.fileExists(
            atPath: arena.root + "/" + Array(repeating: "b", count: 200).joined(separator: "/") + "/f"))
    }

    @Test func deviceWhenDevicesAreNotAllowed() throws {
        let arena = try Arena()
        try FileManager.default.createDirectory(atPath: arena.root + "/dev", withIntermediateDirectories: true)
        try writeFile(arena.root + "/dev/null", [7])
        var tar = TestTarBuilder()
        tar.entry("dev/sda", .blockDevice, mode: 0o660, major: 8, minor: 0)
        let e = try arena.extract(tar, options: .init(allowDevices: false))
        #expect(e?.reason == .deviceNotAllowed)
        #expect(e?.entry == "dev/sda")
        #expect(!FileManager.default.fileExists(atPath: arena.root + "/dev/sda"))
        // Refused before touching what is already there.
        var tar2 = TestTarBuilder()
        tar2.entry("dev/null", .charDevice, mode: 0o666, major: 1, minor: 3)
        #expect(try arena.extract(tar2, options: .init(allowDevices: false))?.reason == .deviceNotAllowed)
        #expect(try snapshot(arena.root)["dev/null"]?.content == [7])
    }

    @Test func truncatedEntry() throws {
        let arena = try Arena()
        var tar = TestTarBuilder()
        tar.file("ok", "fine")
        tar.truncatedFile("liar", declaredSize: 100_000, actual: 1000)
        let e = try arena.extract(tar)
        #expect(e?.entry == "liar")
        if case .archive(let cause)? = e?.reason {
            #expect(cause.message.lowercased().contains("truncated"), "\(cause)")
        } else {
            Issue.record("expected an archive error, got \(String(describing: e))")
        }
    }

    @Test func invalidWhiteouts() throws {
        let arena = try Arena()
        for name in [".wh.", "d/.wh..", "d/.wh..."] {
            var tar = TestTarBuilder()
            tar.file(name)
            let e = try arena.extract(tar)
            #expect(e?.reason == .invalidWhiteout, "\(name)")
        }
    }

    @Test func whiteoutThroughSymlinkIsRefused() throws {
        let arena = try Arena()
        try FileManager.default.createSymbolicLink(atPath: arena.root + "/o", withDestinationPath: arena.outside)
        var tar = TestTarBuilder()
        tar.file("o/.wh.passwd")
        #expect(try arena.extract(tar)?.reason == .symlinkInPath(component: "o"))
        var tar2 = TestTarBuilder()
        tar2.file("o/.wh..wh..opq")
        #expect(try arena.extract(tar2)?.reason == .symlinkInPath(component: "o"))
        // Whiting out the symlink itself removes the link, not its target.
        var tar3 = TestTarBuilder()
        tar3.file(".wh.o")
        #expect(try arena.extract(tar3) == nil)
        #expect(!FileManager.default.fileExists(atPath: arena.root + "/o"))
    }
}
