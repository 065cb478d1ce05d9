import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// Writes images from the content store as an OCI image layout, either a directory or a tar of one
/// (`oci-archive`). The tar is deterministic: the same images and names give the same bytes (entries sorted,
/// `blobs/` and `blobs/sha256/` directory entries first, then blobs by digest, `index.json`, `oci-layout`;
/// owner 0:0 without names, mtime 0, modes 0755/0644). Every blob is verified against its digest as it is copied.
/// `index.json` lists each image once per name, annotated with `org.opencontainers.image.ref.name` (the tag)
/// and `io.containerd.image.name` (the full name); an image without names is listed once, unannotated.
public enum OCIArchiveExporter {
    public static func write(images: [(Descriptor, [ImageReference])], content: ContentStore, to path: String,
                             tar: Bool, indexAnnotations: [String: String]? = nil) throws(ImageStoreError) {
        let blobs = try reachableBlobs(from: images.map(\.0), content: content)
        var index = indexDocument(images)
        index.annotations = indexAnnotations
        let indexBytes: [UInt8]
        do { indexBytes = try CanonicalJSON.encode(index) } catch {
            throw .malformedJSON(what: "index.json", reason: "\(error)")
        }
        let layoutBytes = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)
        if tar {
            try writeTar(blobs: blobs, index: indexBytes, layout: layoutBytes, content: content, to: path)
        } else {
            try writeDirectory(blobs: blobs, index: indexBytes, layout: layoutBytes, content: content, to: path)
        }
    }

    /// The `index.json` document for these images and names.
    public static func indexDocument(_ images: [(Descriptor, [ImageReference])]) -> ImageIndex {
        var manifests: [Descriptor] = []
        for (descriptor, references) in images {
            var plain = descriptor
            plain.annotations = nil
            if references.isEmpty {
                manifests.append(plain)
                continue
            }
            for reference in references {
                var entry = plain
                var annotations = [AnnotationKey.containerdImageName: reference.description]
                if let tag = reference.tag { annotations[AnnotationKey.refName] = tag }
                entry.annotations = annotations
                manifests.append(entry)
            }
        }
        return ImageIndex(manifests: manifests)
    }

    /// Every blob the descriptors reach (indexes, manifests, configs, layers), sorted by digest, without duplicates.
    static func reachableBlobs(from roots: [Descriptor], content: ContentStore) throws(ImageStoreError) -> [(Digest, Int64)] {
        var sizes: [Digest: Int64] = [:]
        var pending = roots
        let store = DocumentReader(content: content)
        while let descriptor = pending.popLast() {
            if let known = sizes[descriptor.digest] {
                guard known == descriptor.size else {
                    throw .sizeMismatch(what: "blob \(descriptor.digest)", expected: known, actual: descriptor.size)
                }
                continue
            }
            guard content.has(descriptor.digest) else { throw .missingBlob(what: "export", digest: descriptor.digest) }
            sizes[descriptor.digest] = descriptor.size
            if descriptor.mediaType.isIndex {
                let index: ImageIndex = try store.document(descriptor, what: "index")
                pending.append(contentsOf: index.manifests)
            } else if descriptor.mediaType.isManifest {
                let manifest: ImageManifest = try store.document(descriptor, what: "manifest")
                pending.append(manifest.config)
                pending.append(contentsOf: manifest.layers)
            }
        }
        return sizes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    private static func writeTar(blobs: [(Digest, Int64)], index: [UInt8], layout: [UInt8], content: ContentStore,
                                 to path: String) throws(ImageStoreError) {
        let temp = AtomicFile.temporaryName(for: path)
        do throws(ImageStoreError) {
            let writer = try TarFileWriter(creating: temp)
            try writer.directory("blobs/")
            try writer.directory("blobs/sha256/")
            // Each blob is copied inside the kernel while another thread re-hashes it from the page cache, so a
            // blob damaged at rest is still never exported, at the cost of neither pass waiting for the other.
            for (digest, size) in blobs {
                let blob = content.path(for: digest)
                let source = open(blob, O_RDONLY | O_CLOEXEC)
                guard source >= 0 else { throw .missingBlob(what: "blob", digest: digest) }
                defer { close(source) }
                var st = stat()
                guard fstat(source, &st) == 0, Int64(st.st_size) == size else {
                    throw .sizeMismatch(what: "blob \(digest)", expected: size, actual: Int64(st.st_size))
                }
                // A blob this process wrote moments ago was hashed as it was written: no second pass.
                if content.wasCommittedHere(digest) {
                    try writer.file("blobs/sha256/" + digest.encoded, size: size, copyingFrom: source)
                    continue
                }
                let check = BackgroundDigest(path: blob)
                try writer.file("blobs/sha256/" + digest.encoded, size: size, copyingFrom: source)
                switch check.wait() {
                case .success(let actual):
                    guard actual == digest else { throw .content(.digestMismatch(expected: digest, actual: actual)) }
                case .failure(let failure):
                    throw .system(call: failure.call, path: blob, errno: failure.errno)
                }
            }
            try writer.file("index.json", bytes: index)
            try writer.file("oci-layout", bytes: layout)
            try writer.finish()
            guard rename(temp, path) == 0 else { throw .system(call: "rename", path: path, errno: errno) }
            try AtomicFile.syncDirectory(of: path)
        } catch {
            _ = unlink(temp)
            throw error
        }
    }

    private static func writeDirectory(blobs: [(Digest, Int64)], index: [UInt8], layout: [UInt8],
                                       content: ContentStore, to path: String) throws(ImageStoreError) {
        let blobDirectory = path + "/blobs/sha256"
        try AtomicFile.makeDirectories(blobDirectory)
        for (digest, size) in blobs {
            let target = blobDirectory + "/" + digest.encoded
            var st = stat()
            if lstat(target, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && Int64(st.st_size) == size { continue }
            let temp = AtomicFile.temporaryName(for: target)
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .system(call: "open", path: temp, errno: errno) }
            do throws(ImageStoreError) {
                try copyBlob(digest, size: size, content: content) { (chunk) throws(ImageStoreError) in
                    try AtomicFile.writeAll(fd, Array(chunk), path: temp)
                }
                guard fsync(fd) == 0 else { throw .system(call: "fsync", path: temp, errno: errno) }
                _ = close(fd)
                guard rename(temp, target) == 0 else { throw .system(call: "rename", path: target, errno: errno) }
            } catch {
                _ = close(fd)
                _ = unlink(temp)
                throw error
            }
        }
        try AtomicFile.syncDirectory(of: blobDirectory + "/x")
        try AtomicFile.write(layout, to: path + "/oci-layout")
        try AtomicFile.write(index, to: path + "/index.json")
    }

    /// Streams a blob out of the store, verifying its digest and size.
    private static func copyBlob(_ digest: Digest, size: Int64, content: ContentStore,
                                 _ sink: (UnsafeRawBufferPointer) throws(ImageStoreError) -> Void) throws(ImageStoreError) {
        let reader: BlobReader
        do { reader = try content.open(digest, verify: true) } catch { throw .content(error) }
        guard reader.size == size else { throw .sizeMismatch(what: "blob \(digest)", expected: size, actual: reader.size) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n: Int
            do { n = try reader.read(into: buffer) } catch { throw .content(error) }
            if n == 0 { break }
            total += Int64(n)
            guard total <= size else { throw .sizeMismatch(what: "blob \(digest)", expected: size, actual: total) }
            try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        guard total == size else { throw .sizeMismatch(what: "blob \(digest)", expected: size, actual: total) }
    }
}

/// Reads and verifies JSON documents from the content store.
struct DocumentReader {
    let content: ContentStore

    func document<T: Decodable>(_ descriptor: Descriptor, what: String) throws(ImageStoreError) -> T {
        let bytes: [UInt8]
        do { bytes = try content.read(descriptor.digest) } catch {
            if case .notFound(let digest) = error { throw .missingBlob(what: what, digest: digest) }
            throw .content(error)
        }
        guard Int64(bytes.count) == descriptor.size else {
            throw .sizeMismatch(what: "\(what) \(descriptor.digest)", expected: descriptor.size, actual: Int64(bytes.count))
        }
        do { return try CanonicalJSON.decode(T.self, from: bytes) } catch {
            throw .malformedJSON(what: "\(what) \(descriptor.digest)", reason: "\(error)")
        }
    }
}

/// SHA-256 of a file computed on a thread of its own (for checking a blob while it is copied).
final class BackgroundDigest: Sendable {
    struct Failure: Error {
        var call: String
        var errno: Int32
    }

    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<Digest, Failure>?>(nil)

    init(path: String) {
        let thread = Thread { [self] in
            let digest = Self.hash(path)
            result.withLock { $0 = digest }
            done.signal()
        }
        thread.start()
    }

    /// The digest, or why the file could not be read; waits for the thread (call it once).
    func wait() -> Result<Digest, Failure> {
        done.wait()
        return result.withLock { $0 } ?? .failure(Failure(call: "hash (no result)", errno: 0))
    }

    private static func hash(_ path: String) -> Result<Digest, Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(call: "open", errno: errno)) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return .failure(Failure(call: "read", errno: errno)) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return .success(hasher.finalize())
    }
}
