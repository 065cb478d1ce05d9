import SwiftBuildArchive
import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Reads a small file of an image's rootfs with every symbolic link resolved inside the rootfs
/// (`openat2` with `RESOLVE_IN_ROOT`), so an image cannot make the builder read host files.
/// Also from unpacked layers in overlay lower form, without mounting them.
enum RootfsFile {
    /// The contents of `path` (relative, e.g. "etc/passwd") as the stack of `layers` (overlay lower directories,
    /// top first) shows it: the topmost layer holding the file gives it; a whiteout (character device 0/0) of the
    /// file or of a parent, or an opaque parent directory, hides the layers below. Symbolic links resolve within the
    /// one layer that holds them.
    static func read(layers: [String], path: String) throws(UserResolverError) -> [UInt8]? {
        let components = path.split(separator: "/").map(String.init)
        for layer in layers {
            let rootFD = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if rootFD < 0 { throw .unreadable(path: layer, errno: errno) }
            defer { close(rootFD) }
            var hidden = false
            var prefix = ""
            for (index, component) in components.enumerated() {
                prefix += (prefix.isEmpty ? "" : "/") + component
                var st = stat()
                guard fstatat(rootFD, prefix, &st, AT_SYMLINK_NOFOLLOW) == 0 else { break }
                let type = st.st_mode & S_IFMT
                if type == S_IFCHR && st.st_rdev == 0 { hidden = true; break }
                if index < components.count - 1 && type == S_IFDIR && isOpaque(rootFD, prefix) {
                    // The layer replaced this directory: what it lacks below is hidden.
                    if fstatat(rootFD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 { hidden = true }
                    break
                }
            }
            if hidden { return nil }
            if let contents = try read(rootfs: layer, path: path) { return contents }
        }
        return nil
    }

    private static func isOpaque(_ rootFD: Int32, _ path: String) -> Bool {
        let fd = openat(rootFD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var value: [UInt8] = [0, 0]
        return fgetxattr(fd, OverlayAttributes.opaque, &value, value.count) > 0 && value[0] == UInt8(ascii: "y")
    }

    static let maximumSize = 16 << 20

    /// The contents of `path` (relative to the rootfs), or nil when it does not exist.
    static func read(rootfs: String, path: String) throws(UserResolverError) -> [UInt8]? {
        let rootFD = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { throw .unreadable(path: rootfs, errno: errno) }
        defer { close(rootFD) }
        var how = open_how()
        how.flags = UInt64(O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        how.resolve = UInt64(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
        let opened = swiftbuild_openat2(rootFD, path, &how, MemoryLayout<open_how>.size)
        if opened < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .unreadable(path: "/" + path, errno: errno)
        }
        let fd = Int32(truncatingIfNeeded: opened)
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .unreadable(path: "/" + path, errno: errno) }
        if (st.st_mode & S_IFMT) != S_IFREG { throw .unreadable(path: "/" + path, errno: EINVAL) }
        if st.st_size > maximumSize { throw .unreadable(path: "/" + path, errno: EFBIG) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count <= maximumSize {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: "/" + path, errno: errno)
            }
            if n == 0 { return data }
            data += buffer[0..<n]
        }
        throw .unreadable(path: "/" + path, errno: EFBIG)
    }
}
