import SwiftBuildArchive

/// How an image is written by an exporter, as buildx's `-o` keys say it.
public struct ExportOptions: Sendable, Equatable {
    /// `oci-mediatypes=false` gives Docker schema 2 manifest, config and layer media types. zstd layers have no
    /// Docker media type: with zstd the OCI types are kept (BuildKit does the same).
    public var ociMediaTypes: Bool
    /// `compression=gzip|zstd|uncompressed`: the layers built now already use it (the CLI passes it to the build);
    /// layers from base images are re-encoded only with `forceCompression`.
    public var compression: LayerCompression?
    /// `compression-level=N`.
    public var compressionLevel: Int?
    /// `split-layers=SIZE`: cut every step's layer into layers of at most SIZE (`LayerSplit`); 0: never cut, not
    /// even a layer over 2 GiB. The build's layers are cut when written, so this applies to every output and
    /// the store.
    public var splitLayers: Int64?
    /// `force-compression=true`: every layer not already in `compression` is re-encoded (same diff ID).
    public var forceCompression: Bool
    /// `name=a,b` / `-t`: extra names written into the archive (index.json annotations or RepoTags).
    public var names: [String]
    /// `annotation.KEY=V` / `annotation-manifest.KEY=V`: manifest annotations.
    public var manifestAnnotations: [String: String]
    /// `annotation-index.KEY=V`: annotations of the OCI layout's index.json.
    public var indexAnnotations: [String: String]

    public init(ociMediaTypes: Bool = true, compression: LayerCompression? = nil, compressionLevel: Int? = nil,
                forceCompression: Bool = false, names: [String] = [], manifestAnnotations: [String: String] = [:],
                indexAnnotations: [String: String] = [:]) {
        self.ociMediaTypes = ociMediaTypes
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.forceCompression = forceCompression
        self.names = names
        self.manifestAnnotations = manifestAnnotations
        self.indexAnnotations = indexAnnotations
    }

    /// Reads the exporter keys of a parsed `-o` option list; unknown keys are refused by the caller.
    static let keys: Set<String> = ["oci-mediatypes", "compression", "compression-level", "force-compression", "name",
                                    "split-layers"]

    init(fields: [String: String], text: String) throws(BuildRequestError) {
        self.init()
        func bool(_ key: String) throws(BuildRequestError) -> Bool? {
            guard let value = fields[key] else { return nil }
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw .invalid("--output", text, "\(key) must be true or false")
            }
        }
        ociMediaTypes = try bool("oci-mediatypes") ?? true
        forceCompression = try bool("force-compression") ?? false
        if let value = fields["compression"] {
            guard let parsed = LayerCompression(rawValue: value) else {
                throw .invalid("--output", text, "compression must be gzip, zstd or uncompressed")
            }
            compression = parsed
        }
        if let value = fields["compression-level"] {
            guard let level = Int(value) else { throw .invalid("--output", text, "compression-level must be a number") }
            compressionLevel = level
        }
        if let value = fields["split-layers"] {
            guard let size = StorageUnits.parseSize(value), size == 0 || size >= 1 << 20 else {
                throw .invalid("--output", text, "split-layers must be a size of at least 1MiB, such as 1GiB, or 0 (never split)")
            }
            splitLayers = size
        }
        if let value = fields["name"] {
            names = value.split(separator: ";").map(String.init).filter { !$0.isEmpty }
        }
        for (key, value) in fields {
            if key.hasPrefix("annotation-index.") {
                indexAnnotations[String(key.dropFirst("annotation-index.".count))] = value
            } else if key.hasPrefix("annotation-manifest.") {
                manifestAnnotations[String(key.dropFirst("annotation-manifest.".count))] = value
            } else if key.hasPrefix("annotation.") {
                manifestAnnotations[String(key.dropFirst("annotation.".count))] = value
            }
        }
    }

    /// Adds `--annotation` values: `KEY=V` or `manifest:KEY=V` (manifest), `index:KEY=V` (index.json).
    public mutating func addAnnotation(_ text: String) throws(BuildRequestError) {
        guard let eq = text.firstIndex(of: "=") else { throw .invalid("--annotation", text, "expected KEY=VALUE") }
        var key = String(text[..<eq])
        let value = String(text[text.index(after: eq)...])
        var level = "manifest"
        if let colon = key.firstIndex(of: ":") {
            level = String(key[..<colon])
            key = String(key[key.index(after: colon)...])
        }
        guard !key.isEmpty else { throw .invalid("--annotation", text, "the key is empty") }
        switch level {
        case "manifest": manifestAnnotations[key] = value
        case "index": indexAnnotations[key] = value
        default: throw .invalid("--annotation", text, "level must be manifest or index, not \"\(level)\"")
        }
    }
}
