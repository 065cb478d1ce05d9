import SwiftBuildArchive
import SwiftBuildOCI

/// Builds a one-layer image `FROM scratch` out of a directory tree, straight into the content store: the tree
/// becomes one layer, then the config and an OCI manifest are written as canonical JSON. With the defaults
/// (mtimes clamped to `created`, fixed compression) the same tree always gives the same manifest digest.
/// Test fixtures and benchmarks use it to make base images without a registry.
public struct ScratchImageBuilder: Sendable {
    public var compression: LayerCompression
    /// Seconds since the epoch: file mtimes later than this are clamped to it, and it is the image's `created`.
    public var sourceDateEpoch: Int64
    public var platform: Platform

    public init(compression: LayerCompression = .gzip, sourceDateEpoch: Int64 = 0, platform: Platform = .host) {
        self.compression = compression
        self.sourceDateEpoch = sourceDateEpoch
        self.platform = platform
    }

    /// Writes the layer, config and manifest of an image holding everything under `tree`, and returns it.
    /// `history` is the `created_by` text of its one history entry.
    public func build(tree: String, config: ContainerConfig, history: String = "swiftbuild scratch image",
                      into content: ContentStore) throws -> Image {
        let writer = try LayerWriter(compression: compression, sourceDateEpoch: sourceDateEpoch, threads: 1)
        let layer = try writer.write(tree: tree, into: content)
        let created = RFC3339.format(secondsSinceEpoch: sourceDateEpoch)
        let imageConfig = ImageConfig(
            created: created, platform: platform, config: config,
            rootfs: ImageConfig.RootFS(diffIDs: [layer.diffID]),
            history: [ImageConfig.History(created: created, createdBy: history)])
        let layerDescriptor = Descriptor(mediaType: MediaType(rawValue: layer.mediaType), digest: layer.digest,
                                         size: layer.size)
        return try ImageWriter.write(config: imageConfig, layers: [layerDescriptor], into: content)
    }

    /// `build`, then tags the image as `reference` in `store`.
    @discardableResult
    public func build(tree: String, config: ContainerConfig, history: String = "swiftbuild scratch image",
                      tag reference: ImageReference, in store: ImageStore) throws -> Image {
        let image = try build(tree: tree, config: config, history: history, into: store.content)
        try store.tag(reference, manifest: image.manifestDescriptor)
        return image
    }
}

/// RFC 3339 timestamps in UTC, as image configs write them.
public enum RFC3339 {
    /// `2024-01-02T03:04:05Z` for a count of seconds since the Unix epoch (proleptic Gregorian calendar).
    public static func format(secondsSinceEpoch seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))Z"
    }
}
