/// The media types swiftbuild reads and writes. Values it does not know are kept as `.other` so that a
/// foreign index or manifest still decodes and re-encodes unchanged.
public enum MediaType: Hashable, Sendable, Codable, RawRepresentable, CustomStringConvertible {
    case ociManifest
    case ociIndex
    case ociConfig
    case ociLayer
    case ociLayerGzip
    case ociLayerZstd
    case ociLayout
    case dockerManifest
    case dockerManifestList
    case dockerConfig
    case dockerLayerGzip
    case dockerLayer
    case dockerForeignLayerGzip
    case other(String)

    public init(rawValue: String) {
        switch rawValue {
        case "application/vnd.oci.image.manifest.v1+json": self = .ociManifest
        case "application/vnd.oci.image.index.v1+json": self = .ociIndex
        case "application/vnd.oci.image.config.v1+json": self = .ociConfig
        case "application/vnd.oci.image.layer.v1.tar": self = .ociLayer
        case "application/vnd.oci.image.layer.v1.tar+gzip": self = .ociLayerGzip
        case "application/vnd.oci.image.layer.v1.tar+zstd": self = .ociLayerZstd
        case "application/vnd.oci.layout.header.v1+json": self = .ociLayout
        case "application/vnd.docker.distribution.manifest.v2+json": self = .dockerManifest
        case "application/vnd.docker.distribution.manifest.list.v2+json": self = .dockerManifestList
        case "application/vnd.docker.container.image.v1+json": self = .dockerConfig
        case "application/vnd.docker.image.rootfs.diff.tar.gzip": self = .dockerLayerGzip
        case "application/vnd.docker.image.rootfs.diff.tar": self = .dockerLayer
        case "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": self = .dockerForeignLayerGzip
        default: self = .other(rawValue)
        }
    }

    public var rawValue: String {
        switch self {
        case .ociManifest: return "application/vnd.oci.image.manifest.v1+json"
        case .ociIndex: return "application/vnd.oci.image.index.v1+json"
        case .ociConfig: return "application/vnd.oci.image.config.v1+json"
        case .ociLayer: return "application/vnd.oci.image.layer.v1.tar"
        case .ociLayerGzip: return "application/vnd.oci.image.layer.v1.tar+gzip"
        case .ociLayerZstd: return "application/vnd.oci.image.layer.v1.tar+zstd"
        case .ociLayout: return "application/vnd.oci.layout.header.v1+json"
        case .dockerManifest: return "application/vnd.docker.distribution.manifest.v2+json"
        case .dockerManifestList: return "application/vnd.docker.distribution.manifest.list.v2+json"
        case .dockerConfig: return "application/vnd.docker.container.image.v1+json"
        case .dockerLayerGzip: return "application/vnd.docker.image.rootfs.diff.tar.gzip"
        case .dockerLayer: return "application/vnd.docker.image.rootfs.diff.tar"
        case .dockerForeignLayerGzip: return "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        case .other(let value): return value
        }
    }

    public var description: String { rawValue }

    /// An image manifest (OCI or Docker schema 2).
    public var isManifest: Bool { self == .ociManifest || self == .dockerManifest }
    /// A list of manifests (OCI index or Docker manifest list).
    public var isIndex: Bool { self == .ociIndex || self == .dockerManifestList }

    /// How a layer blob of this type is compressed, or nil if this is not a layer type swiftbuild knows.
    public var layerCompression: LayerBlobCompression? {
        switch self {
        case .ociLayer, .dockerLayer: return .uncompressed
        case .ociLayerGzip, .dockerLayerGzip, .dockerForeignLayerGzip: return .gzip
        case .ociLayerZstd: return .zstd
        default: return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The compression of a layer blob, as its media type says.
public enum LayerBlobCompression: Sendable, Hashable {
    case uncompressed, gzip, zstd
}
