#if canImport(Glibc)
import Glibc
#endif

/// Walks a directory tree with `openat`/`readdir`/`fstatat`, depth first, each directory's names sorted
/// by bytes, and hands every entry to the emitter. The result is the order of `TarPathOrder`:
/// the same tree gives the same order whatever `readdir` returns.
final class TreeWalker {
    /// The names of one directory, NUL-terminated in one buffer; one listing per depth, reused.
    private final class Listing {
        var bytes: [UInt8] = []
        var names: [(offset: Int, length: Int)] = []

        func reset() {
            bytes.removeAll(keepingCapacity: true)
            names.removeAll(keepingCapacity: true)
        }

        func sort() {
            bytes.withUnsafeBytes { b in
                guard let base = b.baseAddress else { return }
                names.sort { x, y in
                    let c = memcmp(base + x.offset, base + y.offset, min(x.length, y.length))
                    return c != 0 ? c < 0 : x.length < y.length
                }
            }
        }
    }

    private let emitter: TarEntryEmitter
    /// The absolute path of the current entry: root, then "/name" per level. Its tail after `relativeStart` is the tar path.
    private var path: [UInt8]
    private let relativeStart: Int
    private var listings: [Listing] = []
    private var directoryName: [UInt8] = []
    private static let direntNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19

    init(root: String, emitter: TarEntryEmitter) {
        var rootBytes = Array(root.utf8)
        while rootBytes.count > 1 && rootBytes.last == 0x2f { rootBytes.removeLast() }
        if rootBytes == [0x2f] { rootBytes = [] }
        path = rootBytes
        path.reserveCapacity(4096)
        relativeStart = rootBytes.count + 1
        self.emitter = emitter
    }

    private var displayPath: String { String(decoding: path, as: UTF8.self) }

    func walk() throws {
        var rootPath = path.isEmpty ? [0x2f] : path   // the root "/" is kept as an empty prefix
        rootPath.append(0)
        let fd = rootPath.withUnsafeBytes { p -> Int32 in
            guard let base = p.baseAddress else { return -1 }
            return open(base.assumingMemoryBound(to: CChar.self), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        guard fd >= 0 else { throw LayerWriterError.system(operation: "open", path: displayPath, errno: errno) }
        try walkDirectory(fd, depth: 0)
    }

    /// Emits the contents of the open directory `fd` (which this function closes), recursing into subdirectories.
    private func walkDirectory(_ fd: Int32, depth: Int) throws {
        guard let dir = fdopendir(fd) else {
            let code = errno
            close(fd)
            throw LayerWriterError.system(operation: "fdopendir", path: displayPath, errno: code)
        }
        defer { closedir(dir) }
        if listings.count == depth { listings.append(Listing()) }
        let listing = listings[depth]
        listing.reset()
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw LayerWriterError.system(operation: "readdir", path: displayPath, errno: errno) }
                break
            }
            let name = UnsafeRawPointer(entry) + Self.direntNameOffset
            let length = strlen(name.assumingMemoryBound(to: CChar.self))
            let first = name.load(as: UInt8.self)
            if first == 0x2e && (length == 1 || (length == 2 && name.load(fromByteOffset: 1, as: UInt8.self) == 0x2e)) {
                continue   // "." and ".."
            }
            listing.names.append((listing.bytes.count, length))
            listing.bytes.append(contentsOf: UnsafeRawBufferPointer(start: name, count: length))
            listing.bytes.append(0)
        }
        listing.sort()

        let dirfd = dirfd(dir)
        let parentLength = path.count
        for index in listing.names.indices {
            let (offset, length) = listing.names[index]
            path.append(0x2f)
            listing.bytes.withUnsafeBytes { path.append(contentsOf: $0[offset..<(offset + length)]) }
            defer { path.removeSubrange(parentLength...) }

            var st = stat()
            let rc = listing.bytes.withUnsafeBytes { b -> Int32 in
                guard let base = b.baseAddress else { return -1 }
                return fstatat(dirfd, (base + offset).assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW)
            }
            if rc != 0 {
                if errno == ENOENT { continue }   // deleted while we walked: it is simply not in the layer
                throw LayerWriterError.system(operation: "stat", path: displayPath, errno: errno)
            }
            let isDirectory = st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR
            try emitEntry(st, dirfd: dirfd, nameOffset: offset, listing: listing, isDirectory: isDirectory)
            if isDirectory {
                let child = listing.bytes.withUnsafeBytes { b -> Int32 in
                    guard let base = b.baseAddress else { return -1 }
                    return openat(dirfd, (base + offset).assumingMemoryBound(to: CChar.self),
                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                }
                guard child >= 0 else { throw LayerWriterError.system(operation: "open", path: displayPath, errno: errno) }
                try walkDirectory(child, depth: depth + 1)
            }
        }
    }

    private func emitEntry(_ st: stat, dirfd: Int32, nameOffset: Int, listing: Listing, isDirectory: Bool) throws {
        let end = path.count
        directoryName.removeAll(keepingCapacity: true)
        if isDirectory {   // the tar name of a directory ends with "/"
            directoryName.append(contentsOf: path[relativeStart..<end])
            directoryName.append(0x2f)
        }
        path.append(0)
        defer { path.removeLast() }
        try listing.bytes.withUnsafeBytes { names in
            try path.withUnsafeBytes { p in
                try directoryName.withUnsafeBytes { dirName in
                    guard let nameBase = names.baseAddress, let pathBase = p.baseAddress else { return }
                    try emitter.emit(st, dirfd: dirfd, name: (nameBase + nameOffset).assumingMemoryBound(to: CChar.self),
                                     cPath: pathBase.assumingMemoryBound(to: CChar.self),
                                     tarPath: isDirectory ? dirName : UnsafeRawBufferPointer(rebasing: p[relativeStart..<end]))
                }
            }
        }
    }
}
