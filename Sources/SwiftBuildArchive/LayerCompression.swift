/// How a layer's tar stream is compressed, with the OCI media type suffix it gets.
public enum LayerCompression: String, Sendable, CaseIterable {
    case gzip
    case zstd
    case uncompressed

    /// The default level buildx uses for each compression.
    public var defaultLevel: Int {
        switch self {
        case .gzip: return 6
        case .zstd: return 3
        case .uncompressed: return 0
        }
    }
}
