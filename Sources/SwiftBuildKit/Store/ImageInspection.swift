import SwiftBuildOCI

/// What `swiftbuild inspect IMAGE` prints: the names, the manifest and config documents as stored, and sizes.
/// Keys follow `docker image inspect` where there is one (`Id`, `RepoTags`, `Created`, `Size`).
public struct ImageInspection: Sendable, Encodable {
    public var Id: String
    public var RepoTags: [String]
    /// The manifest's digest and media type.
    public var Digest: String
    public var MediaType: String
    public var Created: String?
    public var Architecture: String
    public var Os: String
    /// Compressed size: config, manifest and layer blobs.
    public var Size: Int64
    public var Manifest: ImageManifest
    public var Config: ImageConfig
    /// When the name names an image index (a multi-platform image): the index's digest, and every platform
    /// with its manifest digest. The fields above describe the host's image (else the first platform's).
    public var Index: String?
    public var Platforms: [PlatformEntry]?

    public struct PlatformEntry: Sendable, Encodable {
        public var Platform: String
        public var Digest: String
    }

    /// Inspects the image `reference` names, or nil if the store has no such image.
    public static func inspect(_ reference: ImageReference, in store: ImageStore) throws(ImageStoreError) -> ImageInspection? {
        guard let descriptor = try store.resolve(reference) else { return nil }
        let image = try store.preferredImage(descriptor)
        let tags = try store.list().filter { $0.manifest.digest == descriptor.digest }.map(\.reference.familiar)
        let size = image.layers.reduce(image.configDescriptor.size + image.manifestDescriptor.size) { $0 + $1.size }
        var inspection = ImageInspection(Id: image.id.description, RepoTags: tags,
                                         Digest: image.manifestDescriptor.digest.description,
                                         MediaType: image.manifestDescriptor.mediaType.rawValue,
                                         Created: image.config.created, Architecture: image.config.architecture,
                                         Os: image.config.os, Size: size, Manifest: image.manifest, Config: image.config)
        if descriptor.mediaType.isIndex {
            inspection.Index = descriptor.digest.description
            inspection.Platforms = try store.platforms(descriptor).map {
                PlatformEntry(Platform: $0.platform.description, Digest: $0.manifest.digest.description)
            }
        }
        return inspection
    }
}
