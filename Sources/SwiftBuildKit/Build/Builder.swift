import Foundation
import Synchronization
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// Builds images from Dockerfiles, without a daemon: the library behind `swiftbuild build`.
///
/// The loop, per stage: take the base (scratch, an image from the local store, or an earlier stage); for each
/// step compute its cache key; on a hit reuse the stored layer without running or unpacking anything; on a
/// miss run it (RUN in the sandbox, COPY/ADD through an overlay view), turn the overlay's upper directory
/// into a layer written straight into the content store, and record it under the key. Metadata steps edit
/// the image config. Independent stages run in parallel.
public final class Builder: Sendable {
    public let root: String
    public let content: ContentStore
    public let images: ImageStore
    let snapshots: SnapshotStore
    let cache: CacheStore
    /// How steps get their file systems: overlayfs where the kernel allows it, else copies.
    public let snapshotter: Snapshotter
    let scratch: String

    /// Opens (creating if needed) the swiftbuild root: content store, image store, snapshots, cache.
    /// `snapshotter` nil picks overlayfs when it can be mounted here, else the copy fallback.
    public init(root: String, snapshotter: Snapshotter? = nil) throws {
        self.root = root
        scratch = root + "/tmp"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        content = try ContentStore(root: root)
        images = try ImageStore(root: root, content: content)
        snapshots = try SnapshotStore(root: root, content: content)
        cache = try CacheStore(root: root, content: content)
        self.snapshotter = snapshotter ?? Snapshotter.detect(scratch: root + "/tmp", marker: root + "/snapshots/.overlay-ok")
        recoverInterruptedBuilds()
    }

    /// Runs a build. Events arrive in order per step; the build stops at the first failing step.
    /// Cancelling the task stops running processes and releases their mounts.
    public func build(_ request: BuildRequest,
                      events: @escaping @Sendable (BuildEvent) -> Void = { _ in }) async throws -> BuildResult {
        let started = ContinuousClock.now
        let dockerfilePath = request.dockerfilePath ?? request.contextDirectory + "/Dockerfile"
        let fileName = request.dockerfilePath.map { ($0 as NSString).lastPathComponent } ?? "Dockerfile"
        let source: [UInt8]
        if let contents = request.dockerfileContents {
            source = contents
        } else {
            guard let data = FileManager.default.contents(atPath: dockerfilePath) else {
                throw BuildError("failed to read the Dockerfile: open \(dockerfilePath): no such file or directory")
            }
            source = [UInt8](data)
        }

        let hostPlatform = Platform.host
        let host = BuildPlatform(os: hostPlatform.os, architecture: hostPlatform.architecture, variant: hostPlatform.variant)
        let targetPlatform = request.platform ?? host
        var arguments = request.buildArguments
        if let epoch = request.sourceDateEpoch, arguments["SOURCE_DATE_EPOCH"] == nil {
            arguments["SOURCE_DATE_EPOCH"] = String(epoch)
        }

        // Tag names are checked before any work is done.
        var tags: [ImageReference] = []
        for name in request.tags {
            do { tags.append(try ImageReference(parsing: name)) } catch {
                throw BuildError("invalid tag \"\(name)\": \(error)", cause: error)
            }
        }

        let context: BuildContext
        do {
            let excludes = try IgnoreFileLocator.excludePatterns(dockerfilePath: dockerfilePath,
                                                                 contextDirectory: request.contextDirectory)
            context = try BuildContext(directory: request.contextDirectory, excludePatterns: excludes)
        } catch {
            throw BuildError("failed to read the build context \(request.contextDirectory): \(error)", cause: error)
        }

        // Resolve, then plan: every image the build names is resolved (pulled if missing) before the stages
        // that use it are expanded, so words see the real base environments.
        let platform = Platform(targetPlatform)
        let nextID = Mutex(1)
        let resolver = ImageResolver(builder: self, request: request, platform: platform, progress: .init(
            planned: { name in
                let id = nextID.withLock { id in defer { id += 1 }; return id }
                events(.stepPlanned(.init(id: id, stage: "internal", index: 0, count: 0,
                                          text: "load metadata for \(name)")))
                return id
            },
            events: events))
        let graph = try await Self.plan(source: source, fileName: fileName, request: request, arguments: arguments,
                                        host: host, targetPlatform: targetPlatform, resolver: resolver)

        let plan = StepPlan(graph: graph, firstID: nextID.withLock { $0 })
        for step in plan.allSteps { events(.stepPlanned(step)) }
        let lint = Self.sensitiveNameWarnings(graph: graph, source: source, fileName: fileName)
        for warning in lint.warnings { events(.warning(warning)) }
        if lint.fail && !lint.warnings.isEmpty {
            throw BuildError("lint violation (# check=error=true): \(lint.warnings.joined(separator: "; "))")
        }

        // Creating the run imports `--cache-from` records (files or a registry): blocking work.
        let run = try await BlockingExecutor.shared.run {
            try BuildRun(builder: self, request: request, graph: graph, plan: plan, context: context,
                         fileName: fileName, platform: platform, images: resolver, events: events)
        }
        let final = try await run.execute()

        // The image: config and manifest as canonical JSON in the content store.
        var config = final.editor.config
        config.rootfs = ImageConfig.RootFS(diffIDs: final.layers.map(\.diffID))
        config.history = final.history
        config.created = final.history.last?.created ?? run.now
        if let epoch = request.sourceDateEpoch { config.created = RFC3339.format(secondsSinceEpoch: epoch) }
        config.config.onBuild = config.config.onBuild.flatMap { $0.isEmpty ? nil : $0 }
        for (k, v) in request.labels {
            var labels = config.config.labels ?? [:]
            labels[k] = v
            config.config.labels = labels
        }
        // Writing the image, exporting it (files, registries) and the cache: blocking work, off the cooperative pool.
        let (content, images, scratch, imageConfig, tagged) = (self.content, self.images, self.scratch, config, tags)
        let written = try await BlockingExecutor.shared.run { () throws -> Image in
            try run.ensureLayers(final.layers.map(\.descriptor.digest))
            let written = try ImageWriter.write(config: imageConfig, layers: final.layers.map(\.descriptor),
                                               annotations: request.annotations.isEmpty ? nil : request.annotations,
                                               into: content)
            for tag in tagged { try images.tag(tag, manifest: written.manifestDescriptor) }
            let exporter = ImageExporter(content: content, scratch: scratch)
            for output in request.outputs {
                do {
                    try exporter.export(written, tags: tagged, to: output)
                } catch {
                    throw BuildError("exporting to \(output.destination): \(error)", cause: error)
                }
            }
            if !request.cacheTo.isEmpty {
                let all = run.usedRecords.withLock { $0 }
                let finalLayers = Set(final.layers.map(\.descriptor.digest))
                let exchange = CacheExchange(content: content, registry: request.registry)
                for target in request.cacheTo {
                    // min: the records whose layer is in the final image (and steps that changed nothing).
                    let records = target.mode == .max ? all : all.filter { entry in
                        entry.value.layers.isEmpty || entry.value.layers.contains { finalLayers.contains($0.digest) }
                    }
                    try run.ensureLayers(records.values.flatMap { $0.layers.map(\.digest) })
                    let mounts = target.cacheMounts ? try run.cacheMountLayers(limit: target.cacheMountsMax) : [:]
                    try exchange.export(records, mounts: mounts, to: target.location)
                }
            }
            return written
        }
        events(.buildFinished(manifest: written.manifestDescriptor.digest, config: written.configDescriptor.digest,
                              seconds: (ContinuousClock.now - started).seconds))
        return BuildResult(manifest: written.manifestDescriptor, config: written.configDescriptor, imageConfig: config,
                           tags: tags, streamedCopies: run.streamedCopies.load(ordering: .relaxed))
    }
}

extension Builder {
    /// How many rounds of resolving and planning a build may take: each round resolves the images the last
    /// plan named and not yet resolved (bases first, then `--from` images), and plans again with them.
    static let planningRounds = 16

    /// BuildKit's `SecretsUsedInArgOrEnv` check, as warnings: an ARG or ENV whose name says it holds sensitive
    /// data (`SecretGuard.namesSensitiveData`), in the stages the build runs. `# check=skip=SecretsUsedInArgOrEnv`
    /// (or `skip=all`) at the top of the Dockerfile turns it off.
    /// `# check=error=true` makes the build fail when there is any (`fail`), as in BuildKit.
    static func sensitiveNameWarnings(graph: BuildGraph, source: [UInt8], fileName: String)
        -> (warnings: [String], fail: Bool) {
        let rule = "SecretsUsedInArgOrEnv"
        var fail = false
        if let parsed = try? DockerfileParser().parse(bytes: source) {
            for directive in parsed.directives where directive.name == .check {
                for field in directive.value.split(separator: ";") {
                    let parts = field.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 2 else { continue }
                    if parts[0].lowercased() == "error" { fail = parts[1].lowercased() == "true" }
                    guard parts[0].lowercased() == "skip" else { continue }
                    let skipped = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    if skipped.contains(where: { $0 == rule || $0.lowercased() == "all" }) { return ([], false) }
                }
            }
        }
        var warnings: [String] = []
        for node in graph.nodes {
            for step in node.stage.steps {
                let names: [(String, String)]
                switch step.instruction {
                case .env(let pairs): names = pairs.map { ("ENV", $0.key) }
                case .arg(let declarations): names = declarations.map { ("ARG", $0.name) }
                default: continue
                }
                for (instruction, name) in names where SecretGuard.namesSensitiveData(name) {
                    warnings.append("\(rule): Do not use ARG or ENV instructions for sensitive data "
                                    + "(\(instruction) \"\(name)\") (\(fileName):\(step.node.range.start.line))")
                }
            }
        }
        return (warnings, fail)
    }

    /// Dockerfile → typed stages → the graph of stages the target needs, expanded with the environments of
    /// the images the resolver resolved. Images are resolved in rounds until the plan names no new one; a
    /// name that failed to resolve is an error only if the final plan still needs it.
    static func plan(source: [UInt8], fileName: String, request: BuildRequest, arguments: [String: String],
                     host: BuildPlatform, targetPlatform: BuildPlatform,
                     resolver: ImageResolver) async throws -> BuildGraph {
        func graph() throws -> BuildGraph {
            do throws(DockerfileError) {
                let definition = try BuildDefinition(DockerfileParser().parse(bytes: source))
                let stageResolver = StageResolver(definition: definition, buildArguments: arguments,
                                                  buildPlatform: host, targetPlatform: targetPlatform)
                return try BuildGraph(definition: definition, target: request.target, resolver: stageResolver,
                                      namedContexts: Set(request.buildContexts.keys)) { name in
                    resolver.resolvedImage(name).map { ConfigEditor(base: $0.config).environment } ?? []
                }
            } catch {
                throw BuildError(dockerfile: error, fileName: fileName, source: source)
            }
        }
        var planned = try graph()
        for _ in 0..<planningRounds {
            // Bases first: their ENV changes how the rest expands, `--from` names included.
            let bases = planned.baseImages.filter { !resolver.isSettled($0) }
            let inputs = planned.inputImages.filter { resolver.isImage($0) && !resolver.isSettled($0) }
            if bases.isEmpty && inputs.isEmpty {
                try requireResolved(planned, resolver: resolver, fileName: fileName)
                return planned
            }
            await resolver.resolve(bases.isEmpty ? inputs : bases)
            try Task.checkCancellation()
            planned = try graph()
        }
        throw BuildError("the Dockerfile names new images in every round of planning (after \(planningRounds) rounds)")
    }

    /// Every image the plan reads resolved; the first that did not is an error located at the instruction
    /// that names it (the FROM, or the COPY/RUN with `--from`).
    static func requireResolved(_ graph: BuildGraph, resolver: ImageResolver, fileName: String) throws {
        for node in graph.nodes {
            if case .image(let name) = node.base {
                do { _ = try resolver.image(name) } catch var error as BuildError {
                    error.fileName = fileName
                    error.range = error.range ?? node.stage.stage.fromRange
                    error.instruction = error.instruction ?? "FROM \(node.stage.base)"
                    throw error
                }
            }
            for step in node.stage.steps {
                for name in BuildGraph.fromReferences(step.instruction)
                where node.imageInputs.contains(name) && resolver.isImage(name) {
                    do { _ = try resolver.image(name) } catch var error as BuildError {
                        error.fileName = fileName
                        error.range = error.range ?? step.node.range
                        error.instruction = error.instruction ?? StepPlan.firstLine(step.node.original)
                        throw error
                    }
                }
            }
        }
    }
}

extension Platform {
    init(_ p: BuildPlatform) {
        self.init(os: p.os, architecture: p.architecture, variant: p.variant)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Step numbers for progress: every stage's FROM and steps, in the order stages are planned.
struct StepPlan: Sendable {
    /// Step ids of each stage: [stage index: (FROM id, step ids)].
    var ids: [Int: (from: Int, steps: [Int])] = [:]
    var allSteps: [BuildEvent.Step] = []

    init(graph: BuildGraph, firstID: Int = 1) {
        var next = firstID
        for node in graph.nodes {
            let stage = node.stage.stage
            let label = stage.name ?? "stage-\(stage.index)"
            let count = node.stage.steps.count + 1
            let fromID = next
            next += 1
            allSteps.append(.init(id: fromID, stage: label, index: 1, count: count,
                                  text: "FROM " + node.stage.base + (stage.name.map { " AS \($0)" } ?? "")))
            var stepIDs: [Int] = []
            for (i, step) in node.stage.steps.enumerated() {
                stepIDs.append(next)
                allSteps.append(.init(id: next, stage: label, index: i + 2, count: count,
                                      text: Self.firstLine(step.node.original)))
                next += 1
            }
            ids[stage.index] = (fromID, stepIDs)
        }
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }
}
