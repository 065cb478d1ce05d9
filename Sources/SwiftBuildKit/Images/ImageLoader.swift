#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// An image `ImageLoader` stored: its manifest and the names it was tagged with.
public struct LoadedImage: Sendable, Hashable {
    public var manifest: Descriptor
    public var references: [ImageReference]

    public init(manifest: Descriptor, references: [ImageReference]) {
        self.manifest = manifest
        self.references = references
    }
}

/// Loads images from an OCI layout directory, an OCI archive (a tar of a layout) or a docker-archive
/// (`docker save`: `manifest.json`, configs and layer tars; a directory or a tar, possibly compressed).
///
/// Everything is checked before anything is stored: every blob's digest and size are verified against the
/// documents that name them (for docker-archives, files named after a digest must have it, and uncompressed
/// layers must match the config's diff_ids). Only then are the blobs ingested and the names tagged, so a
/// corrupt input stores nothing. From an index, only the `platform` manifest (the host's by default) is loaded.
/// Docker-archive images get an OCI manifest; their layers are stored as they are (usually uncompressed tars,
/// `application/vnd.oci.image.layer.v1.tar`; gzip or zstd ones get the matching media type), the config as is.
/// Names come from `io.containerd.image.name`, else from `org.opencontainers.image.ref.name` when it is a full
/// reference (a bare tag names nothing), or from docker-archive `RepoTags`.
public enum ImageLoader {
    public static func load(from path: String, into content: ContentStore, store: ImageStore,
                            platform: Platform = .host) throws(ImageStoreError) -> [LoadedImage] {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .system(call: "stat", path: path, errno: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            return try load(source: LoadSource(directory: path), input: path, content: content, store: store,
                            platform: platform)
        }
        let staging = try AtomicFile.makeTemporaryDirectory(in: content.root + "/tmp", prefix: "load-")
        defer { AtomicFile.removeTree(staging) }
        let source = try LoadSource(unpacking: path, into: staging)
        return try load(source: source, input: path, content: content, store: store, platform: platform)
    }

    /// What will be stored once everything is verified.
    private struct Plan {
        /// Files to ingest with the digest and size they must have.
        var files: [(path: String, digest: Digest, size: Int64)] = []
        /// Documents made here (docker-archive manifests).
        var documents: [[UInt8]] = []
        var images: [LoadedImage] = []

        mutating func add(_ image: LoadedImage) {
            if let i = images.firstIndex(where: { $0.manifest.digest == image.manifest.digest }) {
                for reference in image.references where !images[i].references.contains(reference) {
                    images[i].references.append(reference)
                }
            } else {
                images.append(image)
            }
        }
    }

    private static func load(source: LoadSource, input: String, content: ContentStore, store: ImageStore,
                             platform: Platform) throws(ImageStoreError) -> [LoadedImage] {
        var plan = Plan()
        if let indexBytes = try source.read("index.json") {
            try planLayout(indexBytes, source: source, platform: platform, plan: &plan)
        } else if let manifestBytes = try source.read("manifest.json") {
            try planDockerArchive(manifestBytes, source: source, plan: &plan)
        } else {
            throw .unrecognizedInput(path: input, reason: "it has neither index.json (OCI layout) nor manifest.json (docker-archive)")
        }
        guard !plan.images.isEmpty else { throw .unrecognizedInput(path: input, reason: "it holds no image") }
        // Verified: store blobs (each hashed again as it is copied), documents last, then names.
        do {
            var seen = Set<Digest>()
            for file in plan.files where seen.insert(file.digest).inserted {
                try content.ingest(file: file.path, expected: file.digest, expectedSize: file.size)
            }
            for document in plan.documents { try content.ingest(bytes: document) }
        } catch { throw .content(error) }
        for image in plan.images {
            for reference in image.references { try store.tag(reference, manifest: image.manifest) }
        }
        return plan.images
    }

    // MARK: - OCI layout

    private static func planLayout(_ indexBytes: [UInt8], source: LoadSource, platform: Platform,
                                   plan: inout Plan) throws(ImageStoreError) {
        let index: ImageIndex = try decode(indexBytes, what: "index.json")
        // Top-level entries for other platforms (a layout holding several platforms side by side) are skipped.
        let candidates = index.manifests.filter { $0.mediaType.isManifest || $0.mediaType.isIndex }
        let entries = candidates.filter { $0.platform.map { $0.matches(platform) } ?? true }
        if entries.isEmpty && !candidates.isEmpty {
            throw .noMatchingPlatform(wanted: platform, available: candidates.compactMap { $0.platform?.description })
        }
        for entry in entries {
            var descriptor = entry
            var depth = 0
            while descriptor.mediaType.isIndex {
                depth += 1
                guard depth <= 4 else { throw .unexpectedMediaType(what: "nested index", mediaType: descriptor.mediaType) }
                let (bytes, _) = try blob(descriptor, source: source, what: "index")
                let nested: ImageIndex = try decode(bytes, what: "index \(descriptor.digest)")
                descriptor = try PlatformSelector.select(from: nested.manifests, platform: platform)
            }
            guard descriptor.mediaType.isManifest else { continue }
            let (manifestBytes, manifestPath) = try blob(descriptor, source: source, what: "manifest")
            let manifest: ImageManifest = try decode(manifestBytes, what: "manifest \(descriptor.digest)")
            let (configBytes, configPath) = try blob(manifest.config, source: source, what: "config")
            let config: ImageConfig = try decode(configBytes, what: "config \(manifest.config.digest)")
            guard config.rootfs.diffIDs.count == manifest.layers.count else {
                throw .layerCountMismatch(manifest: descriptor.digest, layers: manifest.layers.count,
                                          diffIDs: config.rootfs.diffIDs.count)
            }
            for layer in manifest.layers {
                let path = try verifiedFile(layer, source: source, what: "layer")
                plan.files.append((path, layer.digest, layer.size))
            }
            plan.files.append((configPath, manifest.config.digest, manifest.config.size))
            plan.files.append((manifestPath, descriptor.digest, descriptor.size))
            let stored = Descriptor(mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size)
            plan.add(LoadedImage(manifest: stored, references: names(entry.annotations)))
        }
    }

    private static func names(_ annotations: [String: String]?) -> [ImageReference] {
        guard let annotations else { return [] }
        if let full = annotations[AnnotationKey.containerdImageName],
           let reference = try? ImageReference(parsing: full) {
            return [reference]
        }
        if let name = annotations[AnnotationKey.refName], name.contains("/") || name.contains(":"),
           let reference = try? ImageReference(parsing: name) {
            return [reference]
        }
        return []
    }

    /// `blobs/<algorithm>/<hex>` of a small document, read and verified.
    private static func blob(_ descriptor: Descriptor, source: LoadSource,
                             what: String) throws(ImageStoreError) -> ([UInt8], String) {
        let path = try blobPath(descriptor, source: source, what: what)
        guard let bytes = try AtomicFile.read(path) else { throw .missingBlob(what: what, digest: descriptor.digest) }
        let actual = SHA256Hasher.digest(bytes)
        guard actual == descriptor.digest else { throw .digestMismatch(what: what, expected: descriptor.digest, actual: actual) }
        guard Int64(bytes.count) == descriptor.size else {
            throw .sizeMismatch(what: "\(what) \(descriptor.digest)", expected: descriptor.size, actual: Int64(bytes.count))
        }
        return (bytes, path)
    }

    private static func verifiedFile(_ descriptor: Descriptor, source: LoadSource,
                                     what: String) throws(ImageStoreError) -> String {
        let path = try blobPath(descriptor, source: source, what: what)
        let print = try FileFingerprint(path: path)
        guard print.digest == descriptor.digest else {
            throw .digestMismatch(what: what, expected: descriptor.digest, actual: print.digest)
        }
        guard print.size == descriptor.size else {
            throw .sizeMismatch(what: "\(what) \(descriptor.digest)", expected: descriptor.size, actual: print.size)
        }
        return path
    }

    private static func blobPath(_ descriptor: Descriptor, source: LoadSource,
                                 what: String) throws(ImageStoreError) -> String {
        let digest = descriptor.digest
        guard let path = try source.file("blobs/\(digest.algorithm.rawValue)/\(digest.encoded)") else {
            throw .missingBlob(what: what, digest: digest)
        }
        return path
    }

    // MARK: - docker-archive

    private struct DockerArchiveEntry: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]
        enum CodingKeys: String, CodingKey {
            case config = "Config", repoTags = "RepoTags", layers = "Layers"
        }
    }

    private static func planDockerArchive(_ bytes: [UInt8], source: LoadSource,
                                          plan: inout Plan) throws(ImageStoreError) {
        let entries: [DockerArchiveEntry] = try decode(bytes, what: "manifest.json")
        for entry in entries {
            guard let configPath = try source.file(entry.config) else {
                throw .unrecognizedInput(path: entry.config, reason: "manifest.json names a missing config")
            }
            guard let configBytes = try AtomicFile.read(configPath) else {
                throw .unrecognizedInput(path: entry.config, reason: "manifest.json names a missing config")
            }
            let configDigest = SHA256Hasher.digest(configBytes)
            try checkName(entry.config, against: configDigest)
            let config: ImageConfig = try decode(configBytes, what: "config \(entry.config)")
            guard config.rootfs.diffIDs.count == entry.layers.count else {
                throw .layerCountMismatch(manifest: configDigest, layers: entry.layers.count,
                                          diffIDs: config.rootfs.diffIDs.count)
            }
            var layers: [Descriptor] = []
            for (layerName, diffID) in zip(entry.layers, config.rootfs.diffIDs) {
                guard let path = try source.file(layerName) else {
                    throw .unrecognizedInput(path: layerName, reason: "manifest.json names a missing layer")
                }
                let print = try FileFingerprint(path: path)
                try checkName(layerName, against: print.digest)
                let mediaType: MediaType
                switch print.compression {
                case .uncompressed:
                    guard print.digest == diffID else {
                        throw .digestMismatch(what: "layer \(layerName)", expected: diffID, actual: print.digest)
                    }
                    mediaType = .ociLayer
                case .gzip: mediaType = .ociLayerGzip
                case .zstd: mediaType = .ociLayerZstd
                }
                layers.append(Descriptor(mediaType: mediaType, digest: print.digest, size: print.size))
                plan.files.append((path, print.digest, print.size))
            }
            plan.files.append((configPath, configDigest, Int64(configBytes.count)))
            let manifest = ImageManifest(
                config: Descriptor(mediaType: .ociConfig, digest: configDigest, size: Int64(configBytes.count)),
                layers: layers)
            let manifestBytes: [UInt8]
            do { manifestBytes = try CanonicalJSON.encode(manifest) } catch {
                throw .malformedJSON(what: "manifest", reason: "\(error)")
            }
            plan.documents.append(manifestBytes)
            let descriptor = Descriptor(mediaType: .ociManifest, digest: SHA256Hasher.digest(manifestBytes),
                                        size: Int64(manifestBytes.count))
            let references = (entry.repoTags ?? []).compactMap { try? ImageReference(parsing: $0) }
            plan.add(LoadedImage(manifest: descriptor, references: references))
        }
    }

    /// A docker-archive file named after a digest (`<hex>.json`, `<hex>.tar`, `<hex>/layer.tar` is not one,
    /// `blobs/sha256/<hex>`) must have that digest.
    private static func checkName(_ name: String, against digest: Digest) throws(ImageStoreError) {
        let components = name.split(separator: "/")
        guard let last = components.last else { return }
        var candidate = String(last)
        for suffix in [".json", ".tar"] where candidate.hasSuffix(suffix) { candidate.removeLast(suffix.count) }
        let isBlobPath = components.count >= 2 && components[components.count - 2] == "sha256"
        guard isBlobPath || candidate.count == 64, let named = try? Digest(parsing: "sha256:" + candidate) else { return }
        guard named == digest else { throw .digestMismatch(what: name, expected: named, actual: digest) }
    }

    private static func decode<T: Decodable>(_ bytes: [UInt8], what: String) throws(ImageStoreError) -> T {
        do { return try CanonicalJSON.decode(T.self, from: bytes) } catch {
            throw .malformedJSON(what: what, reason: "\(error)")
        }
    }
}
