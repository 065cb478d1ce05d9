import SwiftBuildArchive
import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Copies single file system nodes between open directories with their metadata, never following symlinks.
/// One copier belongs to one operation: it remembers copied inodes to keep hardlinks together.
final class NodeCopier {
    /// Every copied node gets this owner instead of its own (`--chown`, or root for context files).
    var owner: (uid: UInt32, gid: UInt32)?
    /// Maps the source mode (permission bits) of a copied node to the one it gets (`--chmod`).
    var permissions: ((UInt32, _ isDirectory: Bool) -> UInt32)?
    private var links: [Key: (fd: Int32, name: [CChar])] = [:]
    private var linkDirectories: [Int32] = []

    private struct Key: Hashable { var device: UInt64; var inode: UInt64 }

    init(owner: (uid: UInt32, gid: UInt32)? = nil, permissions: ((UInt32, Bool) -> UInt32)? = nil) {
        self.owner = owner
        self.permissions = permissions
    }

    deinit { for fd in linkDirectories { close(fd) } }

    /// Copies the non-directory node `name` of `source` (described by `st`) to `targetName` in `target`,
    /// replacing whatever non-directory is there. `path` names the source for errors.
    func copyLeaf(source: Int32, name: [CChar], st: stat, target: Int32, targetName: [CChar],
                  path: String) throws(SnapshotError) {
        if unlinkat(target, targetName, 0) != 0 && errno != ENOENT {
            throw .system(operation: "unlink", path: path, errno: errno)
        }
        let type = st.st_mode & Glibc.S_IFMT
        if type != Glibc.S_IFDIR && st.st_nlink > 1 {
            let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if let first = links[key] {
                if linkat(first.fd, first.name, target, targetName, 0) == 0 { return }
            }
        }
        switch type {
        case Glibc.S_IFREG:
            let input = openat(source, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard input >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
            defer { close(input) }
            let output = openat(target, targetName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw .system(operation: "create", path: path, errno: errno) }
            defer { close(output) }
            try Self.copyData(from: input, to: output, path: path, size: Int64(st.st_size))
            try setMetadata(fd: output, st: st, path: path, sourceFD: input)
        case Glibc.S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(source, name, &buffer, buffer.count - 1)
            guard n >= 0 else { throw .system(operation: "readlink", path: path, errno: errno) }
            buffer[n] = 0
            guard symlinkat(buffer, target, targetName) == 0 else { throw .system(operation: "symlink", path: path, errno: errno) }
            let o = owner ?? (st.st_uid, st.st_gid)
            guard fchownat(target, targetName, o.uid, o.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .system(operation: "lchown", path: path, errno: errno)
            }
            var times = [st.st_atim, st.st_mtim]
            _ = utimensat(target, targetName, &times, AT_SYMLINK_NOFOLLOW)
        case Glibc.S_IFCHR, Glibc.S_IFBLK, Glibc.S_IFIFO:
            guard mknodat(target, targetName, type | 0o600, st.st_rdev) == 0 else {
                throw .system(operation: "mknod", path: path, errno: errno)
            }
            let o = owner ?? (st.st_uid, st.st_gid)
            guard fchownat(target, targetName, o.uid, o.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .system(operation: "chown", path: path, errno: errno)
            }
            _ = fchmodat(target, targetName, mode(st), 0)
            var times = [st.st_atim, st.st_mtim]
            _ = utimensat(target, targetName, &times, AT_SYMLINK_NOFOLLOW)
        default:
            return  // sockets are not copied
        }
        if st.st_nlink > 1 {
            let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if links[key] == nil {
                let dup = fcntl(target, F_DUPFD_CLOEXEC, 0)
                if dup >= 0 {
                    linkDirectories.append(dup)
                    links[key] = (dup, targetName)
                }
            }
        }
    }

    /// The permission bits a node gets.
    func mode(_ st: stat) -> UInt32 {
        let bits = UInt32(st.st_mode) & 0o7777
        guard let permissions else { return bits }
        return permissions(bits, st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR)
    }

    /// Owner, mode, extended attributes (except overlayfs's) and times of a copied file or directory.
    func setMetadata(fd: Int32, st: stat, path: String, sourceFD: Int32?) throws(SnapshotError) {
        let o = owner ?? (st.st_uid, st.st_gid)
        guard fchown(fd, o.uid, o.gid) == 0 else { throw .system(operation: "chown", path: path, errno: errno) }
        guard fchmod(fd, mode_t(mode(st))) == 0 else { throw .system(operation: "chmod", path: path, errno: errno) }
        if let sourceFD { Self.copyXattrs(from: sourceFD, to: fd) }
        var times = [st.st_atim, st.st_mtim]
        _ = futimens(fd, &times)
    }

    /// Copies inside the kernel where it can; else through a buffer sized to the file (`size`, what stat said),
    /// not zero-filled: across file systems every file takes this path, and a fresh zeroed 256 KiB for each of
    /// 20,000 small files was most of a COPY's time.
    static func copyData(from input: Int32, to output: Int32, path: String, size: Int64 = 256 * 1024) throws(SnapshotError) {
        while true {
            let n = swiftbuild_copy_file_range(input, nil, output, nil, 1 << 30, 0)
            if n > 0 { continue }
            if n == 0 { return }
            if errno == EINTR { continue }
            if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP { break }
            throw .system(operation: "copy_file_range", path: path, errno: errno)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(max(size + 1, 4096), 256 * 1024)),
                                                            alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "read", path: path, errno: errno)
            }
            if n == 0 { return }
            var offset = 0
            while offset < n {
                let w = write(output, buffer.baseAddress! + offset, n - offset)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw .system(operation: "write", path: path, errno: errno)
                }
                offset += w
            }
        }
    }

    /// Copies extended attributes, leaving out `trusted.overlay.*` (overlayfs bookkeeping). Best effort.
    static func copyXattrs(from input: Int32, to output: Int32) {
        let size = flistxattr(input, nil, 0)
        guard size > 0 else { return }
        var names = [CChar](repeating: 0, count: size)
        let got = flistxattr(input, &names, size)
        guard got > 0 else { return }
        var start = 0
        while start < got {
            var end = start
            while end < got && names[end] != 0 { end += 1 }
            let name = Array(names[start..<end]) + [0]
            start = end + 1
            if name.count <= 1 { continue }
            if OverlayAttributes.isOverlay(name.dropLast().map { UInt8(bitPattern: $0) }) { continue }
            let valueSize = fgetxattr(input, name, nil, 0)
            guard valueSize >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: max(1, valueSize))
            let n = fgetxattr(input, name, &value, value.count)
            guard n >= 0 else { continue }
            _ = fsetxattr(output, name, value, n, 0)
        }
    }
}
