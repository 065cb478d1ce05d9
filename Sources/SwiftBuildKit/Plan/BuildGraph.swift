import SwiftBuildDockerfile

/// An image a build reads, by the name it is written with, for one platform.
public struct ImageRequest: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var platform: BuildPlatform

    public init(name: String, platform: BuildPlatform) {
        self.name = name
        self.platform = platform
    }

    public var description: String { "\(platform) \(name)" }
}

/// The stages a build needs, with their dependencies: a stage depends on the stage its FROM names, on
/// every stage a `COPY --from` or `RUN --mount=from=` names, and (through ONBUILD triggers) on nothing else.
/// Only stages reachable from the target are kept, so a broken stage the target does not use cannot fail
/// the build. Stages come out in an order where dependencies go first; independent stages may run in parallel.
public struct BuildGraph: Sendable, Equatable {
    /// Where a stage's base comes from.
    public enum Base: Sendable, Equatable {
        case scratch
        /// An earlier stage, by index.
        case stage(Int)
        /// An image reference, as written after expansion.
        case image(String)
    }

    public struct Node: Sendable, Equatable {
        public var stage: ResolvedStage
        public var base: Base
        /// Indices of the stages this one needs (its base stage and every `--from` stage), sorted.
        public var dependencies: [Int]
        /// Images named by `COPY --from` or `--mount from=` (not stages).
        public var imageInputs: [String]
        /// The platform the stage builds for: FROM `--platform` when given, else the base stage's platform for
        /// a stage built on another (as in BuildKit), else the build's target platform. Its base image is
        /// resolved for it, its RUN steps run as it (emulated when it is not the host's), its key names it.
        public var platform: BuildPlatform
        /// The base's ENV, for a stage with no steps.
        var baseEnvironment: [Instruction.KeyValue] = []

        /// ENV at the end of the stage.
        public var finalEnvironment: [Instruction.KeyValue] { stage.steps.last?.environment ?? baseEnvironment }
    }

    /// Needed stages by index, in dependency order.
    public var nodes: [Node]
    /// The stage the build produces.
    public var target: Int

    /// Plans a build of `target` (the last stage if nil). Stages are resolved (expanded) only if needed.
    /// `imageEnvironment` gives the ENV of a base image (by the name FROM uses, for the stage's platform), so words can be expanded
    /// with it; a stage based on another stage starts with that stage's final ENV.
    /// Names in `namedContexts` (`--build-context`) are images even where a stage has the same name.
    public init(definition: BuildDefinition, target: String?, resolver: StageResolver,
                namedContexts: Set<String> = [],
                imageEnvironment: (String, BuildPlatform) -> [Instruction.KeyValue] = { _, _ in [] })
        throws(DockerfileError) {
        let targetStage = try definition.target(target)
        self.target = targetStage.index
        var resolved: [Int: Node] = [:]
        var visiting: Set<Int> = []
        var order: [Int] = []

        func visit(_ index: Int) throws(DockerfileError) {
            if resolved[index] != nil { return }
            let stage = definition.stages[index]
            guard !visiting.contains(index) else {
                throw DockerfileError("circular dependency detected on stage: \(stage.name ?? String(index))",
                                      range: stage.fromRange)
            }
            visiting.insert(index)
            defer { visiting.remove(index) }

            let (base, platformText) = try resolver.resolveFrom(stage)
            let baseKind: Base
            if namedContexts.contains(base.lowercased()) {
                baseKind = .image(base)
            } else if base.lowercased() == "scratch" {
                baseKind = .scratch
            } else if let s = definition.stage(named: base, before: index), s.index != index {
                baseKind = .stage(s.index)
            } else {
                baseKind = .image(base)
            }
            var dependencies: Set<Int> = []
            if case .stage(let s) = baseKind {
                try visit(s)
                dependencies.insert(s)
            }
            var platform = resolver.targetPlatform
            if let platformText {
                guard let parsed = BuildPlatform(parsing: platformText) else {
                    throw DockerfileError("failed to parse platform \(platformText): expected os/arch[/variant]",
                                          range: stage.fromRange)
                }
                platform = parsed
            } else if case .stage(let s) = baseKind, let parent = resolved[s] {
                platform = parent.platform
            }
            let environment: [Instruction.KeyValue]
            switch baseKind {
            case .scratch: environment = []
            case .image(let name): environment = imageEnvironment(name, platform)
            case .stage(let s): environment = resolved[s]?.finalEnvironment ?? []
            }
            let resolvedStage = try resolver.resolve(stage, baseEnvironment: environment)
            var images: [String] = []
            for step in resolvedStage.steps {
                for reference in Self.fromReferences(step.instruction) {
                    if namedContexts.contains(reference.lowercased()) {
                        images.append(reference)
                    } else if let s = definition.stage(named: reference, before: index) {
                        try visit(s.index)
                        dependencies.insert(s.index)
                    } else if definition.stage(named: reference) != nil {
                        // BuildKit: a stage can only be used after it is defined.
                        throw DockerfileError("stage \"\(reference)\" is used before it is defined",
                                              range: step.node.range)
                    } else {
                        images.append(reference)
                    }
                }
            }
            resolved[index] = Node(stage: resolvedStage, base: baseKind, dependencies: dependencies.sorted(),
                                   imageInputs: images, platform: platform, baseEnvironment: environment)
            order.append(index)
        }
        try visit(targetStage.index)
        nodes = order.compactMap { resolved[$0] }
    }

    /// Stage or image names an instruction reads from.
    static func fromReferences(_ instruction: Instruction) -> [String] {
        switch instruction {
        case .copy(let c): return c.from.map { [$0] } ?? []
        case .run(let r): return r.mounts.compactMap(\.from)
        default: return []
        }
    }

    /// The images the needed stages start from, each for its stage's platform, in stage order.
    public var baseImages: [ImageRequest] {
        nodes.compactMap { node in
            if case .image(let name) = node.base { return ImageRequest(name: name, platform: node.platform) }
            return nil
        }
    }

    /// The images `COPY --from` and `RUN --mount=from=` read, in stage order, for the build's target platform
    /// (as BuildKit reads an image it names only by `--from`).
    public func inputImages(target platform: BuildPlatform) -> [ImageRequest] {
        nodes.flatMap(\.imageInputs).map { ImageRequest(name: $0, platform: platform) }
    }

    /// The node of a stage index, if the build needs that stage.
    public func node(_ index: Int) -> Node? { nodes.first { $0.stage.stage.index == index } }
}
