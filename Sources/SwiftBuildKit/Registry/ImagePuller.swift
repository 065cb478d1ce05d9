import SwiftBuildOCI

/// Pulls an image from its registry into the content store and tags it in the image store.
/// Every document and blob is verified (digest and size) before it is stored; blobs already in the store are
/// not downloaded again; up to `RegistryOptions.parallelTransfers` blobs download at once. From an index, the manifest for the wanted platform is pulled (the index itself is
/// stored too, and the name is tagged to it, so the local digest is the registry's).
public struct ImagePuller: Sendable {
    public let images: ImageStore
    public let options: RegistryOptions
    /// Told what is being fetched (`"pulling blob sha256:…"`), for progress output.
    public var progress: @Sendable (String) -> Void

    public init(images: ImageStore, options: RegistryOptions, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.images = images
        self.options = options
        self.progress = progress
    }

    /// The digest a reference's tag names in the registry now (a digest reference is its own answer).
    public func currentDescriptor(of reference: ImageReference) throws(RegistryError) -> Descriptor {
        let client = RegistryClient(domain: reference.domain, options: options)
        return try client.resolve(repository: reference.path, reference: Self.remoteReference(reference))
    }

    /// Pulls `reference` and tags it; returns the descriptor the tag points at (manifest or index).
    @discardableResult
    public func pull(_ reference: ImageReference, platform: Platform = .host) throws -> Descriptor {
        let client = RegistryClient(domain: reference.domain, options: options)
        let repository = reference.path
        let (top, topBytes) = try client.manifest(repository: repository, reference: Self.remoteReference(reference))
        var manifestDescriptor = top
        var manifestBytes = topBytes
        var depth = 0
        while manifestDescriptor.mediaType.isIndex {
            depth += 1
            guard depth <= 4 else { throw RegistryError.protocolViolation(what: "\(reference)", reason: "indexes nested too deep") }
            try store(manifestBytes, manifestDescriptor, what: "index of \(reference)")
            let index = try CanonicalJSON.decode(ImageIndex.self, from: manifestBytes)
            let chosen = try PlatformSelector.select(from: index.manifests, platform: platform)
            let fetched = try client.manifest(repository: repository, reference: chosen.digest.description)
            guard fetched.descriptor.size == chosen.size else {
                throw RegistryError.verification(what: "manifest \(chosen.digest) of \(reference)",
                                                 reason: "size \(fetched.descriptor.size), index says \(chosen.size)")
            }
            manifestDescriptor = Descriptor(mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size)
            manifestBytes = fetched.bytes
        }
        let manifest: ImageManifest
        do { manifest = try CanonicalJSON.decode(ImageManifest.self, from: manifestBytes) } catch {
            throw RegistryError.protocolViolation(what: "manifest \(manifestDescriptor.digest) of \(reference)",
                                                  reason: "malformed: \(error)")
        }
        // Blobs first, the manifest last: a stored manifest always has its blobs.
        let content = images.content
        let progress = self.progress
        try BlockingExecutor.shared.forEach([manifest.config] + manifest.layers, limit: options.parallelTransfers) { blob in
            if !content.has(blob.digest) { progress("pulling \(blob.digest) (\(blob.size) bytes)") }
            try client.fetchBlob(repository: repository, blob, into: content)
        }
        try store(manifestBytes, manifestDescriptor, what: "manifest of \(reference)")
        try images.tag(reference, manifest: top)
        // Read it back through the store: checks the config decodes and its layers pair up.
        _ = try images.image(top, platform: platform)
        return top
    }

    private func store(_ bytes: [UInt8], _ descriptor: Descriptor, what: String) throws {
        do { try images.content.ingest(bytes: bytes, expected: descriptor.digest) } catch {
            throw RegistryError.store(what: what, error: error)
        }
    }

    /// What to ask the registry for: the digest when the reference pins one, else the tag.
    static func remoteReference(_ reference: ImageReference) -> String {
        reference.digest?.description ?? reference.tag ?? ImageReference.defaultTag
    }
}
