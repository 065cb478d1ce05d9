import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildOCI
@testable import SwiftBuildKit

/// `-o …,split-layers=SIZE`: a step's changes become several layers (one history entry each) whose unpacked file
/// system is the one-layer image's (umoci); the step's record holds them all, so a rebuild, and a fresh root
/// importing the cache, give the same image.
@Suite(.serialized) struct SplitLayerBuildTests {
    static let dockerfile = "FROM localhost/busybox\nCOPY app /app\nCOPY Dockerfile /Dockerfile\n"

    static func context(_ h: BuildHarness) throws {
        for i in 0..<6 { try h.write("app/lib/m\(i).py", String(repeating: "x\(i)", count: 20_000)) }
        try h.write("app/main.py", "print(1)\n")
        try h.write("app/weights.bin", String(repeating: "w", count: 300_000))
    }

    static let split = LayerSplit(maximum: 100_000, ownLayer: 200_000)

    @Test(arguments: [true, false])
    func splitImageUnpacksLikeTheWholeOne(streams: Bool) async throws {
        let whole = try BuildHarness()
        try Self.context(whole)
        let one = try await whole.build(Self.dockerfile) { $0.sourceDateEpoch = 1_700_000_000; $0.streamsContextCopies = streams }
        let h = try BuildHarness()
        try Self.context(h)
        let cut = try await h.build(Self.dockerfile) {
            $0.sourceDateEpoch = 1_700_000_000
            $0.splitLayers = Self.split
            $0.streamsContextCopies = streams
        }
        let base = one.imageConfig.rootfs.diffIDs.count - 2
        #expect(cut.imageConfig.rootfs.diffIDs.count - base - 1 > 2, "COPY app became several layers")
        #expect(cut.imageConfig.history?.filter { $0.emptyLayer != true }.count == cut.imageConfig.rootfs.diffIDs.count)
        func listing(_ rootfs: String) throws -> String {
            try shell("cd \(rootfs) && find . -mindepth 1 -printf '%p %M %T@ %s %u:%g\\n' | sort")
        }
        #expect(try listing(h.unpack(cut)) == (try listing(whole.unpack(one))))

        // The record holds every layer: a rebuild hits and gives the same image.
        let again = try await h.build(Self.dockerfile) {
            $0.sourceDateEpoch = 1_700_000_000
            $0.splitLayers = Self.split
            $0.streamsContextCopies = streams
        }
        #expect(h.cachedSteps == ["COPY app /app", "COPY Dockerfile /Dockerfile"])
        #expect(again.manifest.digest == cut.manifest.digest)

        // And so does a fresh root importing the cache.
        let dir = h.directory.path + "/cache"
        _ = try await h.build(Self.dockerfile) {
            $0.sourceDateEpoch = 1_700_000_000
            $0.splitLayers = Self.split
            $0.cacheTo = [CacheExport(location: .local(dir), mode: .max)]
        }
        let fresh = try BuildHarness()
        try Self.context(fresh)
        let imported = try await fresh.build(Self.dockerfile) {
            $0.sourceDateEpoch = 1_700_000_000
            $0.splitLayers = Self.split
            $0.cacheFrom = [.local(dir)]
        }
        #expect(fresh.cachedSteps.count == 2)
        #expect(imported.manifest.digest == cut.manifest.digest)
    }

    @Test func theOptionParses() throws {
        let output = try BuildOutput.parse("type=oci,dest=/x.tar,split-layers=1GiB")
        #expect(output.options.splitLayers == 1 << 30)
        #expect(throws: BuildRequestError.self) { _ = try BuildOutput.parse("type=oci,dest=/x.tar,split-layers=12") }
    }
}
