import Foundation
import SwiftBuildKit
import SwiftBuildOCI
import Testing
import TestSupport

struct ImageStoreTests {
    @Test func busyboxFixtureIsTaggedAndReadable() throws {
        let dir = try TemporaryDirectory()
        let reference = try TestImages.busybox(root: dir.path)
        #expect(reference.description == "localhost/busybox:latest")
        let content = try ContentStore(root: dir.path)
        let store = try ImageStore(root: dir.path, content: content)
        let image = try #require(try store.image(reference))
        #expect(image.layers.count == 1)
        #expect(image.diffIDs.count == 1)
        #expect(image.config.config.cmd == ["sh"])
        #expect(image.config.platform.matches(.host))
        #expect(image.manifestDescriptor.mediaType == .ociManifest)
        // The scratch area is left empty.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/tmp").isEmpty)
        let listing = try runTool("/usr/bin/bsdtar", ["-tvf", content.path(for: image.layers[0].digest)])
        #expect(listing.contains("bin/sh -> busybox"))
        #expect(listing.contains("etc/group"))
        #expect(listing.contains("home/app/"))
    }

    @Test func busyboxFixtureIsDeterministic() throws {
        let a = try TemporaryDirectory(), b = try TemporaryDirectory()
        try TestImages.busybox(root: a.path)
        try TestImages.busybox(root: b.path)
        let ref = try ImageReference(parsing: TestImages.busyboxName)
        let da = try ImageStore(root: a.path, content: ContentStore(root: a.path)).resolve(ref)
        let db = try ImageStore(root: b.path, content: ContentStore(root: b.path)).resolve(ref)
        #expect(da != nil && da == db)
    }

    @Test func tagResolveListRemove() throws {
        let dir = try TemporaryDirectory()
        let busybox = try TestImages.busybox(root: dir.path)
        let content = try ContentStore(root: dir.path)
        let store = try ImageStore(root: dir.path, content: content)
        let manifest = try #require(try store.resolve(busybox))
        let other = try ImageReference(parsing: "example.com/team/app:v1")
        #expect(try store.resolve(other) == nil)
        try store.tag(other, manifest: manifest)
        #expect(try store.resolve(other) == manifest)
        #expect(try store.list().map(\.reference.description) == ["example.com/team/app:v1", "localhost/busybox:latest"])
        // Re-tagging replaces; a second store object sees the same records.
        try store.tag(other, manifest: manifest)
        #expect(try ImageStore(root: dir.path, content: content).list().count == 2)
        #expect(try store.remove(other))
        #expect(try !store.remove(other))
        #expect(try store.resolve(other) == nil)
        #expect(try store.list().count == 1)
        // A digest reference resolves through the content store.
        let pinned = try ImageReference(parsing: "localhost/busybox@" + manifest.digest.description)
        #expect(try store.resolve(pinned) == manifest)
    }

    @Test func tagRefusesMissingBlobsAndNonManifests() throws {
        let dir = try TemporaryDirectory()
        let content = try ContentStore(root: dir.path)
        let store = try ImageStore(root: dir.path, content: content)
        let ref = try ImageReference(parsing: "x")
        let missing = Descriptor(mediaType: .ociManifest, digest: Digest(sha256: [UInt8](repeating: 0, count: 32)), size: 1)
        #expect(throws: ImageStoreError.self) { try store.tag(ref, manifest: missing) }
        let info = try content.ingest(bytes: Array("layer".utf8))
        #expect(throws: ImageStoreError.self) {
            try store.tag(ref, manifest: Descriptor(mediaType: .ociLayer, digest: info.digest, size: info.size))
        }
        #expect(try store.list().isEmpty)
    }

    @Test func imageRefusesACorruptConfig() throws {
        let dir = try TemporaryDirectory()
        let reference = try TestImages.busybox(root: dir.path)
        let content = try ContentStore(root: dir.path)
        let store = try ImageStore(root: dir.path, content: content)
        let image = try #require(try store.image(reference))
        let path = content.path(for: image.configDescriptor.digest)
        chmod(path, 0o644)
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: ImageStoreError.self) { try store.image(reference) }
    }

    @Test func indexPicksTheHostPlatform() throws {
        let dir = try TemporaryDirectory()
        let reference = try TestImages.busybox(root: dir.path)
        let content = try ContentStore(root: dir.path)
        let store = try ImageStore(root: dir.path, content: content)
        let manifest = try #require(try store.resolve(reference))
        let foreign = Platform(os: "linux", architecture: Platform.host.architecture == "s390x" ? "ppc64le" : "s390x")
        var other = manifest
        other.platform = foreign
        var mine = manifest
        mine.platform = .host
        var attestation = manifest
        attestation.platform = Platform(os: "unknown", architecture: "unknown")
        let index = ImageIndex(manifests: [attestation, other, mine])
        let info = try content.ingest(bytes: try CanonicalJSON.encode(index))
        let indexDescriptor = Descriptor(mediaType: .ociIndex, digest: info.digest, size: info.size)
        let image = try store.image(indexDescriptor)
        #expect(image.manifestDescriptor.digest == manifest.digest)
        #expect(throws: ImageStoreError.self) {
            try store.image(Descriptor(mediaType: .ociIndex, digest: info.digest, size: info.size),
                            platform: Platform(os: "linux", architecture: "mips64"))
        }
    }
}

/// Choosing an index entry as containerd's matcher does: the platform itself first, else the closest older arm
/// variant; never a newer variant or another architecture.
struct PlatformSelectionTests {
    func entry(_ arch: String, _ variant: String?, _ n: UInt8) -> Descriptor {
        Descriptor(mediaType: .ociManifest, digest: SHA256Hasher.digest([n]), size: 1,
                   platform: Platform(os: "linux", architecture: arch, variant: variant))
    }

    @Test func armVariantsFallBackToOlderOnes() throws {
        let v5 = entry("arm", "v5", 1), v6 = entry("arm", "v6", 2), v7 = entry("arm", "v7", 3)
        let arm64 = entry("arm64", nil, 4), amd64 = entry("amd64", nil, 5)
        let all = [amd64, v5, v6, v7, arm64]
        func pick(_ manifests: [Descriptor], _ arch: String, _ variant: String?) throws -> Descriptor {
            try PlatformSelector.select(from: manifests, platform: Platform(os: "linux", architecture: arch, variant: variant))
        }
        #expect(try pick(all, "arm", "v7") == v7)
        #expect(try pick(all, "arm", "v6") == v6)
        #expect(try pick([amd64, v5, v6, arm64], "arm", "v7") == v6)
        #expect(try pick([v5], "arm", nil) == v5)  // arm alone is v7
        #expect(try pick(all, "arm64", "v8") == arm64)
        #expect(try pick(all, "amd64", nil) == amd64)
        #expect(throws: ImageStoreError.self) { try pick([v7, amd64], "arm", "v6") }
        #expect(throws: ImageStoreError.self) { try pick([v7, arm64], "ppc64le", nil) }
    }
}

struct ImageWriterTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"),
        (Int64(951_782_400), "2000-02-29T00:00:00Z"),
        (Int64(1_704_164_645), "2024-01-02T03:04:05Z"),
        (Int64(-1), "1969-12-31T23:59:59Z"),
        (Int64(4_102_444_799), "2099-12-31T23:59:59Z"),
    ])
    func rfc3339(seconds: Int64, text: String) {
        #expect(RFC3339.format(secondsSinceEpoch: seconds) == text)
    }

    @Test func writesConfigAndManifestCanonically() throws {
        let dir = try TemporaryDirectory()
        let content = try ContentStore(root: dir.path)
        let layer = try content.ingest(bytes: [UInt8](repeating: 0, count: 1024))
        let config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"),
                                 config: ContainerConfig(cmd: ["true"]), rootfs: .init(diffIDs: [layer.digest]))
        let layers = [Descriptor(mediaType: .ociLayer, digest: layer.digest, size: layer.size)]
        let a = try ImageWriter.write(config: config, layers: layers, into: content)
        let b = try ImageWriter.write(config: config, layers: layers, into: content)
        #expect(a == b)
        let store = try ImageStore(root: dir.path, content: content)
        #expect(try store.image(a.manifestDescriptor) == a)
        #expect(throws: ImageStoreError.self) { try ImageWriter.write(config: config, layers: [], into: content) }
        var missing = layers
        missing[0].digest = Digest(sha256: [UInt8](repeating: 3, count: 32))
        #expect(throws: ImageStoreError.self) { try ImageWriter.write(config: config, layers: missing, into: content) }
    }
}
