/// An image name as Docker reads it, normalised: `busybox` is `docker.io/library/busybox:latest`,
/// `localhost:5000/x` keeps its registry, `ghcr.io/o/r@sha256:…` is pinned by digest.
public struct ImageReference: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The registry host (with port): `docker.io`, `ghcr.io`, `localhost:5000`.
    public let domain: String
    /// The repository path inside the registry: `library/busybox`, `o/r`.
    public let path: String
    /// The tag; `latest` when the text named neither a tag nor a digest.
    public let tag: String?
    public let digest: Digest?

    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    public init(domain: String, path: String, tag: String?, digest: Digest?) throws(ImageReferenceError) {
        let text = domain + "/" + path
        guard Self.isValidDomain(domain) else { throw .invalidDomain(text) }
        guard Self.isValidPath(path) else {
            if path.contains(where: \.isUppercase) { throw .uppercase(text) }
            throw .invalidFormat(text)
        }
        guard text.utf8.count <= 255 else { throw .nameTooLong(text) }
        if let tag, !Self.isValidTag(tag) { throw .invalidTag(tag) }
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// Parses a reference as `docker pull` does.
    public init(parsing text: String) throws(ImageReferenceError) {
        guard !text.isEmpty else { throw .empty }
        var name = Substring(text)
        var digest: Digest?
        if let at = name.firstIndex(of: "@") {
            let digestText = String(name[name.index(after: at)...])
            do { digest = try Digest(parsing: digestText) } catch { throw .invalidDigest(text) }
            name = name[..<at]
        }
        var tag: String?
        let lastSlash = name.lastIndex(of: "/")
        let searchStart = lastSlash.map { name.index(after: $0) } ?? name.startIndex
        if let colon = name[searchStart...].lastIndex(of: ":") {
            tag = String(name[name.index(after: colon)...])
            name = name[..<colon]
        }
        guard !name.isEmpty else { throw .invalidFormat(text) }
        var domain = Self.defaultDomain
        var path = String(name)
        if let slash = name.firstIndex(of: "/") {
            let first = name[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
                domain = String(first)
                path = String(name[name.index(after: slash)...])
            }
        }
        if domain == "index.docker.io" { domain = Self.defaultDomain }
        if domain == Self.defaultDomain && !path.contains("/") { path = "library/" + path }
        if tag == nil && digest == nil { tag = Self.defaultTag }
        do {
            try self.init(domain: domain, path: path, tag: tag, digest: digest)
        } catch {
            switch error {
            case .invalidFormat: throw .invalidFormat(text)
            default: throw error
            }
        }
    }

    /// `domain/path`, without tag or digest.
    public var name: String { domain + "/" + path }

    /// The full form: `docker.io/library/busybox:latest`, `ghcr.io/o/r@sha256:…`.
    public var description: String { name + suffix }

    /// The short form Docker prints: `busybox:latest`, `myorg/app:1`, `ghcr.io/o/r@sha256:…`.
    public var familiar: String { familiarName + suffix }

    /// The short name without tag or digest: `busybox`, `myorg/app`, `localhost:5000/x`.
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        let components = path.split(separator: "/")
        if components.count == 2 && components[0] == "library" { return String(components[1]) }
        return path
    }

    /// The same repository with another tag (and no digest).
    public func with(tag: String) throws(ImageReferenceError) -> ImageReference {
        try ImageReference(domain: domain, path: path, tag: tag, digest: nil)
    }

    private var suffix: String {
        var s = ""
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    // MARK: - Grammar (the distribution reference grammar)

    private static func isAlnumLower(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }

    /// Path components: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, joined by `/`.
    static func isValidPath(_ path: String) -> Bool {
        let components = Array(path.utf8).split(separator: 0x2f, omittingEmptySubsequences: false)
        guard !components.isEmpty else { return false }
        for component in components {
            let bytes = Array(component)
            guard let first = bytes.first, let last = bytes.last, isAlnumLower(first), isAlnumLower(last) else {
                return false
            }
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if isAlnumLower(b) { i += 1; continue }
                // A separator run: ".", "_", "__" or one or more "-".
                var j = i
                while j < bytes.count && !isAlnumLower(bytes[j]) { j += 1 }
                let run = bytes[i..<j]
                let ok = run.elementsEqual([0x2e]) || run.elementsEqual([0x5f]) || run.elementsEqual([0x5f, 0x5f])
                    || run.allSatisfy { $0 == 0x2d }
                guard ok else { return false }
                i = j
            }
        }
        return true
    }

    /// Host names (`a.b-c.d`), IPv4, `[IPv6]`, each with an optional `:port`.
    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let inside = host[host.index(after: host.startIndex)..<close]
            guard !inside.isEmpty, inside.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return false }
            host = host[host.index(after: close)...]
            if host.isEmpty { return true }
            guard host.hasPrefix(":") else { return false }
            let port = host.dropFirst()
            return !port.isEmpty && port.allSatisfy { $0.isASCII && $0.isNumber }
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty else { return false }
        for label in labels {
            guard let first = label.first, let last = label.last,
                  first.isASCII && (first.isLetter || first.isNumber), last.isASCII && (last.isLetter || last.isNumber),
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { return false }
        }
        return true
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func word(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b == 0x5f
        }
        return word(first) && bytes.dropFirst().allSatisfy { word($0) || $0 == 0x2e || $0 == 0x2d }
    }
}

/// Why a text is not an image reference.
public enum ImageReferenceError: Error, Equatable, CustomStringConvertible {
    case empty
    case invalidFormat(String)
    case uppercase(String)
    case invalidDomain(String)
    case nameTooLong(String)
    case invalidTag(String)
    case invalidDigest(String)

    public var description: String {
        switch self {
        case .empty: return "invalid reference format: the image name is empty"
        case .invalidFormat(let s): return "invalid reference format: '\(s)'"
        case .uppercase(let s): return "invalid reference format: repository name '\(s)' must be lowercase"
        case .invalidDomain(let s): return "invalid reference format: bad registry host in '\(s)'"
        case .nameTooLong(let s): return "invalid reference format: repository name '\(s)' is longer than 255 characters"
        case .invalidTag(let s): return "invalid reference format: bad tag '\(s)'"
        case .invalidDigest(let s): return "invalid reference format: bad digest in '\(s)'"
        }
    }
}
