import SwiftBuildOCI

/// Stores a finished image: its config and an OCI manifest, as canonical JSON (so the same config and layers
/// always give the same manifest digest). The layer blobs must already be in the content store.
public enum ImageWriter {
    public static func write(config: ImageConfig, layers: [Descriptor], annotations: [String: String]? = nil,
                             into content: ContentStore) throws(ImageStoreError) -> Image {
        guard layers.count == config.rootfs.diffIDs.count else {
            throw .invalidImage("\(layers.count) layers but the config lists \(config.rootfs.diffIDs.count) diff_ids")
        }
        for layer in layers where !content.has(layer.digest) {
            throw .missingBlob(what: "layer", digest: layer.digest)
        }
        do {
            let configBytes = try CanonicalJSON.encode(config)
            let configInfo = try content.ingest(bytes: configBytes)
            let manifest = ImageManifest(
                config: Descriptor(mediaType: .ociConfig, digest: configInfo.digest, size: configInfo.size),
                layers: layers, annotations: annotations)
            let manifestInfo = try content.ingest(bytes: try CanonicalJSON.encode(manifest))
            let descriptor = Descriptor(mediaType: .ociManifest, digest: manifestInfo.digest, size: manifestInfo.size)
            return Image(manifestDescriptor: descriptor, manifest: manifest, config: config)
        } catch let error as ContentStoreError {
            throw .content(error)
        } catch {
            throw .malformedJSON(what: "image", reason: "\(error)")
        }
    }
}

extension ImageWriter {
    /// Stores an image index of `images`, each entry carrying its platform, as canonical JSON. `mediaType`
    /// is `.ociIndex`, or `.dockerManifestList` for Docker media types.
    public static func writeIndex(_ images: [(platform: Platform, image: Image)], mediaType: MediaType = .ociIndex,
                                  annotations: [String: String]? = nil,
                                  into content: ContentStore) throws(ImageStoreError) -> ImageSet {
        let manifests = images.map { entry -> Descriptor in
            var descriptor = entry.image.manifestDescriptor
            descriptor.annotations = nil
            descriptor.platform = entry.platform
            return descriptor
        }
        let index = ImageIndex(mediaType: mediaType, manifests: manifests,
                               annotations: mediaType == .ociIndex ? annotations : nil)
        do {
            let info = try content.ingest(bytes: try CanonicalJSON.encode(index))
            return .index(Descriptor(mediaType: mediaType, digest: info.digest, size: info.size), index,
                          images.map(\.image))
        } catch let error as ContentStoreError {
            throw .content(error)
        } catch {
            throw .malformedJSON(what: "image index", reason: "\(error)")
        }
    }
}
