/// Everything one RUN needs: the root filesystem, the process, its identity and what is mounted into it.
public struct SandboxSpec: Sendable {
    public enum RootFilesystem: Sendable {
        /// An overlay mounted inside the sandbox's own mount namespace; `lower` lists the top layer first.
        case overlay(lower: [String], upper: String, work: String)
        /// A plain directory used as the root as it is (the fallback when overlayfs is unavailable).
        case directory(String)
    }

    public enum Network: Sendable, Equatable {
        /// The builder's network namespace (BuildKit's default).
        case host
        /// A new network namespace with only the loopback interface, up.
        case none
    }

    public var root: RootFilesystem
    /// argv; `arguments[0]` is looked up in the PATH of `environment` inside the rootfs unless it contains a `/`.
    public var arguments: [String]
    /// `KEY=VALUE` strings.
    public var environment: [String]
    /// Absolute inside the rootfs; created if missing (owned by uid:gid) and kept in the layer, as BuildKit does.
    public var workingDirectory: String
    public var uid: UInt32
    public var gid: UInt32
    public var supplementaryGroups: [UInt32]
    public var hostname: String
    public var network: Network
    public var mounts: [SandboxMount]
    /// Contents bind-mounted read-only at /etc/hosts and /etc/resolv.conf.
    public var hostsFile: [UInt8]
    public var resolvConf: [UInt8]

    public init(root: RootFilesystem, arguments: [String], environment: [String] = [],
                workingDirectory: String = "/", uid: UInt32 = 0, gid: UInt32 = 0, supplementaryGroups: [UInt32] = [],
                hostname: String = "buildkitsandbox", network: Network = .host, mounts: [SandboxMount] = [],
                hostsFile: [UInt8] = Array("127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n".utf8),
                resolvConf: [UInt8] = []) {
        self.root = root
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
        self.hostname = hostname
        self.network = network
        self.mounts = mounts
        self.hostsFile = hostsFile
        self.resolvConf = resolvConf
    }
}
