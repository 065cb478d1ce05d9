import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI

/// Everything a build needs to know, as `docker buildx build` flags describe it.
public struct BuildRequest: Sendable {
    /// The build context directory.
    public var contextDirectory: String
    /// The Dockerfile's path (default: `<context>/Dockerfile`), used for reading it and for `<name>.dockerignore`.
    public var dockerfilePath: String?
    /// The Dockerfile's bytes when they do not come from a file (`-f -`).
    public var dockerfileContents: [UInt8]?
    public var target: String?
    public var buildArguments: [String: String]
    /// The target platforms (`--platform linux/amd64,linux/arm64`; empty: the host's). Several build the graph
    /// once per platform, side by side, into one image index.
    public var platforms: [BuildPlatform] = []
    /// The one target platform, when there is one (nil: the host's, or several).
    public var platform: BuildPlatform? {
        get { platforms.count == 1 ? platforms[0] : nil }
        set { platforms = newValue.map { [$0] } ?? [] }
    }
    /// `-t` names.
    public var tags: [String]
    public var noCache: Bool
    /// Stages (by name) whose steps run even when cached.
    public var noCacheFilter: [String]
    public var outputs: [BuildOutput]
    /// `--secret id=…,src=…|env=…`.
    public var secrets: [String: SecretSource]
    /// `--ssh default|id=socket`.
    public var sshSockets: [String: String]
    /// `--build-context NAME=VALUE`, by lower-cased name.
    public var buildContexts: [String: NamedContext] = [:]
    /// `--label`: added to the image config.
    public var labels: [String: String]
    /// SOURCE_DATE_EPOCH: image `created` times and layer mtimes are clamped to it.
    public var sourceDateEpoch: Int64?
    public var compression: LayerCompression
    public var compressionLevel: Int?
    /// `--annotation KEY=VALUE`: annotations of the image manifest (part of its digest).
    public var annotations: [String: String] = [:]
    /// `--pull`: ask the registry for the current digest of each base image tag, even when the name is stored.
    /// Whether a COPY from the build context whose file system no later step reads (the last one of a stage
    /// nothing else builds on) goes straight from the context into its layer, without a copy in a snapshot.
    /// The layer is the same either way; false forces the materialised path (for comparisons).
    public var streamsContextCopies: Bool = true
    public var pull: Bool = false
    /// `--allow-secrets-in-layers`: do not check step layers for secrets (`SecretGuard`). By default a layer
    /// that holds the value of a `--secret`, of a secret-looking `--build-arg`, docker registry credentials, a
    /// private key or an AWS access key id fails its step.
    public var allowSecretsInLayers: Bool = false
    /// How a step's changes are cut into layers: by default a layer over 2 GiB, or one holding a file of 256 MiB
    /// or more, becomes layers of at most 2 GiB with every file of 256 MiB or more alone; `-o …,split-layers=SIZE`
    /// cuts every layer at SIZE.
    public var splitLayers: LayerSplit = .default
    /// How base images missing from the local store are pulled; nil: never (every FROM must be stored).
    public var registry: RegistryOptions? = RegistryOptions()
    /// `--cache-to`: where the build's cache records (and their layers) are written after the build.
    public var cacheTo: [CacheExport] = []
    /// `--cache-from`: caches consulted on a local cache miss.
    public var cacheFrom: [CacheLocation] = []

    public init(contextDirectory: String, dockerfilePath: String? = nil, dockerfileContents: [UInt8]? = nil,
                target: String? = nil, buildArguments: [String: String] = [:], platform: BuildPlatform? = nil,
                tags: [String] = [], noCache: Bool = false, noCacheFilter: [String] = [], outputs: [BuildOutput] = [],
                secrets: [String: SecretSource] = [:], sshSockets: [String: String] = [:],
                labels: [String: String] = [:], sourceDateEpoch: Int64? = nil,
                compression: LayerCompression = .gzip, compressionLevel: Int? = nil) {
        self.contextDirectory = contextDirectory
        self.dockerfilePath = dockerfilePath
        self.dockerfileContents = dockerfileContents
        self.target = target
        self.buildArguments = buildArguments
        self.platforms = platform.map { [$0] } ?? []
        self.tags = tags
        self.noCache = noCache
        self.noCacheFilter = noCacheFilter
        self.outputs = outputs
        self.secrets = secrets
        self.sshSockets = sshSockets
        self.labels = labels
        self.sourceDateEpoch = sourceDateEpoch
        self.compression = compression
        self.compressionLevel = compressionLevel
    }
}

/// Where a secret's value comes from.
public enum SecretSource: Sendable, Equatable {
    case file(String)
    case environment(String)

    /// `id=NAME,src=PATH` / `id=NAME,env=VAR` / `id=NAME` (env var of the same name, as buildx) → (id, source).
    public static func parse(_ text: String) throws(BuildRequestError) -> (String, SecretSource) {
        let fields = try OptionList.parse(text, flag: "--secret")
        guard let id = fields["id"], !id.isEmpty else { throw .invalid("--secret", text, "id is required") }
        if let src = fields["src"] ?? fields["source"] { return (id, .file(src)) }
        return (id, .environment(fields["env"] ?? id))
    }
}

/// An `-o/--output` of buildx. Each output also carries the exporter options of its `-o` string
/// (`oci-mediatypes`, `compression`, `compression-level`, `force-compression`, `name`, `annotation.*`).
public enum BuildOutput: Sendable, Equatable {
    /// OCI image layout, as a tar (`type=oci,dest=FILE`) or a directory (`tar=false`).
    case oci(destination: String, tar: Bool, options: ExportOptions = ExportOptions())
    /// Docker archive for `docker load` (`type=docker,dest=FILE`).
    case docker(destination: String, options: ExportOptions = ExportOptions())
    /// The final root filesystem (`type=local,dest=DIR`).
    case local(destination: String, options: ExportOptions = ExportOptions())
    /// The final root filesystem as one tar (`type=tar,dest=FILE`).
    case tar(destination: String, options: ExportOptions = ExportOptions())

    public var options: ExportOptions {
        get {
            switch self {
            case .oci(_, _, let o), .docker(_, let o), .local(_, let o), .tar(_, let o): return o
            }
        }
        set {
            switch self {
            case .oci(let d, let t, _): self = .oci(destination: d, tar: t, options: newValue)
            case .docker(let d, _): self = .docker(destination: d, options: newValue)
            case .local(let d, _): self = .local(destination: d, options: newValue)
            case .tar(let d, _): self = .tar(destination: d, options: newValue)
            }
        }
    }

    public var destination: String {
        switch self {
        case .oci(let d, _, _), .docker(let d, _), .local(let d, _), .tar(let d, _): return d
        }
    }

    /// `dest=-`: the output goes to standard output.
    public var isStandardOutput: Bool { destination == "-" }

    public static func parse(_ text: String) throws(BuildRequestError) -> BuildOutput {
        // `-o DIR` alone means type=local; `-o -` means a tar of the root filesystem on standard output.
        if text == "-" { return .tar(destination: "-") }
        if !text.contains("=") { return .local(destination: text) }
        let fields = try OptionList.parse(text, flag: "--output")
        let type = fields["type"] ?? "local"
        guard let dest = fields["dest"] ?? fields["destination"] else {
            throw .invalid("--output", text, "dest is required for type=\(type)")
        }
        for key in fields.keys where !(["type", "dest", "destination", "tar"].contains(key) || ExportOptions.keys.contains(key)
                                       || key.hasPrefix("annotation")) {
            throw .invalid("--output", text, "unknown key \"\(key)\"")
        }
        let options = try ExportOptions(fields: fields, text: text)
        switch type {
        case "oci": return .oci(destination: dest, tar: fields["tar"].map { $0 != "false" } ?? true, options: options)
        case "docker": return .docker(destination: dest, options: options)
        case "local": return .local(destination: dest, options: options)
        case "tar": return .tar(destination: dest, options: options)
        case "image", "registry":
            throw .invalid("--output", text, "type=\(type) names an image to tag and push: read it with RegistryOutput.parse")
        default: throw .invalid("--output", text, "unsupported output type \"\(type)\"")
        }
    }
}

public enum BuildRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String, String, String)

    public var description: String {
        switch self {
        case .invalid(let flag, let value, let why): return "invalid \(flag) \"\(value)\": \(why)"
        }
    }
}

/// `key=value,key2=value2` option strings, as buildx flags take them.
enum OptionList {
    static func parse(_ text: String, flag: String) throws(BuildRequestError) -> [String: String] {
        var out: [String: String] = [:]
        for field in text.split(separator: ",", omittingEmptySubsequences: true) {
            guard let eq = field.firstIndex(of: "=") else {
                throw .invalid(flag, text, "expected key=value, got \"\(field)\"")
            }
            out[field[..<eq].lowercased()] = String(field[field.index(after: eq)...])
        }
        return out
    }
}
