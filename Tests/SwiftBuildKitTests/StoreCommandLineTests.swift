import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

/// The store commands through the built executable: tag, inspect, save, load in a fresh root, rmi, du, prune,
/// and build flags (--metadata-file, -q, a context tar on standard input, -o type=tar,dest=-).
@Suite(.serialized) struct StoreCommandLineTests {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("swiftbuild").path

    @Test func storeCommandsRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let root = dir.path + "/root"
        try TestImages.busybox(root: root)
        let tool = executable
        @discardableResult func sb(_ args: [String]) throws -> String { try runTool(tool, args + ["--root", root]) }

        try sb(["tag", "localhost/busybox:latest", "example.com/team/bb:1.0"])
        let inspected = try sb(["inspect", "example.com/team/bb:1.0"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [[String: Any]])
        let tags = try #require(json.first?["RepoTags"] as? [String])
        #expect(Set(tags) == ["example.com/team/bb:1.0", "localhost/busybox:latest"])
        let digest = try #require(json.first?["Digest"] as? String)

        let saved = dir.path + "/saved.tar"
        try sb(["save", "example.com/team/bb:1.0", "-o", saved])
        let fresh = dir.path + "/fresh"
        let loaded = try runTool(tool, ["load", "-i", saved, "--root", fresh])
        #expect(loaded == "Loaded image: example.com/team/bb:1.0\n")
        let again = try runTool(tool, ["inspect", "example.com/team/bb:1.0", "--root", fresh])
        #expect(again.contains(digest))

        #expect(try sb(["rmi", "example.com/team/bb:1.0"]) == "Untagged: example.com/team/bb:1.0\n")
        #expect(throws: (any Error).self) { try sb(["inspect", "example.com/team/bb:1.0"]) }
        #expect(throws: (any Error).self) { try sb(["rmi", "example.com/team/bb:1.0"]) }
        #expect(throws: (any Error).self) { try sb(["save", "nope:1", "-o", dir.path + "/x.tar"]) }
        #expect(throws: (any Error).self) { try sb(["prune", "--keep-storage", "lots"]) }

        let du = try sb(["du"])
        #expect(du.contains("image blob"))
        #expect(du.contains("total"))
        #expect(try sb(["prune"]).hasPrefix("Total: "))
        // The tagged base survives the prune whole.
        try sb(["save", "localhost/busybox", "--format", "docker", "-o", dir.path + "/bb-docker.tar"])
        #expect(try runTool("/usr/bin/tar", ["-tf", dir.path + "/bb-docker.tar"]).contains("manifest.json"))
    }

    @Test func buildFlags() throws {
        let dir = try TemporaryDirectory()
        let root = dir.path + "/root"
        try TestImages.busybox(root: root)
        let context = dir.path + "/ctx"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try Data("FROM localhost/busybox\nCOPY a.txt /a.txt\nRUN echo ran > /ran.txt\n".utf8)
            .write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: context + "/a.txt"))
        let meta = dir.path + "/meta.json"
        // The context as a tar on standard input; -q prints only the image ID.
        let id = try runTool("/bin/sh", ["-c", "tar -C \"$1\" -c . | \"$0\" build -q --root \"$2\" -t cli:1 --metadata-file \"$3\" -",
                                               executable, context, root, meta])
        let metadata = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: meta))) as? [String: Any])
        #expect(metadata["containerimage.config.digest"] as? String == id.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect((metadata["containerimage.digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(metadata["image.name"] as? String == "docker.io/library/cli:1")
        // The root filesystem as a tar on standard output.
        let listing = try runTool("/bin/sh", ["-c", "\"$0\" build -q --root \"$1\" -o type=tar,dest=- \"$2\" | tar -t",
                                                    executable, root, context])
        #expect(listing.split(separator: "\n").contains("ran.txt"))
        #expect(listing.split(separator: "\n").contains("a.txt"))
    }
}
