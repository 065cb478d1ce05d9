import Foundation
import Synchronization
import TestSupport
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// Registries killed when the test process exits (see `stopAtExit`).
private let registriesToKill = Mutex<[pid_t]>([])

/// A real registry for one test: Debian's `docker-registry` (CNCF Distribution) on 127.0.0.1 with a free port,
/// its storage and config in a temp directory. Optionally with htpasswd basic auth. `stop()` (also run by
/// `deinit`) kills it and removes the directory; tests call it in a `defer` so it goes even when they fail.
final class TestRegistry: @unchecked Sendable {
    let directory: TemporaryDirectory
    let port: Int
    private let process: Process
    private var stopped = false

    var host: String { "127.0.0.1:\(port)" }
    var storage: String { directory.path + "/data" }

    init(user: String? = nil, password: String? = nil) throws {
        directory = try TemporaryDirectory()
        port = try Self.freePort()
        var auth = ""
        if let user, let password {
            let entry = try runTool("/usr/bin/htpasswd", ["-Bbn", user, password])
            try Data(entry.utf8).write(to: URL(fileURLWithPath: directory.path + "/htpasswd"))
            auth = """
                auth:
                  htpasswd:
                    realm: swiftbuild-test
                    path: \(directory.path)/htpasswd

                """
        }
        let config = """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(directory.path)/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            \(auth)
            """
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory.path + "/config.yml"))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", directory.path + "/config.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        do { try waitUntilListening() } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// For a registry kept for the whole test run: killed when the test process exits.
    func stopAtExit() {
        let pid = process.processIdentifier
        registriesToKill.withLock { $0.append(pid) }
        atexit {
            for pid in registriesToKill.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        // SIGKILL: the test process's threads block SIGTERM, and the child inherits that mask.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private func waitUntilListening() throws {
        for _ in 0..<100 {
            if Self.canConnect(port) { return }
            guard process.isRunning else { throw TestFailure("docker-registry exited at start (status \(process.terminationStatus))") }
            usleep(50_000)
        }
        throw TestFailure("docker-registry did not listen on \(host) within 5 s")
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A port nobody listens on now: bind port 0, read what the kernel chose, close.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestFailure("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The registry's file holding a blob (to corrupt it).
    func blobPath(_ digest: Digest) -> String {
        storage + "/docker/registry/v2/blobs/sha256/" + String(digest.encoded.prefix(2)) + "/" + digest.encoded + "/data"
    }
}

extension TestRegistry {
    /// A docker config directory (for `DOCKER_CONFIG`) under `scratch` holding basic credentials for this registry.
    func dockerConfig(in scratch: String, user: String, password: String) throws -> String {
        let directory = scratch + "/docker"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        try Data(#"{"auths":{"\#(host)":{"auth":"\#(auth)"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory
    }
}

/// Runs the built `swiftbuild` binary with `DOCKER_CONFIG` set; returns its standard output.
@discardableResult
func swiftbuildCLI(dockerConfig: String, _ arguments: [String]) throws -> String {
    try runTool("/usr/bin/env", ["DOCKER_CONFIG=" + dockerConfig, SwiftBuildExecutable.path] + arguments)
}
