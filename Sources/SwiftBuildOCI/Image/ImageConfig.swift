/// An image configuration blob (OCI image spec "config", with Docker's extra fields), encoded with Docker's field
/// names and Go's `omitempty` rules: empty strings, empty lists and maps, zero numbers and false are left out.
/// Timestamps are kept as the RFC 3339 text they were read as, so re-encoding never changes them.
public struct ImageConfig: Hashable, Sendable, Codable {
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var config: ContainerConfig
    public var rootfs: RootFS
    public var history: [History]?

    public init(created: String? = nil, author: String? = nil, platform: Platform = .host,
                config: ContainerConfig = ContainerConfig(), rootfs: RootFS = RootFS(diffIDs: []),
                history: [History]? = nil) {
        self.created = created
        self.author = author
        architecture = platform.architecture
        os = platform.os
        variant = platform.variant
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    public var platform: Platform { Platform(os: os, architecture: architecture, variant: variant) }

    enum CodingKeys: String, CodingKey {
        case created, author, architecture, os, variant, config, rootfs, history
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        created = try c.decodeIfPresent(String.self, forKey: .created)
        author = try c.decodeIfPresent(String.self, forKey: .author)
        architecture = try c.decodeIfPresent(String.self, forKey: .architecture) ?? ""
        os = try c.decodeIfPresent(String.self, forKey: .os) ?? ""
        osVersion = try c.decodeIfPresent(String.self, forKey: .osVersion)
        osFeatures = try c.decodeIfPresent([String].self, forKey: .osFeatures)
        variant = try c.decodeIfPresent(String.self, forKey: .variant)
        config = try c.decodeIfPresent(ContainerConfig.self, forKey: .config) ?? ContainerConfig()
        rootfs = try c.decodeIfPresent(RootFS.self, forKey: .rootfs) ?? RootFS(diffIDs: [])
        history = try c.decodeIfPresent([History].self, forKey: .history)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNonEmpty(created, forKey: .created)
        try c.encodeNonEmpty(author, forKey: .author)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(os, forKey: .os)
        try c.encodeNonEmpty(osVersion, forKey: .osVersion)
        try c.encodeNonEmpty(osFeatures, forKey: .osFeatures)
        try c.encodeNonEmpty(variant, forKey: .variant)
        try c.encode(config, forKey: .config)
        try c.encode(rootfs, forKey: .rootfs)
        try c.encodeNonEmpty(history, forKey: .history)
    }

    /// The layers' uncompressed digests, bottom first.
    public struct RootFS: Hashable, Sendable, Codable {
        public var type: String
        public var diffIDs: [Digest]

        public init(type: String = "layers", diffIDs: [Digest]) {
            self.type = type
            self.diffIDs = diffIDs
        }

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type) ?? "layers"
            var ids: [Digest] = []
            for text in try c.decodeIfPresent([String].self, forKey: .diffIDs) ?? [] {
                do {
                    ids.append(try Digest(parsing: text))
                } catch {
                    throw DecodingError.dataCorruptedError(forKey: .diffIDs, in: c, debugDescription: error.description)
                }
            }
            diffIDs = ids
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(type, forKey: .type)
            try c.encode(diffIDs.map(\.description), forKey: .diffIDs)
        }
    }

    /// One step of the image's history.
    public struct History: Hashable, Sendable, Codable {
        public var created: String?
        public var createdBy: String?
        public var author: String?
        public var comment: String?
        public var emptyLayer: Bool

        public init(created: String? = nil, createdBy: String? = nil, author: String? = nil, comment: String? = nil,
                    emptyLayer: Bool = false) {
            self.created = created
            self.createdBy = createdBy
            self.author = author
            self.comment = comment
            self.emptyLayer = emptyLayer
        }

        enum CodingKeys: String, CodingKey {
            case created, author, comment
            case createdBy = "created_by"
            case emptyLayer = "empty_layer"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            created = try c.decodeIfPresent(String.self, forKey: .created)
            createdBy = try c.decodeIfPresent(String.self, forKey: .createdBy)
            author = try c.decodeIfPresent(String.self, forKey: .author)
            comment = try c.decodeIfPresent(String.self, forKey: .comment)
            emptyLayer = try c.decodeIfPresent(Bool.self, forKey: .emptyLayer) ?? false
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeNonEmpty(created, forKey: .created)
            try c.encodeNonEmpty(createdBy, forKey: .createdBy)
            try c.encodeNonEmpty(author, forKey: .author)
            try c.encodeNonEmpty(comment, forKey: .comment)
            if emptyLayer { try c.encode(true, forKey: .emptyLayer) }
        }
    }
}

/// The run-time defaults of an image (the config's `config` object), with Docker's field names.
/// `ExposedPorts` and `Volumes` are JSON objects whose values are `{}`; they are sets here.
public struct ContainerConfig: Hashable, Sendable, Codable {
    public var user: String?
    public var exposedPorts: Set<String>?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: Set<String>?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var healthcheck: Healthcheck?
    public var onBuild: [String]?
    public var shell: [String]?
    public var argsEscaped: Bool?

    public init(user: String? = nil, exposedPorts: Set<String>? = nil, env: [String]? = nil,
                entrypoint: [String]? = nil, cmd: [String]? = nil, volumes: Set<String>? = nil,
                workingDir: String? = nil, labels: [String: String]? = nil, stopSignal: String? = nil,
                healthcheck: Healthcheck? = nil, onBuild: [String]? = nil, shell: [String]? = nil,
                argsEscaped: Bool? = nil) {
        self.user = user
        self.exposedPorts = exposedPorts
        self.env = env
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.volumes = volumes
        self.workingDir = workingDir
        self.labels = labels
        self.stopSignal = stopSignal
        self.healthcheck = healthcheck
        self.onBuild = onBuild
        self.shell = shell
        self.argsEscaped = argsEscaped
    }

    enum CodingKeys: String, CodingKey {
        case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
        case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        case healthcheck = "Healthcheck", onBuild = "OnBuild", shell = "Shell", argsEscaped = "ArgsEscaped"
    }

    private struct Empty: Codable {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        exposedPorts = try c.decodeIfPresent([String: Empty].self, forKey: .exposedPorts).map { Set($0.keys) }
        env = try c.decodeIfPresent([String].self, forKey: .env)
        entrypoint = try c.decodeIfPresent([String].self, forKey: .entrypoint)
        cmd = try c.decodeIfPresent([String].self, forKey: .cmd)
        volumes = try c.decodeIfPresent([String: Empty].self, forKey: .volumes).map { Set($0.keys) }
        workingDir = try c.decodeIfPresent(String.self, forKey: .workingDir)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        stopSignal = try c.decodeIfPresent(String.self, forKey: .stopSignal)
        healthcheck = try c.decodeIfPresent(Healthcheck.self, forKey: .healthcheck)
        onBuild = try c.decodeIfPresent([String].self, forKey: .onBuild)
        shell = try c.decodeIfPresent([String].self, forKey: .shell)
        argsEscaped = try c.decodeIfPresent(Bool.self, forKey: .argsEscaped)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNonEmpty(user, forKey: .user)
        if let exposedPorts, !exposedPorts.isEmpty {
            try c.encode(Dictionary(uniqueKeysWithValues: exposedPorts.map { ($0, Empty()) }), forKey: .exposedPorts)
        }
        try c.encodeNonEmpty(env, forKey: .env)
        try c.encodeNonEmpty(entrypoint, forKey: .entrypoint)
        try c.encodeNonEmpty(cmd, forKey: .cmd)
        if let volumes, !volumes.isEmpty {
            try c.encode(Dictionary(uniqueKeysWithValues: volumes.map { ($0, Empty()) }), forKey: .volumes)
        }
        try c.encodeNonEmpty(workingDir, forKey: .workingDir)
        if let labels, !labels.isEmpty { try c.encode(labels, forKey: .labels) }
        try c.encodeNonEmpty(stopSignal, forKey: .stopSignal)
        try c.encodeIfPresent(healthcheck, forKey: .healthcheck)
        try c.encodeNonEmpty(onBuild, forKey: .onBuild)
        try c.encodeNonEmpty(shell, forKey: .shell)
        if argsEscaped == true { try c.encode(true, forKey: .argsEscaped) }
    }

    /// `HEALTHCHECK`: durations in nanoseconds, as Docker stores them.
    public struct Healthcheck: Hashable, Sendable, Codable {
        public var test: [String]?
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?

        public init(test: [String]? = nil, interval: Int64? = nil, timeout: Int64? = nil,
                    startPeriod: Int64? = nil, startInterval: Int64? = nil, retries: Int? = nil) {
            self.test = test
            self.interval = interval
            self.timeout = timeout
            self.startPeriod = startPeriod
            self.startInterval = startInterval
            self.retries = retries
        }

        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
            case startInterval = "StartInterval", retries = "Retries"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeNonEmpty(test, forKey: .test)
            for (value, key) in [(interval, CodingKeys.interval), (timeout, .timeout), (startPeriod, .startPeriod),
                                 (startInterval, .startInterval)] {
                if let value, value != 0 { try c.encode(value, forKey: key) }
            }
            if let retries, retries != 0 { try c.encode(retries, forKey: .retries) }
        }
    }
}

extension KeyedEncodingContainer {
    /// Go's `omitempty` for strings.
    mutating func encodeNonEmpty(_ value: String?, forKey key: Key) throws {
        if let value, !value.isEmpty { try encode(value, forKey: key) }
    }

    /// Go's `omitempty` for lists.
    mutating func encodeNonEmpty<T: Encodable>(_ value: [T]?, forKey key: Key) throws {
        if let value, !value.isEmpty { try encode(value, forKey: key) }
    }
}
