/// One build stage: a FROM line and the instructions up to the next FROM.
public struct Stage: Sendable, Equatable {
    /// Position among the stages (what `COPY --from=0` refers to).
    public var index: Int
    /// The `AS` name, lower-cased (stage names compare case-insensitively).
    public var name: String?
    public var from: Instruction.From
    /// The FROM line.
    public var fromRange: SourceRange
    /// Instructions after FROM, in order.
    public var instructions: [LocatedInstruction]
}

/// A Dockerfile as stages: the ARGs before the first FROM (the global scope) and the stages.
public struct BuildDefinition: Sendable, Equatable {
    /// ARGs declared before the first FROM: usable in FROM lines, and imported into a stage by `ARG NAME`.
    public var globalArgs: [LocatedInstruction]
    public var stages: [Stage]
    public var escapeToken: Unicode.Scalar

    /// Parses a Dockerfile into typed stages; every instruction is validated.
    public init(_ dockerfile: Dockerfile) throws(DockerfileError) {
        globalArgs = []
        stages = []
        escapeToken = dockerfile.escapeToken
        var names: [String: SourceRange] = [:]
        for node in dockerfile.instructions {
            let located = try InstructionParser.parse(node)
            switch located.instruction {
            case .from(let from):
                let name = from.stageName?.lowercased()
                if let name {
                    if names[name] != nil {
                        throw DockerfileError("duplicate stage name \"\(name)\"", range: node.range)
                    }
                    names[name] = node.range
                }
                stages.append(Stage(index: stages.count, name: name, from: from, fromRange: node.range, instructions: []))
            case .arg where stages.isEmpty:
                globalArgs.append(located)
            default:
                guard !stages.isEmpty else {
                    throw DockerfileError("no build stage in current context", range: node.range)
                }
                stages[stages.count - 1].instructions.append(located)
            }
        }
        if stages.isEmpty {
            throw DockerfileError("no build stage in current context", range: dockerfile.range)
        }
    }

    /// Parses Dockerfile text into typed stages.
    public init(parsing text: String) throws(DockerfileError) {
        try self.init(DockerfileParser().parse(text))
    }

    /// The stage a `FROM`, `COPY --from` or `--mount from=` names: a stage name (any case) or an index
    /// of an earlier stage. Nil means the name is an image.
    public func stage(named reference: String, before index: Int? = nil) -> Stage? {
        let limit = index ?? stages.count
        let lower = reference.lowercased()
        if let stage = stages.prefix(limit).first(where: { $0.name == lower }) { return stage }
        if let n = Int(reference), n >= 0, n < limit, String(n) == reference { return stages[n] }
        return nil
    }

    /// The stage `--target` selects: by name, or the last stage when no target is given.
    public func target(_ name: String?) throws(DockerfileError) -> Stage {
        guard let name else {
            guard let last = stages.last else { throw DockerfileError("no build stage in current context") }
            return last
        }
        guard let stage = stages.first(where: { $0.name == name.lowercased() }) else {
            throw DockerfileError("target stage \"\(name)\" could not be found")
        }
        return stage
    }
}
