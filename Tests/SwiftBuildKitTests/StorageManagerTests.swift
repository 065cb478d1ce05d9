import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildOCI
@testable import SwiftBuildKit

@Suite(.serialized) struct StorageManagerTests {
    /// Builds two images, untags one, and checks what du reports and what prune may remove.
    @Test func pruneNeverRemovesWhatATagNeeds() async throws {
        let h = try BuildHarness()
        try h.write("a.txt", "a\n")
        try h.write("b.txt", String(repeating: "b", count: 100_000))
        let kept = try await h.build("FROM localhost/busybox\nCOPY a.txt /a.txt\n", tags: ["kept:1"]) { $0.sourceDateEpoch = 1 }
        let dropped = try await h.build("FROM localhost/busybox\nCOPY b.txt /b.txt\nRUN --mount=type=cache,target=/c echo x > /c/x\n",
                                        tags: ["dropped:1"])
        try h.builder.images.remove(try ImageReference(parsing: "dropped:1"))
        let manager = try StorageManager(root: h.root)
        let before = try manager.report()
        #expect(before.contains { $0.kind == .cacheRecord })
        #expect(before.contains { $0.kind == .cacheMount })
        #expect(before.contains { $0.kind == .imageBlob && $0.name == kept.manifest.digest.description })
        #expect(before.contains { $0.kind == .cacheBlob && $0.name == dropped.manifest.digest.description })

        // Everything is fresh: an until filter of an hour removes nothing.
        #expect(try manager.prune(PrunePolicy(unusedFor: 3600)).removed.isEmpty)

        let result = try manager.prune(PrunePolicy())
        #expect(!result.removed.isEmpty)
        let after = try manager.report()
        #expect(!after.contains { $0.kind == .cacheRecord || $0.kind == .cacheBlob || $0.kind == .snapshot })
        #expect(after.contains { $0.kind == .cacheMount })   // kept without --all
        // The kept image (and the busybox base) are whole: exportable, every blob verified.
        let out = h.directory.path + "/kept.tar"
        try OCIArchiveExporter.write(images: [(kept.manifest, [])], content: h.builder.content, to: out, tar: true)
        #expect(!h.builder.content.has(dropped.manifest.digest))

        _ = try manager.prune(PrunePolicy(all: true))
        #expect(!(try manager.report()).contains { $0.kind == .cacheMount })
        // A rebuild after pruning runs the steps again and gives the same image.
        let again = try await h.build("FROM localhost/busybox\nCOPY a.txt /a.txt\n", tags: ["kept:1"]) { $0.sourceDateEpoch = 1 }
        #expect(h.executedSteps == ["COPY a.txt /a.txt"])
        #expect(again.config.digest == kept.config.digest)
    }

    @Test func keepStorageEvictsLeastRecentlyUsedFirst() async throws {
        let h = try BuildHarness()
        try h.write("old.txt", String((0..<50_000).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement() ?? "a" }))
        try h.write("new.txt", "n\n")
        _ = try await h.build("FROM scratch\nCOPY old.txt /old.txt\n", tags: [])
        _ = try await h.build("FROM scratch\nCOPY new.txt /new.txt\n", tags: [])
        let manager = try StorageManager(root: h.root)
        let records = try manager.report().filter { $0.kind == .cacheRecord }
        #expect(records.count == 2)
        // Age the first build's record and blobs, so it is the least recently used.
        let bigBlob = try #require(try manager.report().first { $0.kind == .cacheBlob && $0.size > 1000 })
        let old = try #require(records.first { record in
            ((try? String(contentsOfFile: record.path, encoding: .utf8)) ?? "").contains(bigBlob.name)
        })
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, old.path, &times, AT_SYMLINK_NOFOLLOW)
        let total = try manager.report().reduce(0) { $0 + $1.size }
        let result = try manager.prune(PrunePolicy(keepStorage: total - 1))
        #expect(result.removed.first?.path == old.path)
        #expect(result.remaining <= total - 1)
        #expect(try manager.report().contains { $0.kind == .cacheRecord })   // the newer record survives
    }

    @Test(arguments: [("512", Int64(512)), ("10k", 10_240), ("1.5GB", 1_610_612_736), ("200MiB", 209_715_200), ("2 g", 2_147_483_648)])
    func sizes(text: String, bytes: Int64) {
        #expect(StorageUnits.parseSize(text) == bytes)
    }

    @Test func invalidSizesAndDurations() {
        #expect(StorageUnits.parseSize("ten") == nil)
        #expect(StorageUnits.parseSize("5x") == nil)
        #expect(StorageUnits.parseDuration("24h") == 86_400)
        #expect(StorageUnits.parseDuration("1h30m") == 5_400)
        #expect(StorageUnits.parseDuration("7d") == 604_800)
        #expect(StorageUnits.parseDuration("10") == nil)
        #expect(StorageUnits.parseDuration("2x") == nil)
        #expect(StorageUnits.format(bytes: 4_260_000) == "4.26MB")
        #expect(StorageUnits.format(bytes: 999) == "999B")
        #expect(StorageUnits.parseTimestamp("2023-11-14T22:13:20Z") == 1_700_000_000)
        #expect(StorageUnits.parseTimestamp("1970-01-01T00:00:00.5Z") == 0)
        #expect(StorageUnits.parseTimestamp("2023-11-15T00:13:20+02:00") == 1_700_000_000)
        #expect(StorageUnits.parseTimestamp("2000-02-29T00:00:00Z") == 951_782_400)
        #expect(StorageUnits.parseTimestamp("yesterday") == nil)
        #expect(StorageUnits.age(3 * 365 * 86400) == "3 years ago")
    }
}

@Suite struct ExportOptionsTests {
    @Test func outputOptionsParse() throws {
        let o = try BuildOutput.parse("type=oci,dest=x.tar,oci-mediatypes=false,compression=zstd,compression-level=9,force-compression=true,annotation.a=1,annotation-index.b=2,name=app:1")
        guard case .oci(let dest, let tar, let options) = o else { Issue.record("not oci"); return }
        #expect(dest == "x.tar" && tar)
        #expect(options == ExportOptions(ociMediaTypes: false, compression: .zstd, compressionLevel: 9, forceCompression: true,
                                         names: ["app:1"], manifestAnnotations: ["a": "1"], indexAnnotations: ["b": "2"]))
        #expect(try BuildOutput.parse("-") == .tar(destination: "-"))
        #expect(try BuildOutput.parse("type=docker,dest=-").isStandardOutput)
        #expect(throws: BuildRequestError.self) { try BuildOutput.parse("type=oci,dest=x,compression=lz4") }
        #expect(throws: BuildRequestError.self) { try BuildOutput.parse("type=oci,dest=x,bogus=1") }
        #expect(throws: BuildRequestError.self) { try BuildOutput.parse("type=oci,dest=x,force-compression=maybe") }
        #expect(throws: BuildRequestError.self) { try BuildOutput.parse("type=registry,dest=x") }
    }

    @Test func annotationFlags() throws {
        var options = ExportOptions()
        try options.addAnnotation("org.opencontainers.image.source=https://example.com/a=b")
        try options.addAnnotation("index:org.example.x=1")
        try options.addAnnotation("manifest:org.example.y=2")
        #expect(options.manifestAnnotations == ["org.opencontainers.image.source": "https://example.com/a=b", "org.example.y": "2"])
        #expect(options.indexAnnotations == ["org.example.x": "1"])
        #expect(throws: BuildRequestError.self) { try options.addAnnotation("novalue") }
        #expect(throws: BuildRequestError.self) { try options.addAnnotation("manifest-descriptor:k=v") }
    }

    @Test func manifestAnnotationsAndStdoutExports() async throws {
        let h = try BuildHarness()
        try h.write("a.txt", "a\n")
        let result = try await h.build("FROM scratch\nCOPY a.txt /a.txt\n") { $0.annotations = ["org.example.k": "v"] }
        let image = try h.builder.images.image(result.manifest)
        #expect(image.manifest.annotations == ["org.example.k": "v"])
        let inspection = try #require(try ImageInspection.inspect(try ImageReference(parsing: "test:latest"), in: h.builder.images))
        #expect(inspection.Digest == result.manifest.digest.description)
        #expect(inspection.RepoTags == ["test:latest"])
        // A context given as a tar is unpacked into a new directory.
        let tar = h.directory.path + "/ctx.tar"
        try runTool("/usr/bin/tar", ["-C", h.context, "-cf", tar, "."])
        let fd = open(tar, O_RDONLY)
        defer { close(fd) }
        let directory = try ContextArchive.unpack(fileDescriptor: fd, scratch: h.root + "/tmp")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(h.contents(directory + "/a.txt") == "a\n")
        #expect(exists(directory + "/Dockerfile"))
    }
}
