import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Small descriptor-based tree operations that never follow symlinks.
enum FileTree {
    /// The names in an open directory (without `.` and `..`), sorted by bytes.
    static func names(_ fd: Int32, path: String) throws(SnapshotError) -> [[UInt8]] {
        // A duplicate descriptor (no path lookup, unlike reopening "."), rewound: it shares the offset with `fd`,
        // which callers only use for *at() calls.
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw .system(operation: "opendir", path: path, errno: errno)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var out: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                let bytes = raw.bindMemory(to: UInt8.self)
                let n = bytes.firstIndex(of: 0) ?? bytes.count
                return Array(bytes[0..<n])
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            out.append(name)
        }
        out.sort { $0.lexicographicallyPrecedes($1) }
        return out
    }

    static func cString(_ bytes: [UInt8]) -> [CChar] { bytes.map { CChar(bitPattern: $0) } + [0] }

    /// Removes `path` and everything below it; a missing path is not an error.
    static func remove(_ path: String) throws(SnapshotError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw .system(operation: "lstat", path: path, errno: errno)
        }
        if st.st_mode & Glibc.S_IFMT != Glibc.S_IFDIR {
            guard unlink(path) == 0 || errno == ENOENT else { throw .system(operation: "unlink", path: path, errno: errno) }
            return
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        try removeContents(fd, path: path)
        guard rmdir(path) == 0 || errno == ENOENT else { throw .system(operation: "rmdir", path: path, errno: errno) }
    }

    /// Removes everything inside the open directory `fd`.
    static func removeContents(_ fd: Int32, path: String) throws(SnapshotError) {
        // A directory without write or search permission (e.g. mode 0) can still be emptied by root after chmod.
        _ = fchmod(fd, 0o700)
        for name in try names(fd, path: path) {
            try removeChild(fd, name, path: path)
        }
    }

    /// Removes the child `name` of the open directory `fd` (a whole tree when it is a directory).
    static func removeChild(_ fd: Int32, _ name: [UInt8], path: String) throws(SnapshotError) {
        let c = cString(name)
        let childPath = path + "/" + String(decoding: name, as: UTF8.self)
        var st = stat()
        guard fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw .system(operation: "lstat", path: childPath, errno: errno)
        }
        if st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR {
            let child = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { throw .system(operation: "open", path: childPath, errno: errno) }
            defer { close(child) }
            try removeContents(child, path: childPath)
            guard unlinkat(fd, c, AT_REMOVEDIR) == 0 || errno == ENOENT else {
                throw .system(operation: "rmdir", path: childPath, errno: errno)
            }
        } else {
            guard unlinkat(fd, c, 0) == 0 || errno == ENOENT else {
                throw .system(operation: "unlink", path: childPath, errno: errno)
            }
        }
    }
}
