import Synchronization
import Testing
import TestSupport
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// Where sandbox tests' scratch directories go, so a test can tell its own mounts from others'.
let sandboxScratchPrefix = TemporaryDirectory.base + "/swiftbuild-sandbox-test-"

/// A scratch directory for one sandbox test, removed at the end, even when the test fails.
func sandboxScratch() throws -> TemporaryDirectory { try TemporaryDirectory(prefix: "swiftbuild-sandbox-test") }

/// A busybox-static root filesystem built from the host's /bin/busybox (Debian busybox-static).
enum BusyboxRootfs {
    static let applets = ["sh", "ls", "cat", "echo", "mkdir", "rm", "touch", "id", "env", "sleep", "ps", "ip",
                          "hostname", "wc", "grep", "test", "[", "true", "false", "chmod", "stat", "readlink", "find",
                          "pwd", "printf", "kill"]

    static func make(at root: String) throws {
        for dir in ["bin", "etc", "tmp"] { try #require(mkdir(root + "/" + dir, 0o755) == 0) }
        chmod(root + "/tmp", 0o1777)
        let busybox = try #require(read("/bin/busybox"), "/bin/busybox missing: apt-get install busybox-static")
        try write(root + "/bin/busybox", busybox, mode: 0o755)
        for applet in applets { try #require(symlink("busybox", root + "/bin/" + applet) == 0) }
        try write(root + "/etc/passwd", Array("""
            root:x:0:0:root:/root:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/bin/false
            app:x:1000:1000:app:/home/app:/bin/sh

            """.utf8))
        try write(root + "/etc/group", Array("""
            root:x:0:
            nogroup:x:65534:
            app:x:1000:app
            extra:x:2000:app,other

            """.utf8))
    }

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return n == 0 ? data : nil }
            data += buffer[0..<n]
        }
    }

    static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        try #require(fd >= 0, "create \(path)")
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        try #require(n == bytes.count)
        fchmod(fd, mode)
    }
}

/// Collects streamed output.
final class OutputCollector: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    func append(_ chunk: [UInt8]) { bytes.withLock { $0 += chunk } }
}

enum MountTable {
    /// The lines of /proc/self/mountinfo that mention `path` (as mount point, root or source).
    static func lines(mentioning path: String) -> [String] {
        let text = String(decoding: BusyboxRootfs.read("/proc/self/mountinfo") ?? [], as: UTF8.self)
        return text.split(separator: "\n").map(String.init).filter { $0.contains(path) }
    }
}

/// The entries of a tree as sorted relative paths with a type letter (d, f, l, c for char devices with rdev).
func treeListing(_ root: String) -> [String] {
    var result: [String] = []
    func walk(_ relative: String) {
        let path = relative.isEmpty ? root : root + "/" + relative
        guard let dir = opendir(path) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let child = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(root + "/" + child, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                result.append("d " + child)
                walk(child)
            case S_IFLNK: result.append("l " + child)
            case S_IFCHR: result.append("c\(st.st_rdev) " + child)
            default: result.append("f " + child)
            }
        }
    }
    walk("")
    return result.sorted()
}

/// A running process of the host whose command line is exactly `arguments`.
func hostProcess(_ arguments: [String]) -> pid_t? {
    guard let dir = opendir("/proc") else { return nil }
    defer { closedir(dir) }
    let wanted = Array(arguments.joined(separator: "\0").utf8) + [0]
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: &entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        guard let pid = Int32(name) else { continue }
        if BusyboxRootfs.read("/proc/\(pid)/cmdline") == wanted { return pid }
    }
    return nil
}
