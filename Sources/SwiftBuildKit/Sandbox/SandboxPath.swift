import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Path helpers of the sandbox: lexical cleaning of paths inside the rootfs, and removal of its run directories.
enum SandboxPath {
    /// Absolute, without `.`, empty components or trailing slashes; `..` clamped at the root (as Go's path.Clean).
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { _ = parts.popLast(); continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Removes a tree the sandbox made on the host (never following symbolic links); errors are ignored.
    static func removeTree(_ path: String) {
        let parent = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { return }
        defer { close(parent) }
        removeEntry(parent, path)
    }

    private static func removeEntry(_ dirfd: Int32, _ name: String) {
        if unlinkat(dirfd, name, 0) == 0 { return }
        let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        if let dir = fdopendir(fd) {
            var names: [String] = []
            while let entry = readdir(dir) {
                let entryName = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if entryName != "." && entryName != ".." { names.append(entryName) }
            }
            for entryName in names { removeEntry(fd, entryName) }
            closedir(dir)
        } else {
            close(fd)
        }
        unlinkat(dirfd, name, AT_REMOVEDIR)
    }
}
