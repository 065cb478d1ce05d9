import SwiftBuildDockerfile
import SwiftBuildOCI

/// Applies metadata instructions to an image config the way BuildKit does, and writes BuildKit's history text.
struct ConfigEditor {
    static let defaultShell = ["/bin/sh", "-c"]
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    var config: ImageConfig
    /// Whether CMD was set in this stage (ENTRYPOINT clears an inherited CMD only).
    var cmdSetInStage = false

    init(base: ImageConfig) {
        config = base
    }

    var shell: [String] { config.config.shell ?? Self.defaultShell }

    /// The image's environment as ordered key/value pairs.
    var environment: [Instruction.KeyValue] {
        (config.config.env ?? []).map { entry in
            guard let eq = entry.firstIndex(of: "=") else { return .init(key: entry, value: "") }
            return .init(key: String(entry[..<eq]), value: String(entry[entry.index(after: eq)...]))
        }
    }

    var workingDirectory: String { config.config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/" }

    /// Joins a WORKDIR or COPY destination with the current working directory, as BuildKit does.
    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return Self.clean(workingDirectory + "/" + path, keepTrailingSlash: path.hasSuffix("/"))
    }

    static func clean(_ path: String, keepTrailingSlash: Bool = false) -> String {
        var parts: [Substring] = []
        for p in path.split(separator: "/", omittingEmptySubsequences: true) {
            if p == "." { continue }
            if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(p)
        }
        let joined = "/" + parts.joined(separator: "/")
        return keepTrailingSlash && joined != "/" ? joined + "/" : joined
    }

    /// Applies a metadata instruction. Returns false for instructions that change files (RUN, COPY, ADD).
    mutating func apply(_ instruction: Instruction) -> Bool {
        switch instruction {
        case .env(let pairs):
            var env = environment
            for kv in pairs {
                if let i = env.firstIndex(where: { $0.key == kv.key }) { env[i].value = kv.value } else { env.append(kv) }
            }
            config.config.env = env.map { "\($0.key)=\($0.value)" }
        case .label(let pairs):
            var labels = config.config.labels ?? [:]
            for kv in pairs { labels[kv.key] = kv.value }
            config.config.labels = labels
        case .maintainer(let name):
            config.author = name
        case .expose(let ports):
            var set = config.config.exposedPorts ?? []
            for p in Self.exposedPorts(ports) { set.insert(p) }
            config.config.exposedPorts = set
        case .volume(let paths):
            var set = config.config.volumes ?? []
            for p in paths { set.insert(p) }
            config.config.volumes = set
        case .user(let user):
            config.config.user = user
        case .workdir(let dir):
            config.config.workingDir = absolute(dir)
        case .cmd(let command):
            config.config.cmd = argv(command)
            // BuildKit marks every CMD so (a Windows-era field, kept for compatibility with Docker's images).
            config.config.argsEscaped = true
            cmdSetInStage = true
        case .entrypoint(let command):
            config.config.entrypoint = argv(command)
            if !cmdSetInStage { config.config.cmd = nil }
        case .shell(let shell):
            config.config.shell = shell
        case .stopSignal(let signal):
            config.config.stopSignal = signal
        case .healthcheck(.none):
            config.config.healthcheck = .init(test: ["NONE"])
        case .healthcheck(.check(let h)):
            config.config.healthcheck = .init(test: h.test, interval: h.interval, timeout: h.timeout,
                                              startPeriod: h.startPeriod, startInterval: h.startInterval,
                                              retries: h.retries)
        case .onbuild(let o):
            config.config.onBuild = (config.config.onBuild ?? []) + [o.expression]
        case .arg, .from:
            break
        case .run, .copy, .add:
            return false
        }
        return true
    }

    /// Exec form as is; shell form through the image's SHELL.
    func argv(_ command: Instruction.CommandLine) -> [String] {
        switch command {
        case .exec(let args): return args
        case .shell(let text): return shell + [text]
        }
    }

    /// BuildKit's `created_by` text for a history entry.
    /// EXPOSE words as the config keys BuildKit makes of them (Docker's port specs): `80` → `80/tcp`,
    /// `53/UDP` → `53/udp`, a range `8000-8002` → one key per port, `[ip:][host:]container` → the container
    /// port. Duplicates collapse.
    static func exposedPorts(_ words: [String]) -> [String] {
        var out: [String] = []
        for word in words {
            var port = word
            var proto = "tcp"
            if let slash = word.lastIndex(of: "/") {
                port = String(word[..<slash])
                proto = String(word[word.index(after: slash)...]).lowercased()
                if proto.isEmpty { proto = "tcp" }
            }
            if let colon = port.lastIndex(of: ":") { port = String(port[port.index(after: colon)...]) }
            let bounds = port.split(separator: "-", maxSplits: 1).map { UInt32($0) }
            if bounds.count == 2, let low = bounds[0], let high = bounds[1], low <= high, high <= 65535 {
                for p in low...high where !out.contains("\(p)/\(proto)") { out.append("\(p)/\(proto)") }
            } else if !out.contains(port + "/" + proto) {
                out.append(port + "/" + proto)
            }
        }
        return out
    }

    func history(for instruction: Instruction, arguments: [Instruction.KeyValue] = []) -> String {
        func quoted(_ list: [String]) -> String { "[" + list.map(\.goQuoted).joined(separator: " ") + "]" }
        switch instruction {
        case .run(let run):
            var text = "RUN "
            if !arguments.isEmpty {
                text += "|\(arguments.count) " + arguments.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + " "
            }
            return text + argv(run.command).joined(separator: " ") + " # buildkit"
        case .copy(let c):
            let from = c.from.map { "--from=\($0) " } ?? ""
            return "COPY \(from)" + (c.transfer.sources + [c.transfer.destination]).joined(separator: " ") + " # buildkit"
        case .add(let a):
            return "ADD " + (a.transfer.sources + [a.transfer.destination]).joined(separator: " ") + " # buildkit"
        case .env(let pairs): return "ENV " + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case .label(let pairs): return "LABEL " + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case .maintainer(let m): return "MAINTAINER \(m)"
        case .expose(let ports):
            return "EXPOSE map[" + Self.exposedPorts(ports).sorted().map { $0 + ":{}" }.joined(separator: " ") + "]"
        case .volume(let paths): return "VOLUME [" + paths.joined(separator: " ") + "]"
        case .user(let u): return "USER \(u)"
        case .workdir(let w): return "WORKDIR \(absolute(w))"
        case .cmd(let c): return "CMD " + quoted(argv(c))
        case .entrypoint(let e): return "ENTRYPOINT " + quoted(argv(e))
        case .shell(let s): return "SHELL [" + s.joined(separator: " ") + "]"
        case .stopSignal(let s): return "STOPSIGNAL \(s)"
        case .healthcheck(.none): return "HEALTHCHECK NONE"
        case .healthcheck(.check(let h)): return "HEALTHCHECK " + quoted(h.test)
        case .onbuild(let o): return "ONBUILD \(o.expression)"
        case .arg(let args):
            return "ARG " + args.map { arg in arg.defaultValue.map { "\(arg.name)=\($0)" } ?? arg.name }.joined(separator: " ")
        case .from(let f): return "FROM \(f.base)"
        }
    }
}
