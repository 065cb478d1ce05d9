import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// Rootless builds: the swiftbuild command run by an ordinary user (`swiftbuild-rootless`, made with subordinate
/// ids by scripts/setup.sh) builds in a user namespace of its own. The layers record ownership as the image sees
/// it: root is 0 and `chown 1000` / `COPY --chown=1000` / `USER app` are 1000, whatever host ids backed the files.
@Suite(.serialized) struct RootlessBuildTests {
    static let user = "swiftbuild-rootless"

    static let dockerfile = """
        FROM localhost/busybox AS build
        RUN echo built > /artifact && chown 1000:1000 /artifact

        FROM localhost/busybox
        COPY --chown=1000:1000 app.txt /app/app.txt
        COPY --from=build /artifact /app/artifact
        RUN --mount=type=cache,target=/cache echo run >> /cache/runs && wc -l < /cache/runs > /app/cache-runs && id -u > /app/run-uid
        RUN mkdir /data && touch /data/root-owned
        USER app
        RUN touch /home/app/by-app && id -u > /home/app/app-uid

        """

    /// The user's passwd entry, if the machine has it.
    static var account: (uid: uid_t, gid: gid_t)? {
        guard let entry = getpwnam(user) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    static var ready: Bool {
        getuid() == 0 && account != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/newuidmap")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
    }

    static var swiftbuild: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftbuild").path
    }

    /// Runs swiftbuild as the rootless user with a clean environment; returns (exit code, stderr+stdout).
    static func runAsUser(_ arguments: [String], home: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", user, "--", "/usr/bin/env", "-i", "HOME=" + home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                             "SOURCE_DATE_EPOCH=0", swiftbuild] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Every file of every layer of the OCI archive's image: path → "uid/gid", the upper layers winning.
    static func owners(archive: String, scratch: String) throws -> [String: String] {
        let layout = scratch + "/layout"
        try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: true)
        _ = try runTool("/usr/bin/tar", ["-xf", archive, "-C", layout])
        let index = try CanonicalJSON.decode(ImageIndex.self, from: Array(try Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))))
        let manifestPath = layout + "/blobs/sha256/" + (try #require(index.manifests.first)).digest.encoded
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: Array(try Data(contentsOf: URL(fileURLWithPath: manifestPath))))
        var owners: [String: String] = [:]
        for layer in manifest.layers {
            let listing = try runTool("/usr/bin/tar", ["--numeric-owner", "-tvzf", layout + "/blobs/sha256/" + layer.digest.encoded])
            for line in listing.split(separator: "\n") {
                // -rw-r--r-- 1000/1000        6 2023-11-14 22:13 app/app.txt
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 6 else { continue }
                let path = String(fields[5...].joined(separator: " ").split(separator: " -> ").first ?? "")
                owners[path.hasSuffix("/") ? String(path.dropLast()) : path] = String(fields[1])
            }
        }
        return owners
    }

    @Test(.enabled(if: RootlessBuildTests.ready || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs root (to switch users), the swiftbuild-rootless user and uidmap (scripts/setup.sh)"))
    func ordinaryUserBuildsWithImageOwnership() async throws {
        guard let account = Self.account, Self.ready else {
            Issue.record("CI must provide the rootless user and uidmap: run scripts/setup.sh")
            return
        }
        let dir = try TemporaryDirectory()
        chmod(dir.path, 0o755)
        let root = dir.path + "/root", context = dir.path + "/context", home = dir.path + "/home"
        try TestImages.busybox(root: root)
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try Data(Self.dockerfile.utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: context + "/app.txt"))
        _ = try runTool("/bin/chown", ["-R", "\(account.uid):\(account.gid)", root, context, home])

        let archive = home + "/out.tar"
        let (status, output) = try Self.runAsUser(["build", "--root", root, "--progress", "plain", "-t", "rootless:1",
                                                   "-o", "type=oci,dest=" + archive, context], home: home)
        #expect(status == 0, "\(output)")
        guard status == 0 else { return }
        let owners = try Self.owners(archive: archive, scratch: dir.path)
        #expect(owners["app/app.txt"] == "1000/1000", "\(owners)")
        #expect(owners["app/artifact"] == "1000/1000")
        #expect(owners["data/root-owned"] == "0/0")
        #expect(owners["data"] == "0/0")
        #expect(owners["home/app/by-app"] == "1000/1000")
        #expect(owners["bin/busybox"] == "0/0")

        // What the RUN steps saw: root is 0, USER app is 1000.
        let unpacked = dir.path + "/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        let fresh = try ContentStore(root: root)
        let image = try #require(try ImageStore(root: root, content: fresh).image(try ImageReference(parsing: "rootless:1")))
        try RootfsExporter.unpack(image, content: fresh, into: unpacked)
        #expect(try String(contentsOfFile: unpacked + "/app/run-uid", encoding: .utf8) == "0\n")
        #expect(try String(contentsOfFile: unpacked + "/home/app/app-uid", encoding: .utf8) == "1000\n")
        #expect(try String(contentsOfFile: unpacked + "/app/cache-runs", encoding: .utf8) == "1\n")

        // Real root builds the same image, byte for byte: the layers hold the image's ids, not the host's.
        let asRoot = try BuildHarness()
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: asRoot.context + "/app.txt"))
        let rootResult = try await asRoot.build(Self.dockerfile, tags: ["rootful:1"]) { $0.sourceDateEpoch = 0 }
        #expect(rootResult.manifest.digest == image.manifestDescriptor.digest)

        // The store is the user's: on the host its files belong to the user's own id.
        var st = stat()
        #expect(lstat(root + "/images", &st) == 0 && st.st_uid == account.uid)

        // Again, with --no-cache for the RUN stage: the cache mount kept its contents in the user's root.
        let (again, second) = try Self.runAsUser(["build", "--root", root, "--progress", "plain", "-t", "rootless:2",
                                                  "--no-cache", context], home: home)
        #expect(again == 0, "\(second)")
        let image2 = try #require(try ImageStore(root: root, content: fresh).image(try ImageReference(parsing: "rootless:2")))
        let unpacked2 = dir.path + "/unpacked2"
        try RootfsExporter.unpack(image2, content: fresh, into: unpacked2)
        #expect(try String(contentsOfFile: unpacked2 + "/app/cache-runs", encoding: .utf8) == "2\n")
    }

    @Test func subordinateRangesAndMaps() {
        let text = """
            alice:100000:65536
            1001:200000:1000
            bob:300000:65536
            alice:500000:10

            """
        #expect(UserNamespace.ranges(in: text, user: "alice", id: 1000)
                == [.init(start: 100000, count: 65536), .init(start: 500000, count: 10)])
        #expect(UserNamespace.ranges(in: text, user: "carol", id: 1001) == [.init(start: 200000, count: 1000)])
        #expect(UserNamespace.ranges(in: text, user: "dave", id: 7).isEmpty)
        #expect(UserNamespace.mapArguments(id: 1000, ranges: [.init(start: 100000, count: 65536), .init(start: 500000, count: 10)])
                == ["0", "1000", "1", "1", "100000", "65536", "65537", "500000", "10"])
        let none = UserNamespace.mapping(user: "nobody-here", uid: 4242, gid: 4242, subuid: "/nonexistent",
                                         subgid: "/nonexistent", tools: ("/bin/true", "/bin/true"))
        #expect(none.0 == .single)
        #expect(none.why?.contains("usermod --add-subuids") == true)
    }
}
