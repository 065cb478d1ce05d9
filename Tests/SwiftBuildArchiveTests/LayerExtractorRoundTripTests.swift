import CSys
import Foundation
import Testing
import TestSupport
@testable import SwiftBuildArchive
#if canImport(Glibc)
import Glibc
#endif

/// Trees made with ordinary tools, archived by GNU tar or bsdtar with every compression, extracted by us,
/// and compared node by node.
@Suite struct LayerExtractorRoundTripTests {
    static let isRoot = geteuid() == 0

    /// Builds a tree with every kind of node the layer format carries.
    static func makeTree(_ src: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: src + "/dir/sub", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: src + "/private", withIntermediateDirectories: true)
        try writeFile(src + "/empty", [])
        try writeFile(src + "/dir/hello.txt", Array("hello, layer\n".utf8))
        // Larger than the extractor's buffer so the data loop runs several times.
        var big = [UInt8](repeating: 0, count: 700_000)
        var x: UInt32 = 12345
        for i in big.indices { x = x &* 1_103_515_245 &+ 12345; big[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try writeFile(src + "/dir/sub/big.bin", big)
        try writeFile(src + "/tool", Array("#!/bin/sh\n".utf8))
        try writeFile(src + "/suid", Array("setuid\n".utf8))
        try writeFile(src + "/private/secret", Array("s\n".utf8))
        try writeFile(src + "/non-ascii-\u{e9}t\u{e9}", Array("accent\n".utf8))
        #expect(link(src + "/dir/hello.txt", src + "/dir/hardlink.txt") == 0)
        try fm.createSymbolicLink(atPath: src + "/rel-link", withDestinationPath: "dir/hello.txt")
        try fm.createSymbolicLink(atPath: src + "/abs-link", withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: src + "/dangling", withDestinationPath: "nowhere/at/all")
        #expect(mkfifo(src + "/pipe", 0o640) == 0)
        if isRoot {
            #expect(mknod(src + "/null", Glibc.S_IFCHR | 0o666, swiftbuild_makedev(1, 3)) == 0)
            #expect(chown(src + "/tool", 1234, 5678) == 0)
            #expect(chown(src + "/private", 42, 43) == 0)
        }
        #expect(chmod(src + "/tool", 0o755) == 0)
        #expect(chmod(src + "/suid", 0o4755) == 0)
        #expect(chmod(src + "/private/secret", 0o600) == 0)
        #expect(chmod(src + "/private", 0o700) == 0)
        _ = setxattr(src + "/dir/hello.txt", "user.note", "round trip", 10, 0)
        _ = setxattr(src + "/dir", "user.dirnote", "d", 1, 0)
        // Fixed times, distinct per node, set last (children change their directories' times).
        var stamp = 1_600_000_000
        for path in ["/empty", "/dir/hello.txt", "/dir/sub/big.bin", "/tool", "/suid", "/private/secret",
                     "/rel-link", "/abs-link", "/dangling", "/pipe", "/dir/sub", "/dir", "/private"] {
            stamp += 1000
            var t = [timespec(tv_sec: stamp, tv_nsec: 0), timespec(tv_sec: stamp, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, src + path, &t, AT_SYMLINK_NOFOLLOW) == 0)
        }
    }

    static func commandLines() -> [(String, String)] {
        let gnu = "tar --format=pax --xattrs --xattrs-include='user.*' -C SRC -cf - ."
        let bsd = "bsdtar --format=pax -C SRC -cf - ."
        return [
            ("gnu tar, uncompressed", gnu),
            ("gnu tar, gzip", gnu + " | gzip -c"),
            ("gnu tar, zstd", gnu + " | zstd -q -c"),
            ("gnu tar, xz", gnu + " | xz -c"),
            ("gnu tar, bzip2", gnu + " | bzip2 -c"),
            ("bsdtar, gzip", bsd + " | gzip -c"),
            ("bsdtar, zstd", bsd + " | zstd -q -c"),
        ]
    }

    @Test(arguments: commandLines())
    func roundTrip(label: String, command: String) throws {
        let tmp = try TemporaryDirectory()
        let src = try tmp.sub("src")
        let dst = try tmp.sub("dst")
        try Self.makeTree(src)
        let archive = tmp.path + "/layer"
        try shell(command.replacingOccurrences(of: "SRC", with: src) + " > \(archive)")

        let report = try LayerExtractor().extract(archiveAt: archive, into: dst)

        let expected = try snapshot(src)
        let actual = try snapshot(dst)
        #expect(Set(actual.keys) == Set(expected.keys), "\(label)")
        for (path, want) in expected.sorted(by: { $0.key < $1.key }) {
            guard let got = actual[path] else { continue }
            #expect(got.sameContent(want), "\(label): \(path): got \(got), want \(want)")
        }
        #expect(actual["dir/hello.txt"]?.inode == actual["dir/hardlink.txt"]?.inode, "hardlink kept: \(label)")
        #expect(actual["dir/hello.txt"]?.xattrs["user.note"] == Array("round trip".utf8) || userXattrs(src + "/dir/hello.txt").isEmpty)
        #expect(actual["suid"]?.mode == 0o4755)
        #expect(report.hardlinks == 1)
        #expect(report.symlinks == 3)
        #expect(report.bytesWritten > 700_000)
        let wantFilter = label.split(separator: " ").last.map(String.init) ?? ""
        let want: DetectedCompression = switch wantFilter {
        case "gzip": .gzip
        case "zstd": .zstd
        case "xz": .xz
        case "bzip2": .bzip2
        default: .none
        }
        #expect(report.compression == want, "\(label)")
    }

    @Test func extractsFromAPipe() throws {
        let tmp = try TemporaryDirectory()
        let src = try tmp.sub("src")
        let dst = try tmp.sub("dst")
        try writeFile(src + "/a", Array("from a pipe".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "tar -C \(src) -cf - . | zstd -q -c"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let report = try LayerExtractor().extract(fileDescriptor: pipe.fileHandleForReading.fileDescriptor, into: dst)
        process.waitUntilExit()
        #expect(report.compression == .zstd)
        #expect(try String(contentsOfFile: dst + "/a", encoding: .utf8) == "from a pipe")
    }

    @Test func emptyLayerIsValid() throws {
        let tmp = try TemporaryDirectory()
        let dst = try tmp.sub("dst")
        try writeFile(tmp.path + "/empty.tar", [])
        let report = try LayerExtractor().extract(archiveAt: tmp.path + "/empty.tar", into: dst)
        #expect(report.entries == 0)
        #expect(try snapshot(dst).isEmpty)
    }

    @Test func garbageIsAnArchiveError() throws {
        let tmp = try TemporaryDirectory()
        let dst = try tmp.sub("dst")
        try writeFile(tmp.path + "/junk", Array(repeating: 0x5a, count: 3000))
        #expect {
            try LayerExtractor().extract(archiveAt: tmp.path + "/junk", into: dst)
        } throws: { error in
            guard let e = error as? LayerExtractionError, case .archive = e.reason else { return false }
            return true
        }
    }

    @Test func replacesExistingNodesOfOtherTypes() throws {
        let tmp = try TemporaryDirectory()
        let dst = try tmp.sub("dst")
        // Lower: a directory tree where the layer has a file, a file where it has a directory.
        try FileManager.default.createDirectory(atPath: dst + "/was-dir/deep/er", withIntermediateDirectories: true)
        try writeFile(dst + "/was-dir/deep/er/f", [1, 2, 3])
        try writeFile(dst + "/was-file", [1])
        try FileManager.default.createDirectory(atPath: dst + "/merged", withIntermediateDirectories: true)
        try writeFile(dst + "/merged/lower", [1])
        var tar = TestTarBuilder()
        tar.file("was-dir", "now a file")
        tar.directory("was-file", mode: 0o751)
        tar.file("was-file/inside", "x")
        tar.directory("merged", mode: 0o711)
        tar.file("merged/upper", "u")
        try writeFile(tmp.path + "/l.tar", tar.finished())
        try LayerExtractor().extract(archiveAt: tmp.path + "/l.tar", into: dst)
        let s = try snapshot(dst)
        #expect(s["was-dir"]?.content == Array("now a file".utf8))
        #expect(s["was-file"]?.type == "dir")
        #expect(s["was-file"]?.mode == 0o751)
        #expect(s["was-file/inside"]?.type == "file")
        #expect(s["merged/lower"] != nil && s["merged/upper"] != nil)
        #expect(s["merged"]?.mode == 0o711)
        #expect(s["merged"]?.mtime == 1_700_000_000)
    }

    @Test func extendedAttributesOnEveryKindOfNode() throws {
        let tmp = try TemporaryDirectory()
        let dst = try tmp.sub("dst")
        var tar = TestTarBuilder()
        tar.entry("f", .file, mode: 0o644, data: [1], xattrs: [("user.ok", "yes"), ("trusted.overlay.opaque", "y"),
                                                                ("user.overlay.opaque", "y")])
        tar.entry("d", .directory, mode: 0o755, xattrs: [("user.dir", "1")])
        if Self.isRoot {
            tar.entry("s", .symlink, mode: 0o777, link: "f", xattrs: [("trusted.sb", "link")])
        }
        try writeFile(tmp.path + "/l.tar", tar.finished())
        let report = try LayerExtractor().extract(archiveAt: tmp.path + "/l.tar", into: dst)
        #expect(userXattrs(dst + "/f") == ["user.ok": Array("yes".utf8)])
        #expect(userXattrs(dst + "/d") == ["user.dir": [0x31]])
        #expect(report.warnings.contains { $0.contains("trusted.overlay.opaque") })
        #expect(report.warnings.contains { $0.contains("user.overlay.opaque") }, "rootless overlay's kind too")
        var value = [UInt8](repeating: 0, count: 16)
        #expect(lgetxattr(dst + "/f", "trusted.overlay.opaque", &value, 16) < 0, "overlay attributes are refused")
        if Self.isRoot {
            let n = lgetxattr(dst + "/s", "trusted.sb", &value, 16)
            #expect(n == 4 && Array(value[0..<4]) == Array("link".utf8), "set on the symlink itself")
            #expect(lgetxattr(dst + "/f", "trusted.sb", &value, 16) < 0, "not on its target")
        }
    }

    @Test(arguments: [true, false])
    func extractingTwiceGivesTheSameTree(openat2: Bool) throws {
        let tmp = try TemporaryDirectory()
        let src = try tmp.sub("src")
        let dst = try tmp.sub("dst")
        try Self.makeTree(src)
        try shell("tar --format=pax --xattrs --xattrs-include='user.*' -C \(src) -czf \(tmp.path)/l.tgz .")
        let extractor = LayerExtractor(options: .init(useOpenat2: openat2))
        try extractor.extract(archiveAt: tmp.path + "/l.tgz", into: dst)
        try extractor.extract(archiveAt: tmp.path + "/l.tgz", into: dst)
        let expected = try snapshot(src)
        let actual = try snapshot(dst)
        #expect(Set(actual.keys) == Set(expected.keys))
        for (path, want) in expected {
            #expect(actual[path].map { $0.sameContent(want) } == true, "\(path)")
        }
        #expect(actual["dir/hello.txt"]?.inode == actual["dir/hardlink.txt"]?.inode)
    }
}
