import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Reads a small file of an image's rootfs with every symbolic link resolved inside the rootfs
/// (`openat2` with `RESOLVE_IN_ROOT`), so an image cannot make the builder read host files.
enum RootfsFile {
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
