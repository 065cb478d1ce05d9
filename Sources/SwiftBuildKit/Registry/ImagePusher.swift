import SwiftBuildOCI

/// Pushes an image of the local store to a registry: blobs the registry lacks (checked with `HEAD`; up to
/// `RegistryOptions.parallelTransfers` at once; mounted from another repository of the registry when the local
/// store has an image of that repository with the blob), then the
/// manifests of an index by digest, and the top manifest or index last, under the destination's tag (or its
/// digest when it names only a digest).
public struct ImagePusher: Sendable {
    public let images: ImageStore
    public let options: RegistryOptions
    public var progress: @Sendable (String) -> Void

    public init(images: ImageStore, options: RegistryOptions, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.images = images
        self.options = options
        self.progress = progress
    }

    /// Pushes the image `source` names locally to `destination`; returns the pushed descriptor.
    @discardableResult
    public func push(_ source: ImageReference, to destination: ImageReference) throws -> Descriptor {
        guard let descriptor = try images.resolve(source) else {
            throw RegistryError.notFound(what: "image \(source) in the local store")
        }
        let client = RegistryClient(domain: destination.domain, options: options)
        let repository = destination.path
        if descriptor.mediaType.isIndex {
            let bytes = try images.content.read(descriptor.digest)
            let index = try CanonicalJSON.decode(ImageIndex.self, from: bytes)
            let missing = index.manifests.filter { !images.content.has($0.digest) }
            guard missing.isEmpty else {
                throw RegistryError.store(what: "index \(descriptor.digest) of \(source): manifests "
                                          + missing.map(\.digest.description).joined(separator: ", ")
                                          + " are not in the local store (only one platform was pulled)",
                                          error: .notFound(missing[0].digest))
            }
            for child in index.manifests {
                try pushManifest(child, client: client, repository: repository, reference: child.digest.description)
            }
            try client.pushManifest(repository: repository, reference: Self.remoteReference(destination, descriptor),
                                    mediaType: descriptor.mediaType, bytes: bytes)
        } else {
            try pushManifest(descriptor, client: client, repository: repository,
                             reference: Self.remoteReference(destination, descriptor))
        }
        return descriptor
    }

    private func pushManifest(_ descriptor: Descriptor, client: RegistryClient, repository: String,
                              reference: String) throws {
        guard descriptor.mediaType.isManifest else {
            throw RegistryError.protocolViolation(what: "\(descriptor.digest)", reason: "nested indexes are not pushed")
        }
        let bytes = try images.content.read(descriptor.digest)
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: bytes)
        let content = images.content
        let progress = self.progress
        let sources = mountSources(domain: client.domain, excluding: repository)
        try BlockingExecutor.shared.forEach([manifest.config] + manifest.layers, limit: options.parallelTransfers) { blob in
            switch try client.pushBlob(repository: repository, blob, from: content, mountFrom: sources[blob.digest]) {
            case .present: break
            case .mounted(let from): progress("mounted \(blob.digest) from \(from)")
            case .uploaded: progress("pushed \(blob.digest) (\(blob.size) bytes)")
            }
        }
        try client.pushManifest(repository: repository, reference: reference, mediaType: descriptor.mediaType,
                                bytes: bytes)
    }

    /// Blobs that other repositories of the same registry have, as far as the local store knows (images tagged
    /// with that registry's names, pulled or pushed): digest → repository, for cross-repository mounts.
    private func mountSources(domain: String, excluding repository: String) -> [Digest: String] {
        var sources: [Digest: String] = [:]
        guard let records = try? images.list() else { return sources }
        for record in records where record.reference.domain == domain && record.reference.path != repository {
            guard let image = try? images.image(record.manifest) else { continue }
            for blob in [image.configDescriptor] + image.layers where sources[blob.digest] == nil {
                sources[blob.digest] = record.reference.path
            }
        }
        return sources
    }

    static func remoteReference(_ destination: ImageReference, _ descriptor: Descriptor) -> String {
        if let tag = destination.tag { return tag }
        if let digest = destination.digest { return digest.description }
        return ImageReference.defaultTag
    }
}
