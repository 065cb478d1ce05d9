#if canImport(Glibc)
import Glibc
#endif
import CSys

/// Turns one file on disk (already `lstat`ed) into tar entries: header, PAX records, content and padding.
/// Shared by the tree walk and the explicit entry list; all buffers are reused from entry to entry.
final class TarEntryEmitter {
    /// Identifies an inode, to turn the second and later links of a file into hardlink entries.
    private struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    let stream: TarStream
    private let headers = TarHeaderWriter()
    private let xattrs = XattrList()
    private let sourceDateEpoch: Int64?
    private let subsecondMtimes: Bool
    private let owner: (UInt32, UInt32)?
    private var firstLinks: [FileID: [UInt8]] = [:]
    /// Sees the content of every regular file `emit` reads.
    var observer: (any LayerContentObserver)?
    /// The stat of the file the next `emit` reads, as the observer should see it, when the caller changed the
    /// one it passes (a `.copy` entry's owners, mode and time); set per entry, then cleared.
    var sourceStat: stat?
    private var linkTarget = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)

    init(stream: TarStream, sourceDateEpoch: Int64?, subsecondMtimes: Bool, owner: (UInt32, UInt32)?) {
        self.owner = owner
        self.stream = stream
        self.sourceDateEpoch = sourceDateEpoch
        self.subsecondMtimes = subsecondMtimes
    }

    /// The modification time to record: as on disk, or clamped to SOURCE_DATE_EPOCH when it is later.
    private func mtime(_ st: stat) -> (Int64, Int) {
        var seconds = Int64(st.st_mtim.tv_sec)
        var nanoseconds = subsecondMtimes && seconds >= 0 ? Int(st.st_mtim.tv_nsec) : 0
        if let epoch = sourceDateEpoch, seconds > epoch || (seconds == epoch && nanoseconds > 0) {
            seconds = epoch
            nanoseconds = 0
        }
        return (seconds, nanoseconds)
    }

    /// Writes the entry for `name` in directory `dirfd` (or an absolute `name` with `AT_FDCWD`).
    /// - Parameters:
    ///   - tarPath: the path inside the layer, with a trailing `/` for a directory.
    ///   - cPath: the same file as a NUL-terminated path the process can open (for the `l*xattr` calls).
    func emit(_ st: stat, dirfd: Int32, name: UnsafePointer<CChar>, cPath: UnsafePointer<CChar>,
              tarPath: UnsafeRawBufferPointer) throws {
        let format = st.st_mode & Glibc.S_IFMT
        let (seconds, nanoseconds) = mtime(st)
        var meta = TarEntryMetadata(type: .regular, mode: UInt32(st.st_mode & 0o7777), uid: owner?.0 ?? st.st_uid,
                                    gid: owner?.1 ?? st.st_gid, size: 0, mtime: seconds, mtimeNanoseconds: nanoseconds)
        if format != Glibc.S_IFDIR && st.st_nlink > 1 {
            let id = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if let first = firstLinks[id] {
                meta.type = .hardlink
                try first.withUnsafeBytes { try headers.write(meta, path: tarPath, linkTarget: $0, xattrs: nil, to: stream) }
                return
            }
            firstLinks[id] = Array(tarPath)
        }
        switch format {
        case Glibc.S_IFREG:
            let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else { throw LayerWriterError.system(operation: "open", path: String(cString: cPath), errno: errno) }
            defer { close(fd) }
            try xattrs.load(fd: fd, path: String(cString: cPath))
            meta.size = Int64(st.st_size)
            try headers.write(meta, path: tarPath, linkTarget: nil, xattrs: xattrs, to: stream)
            let tap = observer?.willRead(source: String(cString: cPath), path: String(decoding: tarPath, as: UTF8.self),
                                         stat: sourceStat ?? st)
            try stream.appendFile(fd: fd, count: meta.size, path: String(cString: cPath), tap: tap)
            tap?.finish()
            try stream.appendZeros(TarHeaderWriter.padding(meta.size))
        case Glibc.S_IFDIR:
            meta.type = .directory
            try writeWithPathXattrs(meta, cPath: cPath, tarPath: tarPath, link: nil)
        case Glibc.S_IFLNK:
            meta.type = .symlink
            let n = linkTarget.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return -1 }
                return readlinkat(dirfd, name, base.assumingMemoryBound(to: CChar.self), buf.count)
            }
            guard n >= 0 else { throw LayerWriterError.system(operation: "readlink", path: String(cString: cPath), errno: errno) }
            guard n < linkTarget.count else {
                throw LayerWriterError.system(operation: "readlink", path: String(cString: cPath), errno: ENAMETOOLONG)
            }
            try linkTarget.withUnsafeBytes { target in
                try writeWithPathXattrs(meta, cPath: cPath, tarPath: tarPath, link: UnsafeRawBufferPointer(rebasing: target[0..<n]))
            }
        case Glibc.S_IFCHR, Glibc.S_IFBLK:
            meta.type = format == Glibc.S_IFCHR ? .characterDevice : .blockDevice
            meta.deviceMajor = swiftbuild_major(st.st_rdev)
            meta.deviceMinor = swiftbuild_minor(st.st_rdev)
            try writeWithPathXattrs(meta, cPath: cPath, tarPath: tarPath, link: nil)
        case Glibc.S_IFIFO:
            meta.type = .fifo
            try writeWithPathXattrs(meta, cPath: cPath, tarPath: tarPath, link: nil)
        default:
            return   // sockets (and anything unknown) cannot be represented in tar: skipped, as other builders do
        }
    }

    private func writeWithPathXattrs(_ meta: TarEntryMetadata, cPath: UnsafePointer<CChar>, tarPath: UnsafeRawBufferPointer,
                                     link: UnsafeRawBufferPointer?) throws {
        try xattrs.load(cPath: cPath, path: String(cString: cPath))
        try headers.write(meta, path: tarPath, linkTarget: link, xattrs: xattrs, to: stream)
    }

    /// A directory that exists on no disk (`LayerEntry.directory`): its metadata only, no extended attributes.
    func emitDirectory(_ m: LayerEntry.EntryMetadata, tarPath: UnsafeRawBufferPointer) throws {
        var st = stat()
        st.st_mtim = timespec(tv_sec: Int(m.mtime), tv_nsec: m.mtimeNanoseconds)
        let (seconds, nanoseconds) = mtime(st)
        let meta = TarEntryMetadata(type: .directory, mode: m.permissions & 0o7777, uid: owner?.0 ?? m.uid,
                                    gid: owner?.1 ?? m.gid, size: 0, mtime: seconds, mtimeNanoseconds: nanoseconds)
        try headers.write(meta, path: tarPath, linkTarget: nil, xattrs: nil, to: stream)
    }

    /// An empty regular file with mode 0 and mtime 0: an overlay whiteout (`.wh.NAME` or `.wh..wh..opq`).
    func emitWhiteout(tarPath: UnsafeRawBufferPointer) throws {
        let meta = TarEntryMetadata(type: .regular, mode: 0, uid: 0, gid: 0, size: 0, mtime: 0, mtimeNanoseconds: 0)
        try headers.write(meta, path: tarPath, linkTarget: nil, xattrs: nil, to: stream)
    }

    /// The end-of-archive marker: two zero blocks.
    func finishArchive() throws {
        try stream.appendZeros(1024)
    }
}
