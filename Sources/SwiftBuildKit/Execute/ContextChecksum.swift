import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// The content checksum of exactly what a COPY/ADD selects (after `.dockerignore` and `--exclude`), for the
/// step's cache key: SHA-256 over, for each source and each of its matches in order, the match path and then
/// each selected entry in walk order as (relative path, type, permission bits, uid, gid, content SHA-256 for
/// files, link target for symlinks, device numbers). Modification times are never part of it, so `touch`
/// keeps cache hits. Owners are the ones the copy gives: root for context files (the context's owners are not
/// sent), the real ones for a stage's files. Heredoc and URL sources are not covered (the lead keys them by
/// their text and checksum).
///
/// File contents come from a persistent `StatIndex` in `<root>/cache/statindex/`, so an unchanged context is
/// not read again.
public final class ContextChecksum: Sendable {
    /// `<root>/cache/statindex`.
    public let indexDirectory: String
    /// Content hashes taken from bytes read for another purpose in this build (a layer written before its key,
    /// `ContentHashRecorder`), by host path; used when the stat index cannot vouch and the stat still matches.
    private let remembered = Mutex<[String: Record.Hashed]>([:])

    /// One entry of a checksum: its path relative to the source root as the match named it, and an FNV-1a
    /// fingerprint of its record (type, mode, owners, content hash or link target).
    public struct Listed: Sendable, Equatable {
        /// The source as the COPY named it, and the entry below it (empty for the source itself): kept apart,
        /// so listing an entry allocates nothing.
        var source: String
        var relative: String
        public var fingerprint: UInt64
        public var path: String { relative.isEmpty ? source : source + "/" + relative }
    }

    /// Listings kept by `checksum(…, keepListing: true)`, by checksum, until taken.
    private let kept = Mutex<[Digest: [Listed]]>([:])

    /// The listing a `keepListing` checksum kept for `digest` (once).
    func takeListing(_ digest: Digest) -> [Listed]? { kept.withLock { $0.removeValue(forKey: digest) } }

    /// The checksum of the sources and every entry it covered (its path and a fingerprint of its record), so a
    /// later build can say which files changed (`CacheMissExplainer`). A second pass over the files, asked for
    /// only when a step misses or its listing was never kept: the stat index makes it a walk.
    func listing(source: CopySourceRoot, sources: [String], excludes: [String]) throws(CopyError) -> (Digest, [Listed]) {
        let result = try compute(source: source, sources: sources, excludes: excludes, listing: true)
        return (result.digest, result.listing)
    }

    /// - Parameter root: the swiftbuild root.
    public init(root: String) throws(CopyError) {
        indexDirectory = root + "/cache/statindex"
        for dir in [root, root + "/cache", indexDirectory] where mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw .system(operation: "mkdir", path: dir, errno: errno)
        }
    }

    /// Makes `hashed` (content hashes of files as they were read) available to the checksums that follow.
    func remember(_ hashed: [Record.Hashed]) {
        remembered.withLock { known in for item in hashed { known[item.host] = item } }
    }

    func forgetRemembered() { remembered.withLock { $0.removeAll() } }

    /// The checksum of the sources of one COPY/ADD (`CopyRequest.Source.path` patterns) in `source`.
    /// `keepListing`: also keep the listing of what it covered (`takeListing`), when the caller knows the step
    /// will run (its files will be listed for the next build's explanations) and one walk can serve both.
    public func checksum(source: CopySourceRoot, sources: [String], excludes: [String] = [],
                         keepListing: Bool = false) throws(CopyError) -> Digest {
        let result = try compute(source: source, sources: sources, excludes: excludes, listing: keepListing)
        if keepListing { kept.withLock { $0[result.digest] = result.listing } }
        return result.digest
    }

    /// The checksum, and how many file hashes were new to the stat index (read here, or remembered from a layer
    /// that read the file); the others came from the index.
    func compute(source: CopySourceRoot, sources: [String], excludes: [String]) throws(CopyError) -> (digest: Digest, filesRead: Int) {
        let result = try compute(source: source, sources: sources, excludes: excludes, listing: false)
        return (result.digest, result.filesRead)
    }

    private func compute(source: CopySourceRoot, sources: [String], excludes: [String],
                         listing: Bool) throws(CopyError) -> (digest: Digest, filesRead: Int, listing: [Listed]) {
        let selection = try CopySelection(root: source, excludes: excludes)
        let index = StatIndex(directory: indexDirectory, forSource: selection.directory)
        defer { index.save() }
        let resetOwners: Bool
        if case .context = source { resetOwners = true } else { resetOwners = false }
        let hasher = RecordHasher()
        let remembered = self.remembered.withLock { $0 }
        var hashedHere: [Record.Hashed] = []
        var listed: [Listed] = []
        var prefix = ""
        func add(_ record: Record) {
            hasher.append(bytes: record.bytes)
            if let hashed = record.hashedHere { hashedHere.append(hashed) }
            if listing { listed.append(Listed(source: prefix, relative: record.relative, fingerprint: record.fingerprint)) }
        }
        for (n, pattern) in sources.enumerated() {
            field(hasher, "source \(n)")
            for match in try selection.matches(pattern) {
                field(hasher, "match")
                field(hasher, match.path)
                prefix = match.path
                let host = RootedPath.host(match.resolved, in: selection.directory)
                add(try Record(relative: "", host: host, st: match.stat, resetOwners: resetOwners, index: index,
                               remembered: remembered))
                guard match.stat.st_mode & S_IFMT == S_IFDIR else { continue }
                // Directories are read on every core, and each entry's record is made (its file hashed when
                // the index cannot vouch for it) on the thread that read it; the records come back in walk
                // order, so the checksum is the one a serial walk gives.
                do {
                    try selection.collect(match, threads: ProcessInfo.processInfo.activeProcessorCount) { entry in
                        try Record(relative: entry.relative, host: entry.host, st: entry.stat,
                                   resetOwners: resetOwners, index: index, remembered: remembered)
                    } consume: { add($0) }
                } catch let error as CopyError {
                    throw error
                } catch {
                    throw .failed(operation: "walk", path: host, cause: error)
                }
            }
        }
        index.reserve(hashedHere.count)
        for hashed in hashedHere { index.record(path: hashed.host, identity: hashed.identity, hash: hashed.hash) }
        return (hasher.finalize(), hashedHere.count, listed)
    }

    /// One node's bytes of the checksum stream: its relative path (length-prefixed), type, permission bits,
    /// owners, then the content hash of a file, the target of a link or the device numbers.
    struct Record: Sendable {
        var bytes: [UInt8]
        var relative: String
        /// FNV-1a of `bytes`.
        var fingerprint: UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h
        }
        /// A file hashed here (the index could not vouch for it): to be recorded in the index.
        var hashedHere: Hashed?

        final class Hashed: Sendable {
            let host: String
            /// The file's stat identity when it was hashed (the hash itself left empty).
            let identity: StatIndex.Entry
            let hash: [UInt8]
            init(host: String, stat: stat, hash: [UInt8]) {
                (self.host, self.identity, self.hash) = (host, StatIndex.Entry(stat, hash: []), hash)
            }
        }

        init(relative: String, host: String, st: stat, resetOwners: Bool, index: StatIndex,
             remembered: [String: Hashed] = [:]) throws(CopyError) {
            hashedHere = nil
            self.relative = relative
            bytes = []
            bytes.reserveCapacity(relative.utf8.count + 56)
            let type = st.st_mode & S_IFMT
            var relative = relative
            relative.withUTF8 { Self.field(&bytes, UnsafeRawBufferPointer($0)) }
            let kind: Character
            switch type {
            case S_IFREG: kind = "f"
            case S_IFDIR: kind = "d"
            case S_IFLNK: kind = "l"
            case S_IFCHR: kind = "c"
            case S_IFBLK: kind = "b"
            case S_IFIFO: kind = "p"
            default: kind = "s"
            }
            bytes.append(kind.asciiValue ?? 0)
            Self.append(&bytes, UInt32(st.st_mode) & 0o7777)
            Self.append(&bytes, resetOwners ? 0 : st.st_uid)
            Self.append(&bytes, resetOwners ? 0 : st.st_gid)
            switch type {
            case S_IFREG:
                if let known = index.trustedHash(path: host, st: st) {
                    bytes += known
                } else if let read = remembered[host], read.identity == StatIndex.Entry(st, hash: []) {
                    hashedHere = read
                    bytes += read.hash
                } else {
                    let hash = try StatIndex.contentHash(host, size: Int64(st.st_size))
                    hashedHere = Hashed(host: host, stat: st, hash: hash)
                    bytes += hash
                }
            case S_IFLNK:
                var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = buffer.withUnsafeMutableBytes { readlink(host, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
                guard n >= 0 else { throw .system(operation: "readlink", path: host, errno: errno) }
                buffer.withUnsafeBytes { Self.field(&bytes, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            case S_IFCHR, S_IFBLK:
                var text = "\(st.st_rdev)"
                text.withUTF8 { Self.field(&bytes, UnsafeRawBufferPointer($0)) }
            default:
                break
            }
        }

        static func append(_ bytes: inout [UInt8], _ value: UInt32) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        /// A length-prefixed field, so no two different sequences of fields hash the same.
        static func field(_ bytes: inout [UInt8], _ text: UnsafeRawBufferPointer) {
            append(&bytes, UInt32(text.count))
            bytes.append(contentsOf: text)
        }
    }

    /// The checksum of the directory (or file) `path` inside `directory` (a stage's rootfs): for
    /// `COPY --from` sources and `RUN --mount=type=bind`.
    public func checksum(directory: String, path: String = "/") throws(CopyError) -> Digest {
        try checksum(source: .directory(directory), sources: [path])
    }

    private func field(_ hasher: RecordHasher, _ text: String) {
        var text = text
        var bytes: [UInt8] = []
        text.withUTF8 { Record.field(&bytes, UnsafeRawBufferPointer($0)) }
        hasher.append(bytes: bytes)
    }
}

/// Collects record bytes in a buffer and hashes them in large blocks (one SHA-256 call per 64 KiB, not per field).
final class RecordHasher {
    private let hasher = SHA256Hasher()
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    func append(bytes: some Collection<UInt8>) {
        buffer.append(contentsOf: bytes)
        flushIfFull()
    }

    private func flushIfFull() {
        if buffer.count >= 1 << 16 { flush() }
    }

    private func flush() {
        buffer.withUnsafeBytes { hasher.update($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    func finalize() -> Digest {
        flush()
        return hasher.finalize()
    }
}
