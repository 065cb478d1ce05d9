import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import SwiftBuildKit
import SwiftBuildOCI

@Suite(.serialized) struct ContextChecksumTests {
    struct Fixture {
        let scratch: TemporaryDirectory
        let context: String
        let checksum: ContextChecksum
        init() throws {
            scratch = try TemporaryDirectory()
            context = try scratch.sub("ctx")
            checksum = try ContextChecksum(root: try scratch.sub("root"))
            try put(context + "/app/main.c", "int main(){}")
            try put(context + "/app/data.bin", "aaaa")
            try put(context + "/app/skip.log", "log")
            try put(context + "/ignored", "i")
            try FileManager.default.createSymbolicLink(atPath: context + "/app/link", withDestinationPath: "main.c")
            usleep(50_000)  // so the files' ctimes are older than the index written next (not racy)
        }
        func sum(_ sources: [String] = ["app", "ignored"], excludes: [String] = ["*.log"]) throws -> (Digest, Int) {
            let r = try checksum.compute(source: .context(try BuildContext(directory: context, excludePatterns: ["ignored"])),
                                         sources: sources, excludes: excludes)
            return (r.digest, r.filesRead)
        }
    }

    @Test func stableAndServedFromTheStatIndex() throws {
        let f = try Fixture()
        let (first, read1) = try f.sum(["app"])
        #expect(read1 == 2)  // main.c and data.bin; skip.log excluded
        usleep(20_000)
        let (second, read2) = try f.sum(["app"])
        #expect(second == first)
        #expect(read2 == 0, "an unchanged context is not read again")
        // A new checksum object (another build) uses the persisted index.
        let again = try ContextChecksum(root: f.scratch.path + "/root")
        let r = try again.compute(source: .context(try BuildContext(directory: f.context)), sources: ["app"], excludes: ["*.log"])
        #expect(r.digest == first && r.filesRead == 0)
        // "ignored" is excluded by .dockerignore: it is not found.
        #expect(throws: CopyError.notFound("/ignored")) { _ = try f.sum() }
    }

    @Test func touchKeepsContentChangesDoNot() throws {
        let f = try Fixture()
        let (base, _) = try f.sum(["app"])
        try shell("touch \(f.context)/app/main.c \(f.context)/app")
        #expect(try f.sum(["app"]).0 == base)
        try put(f.context + "/app/skip.log", "changed log")  // excluded: no effect
        #expect(try f.sum(["app"]).0 == base)
        try put(f.context + "/app/main.c", "int main(){return 1;}")
        let (changed, _) = try f.sum(["app"])
        #expect(changed != base)
        chmod(f.context + "/app/main.c", 0o755)
        #expect(try f.sum(["app"]).0 != changed)
        // Owners in the context are not sent: a chown does not change the key.
        let (beforeChown, _) = try f.sum(["app"])
        chown(f.context + "/app/main.c", 1000, 1000)
        #expect(try f.sum(["app"]).0 == beforeChown)
        // A different selection gives a different key.
        #expect(try f.sum(["app/main.c"]).0 != beforeChown)
    }

    @Test func sameSizeAndMtimeWithNewContentIsDetected() throws {
        let f = try Fixture()
        let file = f.context + "/app/data.bin"
        let original = try #require(lstatOf(file))
        let (base, _) = try f.sum(["app"])
        usleep(20_000)
        try put(file, "bbbb")  // same size
        var times = [original.st_atim, original.st_mtim]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)  // mtime restored
        let (after, read) = try f.sum(["app"])
        #expect(read == 1)
        #expect(after != base)
        // Racy: a change right after the index was written, in the same clock tick, is still seen.
        try put(file, "cccc")
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        #expect(try f.sum(["app"]).0 != after)
    }

    @Test func directoryOfAStageKeepsOwners() throws {
        let f = try Fixture()
        let rootfs = try f.scratch.sub("rootfs")
        try put(rootfs + "/usr/bin/tool", "t", mode: 0o755)
        usleep(20_000)
        let a = try f.checksum.checksum(directory: rootfs, path: "/usr")
        #expect(try f.checksum.checksum(directory: rootfs, path: "/usr") == a)
        chown(rootfs + "/usr/bin/tool", 5, 5)
        #expect(try f.checksum.checksum(directory: rootfs, path: "/usr") != a)
        #expect(throws: CopyError.self) { _ = try f.checksum.checksum(directory: rootfs, path: "/nope") }
    }

    /// The parallel collection that checksums use gives exactly the serial walk's entries, in its order, with
    /// .dockerignore exceptions and `--exclude` patterns at several depths.
    @Test(arguments: [1, 2, 4])
    func parallelCollectionIsTheWalk(threads: Int) throws {
        let scratch = try TemporaryDirectory()
        let context = try scratch.sub("ctx")
        var state: UInt64 = 42
        for i in 0..<400 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let depth = Int(truncatingIfNeeded: state >> 60) % 5
            let path = (0..<depth).map { "d\(Int(truncatingIfNeeded: state >> (8 * $0)) & 7)" }.joined(separator: "/")
            try put(context + "/tree/" + (path.isEmpty ? "" : path + "/") + "f\(i)" + (i % 7 == 0 ? ".log" : ".txt"), "\(i)")
        }
        try put(context + "/tree/d1/keep.log", "kept")
        let build = try BuildContext(directory: context, excludePatterns: ["**/d3", "*/*.log", "!tree/d1/keep.log"])
        let selection = try CopySelection(root: .context(build), excludes: ["tree/d2/d5"])
        let match = try #require(try selection.matches("tree").first)
        var serial: [String] = []
        try selection.walk(match, enter: { serial.append($0.relative + " " + $0.host); return true }, leave: { _ in })
        let parallel = try selection.collect(match, threads: threads).map { $0.relative + " " + $0.host }
        #expect(serial.count > 300)
        #expect(parallel == serial)
    }

    /// Hashes remembered from bytes read elsewhere (a layer written before its key) stand in for reading the
    /// file, but only while the file's stat is the one they were taken with.
    @Test func rememberedHashesReplaceReadsWhileTheStatMatches() throws {
        let scratch = try TemporaryDirectory()
        let context = try scratch.sub("ctx")
        try put(context + "/f.txt", "content")
        var st = stat()
        #expect(lstat(context + "/f.txt", &st) == 0)
        let fake = [UInt8](repeating: 0xab, count: 32)
        let source = CopySourceRoot.context(try BuildContext(directory: context))
        let reading = try ContextChecksum(root: try scratch.sub("a")).compute(source: source, sources: ["f.txt"], excludes: [])
        #expect(reading.filesRead == 1)
        let checksum = try ContextChecksum(root: try scratch.sub("b"))
        checksum.remember([.init(host: context + "/f.txt", stat: st, hash: fake)])
        let remembered = try checksum.compute(source: source, sources: ["f.txt"], excludes: [])
        #expect(remembered.filesRead == 1, "the remembered hash is recorded in the index like a read one")
        #expect(remembered.digest != reading.digest, "the remembered (fake) hash was used, not a read")
        // Changed since: the remembered hash no longer describes the file.
        try put(context + "/f.txt", "other content")
        let b2 = try ContextChecksum(root: try scratch.sub("c"))
        b2.remember([.init(host: context + "/f.txt", stat: st, hash: fake)])
        let changed = try b2.compute(source: source, sources: ["f.txt"], excludes: [])
        let truth = try ContextChecksum(root: try scratch.sub("d")).compute(source: source, sources: ["f.txt"], excludes: [])
        #expect(changed.digest == truth.digest)
    }

    /// The index keys files by their path inside the source directory, so the same context named two ways
    /// (`.` from inside it and its absolute path, here a symlink to it) shares one set of entries.
    @Test func oneIndexForAContextNamedTwoWays() throws {
        let f = try Fixture()
        let alias = f.scratch.path + "/alias"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: f.context)
        let (first, read) = try f.sum(["app"])
        #expect(read == 2)
        let r = try f.checksum.compute(source: .context(try BuildContext(directory: alias)), sources: ["app"],
                                       excludes: ["*.log"])
        #expect(r.digest == first)
        #expect(r.filesRead == 0, "the alias found the entries the real path recorded")
        let index = try FileManager.default.contentsOfDirectory(atPath: f.checksum.indexDirectory)
        #expect(index.count == 1)
    }
}
