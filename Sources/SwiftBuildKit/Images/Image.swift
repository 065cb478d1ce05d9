import SwiftBuildOCI

/// An image read from the content store: its manifest and config, both verified against their digests.
public struct Image: Sendable, Hashable {
    /// The manifest's descriptor (for an index, the chosen platform's manifest).
    public var manifestDescriptor: Descriptor
    public var manifest: ImageManifest
    public var config: ImageConfig

    public init(manifestDescriptor: Descriptor, manifest: ImageManifest, config: ImageConfig) {
        self.manifestDescriptor = manifestDescriptor
        self.manifest = manifest
        self.config = config
    }

    public var configDescriptor: Descriptor { manifest.config }
    /// Layer blobs, bottom first.
    public var layers: [Descriptor] { manifest.layers }
    /// Uncompressed layer digests, bottom first (pairs with `layers`).
    public var diffIDs: [Digest] { config.rootfs.diffIDs }
    /// The image ID Docker shows: the config's digest.
    public var id: Digest { manifest.config.digest }
}

/// A tag in the image store.
public struct ImageRecord: Sendable, Hashable, Codable {
    public var reference: ImageReference
    public var manifest: Descriptor
    /// When the tag was written, in seconds since the Unix epoch.
    public var created: Int64

    public init(reference: ImageReference, manifest: Descriptor, created: Int64) {
        self.reference = reference
        self.manifest = manifest
        self.created = created
    }
}

/// What a build made: one image, or one image per platform under an image index (a multi-platform build).
public enum ImageSet: Sendable, Hashable {
    case image(Image)
    /// The index (in the content store) and its images, in the index's order.
    case index(Descriptor, ImageIndex, [Image])

    /// What a tag names: the manifest, or the index.
    public var descriptor: Descriptor {
        switch self {
        case .image(let image): return image.manifestDescriptor
        case .index(let descriptor, _, _): return descriptor
        }
    }

    /// Every image with the platform it is for (its index entry's, else its config's).
    public var platformImages: [(platform: Platform, image: Image)] {
        switch self {
        case .image(let image): return [(image.config.platform, image)]
        case .index(_, let index, let images):
            return zip(index.manifests, images).map { ($0.platform ?? $1.config.platform, $1) }
        }
    }
}
