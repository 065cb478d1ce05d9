import Foundation
import SwiftBuildKit
import SwiftBuildOCI
import Testing
import TestSupport

/// Export and load, checked against skopeo, umoci and bsdtar.
struct OCIArchiveTests {
    struct Fixture {
        let dir: TemporaryDirectory
        let root: String
        let content: ContentStore
        let store: ImageStore
        let reference: ImageReference
        let manifest: Descriptor
        let image: Image

        init() throws {
            dir = try TemporaryDirectory()
            root = dir.path + "/root"
            reference = try TestImages.busybox(root: root)
            content = try ContentStore(root: root)
            store = try ImageStore(root: root, content: content)
            guard let manifest = try store.resolve(reference) else { throw TestFailure("fixture not tagged") }
            self.manifest = manifest
            image = try store.image(manifest)
        }

        /// A second, empty store in the same test directory.
        func emptyStore(_ name: String) throws -> (ContentStore, ImageStore) {
            let content = try ContentStore(root: dir.path + "/" + name)
            return (content, try ImageStore(root: dir.path + "/" + name, content: content))
        }
    }

    @Test func archiveIsDeterministicAndOrdered() throws {
        let f = try Fixture()
        let extra = try ImageReference(parsing: "example.com/app:1")
        let a = f.dir.path + "/a.tar", b = f.dir.path + "/b.tar"
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference, extra])], content: f.content, to: a, tar: true)
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference, extra])], content: f.content, to: b, tar: true)
        let bytesA = try #require(FileManager.default.contents(atPath: a))
        #expect(bytesA == FileManager.default.contents(atPath: b))
        let listing = try runTool("/usr/bin/tar", ["-tvf", a, "--numeric-owner"])
        let lines = listing.split(separator: "\n")
        let names = lines.compactMap { $0.split(separator: " ").last.map(String.init) }
        var blobNames = [f.manifest.digest, f.image.configDescriptor.digest, f.image.layers[0].digest]
            .map { "blobs/sha256/" + $0.encoded }
        blobNames.sort()
        #expect(names == ["blobs/", "blobs/sha256/"] + blobNames + ["index.json", "oci-layout"])
        #expect(lines.allSatisfy { $0.contains(" 0/0 ") && $0.contains("1970-01-01 00:00") })
        let index = try CanonicalJSON.decode(ImageIndex.self, from: Array(try runTool("/usr/bin/tar", ["-xOf", a, "index.json"]).utf8))
        #expect(index.manifests.count == 2)
        #expect(index.manifests[0].annotations == [AnnotationKey.refName: "latest",
                                                   AnnotationKey.containerdImageName: "localhost/busybox:latest"])
        #expect(index.manifests[1].annotations?[AnnotationKey.refName] == "1")
        #expect(index.manifests.allSatisfy { $0.digest == f.manifest.digest })
    }

    @Test func skopeoInspectsTheArchive() throws {
        let f = try Fixture()
        let archive = f.dir.path + "/image.tar"
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: archive, tar: true)
        let raw = try runTool("/usr/bin/skopeo", ["inspect", "--raw", "oci-archive:" + archive])
        #expect(SHA256Hasher.digest(Array(raw.utf8)) == f.manifest.digest)
        let config = try runTool("/usr/bin/skopeo", ["inspect", "--config", "--raw", "oci-archive:" + archive])
        #expect(SHA256Hasher.digest(Array(config.utf8)) == f.image.configDescriptor.digest)
        let summary = try JSONSerialization.jsonObject(with: Data(
            try runTool("/usr/bin/skopeo", ["inspect", "oci-archive:" + archive]).utf8)) as? [String: Any]
        #expect(summary?["Digest"] as? String == f.manifest.digest.description)
        #expect(summary?["Layers"] as? [String] == [f.image.layers[0].digest.description])
    }

    @Test func umociUnpacksTheSameTreeAndConfig() throws {
        let f = try Fixture()
        let layout = f.dir.path + "/layout"
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: layout, tar: false)
        let bundle = f.dir.path + "/bundle"
        try runTool("/usr/bin/umoci", ["unpack", "--image", layout + ":latest", bundle])
        let rootfs = bundle + "/rootfs"
        #expect(FileManager.default.contents(atPath: rootfs + "/bin/busybox") == FileManager.default.contents(atPath: "/bin/busybox"))
        for applet in TestImages.busyboxApplets {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/bin/" + applet) == "busybox")
        }
        #expect(FileManager.default.contents(atPath: rootfs + "/etc/group") == Data(TestImages.group.utf8))
        let attributes = try FileManager.default.attributesOfItem(atPath: rootfs + "/home/app")
        #expect(attributes[.ownerAccountID] as? Int == 1000)
        let tmp = try FileManager.default.attributesOfItem(atPath: rootfs + "/tmp")
        #expect((tmp[.posixPermissions] as? Int).map { $0 & 0o1777 } == 0o1777)
        let spec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))) as? [String: Any]
        let process = spec?["process"] as? [String: Any]
        #expect(process?["args"] as? [String] == ["sh"])
        #expect((process?["env"] as? [String])?.contains("PATH=" + TestImages.path) == true)
    }

    @Test func exportedArchiveLoadsBackWithTheSameDigests() throws {
        let f = try Fixture()
        for tar in [true, false] {
            let path = f.dir.path + (tar ? "/image.tar" : "/layout")
            try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: path, tar: tar)
            let (content, store) = try f.emptyStore(tar ? "from-tar" : "from-dir")
            let loaded = try ImageLoader.load(from: path, into: content, store: store)
            #expect(loaded == [LoadedImage(manifest: f.manifest, references: [f.reference])])
            #expect(try store.resolve(f.reference) == f.manifest)
            #expect(try store.image(f.manifest) == f.image)
            #expect(try content.list().count == 3)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: content.root + "/tmp")) ?? []).isEmpty)
        }
    }

    @Test func dockerArchiveFromSkopeoLoadsWithTheSameConfigAndDiffIDs() throws {
        let f = try Fixture()
        let archive = f.dir.path + "/image.tar"
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: archive, tar: true)
        let docker = f.dir.path + "/docker.tar"
        try runTool("/usr/bin/skopeo", ["--insecure-policy", "copy", "oci-archive:" + archive,
                                             "docker-archive:" + docker + ":example.com/loaded:v2"])
        let (content, store) = try f.emptyStore("loaded")
        let loaded = try ImageLoader.load(from: docker, into: content, store: store)
        let reference = try ImageReference(parsing: "example.com/loaded:v2")
        #expect(loaded.count == 1)
        #expect(loaded.first?.references == [reference])
        let image = try #require(try store.image(reference))
        #expect(image.configDescriptor.digest == f.image.configDescriptor.digest)
        #expect(image.diffIDs == f.image.diffIDs)
        #expect(image.layers.first?.mediaType == .ociLayer)
        #expect(image.layers.first?.digest == f.image.diffIDs.first)
        // And back out: skopeo reads what we stored.
        let again = f.dir.path + "/again.tar"
        try OCIArchiveExporter.write(images: [(image.manifestDescriptor, [reference])], content: content, to: again, tar: true)
        let config = try runTool("/usr/bin/skopeo", ["inspect", "--config", "--raw", "oci-archive:" + again])
        #expect(SHA256Hasher.digest(Array(config.utf8)) == f.image.configDescriptor.digest)
    }

    @Test func corruptBlobFailsAndStoresNothing() throws {
        let f = try Fixture()
        let layout = f.dir.path + "/layout"
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: layout, tar: false)
        let layer = layout + "/blobs/sha256/" + f.image.layers[0].digest.encoded
        var bytes = try #require(FileManager.default.contents(atPath: layer))
        bytes[bytes.count - 20] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: layer))
        let tarred = f.dir.path + "/corrupt.tar"
        try runTool("/usr/bin/tar", ["-cf", tarred, "-C", layout, "."])
        for input in [layout, tarred] {
            let (content, store) = try f.emptyStore("corrupt")
            #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: input, into: content, store: store) }
            #expect(try content.list().isEmpty)
            #expect(try store.list().isEmpty)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: content.root + "/tmp")) ?? []).isEmpty)
        }
    }

    @Test func multiPlatformIndexLoadsTheHostManifest() throws {
        let f = try Fixture()
        let layout = f.dir.path + "/layout"
        try OCIArchiveExporter.write(images: [(f.manifest, [])], content: f.content, to: layout, tar: false)
        // Wrap the manifest in a platform index beside a foreign one whose blobs are absent.
        var mine = f.manifest
        mine.platform = .host
        let foreign = Descriptor(mediaType: .ociManifest, digest: Digest(sha256: [UInt8](repeating: 9, count: 32)), size: 100,
                                 platform: Platform(os: "linux", architecture: "mips64le"))
        let nested = try CanonicalJSON.encode(ImageIndex(manifests: [foreign, mine]))
        let nestedDigest = SHA256Hasher.digest(nested)
        try Data(nested).write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + nestedDigest.encoded))
        let top = ImageIndex(manifests: [Descriptor(mediaType: .ociIndex, digest: nestedDigest, size: Int64(nested.count),
                                                    annotations: [AnnotationKey.refName: "multi:1"])])
        try Data(try CanonicalJSON.encode(top)).write(to: URL(fileURLWithPath: layout + "/index.json"))
        let (content, store) = try f.emptyStore("multi")
        let loaded = try ImageLoader.load(from: layout, into: content, store: store)
        #expect(loaded.map(\.manifest.digest) == [f.manifest.digest])
        #expect(loaded.first?.references == [try ImageReference(parsing: "multi:1")])
        #expect(try store.image(try ImageReference(parsing: "multi:1")) == f.image)
    }

    @Test func topLevelEntriesForOtherPlatformsAreSkipped() throws {
        let f = try OCIArchiveTests.Fixture()
        let layout = f.dir.path + "/layout"
        try OCIArchiveExporter.write(images: [(f.manifest, [])], content: f.content, to: layout, tar: false)
        var mine = f.manifest
        mine.platform = .host
        mine.annotations = [AnnotationKey.containerdImageName: "example.com/multi:1"]
        var foreign = Descriptor(mediaType: .ociManifest, digest: Digest(sha256: [UInt8](repeating: 7, count: 32)),
                                 size: 10, platform: Platform(os: "linux", architecture: "mips64le"))
        foreign.annotations = mine.annotations
        try Data(try CanonicalJSON.encode(ImageIndex(manifests: [foreign, mine])))
            .write(to: URL(fileURLWithPath: layout + "/index.json"))
        let (content, store) = try f.emptyStore("side-by-side")
        let loaded = try ImageLoader.load(from: layout, into: content, store: store)
        #expect(loaded.map(\.manifest.digest) == [f.manifest.digest])
        #expect(try store.resolve(try ImageReference(parsing: "example.com/multi:1"))?.digest == f.manifest.digest)
        try Data(try CanonicalJSON.encode(ImageIndex(manifests: [foreign])))
            .write(to: URL(fileURLWithPath: layout + "/index.json"))
        let (otherContent, otherStore) = try f.emptyStore("foreign-only")
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: layout, into: otherContent, store: otherStore) }
    }

    @Test func unrecognizedAndHostileInputsAreRefused() throws {
        let f = try Fixture()
        let (content, store) = try f.emptyStore("hostile")
        let empty = f.dir.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: empty, into: content, store: store) }
        // A docker-archive whose manifest.json points outside the archive directory.
        let outside = f.dir.path + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data(#"[{"Config":"../../../etc/passwd","RepoTags":["x:1"],"Layers":[]}]"#.utf8)
            .write(to: URL(fileURLWithPath: outside + "/manifest.json"))
        try FileManager.default.createSymbolicLink(atPath: outside + "/escape.json", withDestinationPath: "/etc/passwd")
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: outside, into: content, store: store) }
        try Data(#"[{"Config":"escape.json","RepoTags":["x:1"],"Layers":[]}]"#.utf8)
            .write(to: URL(fileURLWithPath: outside + "/manifest.json"))
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: outside, into: content, store: store) }
        let garbage = f.dir.path + "/garbage.tar"
        try Data("not a tar at all".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: garbage, into: content, store: store) }
        #expect(try content.list().isEmpty)
        #expect(try store.list().isEmpty)
    }
}

/// Pinned bytes: the same tiny image must always export to the same archive.
struct OCIArchiveGoldenTests {
    @Test func uncompressedScratchImageExportsToPinnedDigests() throws {
        let dir = try TemporaryDirectory()
        let tree = dir.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/d", withIntermediateDirectories: true)
        try Data("hi\n".utf8).write(to: URL(fileURLWithPath: tree + "/d/hello"))
        chmod(tree + "/d", 0o755)
        chmod(tree + "/d/hello", 0o644)
        symlink("d/hello", tree + "/link")
        let content = try ContentStore(root: dir.path + "/root")
        let image = try ScratchImageBuilder(compression: .uncompressed,
                                            platform: Platform(os: "linux", architecture: "amd64"))
            .build(tree: tree, config: ContainerConfig(cmd: ["/d/hello"]), into: content)
        let archive = dir.path + "/golden.tar"
        try OCIArchiveExporter.write(images: [(image.manifestDescriptor, [try ImageReference(parsing: "golden:1")])],
                                     content: content, to: archive, tar: true)
        let bytes = try #require(FileManager.default.contents(atPath: archive))
        #expect(image.manifestDescriptor.digest.description == Self.manifestDigest)
        #expect(SHA256Hasher.digest([UInt8](bytes)).description == Self.archiveDigest)
    }

    static let manifestDigest = "sha256:da902728b37d38e60466e251c78a4092f94a72790c8f359325a5edf890ef76dd"
    static let archiveDigest = "sha256:fa40c69278ef7e627cfff78062a9efef750307726f52d16b2fb6ba34635b72b9"

    @Test func exportOfACorruptBlobFailsAndLeavesNoFile() throws {
        let f = try OCIArchiveTests.Fixture()
        let config = f.content.path(for: f.image.configDescriptor.digest)
        chmod(config, 0o644)
        var bytes = try #require(FileManager.default.contents(atPath: config))
        bytes[0] ^= 1
        try bytes.write(to: URL(fileURLWithPath: config))
        let archive = f.dir.path + "/out.tar"
        #expect(throws: ImageStoreError.self) {
            try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: archive, tar: true)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.dir.path).filter { $0.hasPrefix("out.tar") }.isEmpty)
    }
}
