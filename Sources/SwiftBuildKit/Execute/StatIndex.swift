import Foundation
import Synchronization
import CSys
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// A persistent map from a file's stat information (inode, size, mtime, ctime) to its content hash, so an
/// unchanged file is not read again. One index file per source directory in `<root>/cache/statindex/`.
///
/// Racy entries (git's rule): an entry is trusted only when the file's mtime and ctime are both older than the
/// index file's own mtime (the same file system clock), so a change made in the same clock tick as the hashing
/// is never missed. Content changed with size and mtime restored (`touch -d`) still changes the ctime.
/// Binary format, little-endian: "SBSI1\n", then per entry u32 path length, path bytes, u64 inode,
/// i64 size, i64 mtime ns, i64 ctime ns, 32 hash bytes. Written to a temp file, fsynced and renamed.
final class StatIndex {
    struct Entry: Equatable {
        var inode: UInt64
        var size: Int64
        var mtime: Int64
        var ctime: Int64
        var hash: [UInt8]
    }

    let file: String
    /// Keyed by path as a String: its hashing is far cheaper than an array of bytes'. (Inode, size and times
    /// must match too, so two paths that decode alike cannot share an entry by accident.)
    private var entries: [String: Entry] = [:]
    /// The index file's mtime (ns) when it was loaded; entries not older than this are re-hashed.
    private var writtenAt: Int64 = 0
    private(set) var changed = false
    private(set) var hashed = 0

    private static let magic = Array("SBSI1\n".utf8)

    init(directory: String, forSource source: String) {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let key = realpath(source, &resolved) != nil
            ? String(decoding: resolved.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : source
        file = directory + "/" + SHA256Hasher.digest(Array(key.utf8)).encoded
        load()
    }

    private func load() {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return }
        writtenAt = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + got }, $0.count - got) }
            if n <= 0 { return }
            got += n
        }
        guard bytes.starts(with: Self.magic) else { return }
        var i = Self.magic.count
        func int64() -> Int64? {
            guard i + 8 <= bytes.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
            i += 8
            return Int64(bitPattern: v)
        }
        var loaded: [String: Entry] = [:]
        // About 80 bytes an entry: sizing the table once spares the rehashing of a 20k-entry index.
        loaded.reserveCapacity(bytes.count / 80)
        while i < bytes.count {
            guard i + 4 <= bytes.count else { return }
            let length = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
            i += 4
            guard i + length <= bytes.count else { return }
            let path = String(decoding: bytes[i..<(i + length)], as: UTF8.self)
            i += length
            guard let inode = int64(), let size = int64(), let mtime = int64(), let ctime = int64(),
                  i + 32 <= bytes.count else { return }
            let hash = Array(bytes[i..<(i + 32)])
            i += 32
            loaded[path] = Entry(inode: UInt64(bitPattern: inode), size: size, mtime: mtime, ctime: ctime, hash: hash)
        }
        entries = loaded
    }

    /// The SHA-256 of the regular file at `path` (described by `st`), from the index when it can be trusted.
    func contentHash(path: String, st: stat) throws(CopyError) -> [UInt8] {
        if let hash = trustedHash(path: path, st: st) { return hash }
        let hash = try Self.contentHash(path, size: Int64(st.st_size))
        record(path: path, st: st, hash: hash)
        return hash
    }

    /// The index's hash of the file, when the file has not changed since it was recorded.
    func trustedHash(path: String, st: stat) -> [UInt8]? {
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        guard let e = entries[path], (e.inode, e.size, e.mtime, e.ctime) == (UInt64(st.st_ino), Int64(st.st_size), mtime, ctime),
              mtime < writtenAt, ctime < writtenAt else { return nil }
        return e.hash
    }

    /// Records a hash computed from the file (`contentHash(_:size:)`).
    func record(path key: String, st: stat, hash: [UInt8]) {
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        let current = (UInt64(st.st_ino), Int64(st.st_size), mtime, ctime)
        hashed += 1
        let entry = Entry(inode: current.0, size: current.1, mtime: mtime, ctime: ctime, hash: hash)
        if entries[key] != entry {
            entries[key] = entry
            changed = true
        } else if mtime >= writtenAt || ctime >= writtenAt {
            changed = true  // rewrite so the entry stops being racy
        }
    }

    /// Files at least this big are hashed in fixed pieces on all cores (see `contentHash`).
    static let pieceSize: Int64 = 64 << 20

    /// The content identity the index keeps: the SHA-256 of a small file; for a big one, SHA-256 over the
    /// SHA-256s of its 64 MiB pieces, which are hashed in parallel. (This is a cache key, never compared with
    /// digests from elsewhere; the piece size is fixed, so the result does not depend on the number of cores.)
    static func contentHash(_ path: String, size: Int64) throws(CopyError) -> [UInt8] {
        guard size >= 2 * pieceSize else { return try hashFile(path) }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        let pieces = Int((size + pieceSize - 1) / pieceSize)
        let results = PieceDigests(count: pieces)
        DispatchQueue.concurrentPerform(iterations: pieces) { i in
            let hasher = SHA256Hasher()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { buffer.deallocate() }
            var offset = Int64(i) * pieceSize
            let end = min(size, offset + pieceSize)
            while offset < end {
                let n = pread(fd, buffer.baseAddress, Int(min(Int64(buffer.count), end - offset)), off_t(offset))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { results.fail(n == 0 ? nil : errno); return }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                offset += Int64(n)
            }
            results.set(i, hexBytes(hasher.finalize().encoded))
        }
        switch results.failure {
        case nil: break
        case .some(nil): throw .changedWhileReading(path)
        case .some(.some(let code)): throw .system(operation: "read", path: path, errno: code)
        }
        let outer = SHA256Hasher()
        outer.update(Array("swiftbuild pieces of \(pieceSize)\n".utf8))
        for digest in results.digests { outer.update(digest) }
        return hexBytes(outer.finalize().encoded)
    }

    /// The SHA-256 of a file's bytes.
    static func hashFile(_ path: String) throws(CopyError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hexBytes(hasher.finalize().encoded)
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8 = c >= 97 ? c &- 87 : c &- 48
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }

    /// Writes the index if anything changed (temp file, fsync, rename). Failures are not fatal: the index is a cache.
    func save() {
        guard changed else { return }
        var bytes = Self.magic
        func put64(_ v: Int64) {
            let u = UInt64(bitPattern: v)
            for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt64(k)))) }
        }
        for (name, e) in entries {
            let path = Array(name.utf8)
            let n = UInt32(path.count)
            bytes += [UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8),
                      UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 24)]
            bytes += path
            put64(Int64(bitPattern: e.inode))
            put64(e.size)
            put64(e.mtime)
            put64(e.ctime)
            bytes += e.hash
        }
        let temp = file + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        var offset = 0
        var ok = true
        while offset < bytes.count {
            let w = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
            if w < 0 {
                if errno == EINTR { continue }
                ok = false
                break
            }
            offset += w
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        if !ok || rename(temp, file) != 0 { unlink(temp) }
        changed = false
    }
}

/// Results of the parallel piece hashing.
final class PieceDigests: Sendable {
    private let values: Mutex<[[UInt8]]>
    /// A read error's errno, or nil inside for a file that ended early.
    private let code = Mutex<Int32??>(nil)

    init(count: Int) { values = Mutex(Array(repeating: [], count: count)) }

    func set(_ i: Int, _ digest: [UInt8]) { values.withLock { $0[i] = digest } }
    func fail(_ errno: Int32?) { code.withLock { $0 = .some(errno) } }
    var digests: [[UInt8]] { values.withLock { $0 } }
    var failure: Int32?? { code.withLock { $0 } }
}
