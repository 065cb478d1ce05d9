import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

    /// Without SOURCE_DATE_EPOCH, a split step's overlay upper directory is kept as one snapshot of all its layers
    /// (`group-…`): the next step stacks it whole and sees the step's files, no layer of the step is extracted
    /// from its blob, and storage reports and prunes it.
    @Test(.enabled(if: getuid() == 0, "RUN needs root"))
    func theNextStepStacksASplitStepWhole() async throws {
        let h = try BuildHarness(snapshotter: .overlay)
        try Self.context(h)
        let dockerfile = "FROM localhost/busybox\nCOPY app /app\nRUN cd /app && find . -type f | sort | xargs sha256sum\n"
        let result = try await h.build(dockerfile) { $0.splitLayers = Self.split }
        #expect(h.output == (try shell("cd \(h.context)/app && find . -type f | LC_ALL=C sort | xargs sha256sum")))
        let history = result.imageConfig.history?.filter { $0.emptyLayer != true } ?? []
        let copyLayers = zip(history, result.imageConfig.rootfs.diffIDs)
            .filter { $0.0.createdBy?.contains("COPY app") == true }.map(\.1)
        #expect(copyLayers.count > 2, "COPY app became several layers")
        let snapshots = h.builder.snapshots
        #expect(snapshots.unpackedGroup(copyLayers) != nil)
        #expect(snapshots.unpackedGroup(Array(copyLayers.dropFirst())) == nil, "only the whole run is that snapshot")
        // Another process finds it by its name on disk.
        let fresh = try SnapshotStore(root: h.root, content: h.builder.content)
        #expect(fresh.unpackedGroup(copyLayers) != nil)
        #expect(fresh.groupLengths() == [copyLayers.count])
        for diffID in copyLayers { #expect(!snapshots.isUnpacked(diffID: diffID), "\(diffID) was extracted") }
        // The storage report lists it, and prune removes it like any snapshot.
        let manager = try StorageManager(root: h.root)
        let group = try #require(try manager.report().first { $0.kind == .snapshot && $0.name.hasPrefix("group-") })
        #expect(group.size > 300_000)
        _ = try manager.prune(PrunePolicy())
        #expect(snapshots.unpackedGroup(copyLayers) == nil)
    }

    /// A cut can leave a hard link's second name in a later layer as a copy, which the step's upper directory
    /// does not show (one inode, two links): such a step keeps no group snapshot, and the next step stacks its
    /// layers one by one, as extracted.
    @Test(.enabled(if: getuid() == 0, "overlay needs root"))
    func aSplitStepWithHardLinksIsNotKeptWhole() async throws {
        let h = try BuildHarness(snapshotter: .overlay)
        try Self.context(h)
        #expect(link(h.context + "/app/weights.bin", h.context + "/app/weights2.bin") == 0)
        let result = try await h.build("FROM localhost/busybox\nCOPY app /app\nCOPY Dockerfile /Dockerfile\n") {
            $0.splitLayers = Self.split
        }
        let history = result.imageConfig.history?.filter { $0.emptyLayer != true } ?? []
        let copyLayers = zip(history, result.imageConfig.rootfs.diffIDs)
            .filter { $0.0.createdBy?.contains("COPY app") == true }.map(\.1)
        #expect(copyLayers.count > 2)
        #expect(h.builder.snapshots.unpackedGroup(copyLayers) == nil)
        #expect(copyLayers.allSatisfy { h.builder.snapshots.isUnpacked(diffID: $0) }, "the next step extracted them")
    }

    @Test func theOptionParses() throws {
        let output = try BuildOutput.parse("type=oci,dest=/x.tar,split-layers=1GiB")
        #expect(output.options.splitLayers == 1 << 30)
        #expect(throws: BuildRequestError.self) { _ = try BuildOutput.parse("type=oci,dest=/x.tar,split-layers=12") }
        #expect(try BuildOutput.parse("type=oci,dest=/x.tar,split-layers=0").options.splitLayers == 0)
    }

    /// A registry round trip: the split image pushed, seen by skopeo under its digest, pulled into a fresh root
    /// whole, and unpacked there like the original.
    @Test func registryRoundTrip() async throws {
        let registry = try TestRegistry()
        let h = try BuildHarness()
        try Self.context(h)
        let name = "\(registry.host)/split/app:1"
        let cut = try await h.build(Self.dockerfile, tags: [name]) {
            $0.sourceDateEpoch = 1_700_000_000
            $0.splitLayers = Self.split
        }
        let reference = try ImageReference(parsing: name)
        let pushed = try ImagePusher(images: h.builder.images, options: RegistryOptions()) { _ in }.push(reference, to: reference)
        #expect(pushed.digest == cut.manifest.digest)
        #expect(try RegistryTests.skopeoDigest(name) == cut.manifest.digest.description)
        let fresh = try BuildHarness()
        let descriptor = try ImagePuller(images: fresh.builder.images, options: RegistryOptions()).pull(reference)
        #expect(descriptor.digest == cut.manifest.digest)
        let image = try #require(try fresh.builder.images.image(reference))
        #expect(image.layers.count == cut.imageConfig.rootfs.diffIDs.count)
        #expect(image.layers.allSatisfy { fresh.builder.content.has($0.digest) })
        func listing(_ rootfs: String) throws -> String {
            try shell("cd \(rootfs) && find . -mindepth 1 -printf '%p %M %T@ %s %u:%g\\n' | sort")
        }
        let pulled = BuildResult(manifest: descriptor, config: cut.config, imageConfig: cut.imageConfig, tags: [reference])
        #expect(try listing(fresh.unpack(pulled)) == (try listing(h.unpack(cut))))
    }

    /// podman loads the split image's OCI archive and mounts the same tree umoci unpacks from the whole image.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/podman") && getuid() == 0,
                   "podman (as root) mounts images"))
    func podmanMountsTheSameTree() async throws {
        let whole = try BuildHarness()
        try Self.context(whole)
        let one = try await whole.build(Self.dockerfile) { $0.sourceDateEpoch = 1_700_000_000 }
        let h = try BuildHarness()
        try Self.context(h)
        let archive = h.directory.path + "/split.tar"
        let cut = try await h.build(Self.dockerfile, tags: ["localhost/split/app:1"]) {
            $0.sourceDateEpoch = 1_700_000_000
            $0.splitLayers = Self.split
            $0.outputs = [.oci(destination: archive, tar: true)]
        }
        #expect(cut.imageConfig.rootfs.diffIDs.count > one.imageConfig.rootfs.diffIDs.count)
        let storage = h.directory.path + "/podman"
        let podman = ["--root", storage + "/root", "--runroot", storage + "/run", "--storage-driver", "vfs",
                      "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
        defer { _ = try? runTool("/usr/bin/podman", podman + ["system", "reset", "--force"]) }
        _ = try runTool("/usr/bin/podman", podman + ["load", "-i", archive])
        let mounted = try runTool("/usr/bin/podman", podman + ["image", "mount", "localhost/split/app:1"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? runTool("/usr/bin/podman", podman + ["image", "unmount", "localhost/split/app:1"]) }
        func listing(_ rootfs: String) throws -> String {
            try shell("cd \(rootfs) && find . -mindepth 1 -printf '%p %M %T@ %s %u:%g\\n' | sort")
        }
        #expect(try listing(mounted) == (try listing(whole.unpack(one))))
    }
}
