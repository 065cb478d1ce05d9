#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// Names for images whose blobs are in the content store: `<root>/images/<sha256 of the reference>.json`, one
/// small file per reference, written atomically (temp file, fsync, rename). Several processes may tag, list and
/// remove at once; the last writer of a reference wins. Holds no mutable state, so it is `Sendable`.
public final class ImageStore: Sendable {
    public let root: String
    public let content: ContentStore
    let directory: String

    public init(root: String, content: ContentStore) throws(ImageStoreError) {
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        self.content = content
        directory = trimmed + "/images"
        try AtomicFile.makeDirectories(directory)
    }

    private func recordPath(_ reference: ImageReference) -> String {
        directory + "/" + SHA256Hasher.digest(Array(reference.description.utf8)).encoded + ".json"
    }

    /// Points `reference` at `manifest` (a manifest or an index), replacing what it named before.
    public func tag(_ reference: ImageReference, manifest: Descriptor) throws(ImageStoreError) {
        guard manifest.mediaType.isManifest || manifest.mediaType.isIndex else {
            throw .unexpectedMediaType(what: "tag \(reference)", mediaType: manifest.mediaType)
        }
        guard content.has(manifest.digest) else { throw .missingBlob(what: "tag \(reference)", digest: manifest.digest) }
        // Already tagged so: keep the record (and when it was made), and spare a write and two fsyncs.
        if let existing = try? record(at: recordPath(reference)), existing.manifest.digest == manifest.digest { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var descriptor = manifest
        descriptor.annotations = nil
        let record = ImageRecord(reference: reference, manifest: descriptor, created: Int64(now.tv_sec))
        let bytes: [UInt8]
        do { bytes = try CanonicalJSON.encode(record) } catch {
            throw .malformedJSON(what: "image record", reason: "\(error)")
        }
        try AtomicFile.write(bytes, to: recordPath(reference))
    }

    /// The manifest `reference` names, or nil. A reference with a digest and no tag also resolves to a manifest
    /// or index with that digest already in the content store.
    public func resolve(_ reference: ImageReference) throws(ImageStoreError) -> Descriptor? {
        if let record = try record(at: recordPath(reference)) { return record.manifest }
        guard let digest = reference.digest, content.has(digest) else { return nil }
        let bytes: [UInt8]
        do { bytes = try content.read(digest) } catch { throw .content(error) }
        struct Probe: Decodable { var mediaType: MediaType?; var manifests: [Descriptor]?; var layers: [Descriptor]? }
        guard let probe = try? CanonicalJSON.decode(Probe.self, from: bytes) else { return nil }
        let mediaType = probe.mediaType ?? (probe.manifests != nil ? .ociIndex : .ociManifest)
        guard mediaType.isManifest || mediaType.isIndex else { return nil }
        return Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }

    /// Every tag, sorted by reference.
    public func list() throws(ImageStoreError) -> [ImageRecord] {
        var records: [ImageRecord] = []
        for name in try AtomicFile.entries(directory) where name.hasSuffix(".json") && !name.contains(".tmp-") {
            if let record = try record(at: directory + "/" + name) { records.append(record) }
        }
        return records.sorted { $0.reference.description < $1.reference.description }
    }

    /// Removes the tag. Returns false if there was none. Blobs stay in the content store.
    @discardableResult
    public func remove(_ reference: ImageReference) throws(ImageStoreError) -> Bool {
        let path = recordPath(reference)
        if unlink(path) == 0 {
            try AtomicFile.syncDirectory(of: path)
            return true
        }
        if errno == ENOENT { return false }
        throw .system(call: "unlink", path: path, errno: errno)
    }

    /// Reads the image `descriptor` names from the content store, verifying every document against its digest
    /// and size. For an index, the manifest for `platform` (the host's by default) is chosen.
    public func image(_ descriptor: Descriptor, platform: Platform = .host) throws(ImageStoreError) -> Image {
        var descriptor = descriptor
        var depth = 0
        while descriptor.mediaType.isIndex {
            depth += 1
            guard depth <= 4 else { throw .unexpectedMediaType(what: "nested index", mediaType: descriptor.mediaType) }
            let index: ImageIndex = try document(descriptor, what: "index")
            descriptor = try PlatformSelector.select(from: index.manifests, platform: platform)
        }
        guard descriptor.mediaType.isManifest else {
            throw .unexpectedMediaType(what: "manifest \(descriptor.digest)", mediaType: descriptor.mediaType)
        }
        let manifest: ImageManifest = try document(descriptor, what: "manifest")
        let config: ImageConfig = try document(manifest.config, what: "config of \(descriptor.digest)")
        guard manifest.layers.count == config.rootfs.diffIDs.count else {
            throw .layerCountMismatch(manifest: descriptor.digest, layers: manifest.layers.count,
                                      diffIDs: config.rootfs.diffIDs.count)
        }
        return Image(manifestDescriptor: descriptor, manifest: manifest, config: config)
    }

    /// The platforms `descriptor` holds images for: each image manifest of an index (attestations and
    /// other artifacts left out), or the one manifest's config platform.
    public func platforms(_ descriptor: Descriptor) throws(ImageStoreError) -> [(platform: Platform, manifest: Descriptor)] {
        guard descriptor.mediaType.isIndex else {
            let image = try image(descriptor)
            return [(image.config.platform, descriptor)]
        }
        let index: ImageIndex = try document(descriptor, what: "index")
        return index.manifests.compactMap { entry in
            guard entry.mediaType.isManifest, let platform = entry.platform, platform.os != "unknown" else { return nil }
            return (platform, entry)
        }
    }

    /// The image to show for `descriptor`: the host's of an index, else its first platform's.
    public func preferredImage(_ descriptor: Descriptor) throws(ImageStoreError) -> Image {
        guard descriptor.mediaType.isIndex else { return try image(descriptor) }
        let entries = try platforms(descriptor)
        guard let chosen = entries.first(where: { $0.platform.matches(.host) }) ?? entries.first else {
            return try image(descriptor)
        }
        return try image(chosen.manifest)
    }

    /// The image a reference names, or nil if it names none.
    public func image(_ reference: ImageReference, platform: Platform = .host) throws(ImageStoreError) -> Image? {
        guard let descriptor = try resolve(reference) else { return nil }
        return try image(descriptor, platform: platform)
    }

    /// Reads, verifies (digest and size) and decodes a JSON blob.
    func document<T: Decodable>(_ descriptor: Descriptor, what: String) throws(ImageStoreError) -> T {
        try DocumentReader(content: content).document(descriptor, what: what)
    }

    private func record(at path: String) throws(ImageStoreError) -> ImageRecord? {
        guard let bytes = try AtomicFile.read(path) else { return nil }
        do { return try CanonicalJSON.decode(ImageRecord.self, from: bytes) } catch {
            throw .malformedJSON(what: "image record \(path)", reason: "\(error)")
        }
    }
}

/// Chooses one manifest of an index for a platform.
public enum PlatformSelector {
    /// The first manifest for `platform`; an index with a single manifest without a platform gives that one.
    /// Attestation manifests (`unknown/unknown`) are never chosen.
    public static func select(from manifests: [Descriptor], platform: Platform) throws(ImageStoreError) -> Descriptor {
        let images = manifests.filter { $0.mediaType.isManifest || $0.mediaType.isIndex }
        // The best match: the platform itself, else the closest compatible one (arm/v6 for arm/v7), first
        // in index order among equals.
        let ranked = images.compactMap { entry in entry.platform?.compatibility(with: platform).map { (entry, $0) } }
        if let best = ranked.min(by: { $0.1 < $1.1 }) { return best.0 }
        let unlabelled = images.filter { $0.platform == nil }
        if images.count == 1, unlabelled.count == 1, let only = unlabelled.first { return only }
        throw .noMatchingPlatform(wanted: platform, available: images.compactMap { $0.platform?.description })
    }
}
