import CSys
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// Unpacked layers, one directory per diff ID: `<root>/snapshots/<diffid hex>/` holds that one layer
/// extracted on its own, with its whiteouts in overlayfs form (`c 0 0` devices, `trusted.overlay.opaque=y`),
/// so a stack of them can be mounted as overlay lower directories (top first).
///
/// Each layer is extracted once: into `snapshots/.tmp-<hex>-<n>`, checked against its diff ID while it is
/// extracted, synced, renamed into place, and only then marked complete by `snapshots/<hex>.complete`.
/// A directory without its marker (a build killed part-way) is removed and extracted again from the blob.
/// A lock file per layer (`snapshots/<hex>.lock`, `flock`) makes concurrent builds extract it only once.
public final class SnapshotStore: Sendable {
    /// The swiftbuild root.
    public let root: String
    public let content: ContentStore
    /// `<root>/snapshots`.
    public let directory: String
    /// The names of the group snapshots (`group-<count>-<hex>`, see `adopt(directory:diffIDs:)`): read from the
    /// directory when first needed, then kept up to date by this store's own adoptions.
    let groupNames = Mutex<Set<String>?>(nil)

    public init(root: String, content: ContentStore) throws(SnapshotError) {
        self.root = root
        self.content = content
        directory = root + "/snapshots"
        try Self.makeDirectory(root)
        try Self.makeDirectory(directory)
    }

    /// The directory a layer is (or would be) unpacked in.
    public func path(diffID: Digest) -> String { directory + "/" + diffID.encoded }

    /// Whether the layer is unpacked and complete.
    public func isUnpacked(diffID: Digest) -> Bool { Self.isComplete(path(diffID: diffID)) }

    /// Whether a snapshot directory and its completion marker both exist.
    static func isComplete(_ path: String) -> Bool {
        access(path + ".complete", F_OK) == 0 && access(path, F_OK) == 0
    }

    /// The directory holding layer `layer` (its blob digest; compression is detected from the data)
    /// unpacked alone, extracting it first if needed.
    /// - Throws: `SnapshotError.diffIDMismatch` when the blob's tar stream does not hash to `diffID`
    ///   (nothing is kept then), `.blobMissing`, `.extraction`, ...
    public func unpacked(layer: Digest, mediaType: String? = nil, diffID: Digest) async throws(SnapshotError) -> String {
        let final = path(diffID: diffID)
        if isUnpacked(diffID: diffID) { return final }
        // Waiting for another build's lock and extracting are blocking work: off the cooperative pool.
        do {
            return try await BlockingExecutor.shared.run { () throws(SnapshotError) -> String in
                try self.unpackedWaitingForLock(layer: layer, diffID: diffID)
            }
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw .cancelled(layer: layer)
        }
    }

    private func unpackedWaitingForLock(layer: Digest, diffID: Digest) throws(SnapshotError) -> String {
        let final = path(diffID: diffID)
        let lockPath = final + ".lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw .system(operation: "open", path: lockPath, errno: errno) }
        defer { close(lockFD) }  // releases the lock
        while flock(lockFD, LOCK_EX) != 0 {
            if errno != EINTR { throw .system(operation: "flock", path: lockPath, errno: errno) }
        }
        if isUnpacked(diffID: diffID) { return final }
        // A leftover from an interrupted extraction (renamed but not marked, or damaged): start again.
        try Self.removeTree(final)
        // Temp directories of this layer left by a killed build: nobody else uses them while we hold the lock.
        if let names = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for name in names where name.hasPrefix(".tmp-\(diffID.encoded)-") {
                try? Self.removeTree(directory + "/" + name)
            }
        }

        let blob = content.path(for: layer)
        guard access(blob, R_OK) == 0 else { throw .blobMissing(layer: layer) }
        let temp = directory + "/.tmp-\(diffID.encoded)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try Self.makeDirectory(temp)
        do throws(SnapshotError) {
            try Self.extractVerified(blob: blob, layer: layer, diffID: diffID, into: temp)
            let fd = open(temp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                _ = swiftbuild_syncfs(fd)
                close(fd)
            }
            guard rename(temp, final) == 0 else { throw SnapshotError.system(operation: "rename", path: final, errno: errno) }
        } catch {
            try? Self.removeTree(temp)
            throw error
        }
        try Self.writeMarker(final + ".complete")
        return final
    }

    /// Removes an unpacked layer (marker first, so a concurrent reader never sees a half-removed one as complete).
    public func remove(diffID: Digest) throws(SnapshotError) {
        let final = path(diffID: diffID)
        if unlink(final + ".complete") != 0 && errno != ENOENT {
            throw .system(operation: "unlink", path: final + ".complete", errno: errno)
        }
        try Self.removeTree(final)
    }

    // MARK: - Extraction with diff ID verification

    /// Decompresses the blob on a helper thread, hashing the tar stream and passing it through a socket pair
    /// to the extractor on this thread, so the bytes are read once and verified as they are extracted.
    /// (A socket, not a pipe: `send(MSG_NOSIGNAL)` reports a closed reader as EPIPE instead of raising SIGPIPE.)
    static func extractVerified(blob: String, layer: Digest, diffID: Digest, into directory: String) throws(SnapshotError) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw .system(operation: "socketpair", path: directory, errno: errno)
        }
        let readEnd = fds[0], writeEnd = fds[1]
        // The decompressor runs on its own thread: it must run while this thread extracts, whatever the
        // executor's load. Its result is read after the thread is joined.
        let box = HashResult()
        var thread = pthread_t()
        let started = box.start(&thread) {
            defer { close(writeEnd) }
            return Self.decompressAndHash(blob: blob, to: writeEnd)
        }
        guard started == 0 else {
            close(readEnd)
            close(writeEnd)
            throw .system(operation: "pthread_create", path: blob, errno: started)
        }

        var extractionError: LayerExtractionError?
        do {
            let extractor = LayerExtractor(options: .init(overlayWhiteouts: true))
            try extractor.extract(fileDescriptor: readEnd, into: directory)
            // Whatever follows the end-of-archive blocks is part of the diff ID too: read it to the end.
            var sink = [UInt8](repeating: 0, count: 64 * 1024)
            while sink.withUnsafeMutableBytes({ read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
        } catch {
            extractionError = error
        }
        close(readEnd)
        switch box.join(thread) {
        case .success(let actual):
            if let extractionError { throw .extraction(layer: layer, extractionError) }
            if actual != diffID { throw .diffIDMismatch(layer: layer, expected: diffID, actual: actual) }
        case .failure(let error):
            if let archive = error.archive { throw .decompression(layer: layer, archive) }
            if let extractionError { throw .extraction(layer: layer, extractionError) }
            throw .system(operation: error.operation, path: blob, errno: error.errno)
        }
    }

    struct StreamFailure: Error {
        var archive: ArchiveError?
        var operation = ""
        var errno: Int32 = 0
    }

    private static func decompressAndHash(blob: String, to socket: Int32) -> Result<Digest, StreamFailure> {
        let fd = open(blob, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(StreamFailure(operation: "open", errno: errno)) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)
        defer { buffer.deallocate() }
        do {
            let reader = try DecompressingReader(fileDescriptor: fd)
            while true {
                let n = try reader.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                hasher.update(chunk)
                var offset = 0
                while offset < n {
                    let w = send(socket, chunk.baseAddress.map { $0 + offset }, n - offset, Int32(MSG_NOSIGNAL))
                    if w < 0 {
                        if errno == EINTR { continue }
                        return .failure(StreamFailure(operation: "send", errno: errno))
                    }
                    offset += w
                }
            }
        } catch {
            return .failure(StreamFailure(archive: error))
        }
        return .success(hasher.finalize())
    }

    /// The decompressor thread: its body, and its result, which `join` returns once the thread has ended.
    private final class HashResult: Sendable {
        private let body = Mutex<(@Sendable () -> Result<Digest, StreamFailure>)?>(nil)
        private let value = Mutex<Result<Digest, StreamFailure>?>(nil)

        /// Starts a thread that runs `work`; returns pthread_create's result.
        func start(_ thread: inout pthread_t, _ work: @escaping @Sendable () -> Result<Digest, StreamFailure>) -> Int32 {
            body.withLock { $0 = work }
            let context = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&thread, nil, { context in
                let box = Unmanaged<HashResult>.fromOpaque(context!).takeRetainedValue()
                if let work = box.body.withLock({ $0 }) {
                    let result = work()
                    box.value.withLock { $0 = result }
                }
                return nil
            }, context)
            if rc != 0 { Unmanaged<HashResult>.fromOpaque(context).release() }
            return rc
        }

        /// Waits for the thread to end and returns what it produced.
        func join(_ thread: pthread_t) -> Result<Digest, StreamFailure> {
            pthread_join(thread, nil)
            // The thread always stores a result before it ends (its body cannot be missing: `start` set it).
            return value.withLock { $0 } ?? .failure(StreamFailure(operation: "decompress (no result)", errno: 0))
        }
    }

    // MARK: - Files

    static func makeDirectory(_ path: String) throws(SnapshotError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw .system(operation: "mkdir", path: path, errno: errno) }
    }

    static func writeMarker(_ path: String) throws(SnapshotError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        _ = fsync(fd)
        close(fd)
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// Removes a tree without following symlinks (nothing outside it is touched). A missing path is fine.
    static func removeTree(_ path: String) throws(SnapshotError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw .system(operation: "lstat", path: path, errno: errno)
        }
        try FileTree.remove(path)
    }
}
