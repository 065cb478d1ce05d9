#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// Rewrites an image's manifest for an output: media types (OCI or Docker schema 2), layer compression
/// (re-encoding blobs, which keeps every diff ID and so the config's bytes), and manifest annotations.
/// The new blobs go into the content store; an image that needs no change is returned as it is.
public enum ImageConverter {
    public static func convert(_ image: Image, options: ExportOptions, content: ContentStore) throws(ExportError) -> Image {
        guard image.layers.count == image.diffIDs.count else {
            throw .image(.layerCountMismatch(manifest: image.manifestDescriptor.digest, layers: image.layers.count,
                                             diffIDs: image.diffIDs.count))
        }
        var layers = image.layers
        // force-compression without compression= means gzip, buildx's default. Layers already in the wanted
        // compression are kept as they are (whatever their level).
        if options.forceCompression {
            let target = options.compression ?? .gzip
            for (i, layer) in layers.enumerated() where layer.mediaType.layerCompression != target.blobCompression {
                layers[i] = try recompress(layer, diffID: image.diffIDs[i], to: target, level: options.compressionLevel,
                                           content: content)
            }
        }
        let hasZstd = layers.contains { $0.mediaType.layerCompression == .zstd }
        let oci = options.ociMediaTypes || hasZstd
        for i in layers.indices {
            layers[i].mediaType = layerMediaType(layers[i].mediaType, oci: oci)
        }
        var config = image.manifest.config
        config.mediaType = oci ? .ociConfig : .dockerConfig
        var annotations = image.manifest.annotations ?? [:]
        if oci {
            for (k, v) in options.manifestAnnotations { annotations[k] = v }
        } else {
            annotations = [:]
        }
        let manifestType: MediaType = oci ? .ociManifest : .dockerManifest
        var manifest = image.manifest
        manifest.mediaType = manifestType
        manifest.config = config
        manifest.layers = layers
        manifest.annotations = annotations.isEmpty ? nil : annotations
        if manifest == image.manifest && image.manifestDescriptor.mediaType == manifestType { return image }
        do {
            let bytes = try CanonicalJSON.encode(manifest)
            let info = try content.ingest(bytes: bytes)
            let descriptor = Descriptor(mediaType: manifestType, digest: info.digest, size: info.size)
            return Image(manifestDescriptor: descriptor, manifest: manifest, config: image.config)
        } catch let error as ContentStoreError {
            throw .content(error)
        } catch {
            throw .image(.malformedJSON(what: "manifest", reason: "\(error)"))
        }
    }

    /// Re-encodes one layer blob; the result's diff ID must be the config's.
    public static func recompress(_ layer: Descriptor, diffID: Digest, to compression: LayerCompression, level: Int?,
                                  content: ContentStore) throws(ExportError) -> Descriptor {
        let path = content.path(for: layer.digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        defer { _ = close(fd) }
        let result: LayerResult
        do {
            let writer = try LayerWriter(compression: compression, level: level)
            result = try writer.recompress(fileDescriptor: fd, into: content)
        } catch {
            throw .layer(digest: layer.digest, reason: "re-encoding as \(compression.rawValue): \(error)")
        }
        guard result.diffID == diffID else { throw .diffIDMismatch(layer: layer.digest, expected: diffID, actual: result.diffID) }
        var out = layer
        out.digest = result.digest
        out.size = result.size
        out.mediaType = MediaType(rawValue: result.mediaType)
        return out
    }

    /// The same compression in the OCI or the Docker family.
    static func layerMediaType(_ type: MediaType, oci: Bool) -> MediaType {
        switch type.layerCompression {
        case .uncompressed: return oci ? .ociLayer : .dockerLayer
        case .gzip: return type == .dockerForeignLayerGzip ? type : (oci ? .ociLayerGzip : .dockerLayerGzip)
        case .zstd: return .ociLayerZstd
        case nil: return type
        }
    }
}

extension LayerCompression {
    var blobCompression: LayerBlobCompression {
        switch self {
        case .gzip: return .gzip
        case .zstd: return .zstd
        case .uncompressed: return .uncompressed
        }
    }
}
