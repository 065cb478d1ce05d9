import Foundation
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// Content hashes of build-context files, remembered between builds by (inode, size, mtime, ctime), so an
/// unchanged context is not read again. Like git's index, an entry whose mtime or ctime is not older than the
/// moment the index was last saved is "racy" and re-hashed: a file rewritten within that same second with the
/// same size keeps a different ctime and is caught, and one restored to the old mtime too.
///
/// One file per context directory in `<root>/cache/statindex/`, written as temp + rename.
final class ContentHashIndex: @unchecked Sendable {
    struct Entry {
        var inode: UInt64
        var size: Int64
        var mtime: Int64
        var ctime: Int64
        var hash: [UInt8]
    }

    private let lock = NSLock()
    private let path: String
    private var entries: [String: Entry] = [:]
    /// When the loaded index was saved (nanoseconds); entries changed at or after it are not trusted.
    private var savedAt: Int64 = 0
    private var dirty = false

    static let magic = Array("SBIX1\n".utf8)

    init(root: String, context: String) {
        let directory = root + "/cache/statindex"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/" + SHA256Hasher.digest(Array(context.utf8)).encoded
        load()
    }

    /// The content hash of a regular file, from the index or by reading it.
    func hash(of host: String, relative: String, stat st: stat) throws -> [UInt8] {
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        if let e = lock.withLock({ entries[relative] }), e.inode == UInt64(st.st_ino), e.size == Int64(st.st_size),
           e.mtime == mtime, e.ctime == ctime, mtime < savedAt, ctime < savedAt {
            return e.hash
        }
        let digest = try Self.hashFile(host)
        lock.withLock {
            entries[relative] = Entry(inode: UInt64(st.st_ino), size: Int64(st.st_size), mtime: mtime, ctime: ctime,
                                      hash: digest)
            dirty = true
        }
        return digest
    }

    static func hashFile(_ host: String) throws -> [UInt8] {
        let fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw BuildError("cannot read \(host): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw BuildError("cannot read \(host): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hexBytes(hasher.finalize().encoded)
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var high: UInt8?
        for c in hex.utf8 {
            let v = c <= 0x39 ? c - 0x30 : c - 0x57
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }

    // MARK: - Persistence

    /// Saves the index if anything changed (temp file + rename; a failure only costs re-hashing next time).
    func save() {
        let (snapshot, changed) = lock.withLock { (entries, dirty) }
        guard changed else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var out = Self.magic
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        u64(UInt64(bitPattern: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)))
        u64(UInt64(snapshot.count))
        for (relative, e) in snapshot {
            let name = Array(relative.utf8)
            u64(UInt64(name.count))
            out.append(contentsOf: name)
            u64(e.inode); u64(UInt64(bitPattern: e.size)); u64(UInt64(bitPattern: e.mtime)); u64(UInt64(bitPattern: e.ctime))
            out.append(contentsOf: e.hash)
        }
        let temp = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(out)) else { return }
        if rename(temp, path) != 0 { unlink(temp) }
    }

    private func load() {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let bytes = [UInt8](data)
        var i = Self.magic.count
        guard bytes.starts(with: Self.magic) else { return }
        func u64() -> UInt64? {
            guard i + 8 <= bytes.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[i + k]) << (8 * k) }
            i += 8
            return v
        }
        guard let saved = u64(), let count = u64() else { return }
        var loaded: [String: Entry] = [:]
        for _ in 0..<count {
            guard let n = u64(), n < 1 << 20, i + Int(n) <= bytes.count else { return }
            let name = String(decoding: bytes[i..<(i + Int(n))], as: UTF8.self)
            i += Int(n)
            guard let ino = u64(), let size = u64(), let mtime = u64(), let ctime = u64(), i + 32 <= bytes.count else { return }
            let hash = Array(bytes[i..<(i + 32)])
            i += 32
            loaded[name] = Entry(inode: ino, size: Int64(bitPattern: size), mtime: Int64(bitPattern: mtime),
                                 ctime: Int64(bitPattern: ctime), hash: hash)
        }
        entries = loaded
        savedAt = Int64(bitPattern: saved)
    }
}
