/// A `RUN --mount=…` specification, validated as BuildKit validates it.
public struct Mount: Sendable, Equatable, Encodable {
    public enum Kind: String, Sendable, Equatable, Encodable, CaseIterable {
        case bind, cache, tmpfs, secret, ssh
    }

    public enum Sharing: String, Sendable, Equatable, Encodable, CaseIterable {
        case shared, `private`, locked
    }

    public var kind: Kind
    /// Where it appears in the container.
    public var target: String?
    /// The path inside `from` (bind, cache) to mount.
    public var source: String?
    /// A stage name or image to take the source from (bind, cache).
    public var from: String?
    public var readOnly: Bool
    /// Cache or secret/ssh id.
    public var id: String?
    public var sharing: Sharing
    public var mode: UInt32?
    public var uid: Int?
    public var gid: Int?
    /// `required=true` for secret and ssh: fail when not provided.
    public var required: Bool
    /// tmpfs size in bytes.
    public var size: Int64?
    /// `env=NAME` for secrets exposed as environment variables.
    public var env: String?

    struct Failure: Error {
        var message: String
    }

    /// Parses the value of one `--mount` flag: CSV fields of `key=value` or bare boolean keys.
    /// `index` counts ssh mounts for their default socket path.
    static func parse(_ text: String, sshIndex: Int = 0) throws(Failure) -> Mount {
        var m = Mount(kind: .bind, target: nil, source: nil, from: nil, readOnly: true, id: nil, sharing: .shared,
                      mode: nil, uid: nil, gid: nil, required: false, size: nil, env: nil)
        let fields = try csvFields(text)
        // The type decides the defaults, so it is read first wherever it appears.
        for field in fields {
            let (key, value) = split(field)
            if key.lowercased() == "type" {
                guard let value, let kind = Kind(rawValue: value.lowercased()) else {
                    throw Failure(message: "unsupported mount type \"\(value ?? "")\"")
                }
                m.kind = kind
            }
        }
        m.readOnly = m.kind == .bind || m.kind == .secret || m.kind == .ssh
        var readOnlySet: Bool?
        for field in fields {
            let (rawKey, value) = split(field)
            let key = rawKey.lowercased()
            func required() throws(Failure) -> String {
                guard let value else { throw Failure(message: "invalid field '\(field)' must be a key=value pair") }
                return value
            }
            func boolean() throws(Failure) -> Bool {
                guard let value else { return true }
                switch value.lowercased() {
                case "true", "1": return true
                case "false", "0": return false
                default: throw Failure(message: "invalid value for \(rawKey): \(value)")
                }
            }
            switch key {
            case "type": continue
            case "readonly", "ro": readOnlySet = try boolean()
            case "readwrite", "rw": readOnlySet = !(try boolean())
            case "required": m.required = try boolean()
            case "target", "dst", "destination": m.target = try required()
            case "source", "src": m.source = try required()
            case "from": m.from = try required()
            case "id": m.id = try required()
            case "env": m.env = try required()
            case "sharing":
                let v = try required()
                guard let sharing = Sharing(rawValue: v.lowercased()) else {
                    throw Failure(message: "unsupported sharing value \"\(v)\"")
                }
                m.sharing = sharing
            case "mode":
                let v = try required()
                guard let mode = UInt32(v, radix: 8), mode <= 0o7777 else {
                    throw Failure(message: "failed to parse mode \"\(v)\": expected an octal file mode")
                }
                m.mode = mode
            case "uid", "gid":
                let v = try required()
                guard let id = Int(v), id >= 0, id <= Int(UInt32.max) else {
                    throw Failure(message: "failed to parse \(key) \"\(v)\": expected a non-negative integer")
                }
                if key == "uid" { m.uid = id } else { m.gid = id }
            case "size":
                let v = try required()
                guard let size = parseSize(v) else { throw Failure(message: "invalid size \"\(v)\"") }
                m.size = size
            default:
                throw Failure(message: "unexpected key '\(rawKey)' in '\(field)'")
            }
        }
        if let readOnlySet { m.readOnly = readOnlySet }

        switch m.kind {
        case .secret:
            if m.id == nil, let target = m.target { m.id = target.split(separator: "/").last.map(String.init) }
            guard let id = m.id, !id.isEmpty else { throw Failure(message: "secret mount requires an id or a target") }
            if m.target == nil && m.env == nil { m.target = "/run/secrets/" + id }
        case .ssh:
            if m.id == nil { m.id = "default" }
            if m.target == nil { m.target = "/run/buildkit/ssh_agent.\(sshIndex)" }
        case .bind, .cache, .tmpfs:
            guard let target = m.target, !target.isEmpty else {
                throw Failure(message: "mount type=\(m.kind.rawValue) requires a target")
            }
        }
        if m.kind == .tmpfs && (m.from != nil || m.source != nil) {
            throw Failure(message: "tmpfs mounts cannot have a source or from")
        }
        if m.kind != .tmpfs && m.size != nil {
            throw Failure(message: "size is only supported for tmpfs mounts")
        }
        if m.kind != .cache && m.kind != .secret && m.kind != .ssh && (m.mode != nil || m.uid != nil || m.gid != nil) {
            throw Failure(message: "mode, uid and gid are only supported for cache, secret and ssh mounts")
        }
        if m.kind != .cache && m.sharing != .shared {
            throw Failure(message: "sharing is only supported for cache mounts")
        }
        if m.kind == .cache && m.id == nil { m.id = m.target }
        return m
    }

    static func split(_ field: String) -> (String, String?) {
        guard let eq = field.firstIndex(of: "=") else { return (field, nil) }
        return (String(field[..<eq]), String(field[field.index(after: eq)...]))
    }

    /// Comma-separated fields with CSV quoting (`"a,b"` and `""` inside quotes).
    static func csvFields(_ text: String) throws(Failure) -> [String] {
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if inQuotes {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars = chars.dropFirst() } else { inQuotes = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                inQuotes = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
        }
        if inQuotes { throw Failure(message: "unterminated quote in mount options '\(text)'") }
        fields.append(field)
        return fields.map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }

    /// Sizes like `64m`, `1g`, `512k`, `1024`, binary units as BuildKit's tmpfs size.
    static func parseSize(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("tib", 1 << 40),
                                        ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
                                        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let n = Double(lower.dropLast(suffix.count)), n >= 0, n * Double(factor) < 9e18 else { return nil }
            return Int64(n * Double(factor))
        }
        guard let n = Int64(lower), n >= 0 else { return nil }
        return n
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
