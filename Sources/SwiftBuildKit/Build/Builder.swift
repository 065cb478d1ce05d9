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

        let host = BuildPlatform.host
        // One run per target platform, all at once; the host's alone by default.
        let targets = request.platforms.isEmpty ? [host] : request.platforms
        let multiPlatform = targets.count > 1
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
        let nextID = Mutex(1)
        let resolver = ImageResolver(builder: self, request: request, host: host, multiPlatform: multiPlatform,
                                     progress: .init(
            planned: { wanted, showsPlatform in
                let id = nextID.withLock { id in defer { id += 1 }; return id }
                events(.stepPlanned(.init(id: id, stage: "internal", index: 0, count: 0,
                                          text: "load metadata for " + (showsPlatform ? "\(wanted.platform) " : "")
                                              + wanted.name,
                                          platform: showsPlatform ? wanted.platform.description : nil)))
                return id
            },
            events: events))
        var graphs: [BuildGraph] = []
        for target in targets {
            graphs.append(try await Self.plan(source: source, fileName: fileName, request: request, arguments: arguments,
                                              host: host, targetPlatform: target, resolver: resolver))
        }

        var plans: [StepPlan] = []
        for (target, graph) in zip(targets, graphs) {
            // A stage of another platform than its run's target shows both, as BuildKit does
            // (`linux/amd64->arm64`), so the runs' steps of a `$BUILDPLATFORM` stage are told apart.
            let plan = StepPlan(graph: graph, firstID: nextID.withLock { $0 }) { node in
                guard multiPlatform || node.platform != host else { return nil }
                guard multiPlatform, node.platform != target else { return node.platform.description }
                return node.platform.description + "->" + [target.architecture, target.variant].compactMap { $0 }
                    .joined(separator: "/")
            }
            nextID.withLock { $0 = plan.nextID }
            plans.append(plan)
            for step in plan.allSteps { events(.stepPlanned(step)) }
        }
        var warned: Set<String> = []
        var lintFailed = false
        for graph in graphs {
            let lint = Self.sensitiveNameWarnings(graph: graph, source: source, fileName: fileName)
            for warning in lint.warnings where warned.insert(warning).inserted { events(.warning(warning)) }
            lintFailed = lintFailed || (lint.fail && !lint.warnings.isEmpty)
        }
        if lintFailed {
            throw BuildError("lint violation (# check=error=true): \(warned.sorted().joined(separator: "; "))")
        }

        // Creating the session imports `--cache-from` records (files or a registry): blocking work.
        let session = try await BlockingExecutor.shared.run {
            try BuildSession(builder: self, request: request, events: events)
        }
        var made: [BuildRun] = []
        for (target, (graph, plan)) in zip(targets, zip(graphs, plans)) {
            made.append(try BuildRun(builder: self, request: request, graph: graph, plan: plan, context: context,
                                     fileName: fileName, target: target, host: host, images: resolver,
                                     session: session, events: events))
        }
        let runs = made
        // The platforms build side by side; the first failure cancels the others.
        let finals = try await withThrowingTaskGroup(of: (Int, StageState, Double).self) { group in
            for (i, run) in runs.enumerated() {
                group.addTask {
                    let clock = ContinuousClock()
                    let started = clock.now
                    let state = try await run.execute()
                    return (i, state, (clock.now - started).seconds)
                }
            }
            var out: [Int: (StageState, Double)] = [:]
            do {
                for try await (i, state, seconds) in group { out[i] = (state, seconds) }
            } catch {
                group.cancelAll()
                throw error
            }
            return runs.indices.map { out[$0]! }
        }

        // The images: config and manifest (and for several platforms, an index) as canonical JSON in the
        // content store.
        let configs = zip(runs, finals).map { run, final in Self.imageConfig(final.0, run: run, request: request) }
        // Writing the images, exporting them (files, registries) and the cache: blocking work, off the
        // cooperative pool.
        let (content, images, scratch, tagged) = (self.content, self.images, self.scratch, tags)
        let written = try await BlockingExecutor.shared.run { () throws -> ImageSet in
            var built: [(platform: Platform, image: Image)] = []
            for (i, run) in runs.enumerated() {
                let layers = finals[i].0.layers
                try run.ensureLayers(layers.map(\.descriptor.digest))
                built.append((Platform(run.target), try ImageWriter.write(
                    config: configs[i], layers: layers.map(\.descriptor),
                    annotations: request.annotations.isEmpty ? nil : request.annotations, into: content)))
            }
            let written: ImageSet = multiPlatform ? try ImageWriter.writeIndex(built, into: content) : .image(built[0].image)
            for tag in tagged { try images.tag(tag, manifest: written.descriptor) }
            let exporter = ImageExporter(content: content, scratch: scratch)
            for output in request.outputs {
                do {
                    try exporter.export(written, tags: tagged, to: output)
                } catch {
                    throw BuildError("exporting to \(output.destination): \(error)", cause: error)
                }
            }
            if !request.cacheTo.isEmpty {
                // Every platform's records, together.
                let all = session.usedRecords.withLock { $0 }
                let finalLayers = Set(finals.flatMap { $0.0.layers.map(\.descriptor.digest) })
                let exchange = CacheExchange(content: content, registry: request.registry)
                for target in request.cacheTo {
                    // min: the records whose layer is in a final image (and steps that changed nothing).
                    let records = target.mode == .max ? all : all.filter { entry in
                        entry.value.layers.isEmpty || entry.value.layers.contains { finalLayers.contains($0.digest) }
                    }
                    try runs[0].ensureLayers(records.values.flatMap { $0.layers.map(\.digest) })
                    let mounts = target.cacheMounts ? try runs[0].cacheMountLayers(limit: target.cacheMountsMax) : [:]
                    try exchange.export(records, mounts: mounts, to: target.location)
                }
            }
            return written
        }
        let platformResults = zip(written.platformImages, finals).map { entry, final in
            BuildResult.PlatformResult(platform: entry.platform, manifest: entry.image.manifestDescriptor,
                                       config: entry.image.configDescriptor, seconds: final.1)
        }
        let first = written.platformImages[0].image
        events(.buildFinished(manifest: written.descriptor.digest, config: first.configDescriptor.digest,
                              seconds: (ContinuousClock.now - started).seconds))
        return BuildResult(manifest: written.descriptor, config: first.configDescriptor, imageConfig: configs[0],
                           tags: tags, streamedCopies: session.streamedCopies.load(ordering: .relaxed),
                           platforms: multiPlatform ? platformResults : [], written: written)
    }

    /// The image config of a run's final stage: its layers' diff IDs, history, created time and `--label`s.
    static func imageConfig(_ final: StageState, run: BuildRun, request: BuildRequest) -> ImageConfig {
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
        return config
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
                                      namedContexts: Set(request.buildContexts.keys)) { name, platform in
                    resolver.resolvedImage(ImageRequest(name: name, platform: platform))
                        .map { ConfigEditor(base: $0.config).environment } ?? []
                }
            } catch {
                throw BuildError(dockerfile: error, fileName: fileName, source: source)
            }
        }
        var planned = try graph()
        for _ in 0..<planningRounds {
            // Bases first: their ENV changes how the rest expands, `--from` names included.
            let bases = planned.baseImages.filter { !resolver.isSettled($0) }
            let inputs = planned.inputImages(target: targetPlatform)
                .filter { resolver.isImage($0.name) && !resolver.isSettled($0) }
            if bases.isEmpty && inputs.isEmpty {
                try requireResolved(planned, resolver: resolver, fileName: fileName, target: targetPlatform)
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
    static func requireResolved(_ graph: BuildGraph, resolver: ImageResolver, fileName: String,
                                target: BuildPlatform) throws {
        for node in graph.nodes {
            if case .image(let name) = node.base {
                do { _ = try resolver.image(ImageRequest(name: name, platform: node.platform)) } catch var error as BuildError {
                    error.fileName = fileName
                    error.range = error.range ?? node.stage.stage.fromRange
                    error.instruction = error.instruction ?? "FROM \(node.stage.base)"
                    throw error
                }
            }
            for step in node.stage.steps {
                for name in BuildGraph.fromReferences(step.instruction)
                where node.imageInputs.contains(name) && resolver.isImage(name) {
                    do { _ = try resolver.image(ImageRequest(name: name, platform: target)) } catch var error as BuildError {
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

extension BuildPlatform {
    /// This machine's platform, normalized (`linux/amd64`, `linux/arm64`).
    static var host: BuildPlatform {
        let host = Platform.host
        return BuildPlatform(os: host.os, architecture: host.architecture, variant: host.variant).normalized
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
    /// The first id after this plan's.
    var nextID: Int

    /// `platform` gives the platform a stage's steps show (nil: none).
    init(graph: BuildGraph, firstID: Int = 1, platform: (BuildGraph.Node) -> String? = { _ in nil }) {
        var next = firstID
        for node in graph.nodes {
            let stage = node.stage.stage
            let label = stage.name ?? "stage-\(stage.index)"
            let count = node.stage.steps.count + 1
            let shown = platform(node)
            let fromID = next
            next += 1
            allSteps.append(.init(id: fromID, stage: label, index: 1, count: count,
                                  text: "FROM " + node.stage.base + (stage.name.map { " AS \($0)" } ?? ""),
                                  platform: shown))
            var stepIDs: [Int] = []
            for (i, step) in node.stage.steps.enumerated() {
                stepIDs.append(next)
                allSteps.append(.init(id: next, stage: label, index: i + 2, count: count,
                                      text: Self.firstLine(step.node.original), platform: shown))
                next += 1
            }
            ids[stage.index] = (fromID, stepIDs)
        }
        nextID = next
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }
}
