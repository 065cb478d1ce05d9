/// A Dockerfile instruction with its typed, validated payload. Values are as written in the file:
/// `$VAR` expansion happens later, per stage, with the environment of that point (`StageResolver`).
public indirect enum Instruction: Sendable, Equatable, Encodable {
    case from(From)
    case run(Run)
    case cmd(CommandLine)
    case entrypoint(CommandLine)
    case shell([String])
    case label([KeyValue])
    case maintainer(String)
    case expose([String])
    case env([KeyValue])
    case add(Add)
    case copy(Copy)
    case volume([String])
    case user(String)
    case workdir(String)
    case arg([ArgDeclaration])
    case onbuild(Onbuild)
    case stopSignal(String)
    case healthcheck(Healthcheck)

    /// The keyword in upper case, as BuildKit names instructions in messages.
    public var keyword: String {
        switch self {
        case .from: return "FROM"
        case .run: return "RUN"
        case .cmd: return "CMD"
        case .entrypoint: return "ENTRYPOINT"
        case .shell: return "SHELL"
        case .label: return "LABEL"
        case .maintainer: return "MAINTAINER"
        case .expose: return "EXPOSE"
        case .env: return "ENV"
        case .add: return "ADD"
        case .copy: return "COPY"
        case .volume: return "VOLUME"
        case .user: return "USER"
        case .workdir: return "WORKDIR"
        case .arg: return "ARG"
        case .onbuild: return "ONBUILD"
        case .stopSignal: return "STOPSIGNAL"
        case .healthcheck: return "HEALTHCHECK"
        }
    }

    public struct From: Sendable, Equatable, Encodable {
        /// The base: an image reference, a stage name, or `scratch`.
        public var base: String
        /// `AS name`, as written (stage names compare case-insensitively).
        public var stageName: String?
        /// `--platform=…`.
        public var platform: String?
    }

    /// Shell form (run through the SHELL) or exec form (JSON array).
    public enum CommandLine: Sendable, Equatable, Encodable {
        case shell(String)
        case exec([String])
    }

    public struct Run: Sendable, Equatable, Encodable {
        public var command: CommandLine
        public var mounts: [Mount]
        public var network: NetworkMode
        public var security: SecurityMode
        /// Heredocs opened on the RUN line (scripts or extra file descriptors).
        public var heredocs: [Heredoc]
    }

    public enum NetworkMode: String, Sendable, Equatable, Encodable, CaseIterable {
        case `default`, none, host
    }

    public enum SecurityMode: String, Sendable, Equatable, Encodable, CaseIterable {
        case sandbox, insecure
    }

    public struct KeyValue: Sendable, Equatable, Encodable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// Sources and destination shared by COPY and ADD.
    public struct Transfer: Sendable, Equatable, Encodable {
        public var sources: [String]
        public var destination: String
        public var chown: String?
        public var chmod: Chmod?
        public var link: Bool
        public var excludes: [String]
        /// Heredocs used as inline source files.
        public var heredocs: [Heredoc]

        /// The heredoc a source word opens (`<<EOF`, `<<-"EOT"`, …), nil for a path.
        public func heredoc(opening word: String) -> Heredoc? {
            guard let name = Heredoc.delimiter(openedBy: word) else { return nil }
            return heredocs.first { $0.name == name }
        }
    }

    public struct Copy: Sendable, Equatable, Encodable {
        public var transfer: Transfer
        /// `--from=<stage name, stage index or image>`.
        public var from: String?
        public var parents: Bool
    }

    public struct Add: Sendable, Equatable, Encodable {
        public var transfer: Transfer
        public var checksum: String?
        public var keepGitDir: Bool
        /// `--unpack`: nil means the default (local archives are unpacked, remote ones are not).
        public var unpack: Bool?
    }

    public struct ArgDeclaration: Sendable, Equatable, Encodable {
        public var name: String
        public var defaultValue: String?
    }

    public struct Onbuild: Sendable, Equatable, Encodable {
        /// The trigger text as written after ONBUILD (what an image's config records).
        public var expression: String
        /// The trigger, parsed.
        public var trigger: Instruction
    }

    public enum Healthcheck: Sendable, Equatable, Encodable {
        case none
        case check(HealthcheckConfig)
    }

    public struct HealthcheckConfig: Sendable, Equatable, Encodable {
        /// The test: `CMD` with exec form, or `CMD-SHELL` with shell form, as image configs store it.
        public var test: [String]
        /// Durations in nanoseconds; nil = unset (the runtime default).
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?
    }
}

/// An instruction with where it came from.
public struct LocatedInstruction: Sendable, Equatable {
    public var instruction: Instruction
    public var node: Node
    public var range: SourceRange { node.range }
}
