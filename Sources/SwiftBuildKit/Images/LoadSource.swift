#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// The files of an image input, by their path inside it: an OCI layout or docker-archive directory, or a tar
/// unpacked into a private staging directory. Paths never resolve outside the input: `..` is clamped, symlinks
/// of a tar are kept as aliases (resolved lexically inside the archive, never created on disk), and symlinks in
/// a directory must stay inside it.
struct LoadSource {
    let root: String
    /// Archive symlinks and hardlinks: path → target path, both normalised.
    private var aliases: [String: String] = [:]
    private let realRoot: String?

    /// A directory given by the user.
    init(directory: String) throws(ImageStoreError) {
        root = directory
        guard let real = realpath(directory, nil) else { throw .system(call: "realpath", path: directory, errno: errno) }
        realRoot = String(cString: real)
        free(real)
    }

    /// Unpacks the regular files of a tar (possibly compressed) into `staging`.
    init(unpacking archive: String, into staging: String) throws(ImageStoreError) {
        root = staging
        realRoot = nil
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader()
            try reader.open(path: archive)
        } catch { throw .archive("\(archive): \(error.description)") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var entries = 0
        while true {
            let header: ArchiveEntryHeader?
            do { header = try reader.nextEntry() } catch { throw .archive("\(archive): \(error.description)") }
            guard let header else { break }
            entries += 1
            let name = String(decoding: header.path, as: UTF8.self)
            guard let path = Self.normalize(name) else { continue }
            switch header.type {
            case .regular:
                let target = staging + "/" + path
                try AtomicFile.makeDirectories(AtomicFile.parent(of: target))
                _ = unlink(target)
                let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw .system(call: "open", path: target, errno: errno) }
                defer { _ = close(fd) }
                while true {
                    var failure: ArchiveError?
                    let n = buffer.withUnsafeMutableBytes { raw -> Int in
                        do throws(ArchiveError) { return try reader.readData(into: raw) } catch {
                            failure = error
                            return 0
                        }
                    }
                    if let failure { throw .archive("\(archive): \(name): \(failure.description)") }
                    if n == 0 { break }
                    try AtomicFile.writeAll(fd, Array(buffer[0..<n]), path: target)
                }
                aliases[path] = nil
            case .symlink:
                guard let link = header.linkTarget else { continue }
                let text = String(decoding: link, as: UTF8.self)
                let joined = text.hasPrefix("/") ? text : AtomicFile.parent(of: "/" + path) + "/" + text
                if let target = Self.normalize(joined) { aliases[path] = target }
            case .hardlink:
                guard let link = header.linkTarget else { continue }
                if let target = Self.normalize(String(decoding: link, as: UTF8.self)) { aliases[path] = target }
            default:
                continue
            }
        }
        guard entries > 0 else { throw .unrecognizedInput(path: archive, reason: "the archive is empty") }
    }

    /// A relative path with `.` and empty components removed and `..` clamped at the root; nil for the root.
    static func normalize(_ path: String) -> String? {
        var parts: [Substring] = []
        for component in path.split(separator: "/") {
            if component == "." { continue }
            if component == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(component)
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// The on-disk path of a regular file at `path` in the input, or nil if there is none.
    func file(_ path: String) throws(ImageStoreError) -> String? {
        guard let normalized = Self.normalize(path) else { return nil }
        var resolved = normalized
        if !aliases.isEmpty {
            // Resolve aliases component by component (a symlinked directory may be a prefix).
            var remaining = resolved.split(separator: "/").map(String.init)
            var done: [String] = []
            var hops = 0
            while !remaining.isEmpty {
                let candidate = (done + [remaining.removeFirst()]).joined(separator: "/")
                if let target = aliases[candidate] {
                    hops += 1
                    guard hops <= 40 else { throw .unsafePath(path: path) }
                    remaining = target.split(separator: "/").map(String.init) + remaining
                    done = []
                } else {
                    done = candidate.split(separator: "/").map(String.init)
                }
            }
            resolved = done.joined(separator: "/")
        }
        let onDisk = root + "/" + resolved
        if let realRoot {
            guard let real = realpath(onDisk, nil) else {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw .system(call: "realpath", path: onDisk, errno: errno)
            }
            let text = String(cString: real)
            free(real)
            guard text.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else { throw .unsafePath(path: path) }
        }
        var st = stat()
        guard stat(onDisk, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .system(call: "stat", path: onDisk, errno: errno)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return onDisk
    }

    /// The bytes of a small file (a JSON document), or nil.
    func read(_ path: String) throws(ImageStoreError) -> [UInt8]? {
        guard let onDisk = try file(path) else { return nil }
        return try AtomicFile.read(onDisk)
    }
}

/// The digest, size and first bytes of a file, read once.
struct FileFingerprint {
    var digest: Digest
    var size: Int64
    var head: [UInt8]

    init(path: String) throws(ImageStoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        defer { _ = close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        var head: [UInt8] = []
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if head.count < 8 { head.append(contentsOf: chunk.prefix(8 - head.count)) }
            hasher.update(chunk)
            total += Int64(n)
        }
        digest = hasher.finalize()
        size = total
        self.head = head
    }

    /// The compression the first bytes show (gzip and zstd magic numbers), else uncompressed.
    var compression: LayerBlobCompression {
        if head.count >= 2 && head[0] == 0x1f && head[1] == 0x8b { return .gzip }
        if head.count >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd { return .zstd }
        return .uncompressed
    }
}
