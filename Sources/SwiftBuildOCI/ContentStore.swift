import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed blobs on disk:
///
///     <root>/blobs/sha256/<hex>     immutable, read-only blobs, named by the SHA-256 of their bytes
///     <root>/ingest/<token>.partial writers' temp files, renamed into blobs/ only after verification
///     <root>/quarantine/sha256/     blobs that `verify` found corrupt, when asked to move them aside
///
/// Every blob is hashed as it is ingested and only stored under the digest its bytes have, so the store never
/// holds a blob under a wrong name unless the disk changes it afterwards, which `verify` detects.
/// The store keeps no mutable state in memory: all coordination is done by the file system (unique temp files,
/// atomic rename), so it is `Sendable` and each task hashes its own data in parallel with the others.
/// Other processes may use the same root at the same time.
public final class ContentStore: Sendable {
    public let root: String
    let blobsDirectory: String
    let ingestDirectory: String
    let quarantineDirectory: String
    static let temporarySuffix = ".partial"
    private static let chunkSize = 1 << 20
    /// Blobs this instance committed, their digests computed from the very bytes written: an export can copy
    /// them without hashing them again. (A blob found in the store, written by another process, is not here.)
    private let committedHere = Mutex<Set<Digest>>([])

    func recordCommitted(_ digest: Digest) { committedHere.withLock { _ = $0.insert(digest) } }

    /// Whether this instance wrote the blob (and hashed it as it did) moments ago.
    public func wasCommittedHere(_ digest: Digest) -> Bool { committedHere.withLock { $0.contains(digest) } }

    /// Opens the store at `root`, creating its directories unless `create` is false (then a missing store is
    /// a `system(call: "stat", …, ENOENT)` error).
    public init(root: String, create: Bool = true) throws(ContentStoreError) {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        blobsDirectory = trimmed + "/blobs/sha256"
        ingestDirectory = trimmed + "/ingest"
        quarantineDirectory = trimmed + "/quarantine/sha256"
        // The root's missing parents too (`--root /new/nested/dir`, or `~/.local/share/swiftbuild` on a new account).
        var parents: [String] = []
        if create {
            var parent = trimmed
            while let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
                parent = String(parent[..<slash])
                parents.insert(parent, at: 0)
            }
        }
        for dir in parents + [trimmed, trimmed + "/blobs", blobsDirectory, ingestDirectory] {
            if !create {
                var st = stat()
                guard stat(dir, &st) == 0 else { throw .system(call: "stat", path: dir, errno: errno) }
                continue
            }
            if mkdir(dir, 0o755) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", path: dir, errno: errno)
            }
        }
    }

    /// `$SWIFTBUILD_ROOT`, else `$HOME/.local/share/swiftbuild`. The only place the environment is consulted.
    public static func defaultRoot(environment: [String: String]) throws(ContentStoreError) -> String {
        if let root = environment["SWIFTBUILD_ROOT"], !root.isEmpty { return root }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/share/swiftbuild" }
        throw .noDefaultRoot
    }

    // MARK: - Looking up

    /// Where the blob with this digest lives (whether or not it is there).
    public func path(for digest: Digest) -> String { blobsDirectory + "/" + digest.encoded }

    public func has(_ digest: Digest) -> Bool { existingSize(path(for: digest)) != nil }

    /// The blob's size, or `notFound`.
    public func info(_ digest: Digest) throws(ContentStoreError) -> BlobInfo {
        guard let size = existingSize(path(for: digest)) else { throw .notFound(digest) }
        return BlobInfo(digest: digest, size: size)
    }

    /// All blobs, sorted by digest. Files that are not blobs are left out (see `verify`).
    public func list() throws(ContentStoreError) -> [Digest] {
        try directoryEntries(blobsDirectory).compactMap { try? Digest(parsing: "sha256:" + $0) }.sorted()
    }

    /// Opens the blob for reading. With `verify` (the default) the reader hashes what it returns and fails at
    /// the end if the blob no longer matches its digest.
    public func open(_ digest: Digest, verify: Bool = true) throws(ContentStoreError) -> BlobReader {
        let p = path(for: digest)
        let fd = Glibc.open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { throw .notFound(digest) }
            throw .system(call: "open", path: p, errno: errno)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            _ = close(fd)
            throw .notFound(digest)
        }
        return BlobReader(fileDescriptor: fd, size: Int64(st.st_size), path: p, digest: digest, verify: verify)
    }

    /// The whole blob in memory (for manifests, configs and other small blobs), hashed again before it is
    /// returned: a blob whose bytes no longer match its digest is refused.
    public func read(_ digest: Digest) throws(ContentStoreError) -> [UInt8] {
        let reader = try open(digest, verify: false)
        guard reader.size <= Int64(Int.max) else { throw .system(call: "read", path: reader.path, errno: EFBIG) }
        var bytes = [UInt8](repeating: 0, count: Int(reader.size))
        var filled = 0
        var failure: ContentStoreError?
        bytes.withUnsafeMutableBytes { buffer in
            while filled < buffer.count {
                do throws(ContentStoreError) {
                    let n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                    if n == 0 { break }
                    filled += n
                } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
        if filled != bytes.count { throw .sizeMismatch(expected: reader.size, actual: Int64(filled)) }
        let actual = SHA256Hasher.digest(bytes)
        guard actual == digest else { throw .digestMismatch(expected: digest, actual: actual) }
        return bytes
    }

    // MARK: - Adding

    /// A writer streaming into a new temp file. Call `commit` to store, `abort` (or drop it) to discard.
    public func writer() throws(ContentStoreError) -> IngestWriter {
        try IngestWriter(store: self, producerHashes: false)
    }

    /// A writer for a producer that hashes the bytes it writes itself (the layer writer does, in its single
    /// pass): the writer does not hash them again, and `commit` requires the producer's digest.
    public func writerForHashingProducer() throws(ContentStoreError) -> IngestWriter {
        try IngestWriter(store: self, producerHashes: true)
    }

    /// Stores bytes held in memory.
    @discardableResult
    public func ingest(bytes: some ContiguousBytes, expected: Digest? = nil) throws(ContentStoreError) -> BlobInfo {
        // Small documents (configs, manifests) are usually there already on a rebuild: hash in memory first.
        let digest = SHA256Hasher.digest(bytes)
        let size = Int64(bytes.withUnsafeBytes { $0.count })
        if expected == nil || expected == digest, existingSize(path(for: digest)) == size {
            return BlobInfo(digest: digest, size: size)
        }
        let w = try writer()
        try w.write(bytes)
        return try w.commit(expected: expected, expectedSize: nil)
    }

    /// Stores a copy of an existing file, hashing it as it is copied.
    @discardableResult
    public func ingest(file path: String, expected: Digest? = nil,
                       expectedSize: Int64? = nil) throws(ContentStoreError) -> BlobInfo {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        defer { _ = close(fd) }
        let w = try writer()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                w.abort()
                throw .system(call: "read", path: path, errno: code)
            }
            if n == 0 { break }
            try w.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return try w.commit(expected: expected, expectedSize: expectedSize)
    }

    // MARK: - Removing

    /// Removes the blob. Returns false if it was not there.
    @discardableResult
    public func delete(_ digest: Digest) throws(ContentStoreError) -> Bool {
        let p = path(for: digest)
        if unlink(p) == 0 {
            try syncBlobDirectory()
            return true
        }
        if errno == ENOENT { return false }
        throw .system(call: "unlink", path: p, errno: errno)
    }

    /// Removes writers' temp files not modified for `age` (left by crashed or killed writers).
    /// A live writer's file is modified as it writes, so pick an age longer than any stall. Returns the count.
    @discardableResult
    public func cleanIngest(olderThan age: Duration) throws(ContentStoreError) -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let (cutoff, overflow) = now.tv_sec.subtractingReportingOverflow(Int(age.components.seconds))
        if overflow { return 0 }
        var removed = 0
        for name in try directoryEntries(ingestDirectory) {
            let p = ingestDirectory + "/" + name
            var st = stat()
            guard lstat(p, &st) == 0 else { continue }
            if st.st_mtim.tv_sec <= cutoff && unlink(p) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: - Checking

    /// What `verify` does with a corrupt blob.
    public enum VerifyAction: Sendable {
        /// Leave it, only report it.
        case report
        /// Move it into `quarantine/sha256/` so it is no longer served.
        case quarantine
        /// Delete it.
        case remove
    }

    /// Hashes every blob again and reports those whose bytes do not match their name, and files that are not blobs.
    public func verify(action: VerifyAction = .report) throws(ContentStoreError) -> [BlobProblem] {
        var problems: [BlobProblem] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        for name in try directoryEntries(blobsDirectory).sorted() {
            let p = blobsDirectory + "/" + name
            let kind: BlobProblem.Kind
            if let digest = try? Digest(parsing: "sha256:" + name) {
                switch hashFile(p, buffer: buffer) {
                case .success(let actual):
                    if actual == digest { continue }
                    kind = .digestMismatch(actual: actual)
                case .failure(let failure):
                    let code = failure.code
                    kind = code == EISDIR || code == ELOOP ? .unexpectedFile : .unreadable(errno: code)
                }
            } else {
                kind = .unexpectedFile
            }
            problems.append(BlobProblem(path: p, kind: kind, action: try apply(action, to: p, name: name)))
        }
        return problems
    }

    private func apply(_ action: VerifyAction, to p: String, name: String) throws(ContentStoreError) -> BlobProblem.Action {
        switch action {
        case .report:
            return .reported
        case .remove:
            if unlink(p) != 0 && rmdir(p) != 0 { throw .system(call: "unlink", path: p, errno: errno) }
            return .removed
        case .quarantine:
            for dir in [root + "/quarantine", quarantineDirectory] where mkdir(dir, 0o755) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", path: dir, errno: errno)
            }
            var rng = SystemRandomNumberGenerator()
            let target = quarantineDirectory + "/" + name + "." + String(rng.next() as UInt32, radix: 16)
            guard rename(p, target) == 0 else { throw .system(call: "rename", path: p, errno: errno) }
            return .quarantined(to: target)
        }
    }

    // MARK: - Helpers shared with IngestWriter

    /// The size of the regular file at `path`, or nil if there is none.
    func existingSize(_ path: String) -> Int64? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    func syncBlobDirectory() throws(ContentStoreError) {
        let fd = Glibc.open(blobsDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: blobsDirectory, errno: errno) }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw .system(call: "fsync", path: blobsDirectory, errno: errno) }
    }

    private func hashFile(_ path: String, buffer: UnsafeMutableRawBufferPointer) -> Result<Digest, Int32Error> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(Int32Error(errno)) }
        defer { _ = close(fd) }
        let hasher = SHA256Hasher()
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(Int32Error(errno))
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return .success(hasher.finalize())
    }

    private func directoryEntries(_ path: String) throws(ContentStoreError) -> [String] {
        guard let names = DirectoryListing.names(path) else { throw .system(call: "opendir", path: path, errno: errno) }
        return names
    }
}

/// An errno as an `Error`, for `Result`.
struct Int32Error: Error, Equatable {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
