/// An OS/architecture pair as the platform ARGs describe it (`linux/arm64/v8`).
public struct BuildPlatform: Sendable, Hashable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `os/arch[/variant]`, normalized (`normalized`); nil if malformed.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        self = BuildPlatform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil).normalized
    }

    /// A `--platform` list (`linux/amd64,linux/arm64`), normalized, each platform once, in the order given;
    /// nil if any entry is malformed or the list is empty.
    public static func parseList(_ text: String) -> [BuildPlatform]? {
        var out: [BuildPlatform] = []
        for field in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let platform = BuildPlatform(parsing: String(field.filter { !$0.isWhitespace })) else { return nil }
            if !out.contains(platform) { out.append(platform) }
        }
        return out.isEmpty ? nil : out
    }

    /// The platform as containerd normalizes it, and as BuildKit prints and matches it: Go's architecture names
    /// (`x86_64` → `amd64`, `aarch64` → `arm64`, `i386` → `386`), `arm` with a variant (v7 by default, `armhf`
    /// v7, `armel` v6), and no variant where it says nothing (`arm64/v8`, `amd64/v1`).
    public var normalized: BuildPlatform {
        var arch = architecture.lowercased()
        var variant = self.variant?.lowercased()
        if let v = variant, !v.isEmpty, v.first?.isNumber == true { variant = "v" + v }
        switch arch {
        case "x86_64", "x86-64": arch = "amd64"
        case "i386", "i486", "i586", "i686": arch = "386"
        case "aarch64": arch = "arm64"
        case "armhf": arch = "arm"; variant = "v7"
        case "armel": arch = "arm"; variant = "v6"
        default: break
        }
        switch arch {
        case "arm64" where variant == "v8": variant = nil
        case "amd64" where variant == "v1": variant = nil
        case "arm" where variant == nil || variant == "": variant = "v7"
        default: break
        }
        if variant == "" { variant = nil }
        return BuildPlatform(os: os.lowercased(), architecture: arch, variant: variant)
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// The ARGs BuildKit predefines for a platform, with the given prefix (`TARGET` or `BUILD`).
    func arguments(prefix: String) -> [(String, String)] {
        [(prefix + "PLATFORM", description), (prefix + "OS", os), (prefix + "ARCH", architecture),
         (prefix + "VARIANT", variant ?? "")]
    }
}

/// One instruction after `$VAR` expansion, with the environment in effect after it.
public struct ResolvedStep: Sendable, Equatable {
    /// The instruction with every word BuildKit expands already expanded.
    public var instruction: Instruction
    public var node: Node
    /// ENV after this step, in order (what RUN sees and the image config records).
    public var environment: [Instruction.KeyValue]
    /// ARG values in scope after this step (passed to RUN, never stored in the image config).
    public var arguments: [Instruction.KeyValue]
    /// ARGs given a value after the last ENV of the same name: in BuildKit each sets the build's environment in
    /// turn, so such an ARG is what RUN sees (and what later words expand to), while the image config keeps
    /// the ENV value.
    public var argumentsOverridingEnvironment: Set<String> = []

    public init(instruction: Instruction, node: Node, environment: [Instruction.KeyValue],
                arguments: [Instruction.KeyValue], argumentsOverridingEnvironment: Set<String> = []) {
        self.instruction = instruction
        self.node = node
        self.environment = environment
        self.arguments = arguments
        self.argumentsOverridingEnvironment = argumentsOverridingEnvironment
    }
}

/// A stage whose FROM and instructions have been expanded.
public struct ResolvedStage: Sendable, Equatable {
    public var stage: Stage
    /// FROM's base after expansion with the global ARGs.
    public var base: String
    /// FROM `--platform` after expansion, if given.
    public var platform: String?
    public var steps: [ResolvedStep]
}

/// Expands variables the way BuildKit's Dockerfile frontend does: FROM lines with the global ARGs and
/// `--build-arg` values; inside a stage, every word BuildKit expands, with ENV and the ARGs declared so
/// far (ENV wins over ARG of the same name). RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK are not expanded:
/// the shell in the container does that.
public struct StageResolver: Sendable {
    public let definition: BuildDefinition
    /// `--build-arg` values.
    public let buildArguments: [String: String]
    public let buildPlatform: BuildPlatform
    public let targetPlatform: BuildPlatform

    /// Build args that need no ARG declaration to reach RUN (and are kept out of the image history).
    public static let proxyArguments: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ]

    public init(definition: BuildDefinition, buildArguments: [String: String] = [:],
                buildPlatform: BuildPlatform, targetPlatform: BuildPlatform? = nil) {
        self.definition = definition
        self.buildArguments = buildArguments
        self.buildPlatform = buildPlatform
        self.targetPlatform = targetPlatform ?? buildPlatform
    }

    var lexer: ShellLexer { ShellLexer(escapeToken: definition.escapeToken) }

    var platformArguments: [(String, String)] {
        targetPlatform.arguments(prefix: "TARGET") + buildPlatform.arguments(prefix: "BUILD")
    }

    /// The global scope: predefined platform ARGs, then the ARGs before the first FROM in order,
    /// each overridden by `--build-arg` and its default expanded with what came before.
    public func globalScope() throws(DockerfileError) -> [Instruction.KeyValue] {
        var scope = OrderedEnvironment()
        for (k, v) in platformArguments { scope.set(k, v) }
        for located in definition.globalArgs {
            guard case .arg(let declarations) = located.instruction else { continue }
            for d in declarations {
                if let value = buildArguments[d.name] {
                    scope.set(d.name, value)
                } else if let def = d.defaultValue {
                    scope.set(d.name, try expand(def, scope, located.node))
                } else if scope.value(d.name) == nil {
                    scope.declareUnset(d.name)
                }
            }
        }
        return scope.pairs
    }

    /// Expands FROM's base and platform with the global scope.
    public func resolveFrom(_ stage: Stage) throws(DockerfileError) -> (base: String, platform: String?) {
        var scope = OrderedEnvironment()
        for kv in try globalScope() { scope.set(kv.key, kv.value) }
        let node = Node(keyword: "FROM", command: "from", flags: [], rawArguments: [], child: [], isJSONForm: false,
                        heredocs: [], range: stage.fromRange, original: "")
        let base = try expand(stage.from.base, scope, node)
        let platform = try stage.from.platform.map { (p) throws(DockerfileError) in try expand(p, scope, node) }
        guard !base.isEmpty else {
            throw DockerfileError("base name (\(stage.from.base)) should not be blank", range: stage.fromRange)
        }
        return (base, platform)
    }

    /// Expands a stage's instructions. `baseEnvironment` is the ENV of the base image (or parent stage).
    public func resolve(_ stage: Stage, baseEnvironment: [Instruction.KeyValue] = []) throws(DockerfileError) -> ResolvedStage {
        let (base, platform) = try resolveFrom(stage)
        let global = OrderedEnvironment(try globalScope())
        let declaredGlobally = Set(definition.globalArgs.flatMap { (l) -> [String] in
            if case .arg(let ds) = l.instruction { return ds.map(\.name) }
            return []
        })
        let predefined = Dictionary(platformArguments, uniquingKeysWith: { a, _ in a })

        var env = OrderedEnvironment(baseEnvironment)
        var args = OrderedEnvironment()
        /// ARGs assigned after the last ENV of their name (see `ResolvedStep.argumentsOverridingEnvironment`).
        var argsAfterEnv: Set<String> = []
        var steps: [ResolvedStep] = []

        for located in stage.instructions {
            let node = located.node
            // The expansion environment as it was before this instruction (all the words of one
            // instruction see the same values: `ENV A=1 B=$A` takes the earlier A): ARGs, overridden by ENV,
            // unless the ARG was assigned after that ENV.
            var scope = args
            for kv in env.pairs where !argsAfterEnv.contains(kv.key) { scope.set(kv.key, kv.value) }
            func x(_ word: String) throws(DockerfileError) -> String { try expand(word, scope, node) }
            /// Heredoc bodies: variables expanded, quotes kept (BuildKit's raw expansion).
            func raw(_ text: String) throws(DockerfileError) -> String {
                do {
                    return try ShellLexer(escapeToken: "\\", options: [.rawQuotes])
                        .processWord(text, environment: ShellEnvironment(entries: scope.entries))
                } catch {
                    throw DockerfileError(error.description, range: node.range)
                }
            }
            func xs(_ words: [String]) throws(DockerfileError) -> [String] {
                var out: [String] = []
                for w in words { out.append(try x(w)) }
                return out
            }
            func xo(_ word: String?) throws(DockerfileError) -> String? {
                guard let word else { return nil }
                return try x(word)
            }

            var instruction = located.instruction
            switch located.instruction {
            case .arg(let declarations):
                var expanded: [Instruction.ArgDeclaration] = []
                for d in declarations {
                    let value: String?
                    if let v = buildArguments[d.name] {
                        value = v
                    } else if d.defaultValue == nil, declaredGlobally.contains(d.name) {
                        value = global.value(d.name)
                    } else if d.defaultValue == nil, let p = predefined[d.name] {
                        value = p
                    } else {
                        value = try xo(d.defaultValue)
                    }
                    if let value {
                        args.set(d.name, value)
                        argsAfterEnv.insert(d.name)
                    } else {
                        args.declareUnset(d.name)
                    }
                    expanded.append(.init(name: d.name, defaultValue: try xo(d.defaultValue)))
                }
                instruction = .arg(expanded)
            case .env(let pairs):
                var expanded: [Instruction.KeyValue] = []
                for kv in pairs {
                    let key = try x(kv.key)
                    let value = try x(kv.value)
                    env.set(key, value)
                    argsAfterEnv.remove(key)
                    expanded.append(.init(key: key, value: value))
                }
                instruction = .env(expanded)
            case .label(let pairs):
                var expanded: [Instruction.KeyValue] = []
                for kv in pairs { expanded.append(.init(key: try x(kv.key), value: try x(kv.value))) }
                instruction = .label(expanded)
            case .expose(let ports):
                instruction = .expose(try xs(ports))
            case .volume(let paths):
                instruction = .volume(try xs(paths))
            case .user(let user):
                instruction = .user(try x(user))
            case .workdir(let dir):
                instruction = .workdir(try x(dir))
            case .stopSignal(let signal):
                instruction = .stopSignal(try x(signal))
            case .copy(var copy):
                copy.transfer = try expandTransfer(copy.transfer, x, raw)
                // BuildKit does not expand --from: a value that expansion would change is an error.
                if let from = copy.from, try expand(from, OrderedEnvironment(), node) != from {
                    throw DockerfileError("variable expansion is not supported for --from, define a new stage with "
                                          + "FROM using ARG from global scope as a workaround", range: node.range)
                }
                instruction = .copy(copy)
            case .add(var add):
                add.transfer = try expandTransfer(add.transfer, x, raw)
                add.checksum = try xo(add.checksum)
                instruction = .add(add)
            case .run(var run):
                for i in run.mounts.indices {
                    run.mounts[i].target = try xo(run.mounts[i].target)
                    run.mounts[i].source = try xo(run.mounts[i].source)
                    run.mounts[i].from = try xo(run.mounts[i].from)
                    run.mounts[i].id = try xo(run.mounts[i].id)
                }
                instruction = .run(run)
            case .from, .cmd, .entrypoint, .shell, .maintainer, .onbuild, .healthcheck:
                break
            }
            steps.append(ResolvedStep(instruction: instruction, node: node, environment: env.pairs,
                                      arguments: args.pairs, argumentsOverridingEnvironment: argsAfterEnv))
        }
        return ResolvedStage(stage: stage, base: base, platform: platform, steps: steps)
    }

    func expandTransfer(_ t: Instruction.Transfer, _ x: (String) throws(DockerfileError) -> String,
                        _ raw: (String) throws(DockerfileError) -> String) throws(DockerfileError) -> Instruction.Transfer {
        var t = t
        var sources: [String] = []
        for s in t.sources {
            // Heredoc sources are file contents, not paths: the word is left as written.
            if t.heredoc(opening: s) != nil {
                sources.append(s)
            } else {
                sources.append(try x(s))
            }
        }
        t.sources = sources
        // Bodies of unquoted heredocs are expanded (after `<<-` removed their leading tabs), quotes kept.
        for i in t.heredocs.indices where t.heredocs[i].expand {
            let body = t.heredocs[i].chomp ? Heredoc.chomped(t.heredocs[i].content) : t.heredocs[i].content
            t.heredocs[i].content = try raw(body)
            t.heredocs[i].chomp = false
        }
        t.destination = try x(t.destination)
        if let chown = t.chown { t.chown = try x(chown) }
        return t
    }

    func expand(_ word: String, _ scope: OrderedEnvironment, _ node: Node) throws(DockerfileError) -> String {
        do {
            return try lexer.processWord(word, environment: ShellEnvironment(entries: scope.entries))
        } catch {
            throw DockerfileError(error.description, range: node.range)
        }
    }
}

/// Ordered KEY=VALUE pairs where a later set replaces the value in place (as ENV does).
struct OrderedEnvironment: Sendable, Equatable {
    private(set) var pairs: [Instruction.KeyValue] = []
    private var index: [String: Int] = [:]
    private var unset: Set<String> = []

    init() {}
    init(_ pairs: [Instruction.KeyValue]) {
        for kv in pairs { set(kv.key, kv.value) }
    }

    mutating func set(_ key: String, _ value: String) {
        unset.remove(key)
        if let i = index[key] {
            pairs[i].value = value
        } else {
            index[key] = pairs.count
            pairs.append(.init(key: key, value: value))
        }
    }

    /// A name declared without a value: known, but expands as unset.
    mutating func declareUnset(_ key: String) {
        if index[key] == nil { unset.insert(key) }
    }

    func value(_ key: String) -> String? {
        index[key].map { pairs[$0].value }
    }

    var entries: [String] { pairs.map { "\($0.key)=\($0.value)" } }
}
