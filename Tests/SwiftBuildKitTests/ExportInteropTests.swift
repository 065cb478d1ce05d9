import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildOCI
@testable import SwiftBuildKit

/// Every exporter's output read by independent tools (oci-image-tool, skopeo, umoci, podman, runc; installed by
/// scripts/setup.sh), save → load round trips, and reproducible digests.
@Suite(.serialized) struct ExportInteropTests {
    static let dockerfile = """
        FROM localhost/busybox
        COPY hello.txt /srv/hello.txt
        RUN mkdir -p /srv/gone && echo bye > /srv/gone/x && rm /bin/wc
        RUN rm -r /srv/gone
        CMD ["cat", "/srv/hello.txt"]
        """

    static func build(_ h: BuildHarness, outputs: [BuildOutput] = []) async throws -> BuildResult {
        try h.write("hello.txt", "hello from swiftbuild\n")
        return try await h.build(dockerfile, tags: ["interop/app:1.0"]) { $0.outputs = outputs }
    }

    @Test func ociArchiveAndLayoutAreAcceptedByTools() async throws {
        let h = try BuildHarness()
        let tarPath = h.directory.path + "/app-oci.tar"
        let layout = h.directory.path + "/layout"
        let result = try await Self.build(h, outputs: [.oci(destination: tarPath, tar: true),
                                                       .oci(destination: layout, tar: false)])
        try runTool("/usr/bin/oci-image-tool", ["validate", "--type", "image", "--ref", "name=1.0", layout])
        let inspected = try runTool("/usr/bin/skopeo", ["inspect", "oci-archive:" + tarPath])
        #expect(inspected.contains(result.manifest.digest.description))
        let fromLayout = try runTool("/usr/bin/skopeo", ["inspect", "--raw", "oci:" + layout + ":1.0"])
        #expect(fromLayout.contains(result.config.digest.description))
        // skopeo copy from the layout keeps the manifest digest (no recompression).
        let recopied = h.directory.path + "/recopied.tar"
        try runTool("/usr/bin/skopeo", ["copy", "--preserve-digests", "oci:" + layout + ":1.0", "oci-archive:" + recopied + ":again"])
        let again = try runTool("/usr/bin/skopeo", ["inspect", "--format", "{{.Digest}}", "oci-archive:" + recopied])
        #expect(again.trimmingCharacters(in: .whitespacesAndNewlines) == result.manifest.digest.description)
        // skopeo copy oci-archive → docker-archive → our loader: the same config (image ID).
        let copied = h.directory.path + "/copied-docker.tar"
        try runTool("/usr/bin/skopeo", ["copy", "oci-archive:" + tarPath, "docker-archive:" + copied + ":copied/app:1"])
        let fresh = try TemporaryDirectory()
        let content = try ContentStore(root: fresh.path)
        let store = try ImageStore(root: fresh.path, content: content)
        let loaded = try ImageLoader.load(from: copied, into: content, store: store)
        #expect(loaded.count == 1)
        let image = try store.image(try #require(loaded.first).manifest)
        #expect(image.id == result.config.digest)
    }

    @Test func umociUnpackAndRuncRunPrintTheKnownLine() async throws {
        let h = try BuildHarness()
        let layout = h.directory.path + "/layout"
        _ = try await Self.build(h, outputs: [.oci(destination: layout, tar: false)])
        let bundle = h.directory.path + "/bundle"
        try runTool("/usr/bin/umoci", ["unpack", "--image", layout + ":1.0", bundle])
        #expect(h.contents(bundle + "/rootfs/srv/hello.txt") == "hello from swiftbuild\n")
        #expect(!exists(bundle + "/rootfs/srv/gone"))
        #expect(!exists(bundle + "/rootfs/bin/wc"))
        // runc: no terminal, no network namespace setup needed beyond the defaults umoci writes.
        let run = try runcRun(bundle: bundle, stateRoot: h.directory.path + "/runc-state")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == "hello from swiftbuild\n")
    }

    @Test func dockerArchiveIsAcceptedByToolsAndLoadsBack() async throws {
        let h = try BuildHarness()
        let archive = h.directory.path + "/app-docker.tar"
        let result = try await Self.build(h, outputs: [.docker(destination: archive)])
        let inspected = try runTool("/usr/bin/skopeo", ["inspect", "--config", "docker-archive:" + archive])
        #expect(inspected.contains("cat"))
        let layout = h.directory.path + "/from-docker"
        try runTool("/usr/bin/skopeo", ["copy", "docker-archive:" + archive, "oci:" + layout + ":x"])
        try runTool("/usr/bin/oci-image-tool", ["validate", "--type", "image", "--ref", "name=x", layout])
        let listing = try runTool("/usr/bin/tar", ["-tf", archive])
        #expect(listing.contains("manifest.json"))
        // Our loader reads it back with the same image ID and the RepoTags name.
        let fresh = try TemporaryDirectory()
        let content = try ContentStore(root: fresh.path)
        let store = try ImageStore(root: fresh.path, content: content)
        let loaded = try ImageLoader.load(from: archive, into: content, store: store)
        #expect(loaded.first?.references.map(\.familiar) == ["interop/app:1.0"])
        let image = try #require(try store.image(try ImageReference(parsing: "interop/app:1.0")))
        #expect(image.id == result.config.digest)
        #expect(image.diffIDs == result.imageConfig.rootfs.diffIDs)
    }

    @Test func podmanLoadsOCIAndDockerArchives() async throws {
        let h = try BuildHarness()
        let oci = h.directory.path + "/app-oci.tar"
        let docker = h.directory.path + "/app-docker.tar"
        let result = try await Self.build(h, outputs: [.oci(destination: oci, tar: true), .docker(destination: docker)])
        let storage = h.directory.path + "/podman"
        let podman = ["--root", storage + "/root", "--runroot", storage + "/run", "--storage-driver", "vfs",
                      "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
        defer { _ = try? runTool("/usr/bin/podman", podman + ["system", "reset", "--force"]) }
        for archive in [oci, docker] {
            let out = try runTool("/usr/bin/podman", podman + ["load", "-i", archive])
            #expect(out.contains("interop/app:1.0"), "podman load \(archive): \(out)")
        }
        let id = try runTool("/usr/bin/podman", podman + ["image", "inspect", "--format", "{{.Id}}", "localhost/interop/app:1.0"])
        #expect(id.trimmingCharacters(in: .whitespacesAndNewlines) == result.config.digest.encoded)
    }

    @Test func localAndTarOutputsHoldTheFinalRootfs() async throws {
        let h = try BuildHarness()
        let local = h.directory.path + "/rootfs"
        let tar = h.directory.path + "/rootfs.tar"
        _ = try await Self.build(h, outputs: [.local(destination: local), .tar(destination: tar)])
        #expect(h.contents(local + "/srv/hello.txt") == "hello from swiftbuild\n")
        #expect(!exists(local + "/srv/gone"))
        #expect(!exists(local + "/bin/wc"))
        #expect(exists(local + "/bin/busybox"))
        let listing = try runTool("/usr/bin/tar", ["-tf", tar]).split(separator: "\n").map(String.init)
        #expect(listing.contains("srv/hello.txt"))
        #expect(listing.contains("bin/busybox"))
        #expect(!listing.contains { $0.contains("gone") || $0.contains(".wh.") || $0 == "bin/wc" })
    }

    @Test func dockerMediaTypesAndForcedCompression() async throws {
        let h = try BuildHarness()
        let dockerTypes = h.directory.path + "/docker-types"
        let zstd = h.directory.path + "/zstd"
        let result = try await Self.build(h, outputs: [
            .oci(destination: dockerTypes, tar: false, options: ExportOptions(ociMediaTypes: false)),
            .oci(destination: zstd, tar: false, options: ExportOptions(compression: .zstd, forceCompression: true,
                                                                        manifestAnnotations: ["org.example.k": "v"],
                                                                        indexAnnotations: ["org.example.i": "w"])),
        ])
        // (skopeo's oci: transport only lists OCI-typed manifests, so the Docker-typed one is read directly.)
        let dockerIndex = try CanonicalJSON.decode(ImageIndex.self, from: [UInt8](try #require(
            FileManager.default.contents(atPath: dockerTypes + "/index.json"))))
        let dockerManifest = try #require(dockerIndex.manifests.first)
        #expect(dockerManifest.mediaType == .dockerManifest)
        let raw = String(decoding: try #require(FileManager.default.contents(
            atPath: dockerTypes + "/blobs/sha256/" + dockerManifest.digest.encoded)), as: UTF8.self)
        #expect(raw.contains("application/vnd.docker.distribution.manifest.v2+json"))
        #expect(raw.contains("application/vnd.docker.image.rootfs.diff.tar.gzip"))
        #expect(raw.contains("application/vnd.docker.container.image.v1+json"))
        #expect(!raw.contains("vnd.oci"))
        #expect(raw.contains(result.config.digest.description))  // the config's bytes are unchanged

        let zraw = try runTool("/usr/bin/skopeo", ["inspect", "--raw", "oci:" + zstd + ":1.0"])
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: Array(zraw.utf8))
        #expect(manifest.layers.allSatisfy { $0.mediaType == .ociLayerZstd })
        #expect(manifest.annotations?["org.example.k"] == "v")
        #expect(manifest.config.digest == result.config.digest)
        let index = try #require(FileManager.default.contents(atPath: zstd + "/index.json"))
        #expect(String(decoding: index, as: UTF8.self).contains("org.example.i"))
        // The zstd layout loads back and unpacks to the same tree.
        let fresh = try TemporaryDirectory()
        let content = try ContentStore(root: fresh.path)
        let store = try ImageStore(root: fresh.path, content: content)
        let loaded = try #require(try ImageLoader.load(from: zstd, into: content, store: store).first)
        let image = try store.image(loaded.manifest)
        try RootfsExporter.unpack(image, content: content, into: fresh.path + "/rootfs")
        #expect(h.contents(fresh.path + "/rootfs/srv/hello.txt") == "hello from swiftbuild\n")
    }

    @Test func saveThenLoadInAFreshRootKeepsDigests() async throws {
        let h = try BuildHarness()
        let result = try await Self.build(h)
        let base = try #require(try h.builder.images.resolve(try ImageReference(parsing: TestImages.busyboxName)))
        let app = try ImageReference(parsing: "interop/app:1.0")
        let saved = h.directory.path + "/saved.tar"
        try ImageSaver(content: h.builder.content, images: h.builder.images, scratch: h.root + "/tmp")
            .save([app, try ImageReference(parsing: TestImages.busyboxName)], format: .oci, to: saved)
        let fresh = try TemporaryDirectory()
        let content = try ContentStore(root: fresh.path)
        let store = try ImageStore(root: fresh.path, content: content)
        _ = try ImageLoader.load(from: saved, into: content, store: store)
        #expect(try store.resolve(app)?.digest == result.manifest.digest)
        #expect(try store.resolve(try ImageReference(parsing: TestImages.busyboxName))?.digest == base.digest)

        let savedDocker = h.directory.path + "/saved-docker.tar"
        try ImageSaver(content: h.builder.content, images: h.builder.images, scratch: h.root + "/tmp")
            .save([app], format: .docker, to: savedDocker)
        let fresh2 = try TemporaryDirectory()
        let content2 = try ContentStore(root: fresh2.path)
        let store2 = try ImageStore(root: fresh2.path, content: content2)
        _ = try ImageLoader.load(from: savedDocker, into: content2, store: store2)
        // docker-archives carry no manifest: the image ID (config digest) and diff IDs are what survive.
        #expect(try store2.image(app)?.id == result.config.digest)
    }

    /// Two --no-cache builds of a COPY-only Dockerfile whose context files were touched in between give the
    /// same manifest; with RUN steps see BuildEndToEndTests.reproducibleWithSourceDateEpoch.
    @Test func copyOnlyBuildsAreReproducible() async throws {
        let h = try BuildHarness()
        try h.write("a.txt", "a\n")
        try h.write("dir/b.txt", "b\n")
        let dockerfile = "FROM scratch\nCOPY a.txt /a.txt\nCOPY dir /dir\nENV X=1\nCMD [\"/a.txt\"]\n"
        let one = try await h.build(dockerfile) { $0.noCache = true; $0.sourceDateEpoch = 1_000_000_000 }
        for file in ["a.txt", "dir/b.txt", "dir"] { _ = utimes(h.context + "/" + file, nil) }
        let two = try await h.build(dockerfile) { $0.noCache = true; $0.sourceDateEpoch = 1_000_000_000 }
        #expect(one.manifest.digest == two.manifest.digest)
        #expect(one.imageConfig.created == "2001-09-09T01:46:40Z")
    }
}
