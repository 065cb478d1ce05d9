import Foundation
import Glibc
import CSys
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildArchive

private let isRoot = geteuid() == 0

/// A small tree with every kind of entry, fixed modes and mtimes. Creation order can be reversed.
private func makeFixedTree(_ root: String, reversed: Bool = false, atime: Int = 1_000_000) throws {
    let t = TreeBuilder(root: root)
    var dirs: [() throws -> Void] = [{ try t.dir("a") }, { try t.dir("empty", mode: 0o700) }, { try t.dir("long") }]
    var steps: [() throws -> Void] = [
        { try t.file("a/b.txt", "hello\n") },
        { try t.file("a/exec.sh", "#!/bin/sh\necho hi\n", mode: 0o755) },
        { try t.file("a.txt", "sorted after a/ component-wise\n", mode: 0o600) },
        { try t.file("long/" + String(repeating: "x", count: 120), "long name\n") },
        { try t.file("ünïcødé.txt", "non-ascii\n") },
        { try t.symlink("link", to: "a/b.txt") },
        { try t.fifo("pipe") },
    ]
    if reversed {
        dirs.reverse()
        steps.reverse()
    }
    for step in dirs + steps { try step() }
    try t.hardlink("a/hard", to: "a/b.txt")
    for p in ["a/b.txt", "a/exec.sh", "a.txt", "long/" + String(repeating: "x", count: 120), "ünïcødé.txt", "link", "pipe",
              "a", "empty", "long"] {
        t.times(p, mtime: 1_600_000_000, atime: atime)
    }
}

@Suite struct LayerWriterTests {
    private func layer(_ root: String, _ writer: LayerWriter) throws -> (LayerResult, [UInt8]) {
        let sink = MemorySink()
        let result = try writer.write(tree: root, to: sink)
        return (result, sink.bytes)
    }

    @Test func pinnedDigestsForFixedTree() throws {
        let dir = try TemporaryDirectory()
        try makeFixedTree(dir.path)
        let owner = LayerWriter.Owner(uid: 0, gid: 0)
        let (gz, _) = try layer(dir.path, try LayerWriter(compression: .gzip, threads: 2, owner: owner))
        let (raw, tar) = try layer(dir.path, try LayerWriter(compression: .uncompressed, owner: owner))
        #expect(raw.diffID == raw.digest)
        #expect(gz.diffID == raw.diffID)
        #expect(gz.diffID.description == "sha256:7e1b89a4c9fdfe687d4f8cb702655cefb6e9a5c668dd89b12d1feb73a9f88cf4")
        // The same on every CPU (ISA-L's portable routines; LayerDeterminismTests checks it under qemu), for
        // Debian bookworm's libisal2 2.30 and zlib 1.2.13.
        #expect(gz.digest.description == "sha256:fdf2f40df4cfd6b424d727b85e20bdbbf66a616563eddfd454c6811c6b0782ae")
        #expect(raw.size == Int64(tar.count) && tar.count % 512 == 0)
    }

    @Test func creationOrderAndAtimesDoNotChangeTheBytes() throws {
        let one = try TemporaryDirectory(), two = try TemporaryDirectory()
        try makeFixedTree(one.path)
        try makeFixedTree(two.path, reversed: true, atime: 1_700_000_000)
        let writer = try LayerWriter(compression: .gzip, threads: 2, owner: .init(uid: 0, gid: 0))
        let (a, bytesA) = try layer(one.path, writer)
        let (b, bytesB) = try layer(two.path, writer)
        #expect(a == b)
        #expect(sha256(bytesA) == sha256(bytesB))
    }

    @Test func headersAreDeterministicPax() throws {
        let dir = try TemporaryDirectory()
        try makeFixedTree(dir.path)
        let (_, tar) = try layer(dir.path, try LayerWriter(compression: .uncompressed))
        let entries = try parseTar(tar)
        #expect(entries.map(\.name) == [
            "a/", "a/b.txt", "a/exec.sh", "a/hard", "a.txt", "empty/", "link",
            "long/", "long/" + String(repeating: "x", count: 120), "pipe", "ünïcødé.txt",
        ])
        for e in entries {
            #expect(e.uname.isEmpty && e.gname.isEmpty)
            #expect(e.pax["atime"] == nil && e.pax["ctime"] == nil && e.pax["mtime"] == nil)
            #expect(e.mtime == 1_600_000_000)
            #expect(e.uid == Int(getuid()) && e.gid == Int(getgid()))
        }
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(byName["a/b.txt"]?.type == UInt8(ascii: "0") && byName["a/b.txt"]?.content == Array("hello\n".utf8))
        #expect(byName["a/hard"]?.type == UInt8(ascii: "1") && byName["a/hard"]?.linkname == "a/b.txt")
        #expect(byName["a/hard"]?.size == 0)
        #expect(byName["a/exec.sh"]?.mode == 0o755 && byName["a.txt"]?.mode == 0o600)
        #expect(byName["empty/"]?.type == UInt8(ascii: "5") && byName["empty/"]?.mode == 0o700)
        #expect(byName["link"]?.type == UInt8(ascii: "2") && byName["link"]?.linkname == "a/b.txt")
        #expect(byName["pipe"]?.type == UInt8(ascii: "6"))
        #expect(byName["ünïcødé.txt"]?.pax["path"] != nil)
        #expect(byName["long/" + String(repeating: "x", count: 120)]?.pax["path"] != nil)
        #expect(byName["a/b.txt"]?.pax.isEmpty == true)
    }

    @Test func bsdtarListingMatchesTree() throws {
        let dir = try TemporaryDirectory()
        try makeFixedTree(dir.path)
        let blob = dir.path("../layer-\(getpid())-bsd.tgz")
        defer { unlink(blob) }
        let sink = try FileLayerSink(path: blob)
        _ = try LayerWriter(compression: .gzip).write(tree: dir.path, to: sink)
        try sink.close()
        let listing = String(decoding: try run("bsdtar", ["-tvzf", blob, "--numeric-owner"]), as: UTF8.self)
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines.count == 11)
        func line(_ suffix: String) -> [String] {
            lines.first { $0.hasSuffix(" " + suffix) }.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) } ?? []
        }
        let uid = String(getuid()), gid = String(getgid())
        #expect(Array(line("a/b.txt").prefix(5)) == ["-rw-r--r--", "0", uid, gid, "6"])
        #expect(Array(line("a/exec.sh").prefix(5)) == ["-rwxr-xr-x", "0", uid, gid, "18"])
        #expect(line("link -> a/b.txt").first == "lrwxrwxrwx")
        #expect(line("a/hard link to a/b.txt").first == "hrw-r--r--")
        #expect(line("empty/").first == "drwx------")
        #expect(line("pipe").first == "prw-------")
        #expect(lines.contains { $0.hasSuffix(" ünïcødé.txt") })
        #expect(lines.contains { $0.hasSuffix(" long/" + String(repeating: "x", count: 120)) })
    }

    /// overlayfs bookkeeping (`trusted.overlay.*` as root, `user.overlay.*` rootless, where overlay is mounted
    /// with userxattr) never goes into a layer; other attributes do.
    @Test func overlayAttributesOfEitherKindStayOutOfLayers() throws {
        let src = try TemporaryDirectory(), out = try TemporaryDirectory()
        let t = TreeBuilder(root: src.path)
        try t.file("f", Array("x".utf8))
        guard t.setXattr("f", "user.keep", Array("1".utf8)), t.setXattr("f", "user.overlay.opaque", Array("y".utf8))
        else { return }  // no user xattrs on this file system
        let privileged = isRoot && t.setXattr("f", "trusted.overlay.origin", Array("o".utf8))
        let sink = MemorySink()
        _ = try LayerWriter(compression: .gzip).write(tree: src.path, to: sink)
        try run("tar", ["--xattrs", "--xattrs-include=*", "-xzf", "-", "-C", out.path], stdin: sink.bytes)
        var value = [UInt8](repeating: 0, count: 16)
        #expect(lgetxattr(out.path("f"), "user.keep", &value, value.count) == 1)
        #expect(lgetxattr(out.path("f"), "user.overlay.opaque", &value, value.count) < 0)
        if privileged { #expect(lgetxattr(out.path("f"), "trusted.overlay.origin", &value, value.count) < 0) }
    }

    @Test func gnuTarExtractionReproducesTree() throws {
        let src = try TemporaryDirectory(), out = try TemporaryDirectory()
        try makeFixedTree(src.path)
        let t = TreeBuilder(root: src.path)
        try t.file("a/big.bin", randomBytes(300_000) + textBytes(300_000))
        let xattrsSupported = t.setXattr("a/b.txt", "user.swiftbuild", Array("value\0binary".utf8))
        _ = t.setXattr("a", "user.dir", Array("d".utf8))
        if isRoot {
            t.chown("a/exec.sh", 1234, 5678)
            t.chown("link", 42, 43)
        }
        t.times("a/big.bin", mtime: 1_234_567_890)
        t.times("a", mtime: 1_600_000_000)
        let sink = MemorySink()
        let result = try LayerWriter(compression: .gzip, threads: 2).withChunkSize(64 * 1024).write(tree: src.path, to: sink)
        #expect(sha256(sink.bytes) == result.digest)
        try run("tar", ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpzf", "-", "-C", out.path], stdin: sink.bytes)

        let paths = ["a", "a/b.txt", "a/exec.sh", "a/hard", "a/big.bin", "a.txt", "empty", "link", "long",
                     "long/" + String(repeating: "x", count: 120), "pipe", "ünïcødé.txt"]
        for p in paths {
            var s = stat(), d = stat()
            #expect(lstat(src.path(p), &s) == 0 && lstat(out.path(p), &d) == 0, "\(p)")
            #expect(s.st_mode == d.st_mode, "mode of \(p)")
            #expect(s.st_size == d.st_size || (s.st_mode & S_IFMT) == S_IFDIR, "size of \(p)")
            #expect(s.st_mtim.tv_sec == d.st_mtim.tv_sec, "mtime of \(p)")
            if isRoot { #expect(s.st_uid == d.st_uid && s.st_gid == d.st_gid, "owner of \(p)") }
            if (s.st_mode & S_IFMT) == S_IFREG {
                #expect(FileManager.default.contents(atPath: src.path(p)) == FileManager.default.contents(atPath: out.path(p)), "content of \(p)")
            }
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out.path("link")) == "a/b.txt")
        var h1 = stat(), h2 = stat()
        #expect(lstat(out.path("a/b.txt"), &h1) == 0 && lstat(out.path("a/hard"), &h2) == 0 && h1.st_ino == h2.st_ino)
        if xattrsSupported {
            var value = [UInt8](repeating: 0, count: 64)
            let n = lgetxattr(out.path("a/b.txt"), "user.swiftbuild", &value, value.count)
            #expect(n >= 0 && Array(value[0..<max(0, n)]) == Array("value\0binary".utf8))
            #expect(lgetxattr(out.path("a"), "user.dir", &value, value.count) == 1)
        }
    }

    @Test(arguments: [(LayerCompression.gzip, 0), (.gzip, 1), (.gzip, 3), (.gzip, 6), (.gzip, 9),
                      (.zstd, 1), (.zstd, 3), (.uncompressed, 0)])
    func compressedStreamIsValidAndHashesToDiffID(_ compression: LayerCompression, _ level: Int) throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        try t.file("mixed.bin", textBytes(200_000) + randomBytes(200_000) + textBytes(100_000))
        try t.file("small.txt", "small\n")
        let writer = try LayerWriter(compression: compression, level: level, threads: 2).withChunkSize(64 * 1024)
        let (result, blob) = try layer(dir.path, writer)
        #expect(result.size == Int64(blob.count))
        #expect(sha256(blob) == result.digest)
        switch compression {
        case .gzip: try run("gzip", ["-t"], stdin: blob)
        case .zstd: try run("zstd", ["-t"], stdin: blob)
        case .uncompressed: #expect(result.digest == result.diffID)
        }
        let tar = try decompress(blob, compression)
        #expect(sha256(tar) == result.diffID)
        #expect(Int64(tar.count) == result.uncompressedSize)
        #expect(result.mediaType == "application/vnd.oci.image.layer.v1.tar" + result.mediaTypeSuffix)
    }

    @Test(arguments: [(LayerCompression.gzip, 1), (.gzip, 6), (.gzip, 9), (.zstd, 3)])
    func outputDoesNotDependOnThreadCount(_ compression: LayerCompression, _ level: Int) throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        try t.file("data.bin", textBytes(700_000) + randomBytes(300_000) + textBytes(600_000))
        for i in 0..<50 { try t.file("f\(i).txt", textBytes(3000 + i * 97)) }
        var blobs: [[UInt8]] = []
        for threads in [1, 2, 3] {
            let writer = try LayerWriter(compression: compression, level: level, threads: threads, owner: .init(uid: 0, gid: 0))
            blobs.append(try layer(dir.path, writer.withChunkSize(128 * 1024)).1)
        }
        // Compared by digest, so a failure prints two lines rather than megabytes.
        #expect(sha256(blobs[0]) == sha256(blobs[1]))
        #expect(sha256(blobs[0]) == sha256(blobs[2]))
    }

    @Test func sourceDateEpochClampsLaterMtimes() throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        try t.file("old", "o")
        try t.file("new", "n")
        try t.symlink("newlink", to: "new")
        t.times("old", mtime: 1_000)
        t.times("new", mtime: 2_000_000_000, nsec: 5)
        t.times("newlink", mtime: 2_000_000_000)
        let (_, tar) = try layer(dir.path, try LayerWriter(compression: .uncompressed, sourceDateEpoch: 1_500_000_000,
                                                            subsecondMtimes: true))
        let byName = Dictionary(uniqueKeysWithValues: try parseTar(tar).map { ($0.name, $0) })
        #expect(byName["old"]?.mtime == 1_000)
        #expect(byName["new"]?.mtime == 1_500_000_000 && byName["new"]?.pax["mtime"] == nil)
        #expect(byName["newlink"]?.mtime == 1_500_000_000)
    }

    @Test func subsecondMtimesOnlyWhenAsked() throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        try t.file("f", "x")
        t.times("f", mtime: 1_600_000_000, nsec: 123_456_789)
        let (_, plain) = try layer(dir.path, try LayerWriter(compression: .uncompressed))
        let (_, precise) = try layer(dir.path, try LayerWriter(compression: .uncompressed, subsecondMtimes: true))
        #expect(try parseTar(plain)[0].pax["mtime"] == nil)
        #expect(try parseTar(precise)[0].pax["mtime"] == Array("1600000000.123456789".utf8))
        #expect(try parseTar(precise)[0].mtime == 1_600_000_000)
    }

    /// Names around the 100-byte ustar limit and PAX record lengths that cross a digit boundary.
    @Test(arguments: [1, 99, 100, 101, 150, 240])
    func longNamesRoundTripThroughTar(_ length: Int) throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        let name = String(repeating: "n", count: length - 1) + "é"   // the last character is 2 bytes
        try t.file(name, "content")
        let target = String(repeating: "t/", count: 70) + "end"
        try t.symlink("L" + String(repeating: "l", count: min(length, 200)), to: target)
        let (_, tar) = try layer(dir.path, try LayerWriter(compression: .uncompressed))
        let entries = try parseTar(tar)
        #expect(entries.map(\.name).contains(name))
        #expect(entries.first { $0.type == UInt8(ascii: "2") }?.linkname == target)
        let listing = String(decoding: try run("tar", ["-tvf", "-"], stdin: tar), as: UTF8.self)
        #expect(listing.contains(" " + name + "\n"))
        #expect(listing.contains(" -> " + target + "\n"))
    }

    @Test(.enabled(if: isRoot, "chown needs root")) func largeIDsUsePaxRecords() throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        try t.file("f", "x")
        t.chown("f", 3_000_000, 4_000_000)
        let (_, tar) = try layer(dir.path, try LayerWriter(compression: .uncompressed))
        let e = try parseTar(tar)[0]
        #expect(e.pax["uid"] == Array("3000000".utf8) && e.pax["gid"] == Array("4000000".utf8))
        let listing = String(decoding: try run("bsdtar", ["-tvf", "-", "--numeric-owner"], stdin: tar), as: UTF8.self)
        #expect(listing.contains(" 3000000 ") && listing.contains(" 4000000 "))
    }

    @Test(.enabled(if: isRoot, "mknod and security.* xattrs need root")) func securityCapabilityAndDevicesSurvive() throws {
        let dir = try TemporaryDirectory(), out = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        try t.file("ping", "binary", mode: 0o755)
        // VFS_CAP_REVISION_2 with the effective flag, permitted = CAP_NET_RAW (bit 13).
        let cap: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)
        let capSet = t.setXattr("ping", "security.capability", cap)
        #expect(capSet, "root should be able to set security.capability")
        #expect(mknod(dir.path("null"), S_IFCHR | 0o666, swiftbuild_makedev(1, 3)) == 0)
        #expect(mknod(dir.path("loop"), S_IFBLK | 0o660, swiftbuild_makedev(7, 300)) == 0)
        let (result, blob) = try layer(dir.path, try LayerWriter(compression: .gzip))
        let tar = try decompress(blob, .gzip)
        #expect(sha256(tar) == result.diffID)
        let entries = Dictionary(uniqueKeysWithValues: try parseTar(tar).map { ($0.name, $0) })
        #expect(entries["null"]?.type == UInt8(ascii: "3") && entries["loop"]?.type == UInt8(ascii: "4"))
        if capSet {
            #expect(entries["ping"]?.pax["SCHILY.xattr.security.capability"] == cap)
            try run("tar", ["--xattrs", "--xattrs-include=*", "-xpf", "-", "-C", out.path], stdin: tar)
            var value = [UInt8](repeating: 0, count: 64)
            let n = lgetxattr(out.path("ping"), "security.capability", &value, value.count)
            #expect(n == cap.count && Array(value[0..<cap.count]) == cap)
            var st = stat()
            #expect(lstat(out.path("loop"), &st) == 0 && st.st_rdev == swiftbuild_makedev(7, 300))
        }
    }

    /// The smoke test of the production path: default 1 MiB chunks, a few MiB, half random and half text.
    @Test func multiMegabyteFileSpansChunks() throws {
        let dir = try TemporaryDirectory()
        let t = TreeBuilder(root: dir.path)
        let content = randomBytes(1_572_864) + textBytes(1_572_864 + 12_345)
        try t.file("model.bin", content)
        let writer = try LayerWriter(compression: .gzip, threads: 2)
        let (result, blob) = try layer(dir.path, writer)
        try run("gzip", ["-t"], stdin: blob)
        let extracted = try run("tar", ["-xzOf", "-", "model.bin"], stdin: blob)
        #expect(extracted.count == content.count && sha256(extracted) == sha256(content))
        #expect(sha256(try decompress(blob, .gzip)) == result.diffID)
        // Random half stored, text half compressed: well below the input, not above the stored size.
        #expect(result.size < Int64(content.count) * 3 / 4)
        let (zresult, zblob) = try layer(dir.path, try LayerWriter(compression: .zstd, threads: 2))
        try run("zstd", ["-t"], stdin: zblob)
        #expect(zresult.diffID == result.diffID)
    }

    @Test func socketsAreSkipped() throws {
        let dir = try TemporaryDirectory()
        try TreeBuilder(root: dir.path).file("before", "b")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(dir.path("sock").utf8)
        #expect(path.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in path.enumerated() { $0[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        let (_, tar) = try layer(dir.path, try LayerWriter(compression: .uncompressed))
        #expect(try parseTar(tar).map(\.name) == ["before"])
    }

    @Test func incompressibleChunksAreStoredNotExpanded() throws {
        let dir = try TemporaryDirectory()
        try TreeBuilder(root: dir.path).file("random.bin", randomBytes(3 << 20))
        let (result, blob) = try layer(dir.path, try LayerWriter(compression: .gzip, level: 6))
        // Stored blocks cost 5 bytes per 64 KiB; gzip -6 on random data costs about the same.
        #expect(result.size <= result.uncompressedSize + result.uncompressedSize / 8000 + 64)
        #expect(sha256(try decompress(blob, .gzip)) == result.diffID)
    }

    @Test func entryListWithWhiteouts() throws {
        let dir = try TemporaryDirectory()
        try makeFixedTree(dir.path)
        let entries: [LayerEntry] = [.path("a/b.txt"), .whiteout("a/gone.txt"), .opaqueDirectory("empty"),
                                     .path("a"), .path("link"), .whiteout("zzz"), .path("empty/")]
        let (_, tar) = try { () throws -> (LayerResult, [UInt8]) in
            let sink = MemorySink()
            let r = try LayerWriter(compression: .uncompressed).write(entries: entries, from: dir.path, to: sink)
            return (r, sink.bytes)
        }()
        let parsed = try parseTar(tar)
        #expect(parsed.map(\.name) == [".wh.zzz", "a/", "a/.wh.gone.txt", "a/b.txt", "empty/", "empty/.wh..wh..opq", "link"])
        let wh = parsed.first { $0.name == "a/.wh.gone.txt" }
        #expect(wh?.type == UInt8(ascii: "0") && wh?.size == 0 && wh?.mode == 0 && wh?.mtime == 0)
        #expect(parsed.first { $0.name == "empty/.wh..wh..opq" }?.size == 0)
    }

    @Test func entryListOfWholeTreeEqualsTreeWalk() throws {
        let dir = try TemporaryDirectory()
        try makeFixedTree(dir.path)
        let all = ["a", "a/b.txt", "a/exec.sh", "a/hard", "a.txt", "empty", "link", "long",
                   "long/" + String(repeating: "x", count: 120), "pipe", "ünïcødé.txt"]
        let writer = try LayerWriter(compression: .gzip)
        let listSink = MemorySink()
        let fromList = try writer.write(entries: all.reversed().map { .path($0) }, from: dir.path, to: listSink)
        let (fromTree, treeBytes) = try layer(dir.path, writer)
        #expect(fromList == fromTree)
        #expect(sha256(listSink.bytes) == sha256(treeBytes))
    }

    @Test(arguments: ["", "/abs", "a/../b", "./a", "a//b", "a/./b", ".."])
    func invalidEntryPathsAreRejected(_ path: String) throws {
        let dir = try TemporaryDirectory()
        #expect(throws: LayerWriterError.invalidEntryPath(path)) {
            try LayerWriter(compression: .uncompressed).write(entries: [.path(path)], from: dir.path, to: MemorySink())
        }
    }

    @Test func duplicateEntriesAreRejected() throws {
        let dir = try TemporaryDirectory()
        try TreeBuilder(root: dir.path).file("f", "x")
        #expect(throws: LayerWriterError.duplicateEntry("f")) {
            try LayerWriter(compression: .uncompressed).write(entries: [.path("f"), .path("f/")], from: dir.path, to: MemorySink())
        }
    }

    @Test func invalidLevelsAreRejected() {
        #expect(throws: LayerWriterError.invalidLevel(.gzip, 10)) { try LayerWriter(compression: .gzip, level: 10) }
        #expect(throws: LayerWriterError.invalidLevel(.zstd, 23)) { try LayerWriter(compression: .zstd, level: 23) }
        #expect(throws: LayerWriterError.invalidLevel(.uncompressed, 1)) { try LayerWriter(compression: .uncompressed, level: 1) }
    }

    @Test func trailingSlashesOnTheRootDoNotMatter() throws {
        let dir = try TemporaryDirectory()
        try makeFixedTree(dir.path)
        let writer = try LayerWriter(compression: .uncompressed)
        #expect(try layer(dir.path, writer).0 == layer(dir.path + "//", writer).0)
    }

    @Test func missingRootIsAnError() throws {
        #expect(throws: LayerWriterError.self) {
            try LayerWriter(compression: .gzip).write(tree: "/nonexistent/swiftbuild-\(getpid())", to: MemorySink())
        }
    }
}

