#if canImport(Glibc)
import Glibc
#endif

/// Writes to the kernel's control files (`/proc/PID/uid_map`, `setgroups`, binfmt_misc's `register` and
/// entries): an existing file, the whole text in one write(2), as the kernel reads it.
enum KernelFile {
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var path: String
        var code: Int32
        var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
    }

    static func write(_ text: String, to path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(call: "open", path: path, code: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Failure(call: "write", path: path, code: n < 0 ? errno : EIO) }
    }
}
