/// `--cache-to`: where to write the cache and which records go there.
public struct CacheExport: Sendable, Equatable {
    public enum Mode: String, Sendable { case min, max }
    public var location: CacheLocation
    public var mode: Mode
    /// `cache-mounts=true`: also export the contents of the `RUN --mount=type=cache` directories the build used.
    public var cacheMounts: Bool
    /// `cache-mounts-max=SIZE`: at most this many bytes of mount contents (before compression); the most recently
    /// used mounts first, the others left out with a warning.
    public var cacheMountsMax: Int64

    /// The default `cache-mounts-max`.
    public static let defaultCacheMountsMax: Int64 = 4 << 30

    public init(location: CacheLocation, mode: Mode = .min, cacheMounts: Bool = false,
                cacheMountsMax: Int64 = CacheExport.defaultCacheMountsMax) {
        self.location = location
        self.mode = mode
        self.cacheMounts = cacheMounts
        self.cacheMountsMax = cacheMountsMax
    }

    /// `type=local,dest=DIR[,mode=min|max]` or `type=registry,ref=REF[,mode=min|max]`.
    public static func parse(_ text: String) throws(BuildRequestError) -> CacheExport {
        let fields = try OptionList.parse(text, flag: "--cache-to")
        var mode = Mode.min
        if let value = fields["mode"] {
            guard let parsed = Mode(rawValue: value) else { throw .invalid("--cache-to", text, "mode must be min or max") }
            mode = parsed
        }
        var mounts = false
        if let value = fields["cache-mounts"] {
            guard ["true", "false"].contains(value) else { throw .invalid("--cache-to", text, "cache-mounts must be true or false") }
            mounts = value == "true"
        }
        var limit = defaultCacheMountsMax
        if fields["cache-mounts-max"] != nil && !mounts {
            throw .invalid("--cache-to", text, "cache-mounts-max needs cache-mounts=true")
        }
        if fields["cache-mount"] != nil {
            throw .invalid("--cache-to", text, "unknown option cache-mount (cache-mounts=true exports cache mounts)")
        }
        if let value = fields["cache-mounts-max"] {
            guard let size = StorageUnits.parseSize(value), size > 0 else {
                throw .invalid("--cache-to", text, "cache-mounts-max must be a size such as 2GiB or 500MB")
            }
            limit = size
        }
        switch fields["type"] {
        case "local":
            guard let dest = fields["dest"], !dest.isEmpty else { throw .invalid("--cache-to", text, "dest is required") }
            return CacheExport(location: .local(dest), mode: mode, cacheMounts: mounts, cacheMountsMax: limit)
        case "registry":
            guard let ref = fields["ref"], !ref.isEmpty else { throw .invalid("--cache-to", text, "ref is required") }
            return CacheExport(location: .registry(ref), mode: mode, cacheMounts: mounts, cacheMountsMax: limit)
        default:
            throw .invalid("--cache-to", text, "type must be local or registry")
        }
    }

    /// `--cache-from type=local,src=DIR` or `type=registry,ref=REF`.
    public static func parseSource(_ text: String) throws(BuildRequestError) -> CacheLocation {
        let fields = try OptionList.parse(text, flag: "--cache-from")
        switch fields["type"] {
        case "local":
            guard let src = fields["src"], !src.isEmpty else { throw .invalid("--cache-from", text, "src is required") }
            return .local(src)
        case "registry":
            guard let ref = fields["ref"], !ref.isEmpty else { throw .invalid("--cache-from", text, "ref is required") }
            return .registry(ref)
        default:
            throw .invalid("--cache-from", text, "type must be local or registry")
        }
    }
}
