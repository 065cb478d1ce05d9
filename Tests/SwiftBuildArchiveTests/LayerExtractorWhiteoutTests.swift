import CSys
import Foundation
import Testing
import TestSupport
@testable import SwiftBuildArchive

/// OCI whiteouts applied over a lower tree already in the target.
@Suite struct LayerExtractorWhiteoutTests {
    static func lower(_ root: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/a/gonedir/x/y", withIntermediateDirectories: true)
        try writeFile(root + "/a/keep", [1])
        try writeFile(root + "/a/gone", [2])
        try writeFile(root + "/a/gonedir/x/y/z", [3])
        try fm.createDirectory(atPath: root + "/b/olddir", withIntermediateDirectories: true)
        try writeFile(root + "/b/old1", [4])
        try writeFile(root + "/b/olddir/old2", [5])
        try writeFile(root + "/b/replaced", [6])
        try fm.createSymbolicLink(atPath: root + "/c", withDestinationPath: "a")
        try writeFile(root + "/d", [7])
    }

    @Test(arguments: [true, false])
    func whiteoutsAndOpaqueDirectories(openat2: Bool) throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.sub("root")
        try Self.lower(root)
        var tar = TestTarBuilder()
        tar.file("a/.wh.gone")
        tar.file("a/.wh.gonedir")
        tar.file("a/.wh.never-existed")
        tar.directory("b")
        tar.file("b/.wh..wh..opq")
        tar.file("b/new", "n")
        tar.file("b/replaced", "upper")
        tar.file(".wh.c")
        // Same layer: a whiteout never hides what this layer itself created.
        tar.directory("e")
        tar.file("e/mine", "m")
        tar.file("e/.wh.mine")
        tar.file(".wh..wh.plnk")
        // Under a lower file nothing can exist: nothing to hide, not an error.
        tar.file("d/.wh.x")
        try writeFile(tmp.path + "/l.tar", tar.finished())

        let report = try LayerExtractor(options: .init(useOpenat2: openat2))
            .extract(archiveAt: tmp.path + "/l.tar", into: root)

        let s = try snapshot(root)
        #expect(Set(s.keys) == ["a", "a/keep", "b", "b/new", "b/replaced", "d", "e", "e/mine"])
        #expect(s["b/replaced"]?.content == Array("upper".utf8))
        #expect(report.whiteouts == 6)
        #expect(s["d"]?.type == "file")
        #expect(report.opaqueDirectories == 1)
        #expect(!s.keys.contains { $0.contains(".wh.") }, "whiteout markers are never created")
    }

    @Test func opaqueMarkerAfterChildrenKeepsThem() throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.sub("root")
        try Self.lower(root)
        var tar = TestTarBuilder()
        tar.directory("b")
        tar.file("b/new", "n")
        tar.file("b/.wh..wh..opq")
        try writeFile(tmp.path + "/l.tar", tar.finished())
        try LayerExtractor().extract(archiveAt: tmp.path + "/l.tar", into: root)
        let s = try snapshot(root)
        #expect(s.keys.filter { $0.hasPrefix("b/") }.sorted() == ["b/new"])
    }

    @Test func whiteoutsCanBeKeptAsFiles() throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.sub("root")
        try Self.lower(root)
        var tar = TestTarBuilder()
        tar.file("a/.wh.gone")
        try writeFile(tmp.path + "/l.tar", tar.finished())
        try LayerExtractor(options: .init(applyWhiteouts: false)).extract(archiveAt: tmp.path + "/l.tar", into: root)
        #expect(FileManager.default.fileExists(atPath: root + "/a/gone"))
        #expect(FileManager.default.fileExists(atPath: root + "/a/.wh.gone"))
    }
}

/// `overlayWhiteouts`: one layer extracted alone, whiteouts kept in overlayfs form for stacking.
@Suite struct LayerExtractorOverlayWhiteoutTests {
    @Test(.enabled(if: geteuid() == 0, "mknod and trusted.* xattrs need root")) func whiteoutsBecomeOverlayDevicesAndOpaqueXattrs() throws {
        let tmp = try TemporaryDirectory()
        let root = try tmp.sub("root")
        var tar = TestTarBuilder()
        tar.directory("a")
        tar.file("a/.wh.gone")
        tar.file("a/keep", "k")
        tar.file("b/.wh..wh..opq")  // parent missing: created
        tar.file("b/new", "n")
        tar.directory("e")
        tar.file("e/mine", "m")
        tar.file("e/.wh.mine")      // same layer created it: not hidden
        try writeFile(tmp.path + "/l.tar", tar.finished())

        let report = try LayerExtractor(options: .init(overlayWhiteouts: true))
            .extract(archiveAt: tmp.path + "/l.tar", into: root)

        var st = stat()
        #expect(lstat(root + "/a/gone", &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0)
        #expect(FileManager.default.fileExists(atPath: root + "/a/keep"))
        #expect(lstat(root + "/e/mine", &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
        var value = [UInt8](repeating: 0, count: 8)
        let n = getxattr(root + "/b", "trusted.overlay.opaque", &value, value.count)
        #expect(n == 1 && value[0] == UInt8(ascii: "y"))
        #expect(getxattr(root + "/a", "trusted.overlay.opaque", nil, 0) < 0)
        #expect(report.opaqueDirectories == 1)
        let names = try FileManager.default.subpathsOfDirectory(atPath: root)
        #expect(!names.contains { $0.contains(".wh.") })
    }
}
