import Foundation
import SwiftBuildKit
import SwiftBuildOCI
import Testing
import TestSupport

/// Loading the legacy `docker save` layout and the command line `load` and `images`.
struct ImageLoadFormatTests {
    /// A legacy docker-archive directory: `<id>/layer.tar` (one a symlink to the other), `<config hex>.json`.
    private func legacyArchive(_ f: OCIArchiveTests.Fixture, configName: String? = nil) throws -> String {
        let dir = f.dir.path + "/legacy"
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/aaaa", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/bbbb", withIntermediateDirectories: true)
        try runTool("/bin/sh", ["-c", "gzip -dc < \"$0\" > \"$1\"", f.content.path(for: f.image.layers[0].digest),
                                     dir + "/aaaa/layer.tar"])
        try fm.createSymbolicLink(atPath: dir + "/bbbb/layer.tar", withDestinationPath: "../aaaa/layer.tar")
        let config = configName ?? f.image.configDescriptor.digest.encoded + ".json"
        try Data(try f.content.read(f.image.configDescriptor.digest)).write(to: URL(fileURLWithPath: dir + "/" + config))
        let manifest = """
            [{"Config":"\(config)","RepoTags":["a:1"],"Layers":["aaaa/layer.tar"]},
             {"Config":"\(config)","RepoTags":["example.com/b:2"],"Layers":["bbbb/layer.tar"]}]
            """
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        return dir
    }

    @Test func legacyDockerSaveLayoutGzippedLoads() throws {
        let f = try OCIArchiveTests.Fixture()
        let dir = try legacyArchive(f)
        let archive = f.dir.path + "/legacy.tar.gz"
        try runTool("/usr/bin/tar", ["-czf", archive, "-C", dir, "."])
        let (content, store) = try f.emptyStore("legacy")
        let loaded = try ImageLoader.load(from: archive, into: content, store: store)
        #expect(loaded.count == 1)
        #expect(loaded.first?.references.map(\.description) == ["docker.io/library/a:1", "example.com/b:2"])
        let image = try #require(try store.image(try ImageReference(parsing: "example.com/b:2")))
        #expect(image.id == f.image.id)
        #expect(image.layers.map(\.digest) == f.image.diffIDs)
        #expect(try store.resolve(try ImageReference(parsing: "a:1")) == image.manifestDescriptor)
    }

    @Test func dockerArchiveConfigNamedWithTheWrongDigestIsRefused() throws {
        let f = try OCIArchiveTests.Fixture()
        let dir = try legacyArchive(f, configName: String(repeating: "0", count: 64) + ".json")
        let (content, store) = try f.emptyStore("wrong")
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: dir, into: content, store: store) }
        #expect(try content.list().isEmpty)
    }

    @Test func dockerArchiveLayerNotMatchingItsDiffIDIsRefused() throws {
        let f = try OCIArchiveTests.Fixture()
        let dir = try legacyArchive(f)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/aaaa/layer.tar"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 512))
        try handle.close()
        let (content, store) = try f.emptyStore("diffid")
        #expect(throws: ImageStoreError.self) { try ImageLoader.load(from: dir, into: content, store: store) }
        #expect(try content.list().isEmpty)
        #expect(try store.list().isEmpty)
    }

    @Test func commandLineLoadAndImages() throws {
        let f = try OCIArchiveTests.Fixture()
        let archive = f.dir.path + "/image.tar"
        try OCIArchiveExporter.write(images: [(f.manifest, [f.reference])], content: f.content, to: archive, tar: true)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("swiftbuild").path
        let root = f.dir.path + "/cli"
        let loadOutput = try runTool(executable, ["load", "-i", archive, "--root", root])
        #expect(loadOutput == "Loaded image: localhost/busybox:latest\n")
        let images = try runTool(executable, ["images", "--root", root]).split(separator: "\n")
        #expect(images.count == 2)
        let columns = images.last?.split(separator: " ").map(String.init) ?? []
        #expect(Array(columns.prefix(3)) == ["localhost/busybox", "latest", String(f.image.id.encoded.prefix(12))])
        #expect(throws: (any Error).self) { try runTool(executable, ["load", "-i", f.dir.path + "/missing.tar", "--root", root]) }
        let viaStdin = try runTool("/bin/sh", ["-c", "\"$0\" load --root \"$1\" < \"$2\"", executable, f.dir.path + "/stdin", archive])
        #expect(viaStdin == "Loaded image: localhost/busybox:latest\n")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: f.dir.path + "/stdin/tmp")) ?? []).isEmpty)
    }

    @Test func concurrentTaggingKeepsEveryRecordWhole() async throws {
        let f = try OCIArchiveTests.Fixture()
        let store = f.store, manifest = f.manifest
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<32 {
                group.addTask {
                    let reference = try ImageReference(parsing: "example.com/app:\(i % 8)")
                    try store.tag(reference, manifest: manifest)
                    _ = try store.list()
                }
            }
            try await group.waitForAll()
        }
        let records = try store.list()
        #expect(records.count == 9)
        #expect(records.allSatisfy { $0.manifest == manifest })
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.root + "/images").filter { !$0.hasSuffix(".json") }
        #expect(leftovers.isEmpty)
    }
}
