#if canImport(Glibc)
import Glibc
#endif

/// An open directory file descriptor, closed in `deinit`. Entries are read and inspected relative to it
/// (`fstatat`, `openat`, `readlinkat`), so a directory swapped for a symbolic link during a walk is not followed.
final class DirectoryHandle {
    let fd: Int32
    /// Path used in error messages.
    let displayPath: String

    private init(fd: Int32, displayPath: String) {
        self.fd = fd
        self.displayPath = displayPath
    }

    deinit { close(fd) }

    /// Opens the directory at `path` (a symbolic link here is followed: it is the root the caller chose).
    static func open(path: String) throws(BuildContextError) -> DirectoryHandle {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOTDIR { throw .notADirectory(path: path) }
            throw .system(operation: "open", path: path, errno: code)
        }
        return DirectoryHandle(fd: fd, displayPath: path)
    }

    /// Opens the subdirectory `name` without following a symbolic link.
    func openChild(_ name: [UInt8], displayPath: @autoclosure () -> String) throws(BuildContextError) -> DirectoryHandle {
        let fd = Self.withCName(name) { openat(self.fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 { throw .system(operation: "open", path: displayPath(), errno: errno) }
        return DirectoryHandle(fd: fd, displayPath: displayPath())
    }

    /// The names in the directory (without `.` and `..`), sorted by their bytes.
    func sortedNames() throws(BuildContextError) -> [[UInt8]] {
        let dupfd = dup(fd)
        if dupfd < 0 { throw .system(operation: "dup", path: displayPath, errno: errno) }
        guard let dir = fdopendir(dupfd) else {
            let code = errno
            close(dupfd)
            throw .system(operation: "opendir", path: displayPath, errno: code)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let ent = readdir(dir) else {
                if errno != 0 { throw .system(operation: "readdir", path: displayPath, errno: errno) }
                break
            }
            let name: [UInt8] = withUnsafeBytes(of: &ent.pointee.d_name) { raw in
                let len = raw.firstIndex(of: 0) ?? raw.count
                return Array(raw[..<len])
            }
            if name == [0x2E] || name == [0x2E, 0x2E] || name.isEmpty { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names
    }

    /// `lstat` of the entry `name`; nil when it no longer exists.
    func statChild(_ name: [UInt8], displayPath: @autoclosure () -> String) throws(BuildContextError) -> stat? {
        var st = stat()
        let rc = Self.withCName(name) { fstatat(self.fd, $0, &st, AT_SYMLINK_NOFOLLOW) }
        if rc != 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw .system(operation: "lstat", path: displayPath(), errno: code)
        }
        return st
    }

    /// The target of the symbolic link `name`.
    func readLink(_ name: [UInt8], displayPath: @autoclosure () -> String) throws(BuildContextError) -> [UInt8] {
        var size = 256
        while true {
            var buf = [UInt8](repeating: 0, count: size)
            let n = Self.withCName(name) { cname in
                buf.withUnsafeMutableBytes { b -> Int in
                    guard let base = b.baseAddress else { return -1 }
                    return readlinkat(self.fd, cname, base.assumingMemoryBound(to: CChar.self), size)
                }
            }
            if n < 0 { throw .system(operation: "readlink", path: displayPath(), errno: errno) }
            if n < size { return Array(buf[..<n]) }
            size *= 4
            if size > 1 << 20 { throw .system(operation: "readlink", path: displayPath(), errno: ENAMETOOLONG) }
        }
    }

    /// Calls `body` with `name` as a NUL-terminated C string; -1 (with `errno` = EINVAL) if `name` holds a NUL.
    static func withCName<R: BinaryInteger>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        if name.contains(0) {
            errno = EINVAL
            return -1
        }
        var z = name
        z.append(0)
        return z.withUnsafeBytes { b -> R in
            guard let base = b.bindMemory(to: CChar.self).baseAddress else { return -1 }
            return body(base)
        }
    }
}
