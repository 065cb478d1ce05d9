import Foundation
import TestSupport
import SwiftBuildKit
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// Base images for tests, built offline from Debian's busybox-static (installed by scripts/setup.sh).
enum TestImages {
    /// The applets linked to /bin/busybox in the fixture.
    static let busyboxApplets = [
        "sh", "ls", "cat", "echo", "mkdir", "rm", "touch", "id", "env", "sleep", "ps", "ip", "hostname", "wc",
        "grep", "test", "[", "true", "false", "chmod", "stat", "readlink", "find",
    ]
    static let busyboxName = "localhost/busybox:latest"
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false
        app:x:1000:1000:app:/home/app:/bin/sh

        """
    static let group = """
        root:x:0:
        nobody:x:65534:
        app:x:1000:
        extra:x:2000:app

        """

    /// Builds a one-layer busybox image in the store at `root` and tags it `localhost/busybox:latest`.
    /// Deterministic: the same busybox binary always gives the same manifest digest. Takes well under a second.
    @discardableResult
    static func busybox(root: String) throws -> ImageReference {
        let reference = try ImageReference(parsing: busyboxName)
        let content = try ContentStore(root: root)
        let store = try ImageStore(root: root, content: content)
        let tree = try busyboxTree(scratch: root + "/tmp")
        defer { try? FileManager.default.removeItem(atPath: tree) }
        try ScratchImageBuilder().build(
            tree: tree,
            config: ContainerConfig(env: ["PATH=" + path], cmd: ["sh"]),
            history: "swiftbuild test fixture: busybox-static",
            tag: reference, in: store)
        return reference
    }

    static let multiPlatformName = "localhost/busybox-multi:latest"

    /// Where scripts/setup.sh leaves Debian's arm64 busybox-static package.
    static var fixtures: String {
        ProcessInfo.processInfo.environment["SWIFTBUILD_TEST_FIXTURES"] ?? "/var/cache/swiftbuild-tests"
    }

    /// The arm64 busybox binary, unpacked from Debian's `busybox-static:arm64` package (downloaded by
    /// scripts/setup.sh) into `scratch`; nil when the package is not there.
    static func arm64Busybox(scratch: String) throws -> String? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: fixtures),
              let deb = names.sorted().last(where: { $0.hasPrefix("busybox-static_") && $0.hasSuffix("_arm64.deb") })
        else { return nil }
        let target = scratch + "/busybox-arm64-deb"
        try? FileManager.default.removeItem(atPath: target)
        _ = try runTool("/usr/bin/dpkg-deb", ["-x", fixtures + "/" + deb, target])
        return target + "/bin/busybox"
    }

    /// An index of two busybox images, linux/amd64 (the host's busybox-static) and linux/arm64 (Debian's
    /// arm64 package), tagged `localhost/busybox-multi:latest`: the base a multi-platform build pulls each
    /// platform's manifest from. Throws when the arm64 package is missing (run scripts/setup.sh).
    @discardableResult
    static func busyboxIndex(root: String) throws -> ImageReference {
        let reference = try ImageReference(parsing: multiPlatformName)
        let content = try ContentStore(root: root)
        let store = try ImageStore(root: root, content: content)
        guard let arm = try arm64Busybox(scratch: root + "/tmp") else {
            throw TestFailure("no busybox-static arm64 package in \(fixtures): run scripts/setup.sh")
        }
        var built: [(platform: Platform, image: Image)] = []
        for (platform, binary) in [(Platform(os: "linux", architecture: "amd64"), "/bin/busybox"),
                                   (Platform(os: "linux", architecture: "arm64"), arm)] {
            let tree = try busyboxTree(scratch: root + "/tmp", binary: binary)
            defer { try? FileManager.default.removeItem(atPath: tree) }
            let image = try ScratchImageBuilder(platform: platform).build(
                tree: tree, config: ContainerConfig(env: ["PATH=" + path], cmd: ["sh"]),
                history: "swiftbuild test fixture: busybox-static \(platform.architecture)", into: content)
            built.append((platform, image))
        }
        let index = try ImageWriter.writeIndex(built, into: content)
        try store.tag(reference, manifest: index.descriptor)
        return reference
    }

    /// A busybox root file system in a new directory under `scratch` (the caller removes it).
    static func busyboxTree(scratch: String, binary: String = "/bin/busybox") throws -> String {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var template = Array((scratch + "/busybox-tree-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp in \(scratch) failed") }
        let tree = String(cString: made)
        do {
            func dir(_ name: String, _ mode: mode_t, uid: uid_t = 0, gid: gid_t = 0) throws {
                let p = tree + "/" + name
                guard mkdir(p, mode) == 0, chmod(p, mode) == 0, chown(p, uid, gid) == 0 else {
                    throw TestFailure("cannot create \(p): \(String(cString: strerror(errno)))")
                }
            }
            func file(_ name: String, _ bytes: [UInt8], _ mode: mode_t) throws {
                let p = tree + "/" + name
                try Data(bytes).write(to: URL(fileURLWithPath: p))
                guard chmod(p, mode) == 0 else { throw TestFailure("chmod \(p) failed") }
            }
            try dir("bin", 0o755)
            try dir("dev", 0o755)
            try dir("etc", 0o755)
            try dir("home", 0o755)
            try dir("home/app", 0o755, uid: 1000, gid: 1000)
            try dir("proc", 0o755)
            try dir("root", 0o700)
            try dir("sys", 0o755)
            try dir("tmp", 0o1777)
            guard let busybox = FileManager.default.contents(atPath: binary) else {
                throw TestFailure("\(binary) is missing: install busybox-static (scripts/setup.sh)")
            }
            try file("bin/busybox", [UInt8](busybox), 0o755)
            for applet in busyboxApplets {
                guard symlink("busybox", tree + "/bin/" + applet) == 0 else {
                    throw TestFailure("symlink bin/\(applet) failed")
                }
            }
            try file("etc/passwd", Array(passwd.utf8), 0o644)
            try file("etc/group", Array(group.utf8), 0o644)
        } catch {
            try? FileManager.default.removeItem(atPath: tree)
            throw error
        }
        return tree
    }
}

