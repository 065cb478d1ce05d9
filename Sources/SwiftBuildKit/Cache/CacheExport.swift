/// `--cache-to`: where to write the cache and which records go there.
public struct CacheExport: Sendable, Equatable {
    public enum Mode: String, Sendable { case min, max }
    public var location: CacheLocation
    public var mode: Mode

    public init(location: CacheLocation, mode: Mode = .min) {
        self.location = location
        self.mode = mode
    }

    /// `type=local,dest=DIR[,mode=min|max]` or `type=registry,ref=REF[,mode=min|max]`.
    public static func parse(_ text: String) throws(BuildRequestError) -> CacheExport {
        let fields = try OptionList.parse(text, flag: "--cache-to")
        var mode = Mode.min
        if let value = fields["mode"] {
            guard let parsed = Mode(rawValue: value) else { throw .invalid("--cache-to", text, "mode must be min or max") }
            mode = parsed
        }
        switch fields["type"] {
        case "local":
            guard let dest = fields["dest"], !dest.isEmpty else { throw .invalid("--cache-to", text, "dest is required") }
            return CacheExport(location: .local(dest), mode: mode)
        case "registry":
            guard let ref = fields["ref"], !ref.isEmpty else { throw .invalid("--cache-to", text, "ref is required") }
            return CacheExport(location: .registry(ref), mode: mode)
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
