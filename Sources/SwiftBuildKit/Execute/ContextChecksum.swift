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

    /// - Parameter root: the swiftbuild root.
    public init(root: String) throws(CopyError) {
        indexDirectory = root + "/cache/statindex"
        for dir in [root, root + "/cache", indexDirectory] where mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw .system(operation: "mkdir", path: dir, errno: errno)
        }
    }

    /// The checksum of the sources of one COPY/ADD (`CopyRequest.Source.path` patterns) in `source`.
    public func checksum(source: CopySourceRoot, sources: [String], excludes: [String] = []) throws(CopyError) -> Digest {
        try compute(source: source, sources: sources, excludes: excludes).digest
    }

    /// The checksum and how many files had to be read (the others came from the stat index).
    func compute(source: CopySourceRoot, sources: [String], excludes: [String]) throws(CopyError) -> (digest: Digest, filesRead: Int) {
        let selection = try CopySelection(root: source, excludes: excludes)
        let index = StatIndex(directory: indexDirectory, forSource: selection.directory)
        defer { index.save() }
        let resetOwners: Bool
        if case .context = source { resetOwners = true } else { resetOwners = false }
        // First the walk (names and stats), then the contents the index cannot vouch for, hashed on every core,
        // then the records in walk order: the same checksum as one serial pass.
        var items: [Item] = []
        for (n, pattern) in sources.enumerated() {
            items.append(.field("source \(n)"))
            for match in try selection.matches(pattern) {
                items.append(.field("match"))
                items.append(.field(match.path))
                let host = RootedPath.host(match.resolved, in: selection.directory)
                items.append(.node("", host: host, st: match.stat))
                guard match.stat.st_mode & S_IFMT == S_IFDIR else { continue }
                do {
                    // Directories are read on every core; the entries come back in walk order.
                    for entry in try selection.collect(match, threads: ProcessInfo.processInfo.activeProcessorCount) {
                        items.append(.node(entry.relative, host: entry.host, st: entry.stat))
                    }
                } catch let error as CopyError {
                    throw error
                } catch {
                    throw .failed(operation: "walk", path: host, cause: error)
                }
            }
        }
        // The index's hashes, looked up once; the files it has none for are hashed below.
        var trusted: [[UInt8]?] = []
        trusted.reserveCapacity(items.count)
        var missing: [(host: String, st: stat)] = []
        for item in items {
            guard case .node(_, let host, let st) = item, st.st_mode & S_IFMT == S_IFREG else {
                trusted.append(nil)
                continue
            }
            let hash = index.trustedHash(path: host, st: st)
            trusted.append(hash)
            if hash == nil { missing.append((host, st)) }
        }
        let hashes = Mutex<[String: Result<[UInt8], CopyError>]>([:])
        let work = missing
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: min(work.count, workers)) { worker in
            let stride = workers
            var i = worker
            while i < work.count {
                let result = Result { () throws(CopyError) -> [UInt8] in
                    try StatIndex.contentHash(work[i].host, size: Int64(work[i].st.st_size))
                }
                hashes.withLock { $0[work[i].host] = result }
                i += stride
            }
        }
        let computed = hashes.withLock { $0 }
        for (host, st) in missing {
            if case .success(let hash) = computed[host] { index.record(path: host, st: st, hash: hash) }
        }
        let hasher = RecordHasher()
        for (position, item) in items.enumerated() {
            switch item {
            case .field(let text):
                field(hasher, text)
            case .node(let relative, let host, let st):
                var hash: [UInt8] = []
                if st.st_mode & S_IFMT == S_IFREG {
                    if let known = trusted[position] {
                        hash = known
                    } else if let result = computed[host] {
                        hash = try result.get()
                    } else {
                        hash = try index.contentHash(path: host, st: st)
                    }
                }
                try record(hasher, relative, host: host, st: st, resetOwners: resetOwners, contentHash: hash)
            }
        }
        return (hasher.finalize(), index.hashed)
    }

    /// One step of the checksum's record stream.
    private enum Item {
        case field(String)
        case node(String, host: String, st: stat)
    }

    /// The checksum of the directory (or file) `path` inside `directory` (a stage's rootfs): for
    /// `COPY --from` sources and `RUN --mount=type=bind`.
    public func checksum(directory: String, path: String = "/") throws(CopyError) -> Digest {
        try checksum(source: .directory(directory), sources: [path])
    }

    private func record(_ hasher: RecordHasher, _ relative: String, host: String, st: stat, resetOwners: Bool,
                        contentHash: [UInt8]) throws(CopyError) {
        let type = st.st_mode & S_IFMT
        field(hasher, relative)
        let kind: String
        switch type {
        case S_IFREG: kind = "f"
        case S_IFDIR: kind = "d"
        case S_IFLNK: kind = "l"
        case S_IFCHR: kind = "c"
        case S_IFBLK: kind = "b"
        case S_IFIFO: kind = "p"
        default: kind = "s"
        }
        let uid = resetOwners ? 0 : st.st_uid, gid = resetOwners ? 0 : st.st_gid
        hasher.append(kind.utf8.first ?? 0)
        hasher.append(UInt32(st.st_mode) & 0o7777)
        hasher.append(uid)
        hasher.append(gid)
        switch type {
        case S_IFREG:
            hasher.append(bytes: contentHash)
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(host, &buffer, buffer.count - 1)
            guard n >= 0 else { throw .system(operation: "readlink", path: host, errno: errno) }
            field(hasher, String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case S_IFCHR, S_IFBLK:
            field(hasher, "\(st.st_rdev)")
        default:
            break
        }
    }

    /// A length-prefixed field, so no two different sequences of fields hash the same.
    private func field(_ hasher: RecordHasher, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            hasher.append(UInt32(bytes.count))
            hasher.append(bytes: bytes)
        }
    }
}

/// Collects record bytes in a buffer and hashes them in large blocks (one SHA-256 call per 64 KiB, not per field).
final class RecordHasher {
    private let hasher = SHA256Hasher()
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    func append(_ byte: UInt8) {
        buffer.append(byte)
        flushIfFull()
    }

    func append(_ value: UInt32) {
        buffer.append(UInt8(truncatingIfNeeded: value))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
        flushIfFull()
    }

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
