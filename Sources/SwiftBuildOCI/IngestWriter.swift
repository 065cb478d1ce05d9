import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Streams bytes into the content store: they go to a temp file in `ingest/` and through SHA-256 as they pass,
/// and only `commit` makes them a blob, after checking the digest and size, with an atomic rename.
/// Until then nothing is visible in `blobs/`; a writer dropped (or a process killed) before `commit` leaves at
/// most a temp file, which `ContentStore.cleanIngest(olderThan:)` removes.
/// One writer belongs to one task at a time; many writers (even of the same blob) may run at once.
public final class IngestWriter {
    private enum State { case open, committed, aborted }

    private let store: ContentStore
    /// The temp file, unique to this writer.
    public let temporaryPath: String
    private let fd: Int32
    /// Nil when the producer hashes the bytes itself and gives the digest to `commit`.
    private let hasher: SHA256Hasher?
    private var state = State.open
    public private(set) var bytesWritten: Int64 = 0
    /// Bytes whose writeback has been started (`swiftbuild_start_writeback`).
    private var writebackStarted: Int64 = 0
    /// Writeback is started for every this many bytes, so `commit`'s fsync waits only for the tail, not for
    /// the whole blob (the disk writes while the layer is still being compressed).
    private static let writebackStep: Int64 = 8 << 20

    init(store: ContentStore, producerHashes: Bool) throws(ContentStoreError) {
        self.store = store
        hasher = producerHashes ? nil : SHA256Hasher()
        var rng = SystemRandomNumberGenerator()
        var path = ""
        var descriptor: Int32 = -1
        // O_EXCL with a random name: a collision just means another name.
        for _ in 0..<8 {
            let token = String(rng.next() as UInt64, radix: 16) + String(rng.next() as UInt64, radix: 16)
            path = store.ingestDirectory + "/" + token + "-\(getpid())" + ContentStore.temporarySuffix
            descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        temporaryPath = path
        fd = descriptor
    }

    deinit {
        if state == .open {
            _ = close(fd)
            _ = unlink(temporaryPath)
        }
    }

    public func write(_ buffer: UnsafeRawBufferPointer) throws(ContentStoreError) {
        guard state == .open else { throw .writerFinished }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        hasher?.update(buffer)
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, base + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "write", path: temporaryPath, errno: errno)
            }
            offset += n
        }
        bytesWritten += Int64(buffer.count)
        if bytesWritten - writebackStarted >= Self.writebackStep {
            _ = swiftbuild_start_writeback(fd, writebackStarted, bytesWritten - writebackStarted)  // a hint only
            writebackStarted = bytesWritten
        }
    }

    public func write(_ bytes: some ContiguousBytes) throws(ContentStoreError) {
        // `withUnsafeBytes` rethrows untyped errors; keep the typed error by carrying it out.
        var failure: ContentStoreError?
        bytes.withUnsafeBytes { buffer in
            do throws(ContentStoreError) { try write(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Verifies the content, makes it durable and moves it into `blobs/sha256/<hex>`.
    /// On a mismatch the temp file is removed and nothing becomes visible.
    /// If the blob is already stored (another writer got there first), this one's copy is dropped.
    @discardableResult
    public func commit(expected: Digest? = nil, expectedSize: Int64? = nil) throws(ContentStoreError) -> BlobInfo {
        guard state == .open else { throw .writerFinished }
        guard let digest = hasher?.finalize() ?? expected else {
            abort()
            throw .producerDigestMissing
        }
        let info = BlobInfo(digest: digest, size: bytesWritten)
        if let expectedSize, expectedSize != bytesWritten {
            abort()
            throw .sizeMismatch(expected: expectedSize, actual: bytesWritten)
        }
        if let expected, expected != digest {
            abort()
            throw .digestMismatch(expected: expected, actual: digest)
        }
        state = .committed
        defer { _ = close(fd) }
        let target = store.path(for: digest)
        // Already there with the right size: keep the existing file, so readers never see it change.
        if store.existingSize(target) == bytesWritten {
            _ = unlink(temporaryPath)
            return info
        }
        // Blobs are immutable: read-only, durable before they get their name.
        guard fchmod(fd, 0o444) == 0, fsync(fd) == 0 else {
            let code = errno
            _ = unlink(temporaryPath)
            throw .system(call: "fsync", path: temporaryPath, errno: code)
        }
        guard rename(temporaryPath, target) == 0 else {
            let code = errno
            _ = unlink(temporaryPath)
            throw .system(call: "rename", path: target, errno: code)
        }
        // Make the new name durable.
        try store.syncBlobDirectory()
        store.recordCommitted(digest)
        return info
    }

    /// Drops everything written; the temp file is removed. Safe to call more than once.
    public func abort() {
        guard state == .open else { return }
        state = .aborted
        _ = close(fd)
        _ = unlink(temporaryPath)
    }
}
