import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// swiftbuild as a Kubernetes Job runs it (docs/kubernetes/build-job.yaml), without a cluster: the image
/// Dockerfiles/swiftbuild builds (made here by swiftbuild itself, with the binary under test) runs under runc with
/// what that pod gets: the pod's root (as with `hostUsers: false`) and then user 1000, no privileged mode, containerd's default capability set, privilege escalation
/// allowed (newuidmap is setuid), seccomp Unconfined, runc's masked and read-only /proc paths, PID, IPC, UTS and
/// mount namespaces, the registry credentials mounted as a docker config, an emptyDir for the store. The one
/// difference: the host's network namespace, because the test registry listens on this machine's loopback.
/// Inside, swiftbuild builds a Dockerfile with a RUN step FROM a base in that registry and pushes the image and its
/// cache there.
@Suite(.serialized) struct InClusterBuildTests {
    static var ready: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/umoci")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/newuidmap")
    }

    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// containerd's (and Docker's) default capabilities: what a pod's container gets without `capabilities.add`.
    static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    @Test(.enabled(if: InClusterBuildTests.ready || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs root, runc, umoci and uidmap (scripts/setup.sh)"))
    func theSwiftbuildImageBuildsAndPushesUnderRunc() async throws {
        guard Self.ready else {
            Issue.record("CI must provide runc, umoci and uidmap: run scripts/setup.sh")
            return
        }
        let registry = try TestRegistry(user: "ci", password: "s3cret")
        defer { registry.stop() }
        let dir = try TemporaryDirectory()
        chmod(dir.path, 0o755)
        let dockerConfig = try registry.dockerConfig(in: dir.path, user: "ci", password: "s3cret")

        // The base the Job's Dockerfile names, in the registry.
        let baseRoot = dir.path + "/base-root"
        try TestImages.busybox(root: baseRoot)
        let base = "\(registry.host)/base/busybox:1"
        try swiftbuildCLI(dockerConfig: dockerConfig, ["push", "--root", baseRoot, TestImages.busyboxName, base])

        // The swiftbuild image, built by swiftbuild from Dockerfiles/swiftbuild with the binary under test.
        let context = dir.path + "/image-context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.repository + "/Dockerfiles/swiftbuild/Dockerfile",
                                         toPath: context + "/Dockerfile")
        try runTool("/bin/bash", [Self.repository + "/scripts/prepare-swiftbuild-image.sh", context,
                                  SwiftBuildExecutable.path])
        let builder = try Builder(root: dir.path + "/root")
        let layout = dir.path + "/layout"
        _ = try await builder.build(BuildRequest(contextDirectory: context, tags: ["localhost/swiftbuild:test"],
                                                 outputs: [.oci(destination: layout, tar: false)]))
        let bundle = dir.path + "/bundle"
        try runTool("/usr/bin/umoci", ["unpack", "--image", layout + ":test", bundle])

        // The Job's workspace (a checkout with a Dockerfile) and emptyDir for the store, owned by the pod's user.
        let workspace = dir.path + "/workspace", store = dir.path + "/store"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        try Data("""
            FROM \(base)
            RUN echo built-in-a-pod > /proof && id -u > /uid && uname -n > /hostname
            COPY app.txt /app/app.txt

            """.utf8).write(to: URL(fileURLWithPath: workspace + "/Dockerfile"))
        try Data("app\n".utf8).write(to: URL(fileURLWithPath: workspace + "/app.txt"))
        _ = try runTool("/bin/chown", ["-R", "1000:1000", workspace])
        chmod(dockerConfig + "/config.json", 0o644)

        let image = "\(registry.host)/team/app:1"
        let cache = "\(registry.host)/team/app:buildcache"
        let configPath = bundle + "/config.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: configPath))

        /// Runs the Job's container as `uid`; returns runc's exit status and the container's output.
        func runJob(uid: Int, tag: String) throws -> (Int32, String) {
            try FileManager.default.createDirectory(atPath: store + "-\(uid)", withIntermediateDirectories: true)
            _ = try runTool("/bin/chown", ["\(uid):\(uid)", store + "-\(uid)"])
            try original.write(to: URL(fileURLWithPath: configPath))  // each job starts from umoci's config
            let run = try runcRun(bundle: bundle, stateRoot: dir.path + "/runc-state") { config in
                var process = try #require(config["process"] as? [String: Any])
                process["user"] = ["uid": uid, "gid": uid]
                process["args"] = ["/usr/local/bin/swiftbuild", "build", "--progress", "plain", "--push", "-t", tag,
                                   "--cache-to", "type=registry,ref=\(cache),mode=max", "--cache-from",
                                   "type=registry,ref=\(cache)", "/workspace"]
                process["env"] = ["HOME=/home/build", "PATH=/usr/local/bin:/usr/bin:/bin",
                                  "DOCKER_CONFIG=/home/build/.docker", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"]
                process["noNewPrivileges"] = false
                process["capabilities"] = ["bounding": Self.defaultCapabilities, "effective": Self.defaultCapabilities,
                                           "permitted": Self.defaultCapabilities]
                config["process"] = process
                var linux = try #require(config["linux"] as? [String: Any])
                // A pod's namespaces, but the host network: the test registry is on this machine's loopback.
                linux["namespaces"] = [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]]
                linux.removeValue(forKey: "seccomp")  // seccompProfile: Unconfined
                config["linux"] = linux
                var mounts = try #require(config["mounts"] as? [[String: Any]])
                mounts.append(["destination": "/workspace", "type": "bind", "source": workspace, "options": ["rbind", "ro"]])
                mounts.append(["destination": "/home/build/.local/share/swiftbuild", "type": "bind",
                               "source": store + "-\(uid)", "options": ["rbind", "rw"]])
                mounts.append(["destination": "/home/build/.docker", "type": "bind", "source": dockerConfig,
                               "options": ["rbind", "ro"]])
                config["mounts"] = mounts
                config["hostname"] = "build-job"
            }
            return (run.status, run.output + run.errors)
        }

        // As the pod's root (what `hostUsers: false` makes an unprivileged host user): the container's root has no
        // CAP_SYS_ADMIN, so swiftbuild maps its own ids into a user namespace of its own.
        let (status, output) = try runJob(uid: 0, tag: image)
        #expect(status == 0, "\(output)")
        #expect(output.contains("sandbox:") && output.contains("in a user namespace (rootless"), "\(output)")
        // runc masks /proc paths: the step gets the builder's /proc, and progress says so.
        #expect(output.contains("RUN steps see the builder's /proc"), "\(output)")
        #expect(output.contains("pushed \(image)"), "\(output)")

        // As uid 1000 (a cluster without user namespaces for pods): newuidmap cannot map the subordinate ids
        // without CAP_SYS_ADMIN, so the build runs with one id and says so; the RUN step, as root, still works,
        // and the cache the first job pushed makes it a hit.
        let second = "\(registry.host)/team/app:2"
        let (status2, output2) = try runJob(uid: 1000, tag: second)
        #expect(status2 == 0, "\(output2)")
        #expect(output2.contains("rootless build with one id"), "\(output2)")
        #expect(output2.contains("pushed \(second)"), "\(output2)")
        #expect(output2.contains("CACHED"), "\(output2)")

        // The pushed image holds what the RUN step wrote, as root of the build.
        let fresh = try TemporaryDirectory()
        try swiftbuildCLI(dockerConfig: dockerConfig, ["pull", "--root", fresh.path, image])
        let content = try ContentStore(root: fresh.path)
        let pulled = try #require(try ImageStore(root: fresh.path, content: content).image(try ImageReference(parsing: image)))
        let tree = fresh.path + "/tree"
        try RootfsExporter.unpack(pulled, content: content, into: tree)
        #expect(try String(contentsOfFile: tree + "/proof", encoding: .utf8) == "built-in-a-pod\n")
        #expect(try String(contentsOfFile: tree + "/uid", encoding: .utf8) == "0\n")
        #expect(try String(contentsOfFile: tree + "/app/app.txt", encoding: .utf8) == "app\n")
        // And the cache went to the registry.
        let raw = try runTool("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--creds", "ci:s3cret", "--raw",
                                                  "docker://" + cache])
        #expect(raw.contains("layers"), "\(raw)")
    }
}
