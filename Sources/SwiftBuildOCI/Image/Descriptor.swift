/// A reference to a blob: its media type, digest and size (OCI image spec "descriptor").
public struct Descriptor: Hashable, Sendable, Codable {
    public var mediaType: MediaType
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: String?

    public init(mediaType: MediaType, digest: Digest, size: Int64, annotations: [String: String]? = nil,
                platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    enum CodingKeys: String, CodingKey {
        case mediaType, digest, size, urls, annotations, platform, artifactType
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try c.decode(MediaType.self, forKey: .mediaType)
        let text = try c.decode(String.self, forKey: .digest)
        do {
            digest = try Digest(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .digest, in: c, debugDescription: error.description)
        }
        size = try c.decode(Int64.self, forKey: .size)
        guard size >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .size, in: c, debugDescription: "negative size \(size)")
        }
        urls = try c.decodeIfPresent([String].self, forKey: .urls)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
        platform = try c.decodeIfPresent(Platform.self, forKey: .platform)
        artifactType = try c.decodeIfPresent(String.self, forKey: .artifactType)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mediaType, forKey: .mediaType)
        try c.encode(digest.description, forKey: .digest)
        try c.encode(size, forKey: .size)
        if let urls, !urls.isEmpty { try c.encode(urls, forKey: .urls) }
        if let annotations, !annotations.isEmpty { try c.encode(annotations, forKey: .annotations) }
        try c.encodeIfPresent(platform, forKey: .platform)
        try c.encodeIfPresent(artifactType, forKey: .artifactType)
    }
}

/// Well-known annotation keys.
public enum AnnotationKey {
    /// The OCI layout's name for a manifest: usually the tag (`latest`), sometimes a full reference.
    public static let refName = "org.opencontainers.image.ref.name"
    /// containerd's and Docker's full image name (`docker.io/library/busybox:latest`).
    public static let containerdImageName = "io.containerd.image.name"
}
