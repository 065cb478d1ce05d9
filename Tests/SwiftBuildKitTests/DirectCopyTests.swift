import Foundation
import Testing
import TestSupport
@testable import SwiftBuildKit
import SwiftBuildOCI

/// A COPY that no later step reads goes from the build context straight into its layer. The layer must be the
/// one the materialised path (copy into an overlay, diff, tar) makes: each Dockerfile here is built both ways
/// with SOURCE_DATE_EPOCH, and the image digests must be equal.
@Suite(.serialized) struct DirectCopyTests {
    static func context(_ h: BuildHarness) throws {
        try h.write("a.txt", "a\n")
        try h.write("b.txt", "bb\n", mode: 0o600)
        try h.write("tree/top.sh", "#!/bin/sh\n", mode: 0o755)
        try h.write("tree/sub/deep.txt", "deep\n", mode: 0o640)
        try h.write("tree/sub/more/x.bin", String(repeating: "x", count: 70_000))
        try FileManager.default.createDirectory(atPath: h.context + "/tree/empty", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: h.context + "/tree/link", withDestinationPath: "top.sh")
        _ = link(h.context + "/tree/sub/deep.txt", h.context + "/tree/hard.txt")
        try h.write(".dockerignore", "tree/sub/more/ignored*\n")
        try h.write("tree/sub/more/ignored.log", "no\n")
        _ = mkfifo(h.context + "/tree/fifo", 0o644)
    }

    /// (Dockerfile, whether the last COPY may stream)
    static let cases: [(String, Bool)] = [
        ("FROM scratch\nCOPY tree /srv/app\n", true),
        ("FROM scratch\nCOPY a.txt /new\n", true),
        ("FROM scratch\nCOPY . /\n", true),
        ("FROM localhost/busybox\nCOPY a.txt /etc/newdir/\n", true),
        ("FROM localhost/busybox\nWORKDIR /app\nCOPY . .\nCMD [\"sh\"]\n", true),
        ("FROM localhost/busybox\nCOPY --chown=app:app --chmod=640 tree/ /home/app/tree/\n", true),
        ("FROM localhost/busybox\nCOPY --chown=1000 *.txt /data/\n", true),
        ("FROM localhost/busybox\nCOPY nomatch* /x/\n", true),
        ("FROM localhost/busybox\nCOPY --chmod=u+x,go-r tree /opt/tree\n", true),
        // Replacing a file, into a non-empty directory, through a symlink, and a stage another one reads:
        // materialised.
        ("FROM localhost/busybox\nCOPY a.txt /etc/passwd\n", false),
        ("FROM localhost/busybox\nCOPY a.txt /etc/\n", false),
        ("FROM localhost/busybox\nRUN ln -s /srv /link\nCOPY a.txt /link/a.txt\n", false),
        ("FROM localhost/busybox AS one\nCOPY a.txt /one/\nFROM one\nRUN cat /one/a.txt\n", false),
    ]

    @Test(arguments: 0..<cases.count)
    func sameLayerAsTheMaterialisedCopy(_ index: Int) async throws {
        let (dockerfile, streams) = Self.cases[index]
        var digests: [Bool: String] = [:]
        for direct in [true, false] {
            let h = try BuildHarness()
            try Self.context(h)
            let result = try await h.build(dockerfile) {
                $0.sourceDateEpoch = 1_700_000_000
                $0.streamsContextCopies = direct
            }
            digests[direct] = result.manifest.digest.description
            if direct { #expect(result.streamedCopies == (streams ? 1 : 0), "\(dockerfile)") }
        }
        #expect(digests[true] == digests[false], "\(dockerfile)")
    }

    /// A COPY that runs whatever its key (`--no-cache`, or a store with no record of its family) writes its layer
    /// first and takes its key's file hashes from the bytes the layer read. That key must be the one a later
    /// build computes by reading the files, or the cache would never hit after a cold build.
    @Test func keyFromTheLayersBytesIsTheKeyOfARead() async throws {
        let h = try BuildHarness()
        try Self.context(h)
        try h.write("big.bin", String(repeating: "0123456789abcdef", count: 1 << 16))
        let dockerfile = "FROM scratch\nCOPY . /app/\n"
        // Empty store: no family marker, so the layer is written before the key.
        let cold = try await h.build(dockerfile)
        #expect(cold.streamedCopies == 1)
        #expect(h.executedSteps == ["COPY . /app/"])
        let families = try FileManager.default.contentsOfDirectory(atPath: h.root + "/cache/families")
        #expect(families.count == 1)
        // The next build reads the index (or the files) for the key: it must find the record.
        let warm = try await h.build(dockerfile)
        #expect(h.cachedSteps == ["COPY . /app/"])
        #expect(warm.manifest.digest == cold.manifest.digest)
        // --no-cache always writes first; the record it stores is still the one a normal build finds.
        _ = try await h.build(dockerfile) { $0.noCache = true }
        #expect(h.executedSteps == ["COPY . /app/"])
        _ = try await h.build(dockerfile)
        #expect(h.cachedSteps == ["COPY . /app/"])
        // A changed file with the family known: looked up (a miss), built, then a hit again.
        try h.write("tree/sub/deep.txt", "changed\n")
        _ = try await h.build(dockerfile)
        #expect(h.executedSteps == ["COPY . /app/"])
        _ = try await h.build(dockerfile)
        #expect(h.cachedSteps == ["COPY . /app/"])
    }

    /// A store made before family markers (records, no families directory) never skips a lookup.
    @Test func storesWithoutFamiliesAlwaysLookUp() throws {
        let scratch = try TemporaryDirectory()
        let records = scratch.path + "/cache/records"
        try FileManager.default.createDirectory(atPath: records, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: records + "/00.json"))
        let content = try ContentStore(root: scratch.path)
        let old = try CacheStore(root: scratch.path, content: content)
        let family = CacheKey([.init(name: "parent", value: "x")])
        #expect(old.mayHaveRecord(family: family))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/cache/families"))
        let fresh = try CacheStore(root: try scratch.sub("new"), content: content)
        #expect(!fresh.mayHaveRecord(family: family))
        fresh.noteFamily(family)
        #expect(fresh.mayHaveRecord(family: family))
    }
    /// The plan's tar size spares the layer split an `lstat` of every entry, so it must be the size those stats
    /// give: 512 bytes per entry plus each regular file in whole blocks (here with a hard link, a symlink, an
    /// empty directory and an ignored file in the context), and the largest file.
    @Test func planSizesAreTheEntriesOwnSizes() throws {
        let h = try BuildHarness()
        try Self.context(h)
        try h.write("tree/sub/odd.bin", String(repeating: "o", count: 513))
        let context = try BuildContext(directory: h.context, excludePatterns: ["tree/sub/more/ignored*"])
        let selection = try CopySelection(root: .context(context), excludes: [])
        let request = CopyRequest(sources: [.path("tree"), .path("a.txt")], destination: "/srv/app/")
        let plan = try #require(try DirectCopy(request: request, selection: selection, lowers: [], owner: (0, 0),
                                               now: timespec(tv_sec: 1_700_000_000, tv_nsec: 0)).plan())
        var expected: Int64 = 0
        var largest: Int64 = 0
        for entry in plan.entries {
            var size: Int64 = 0
            if case .copy(_, let source, _) = entry {
                var st = stat()
                #expect(lstat(source, &st) == 0, "\(source)")
                if st.st_mode & S_IFMT == S_IFREG { size = Int64(st.st_size) }
            }
            expected += 512 + (size + 511) / 512 * 512
            largest = max(largest, size)
        }
        #expect(plan.entries.count > 8)
        #expect(plan.sizes.tarBytes == expected)
        #expect(plan.sizes.largestFile == largest && largest == 70_000)
    }
}

