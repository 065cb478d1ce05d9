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
/// Binary format, little-endian: "SBSI2\n", then per entry u32 path length, path bytes (relative to the source
/// directory, so `.` and its absolute name share entries), u64 inode, i64 size, i64 mtime ns, i64 ctime ns,
/// 32 hash bytes. Written to a temp file, fsynced and renamed.
///
/// The loaded file stays one block of bytes with an open-addressing table of record offsets over it, so
/// loading and dropping an index of 20,000 files allocates two buffers, not 20,000 strings. Lookups
/// (`trustedHash`) only read, so any number of threads may make them at once; `record` and `save` belong to
/// the owner and must not run during lookups.
final class StatIndex: @unchecked Sendable {
    struct Entry: Equatable {
        var inode: UInt64
        var size: Int64
        var mtime: Int64
        var ctime: Int64
        var hash: [UInt8]

        init(inode: UInt64, size: Int64, mtime: Int64, ctime: Int64, hash: [UInt8]) {
            (self.inode, self.size, self.mtime, self.ctime, self.hash) = (inode, size, mtime, ctime, hash)
        }

        init(_ st: stat, hash: [UInt8]) {
            self.init(inode: UInt64(st.st_ino), size: Int64(st.st_size), mtime: StatIndex.nanoseconds(st.st_mtim),
                      ctime: StatIndex.nanoseconds(st.st_ctim), hash: hash)
        }
    }

    let file: String
    /// The source directory as callers spell it, with a trailing `/`: stripped from the paths they pass.
    private let prefix: [UInt8]
    /// The loaded index file (empty when there was none or it was damaged).
    private let loaded: [UInt8]
    /// Offsets of the records in `loaded`, by path hash (linear probing; -1 is empty; a power of two long).
    private let slots: [Int32]
    /// The index file's mtime (ns) when it was loaded; entries not older than this are re-hashed.
    private let writtenAt: Int64
    /// What this run hashed, by path: written with the loaded records it does not replace.
    private var recorded: [String: Entry] = [:]
    /// Whether a recorded entry differs from the loaded one, or must be rewritten to stop being racy.
    private(set) var changed = false
    private(set) var hashed = 0

    private static let magic = Array("SBSI2\n".utf8)
    /// Bytes of a record after its path: inode, size, mtime, ctime, hash.
    private static let tail = 8 * 4 + 32

    init(directory: String, forSource source: String) {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let key = realpath(source, &resolved) != nil
            ? String(decoding: resolved.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : source
        file = directory + "/" + SHA256Hasher.digest(Array(key.utf8)).encoded
        prefix = Array(source.utf8) + (source.hasSuffix("/") ? [] : [UInt8(ascii: "/")])
        (loaded, slots, writtenAt) = Self.load(file)
    }

    /// `path`'s bytes relative to the source directory (as given when it is outside it).
    private func withRelative<R>(_ path: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var path = path
        return path.withUTF8 { full in
            let raw = UnsafeRawBufferPointer(full)
            if raw.count > prefix.count, raw.starts(with: prefix) {
                return body(UnsafeRawBufferPointer(rebasing: raw[prefix.count...]))
            }
            return body(raw)
        }
    }

    static func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }

    /// FNV-1a over the path bytes: the table lives only in this process, so any fixed mixing will do.
    private static func pathHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    private static func load(_ file: String) -> (bytes: [UInt8], slots: [Int32], writtenAt: Int64) {
        let none: ([UInt8], [Int32], Int64) = ([], [], 0)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return none }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0, st.st_size < Int(Int32.max) else { return none }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress.map { $0 + got }, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return none }
            got += n
        }
        guard bytes.starts(with: magic) else { return none }
        // Record offsets first (a damaged file is dropped whole), then the table at most half full.
        var offsets: [Int32] = []
        offsets.reserveCapacity(bytes.count / 80)
        var i = magic.count
        while i < bytes.count {
            guard i + 4 <= bytes.count else { return none }
            let length = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
            guard length <= bytes.count - i - 4 - tail else { return none }
            offsets.append(Int32(i))
            i += 4 + length + tail
        }
        var capacity = 16
        while capacity < 2 * offsets.count { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        bytes.withUnsafeBytes { raw in
            for offset in offsets {
                let (path, _) = record(raw, at: Int(offset))
                var slot = Int(truncatingIfNeeded: pathHash(path)) & (capacity - 1)
                while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
                slots[slot] = offset  // a path written twice keeps both; lookups find the first
            }
        }
        return (bytes, slots, nanoseconds(st.st_mtim))
    }

    /// The path bytes and the fields of the record at `offset`.
    private static func record(_ raw: UnsafeRawBufferPointer, at offset: Int) -> (path: UnsafeRawBufferPointer, fields: Int) {
        let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        return (UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + 4 + length)]), offset + 4 + length)
    }

    /// The loaded entry for `path`, if any.
    private func loadedEntry(_ path: String) -> Entry? {
        guard !slots.isEmpty else { return nil }
        return withRelative(path) { keyBytes in
            loaded.withUnsafeBytes { raw -> Entry? in
                let mask = slots.count - 1
                var slot = Int(truncatingIfNeeded: Self.pathHash(keyBytes)) & mask
                while slots[slot] >= 0 {
                    let (candidate, fields) = Self.record(raw, at: Int(slots[slot]))
                    if candidate.count == keyBytes.count, candidate.elementsEqual(keyBytes) {
                        func int64(_ k: Int) -> Int64 {
                            Int64(littleEndian: raw.loadUnaligned(fromByteOffset: fields + 8 * k, as: Int64.self))
                        }
                        return Entry(inode: UInt64(bitPattern: int64(0)), size: int64(1), mtime: int64(2),
                                     ctime: int64(3), hash: Array(raw[(fields + 32)..<(fields + 64)]))
                    }
                    slot = (slot + 1) & mask
                }
                return nil
            }
        }
    }

    /// The index's hash of the file, when the file has not changed since it was recorded. Safe to call from
    /// several threads at once (it reads only what `init` loaded).
    func trustedHash(path: String, st: stat) -> [UInt8]? {
        let current = Entry(st, hash: [])
        guard current.mtime < writtenAt, current.ctime < writtenAt, let e = loadedEntry(path),
              (e.inode, e.size, e.mtime, e.ctime) == (current.inode, current.size, current.mtime, current.ctime)
        else { return nil }
        return e.hash
    }

    /// Room for `count` more records.
    func reserve(_ count: Int) { recorded.reserveCapacity(recorded.count + count) }

    /// Records a hash computed from the file (`contentHash(_:size:)`), with the file's stat identity (an `Entry`
    /// whose hash is ignored). Not while others look up.
    func record(path: String, identity: Entry, hash: [UInt8]) {
        var entry = identity
        entry.hash = hash
        hashed += 1
        let key = withRelative(path) { String(decoding: $0, as: UTF8.self) }
        if loadedEntry(path) != entry || recorded[key].map({ $0 != entry }) == true {
            changed = true
        } else if entry.mtime >= writtenAt || entry.ctime >= writtenAt {
            changed = true  // rewrite so the entry stops being racy
        }
        recorded[key] = entry
    }

    /// Files at least this big are hashed in fixed pieces on all cores (see `contentHash`).
    static let pieceSize: Int64 = 64 << 20

    /// The content identity the index keeps: the SHA-256 of a small file; for a big one, SHA-256 over the
    /// SHA-256s of its 64 MiB pieces, which are hashed in parallel. (This is a cache key, never compared with
    /// digests from elsewhere; the piece size is fixed, so the result does not depend on the number of cores.)
    static func contentHash(_ path: String, size: Int64) throws(CopyError) -> [UInt8] {
        guard size >= 2 * pieceSize else { return try hashFile(path, size: size) }
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
        return combine(pieces: results.digests)
    }

    /// A big file's content hash from its pieces' SHA-256s, in order.
    static func combine(pieces: [[UInt8]]) -> [UInt8] {
        let outer = SHA256Hasher()
        outer.update(Array("swiftbuild pieces of \(pieceSize)\n".utf8))
        for digest in pieces { outer.update(digest) }
        return hexBytes(outer.finalize().encoded)
    }

    /// The SHA-256 of a file's bytes. `size` (what stat said) sizes the read buffer: a small file gets a small
    /// one, which the allocator recycles; fresh 256 KiB buffers for 20,000 small files, with small allocations
    /// landing between them, grew the heap by a touched page or two per file.
    static func hashFile(_ path: String, size: Int64 = 256 * 1024) throws(CopyError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(max(size + 1, 4096), 256 * 1024)),
                                                            alignment: 64)
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

    /// Writes the index if anything changed (temp file, fsync, rename): what this run recorded, then the loaded
    /// records it did not replace. Failures are not fatal: the index is a cache.
    func save() {
        guard changed else { return }
        var bytes = Self.magic
        bytes.reserveCapacity(loaded.count + recorded.count * 100)
        func put(_ path: UnsafeRawBufferPointer) {
            let n = UInt32(path.count)
            withUnsafeBytes(of: n.littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: path)
        }
        func put64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        for (name, e) in recorded {
            var name = name
            name.withUTF8 { put(UnsafeRawBufferPointer($0)) }
            put64(Int64(bitPattern: e.inode))
            put64(e.size)
            put64(e.mtime)
            put64(e.ctime)
            bytes += e.hash
        }
        var replaced = Set<UInt64>()
        for name in recorded.keys {
            var name = name
            replaced.insert(name.withUTF8 { Self.pathHash(UnsafeRawBufferPointer($0)) })
        }
        loaded.withUnsafeBytes { raw in
            for offset in slots where offset >= 0 {
                let (path, fields) = Self.record(raw, at: Int(offset))
                if replaced.contains(Self.pathHash(path)), recorded[String(decoding: path, as: UTF8.self)] != nil {
                    continue
                }
                bytes.append(contentsOf: raw[Int(offset)..<(fields + Self.tail)])
            }
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
