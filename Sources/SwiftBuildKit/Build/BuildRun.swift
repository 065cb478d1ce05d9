import Foundation
import Synchronization
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// One layer of an image being built.
struct LayerRef: Sendable, Hashable {
    var descriptor: Descriptor
    var diffID: Digest
}

extension LayerRef {
    /// The layer the layer writer just stored.
    init(_ result: LayerResult) {
        self.init(descriptor: Descriptor(mediaType: MediaType(rawValue: result.mediaType), digest: result.digest,
                                         size: result.size), diffID: result.diffID)
    }
}

/// A stage's result so far: its layers, config, history, and the identity of its file system.
struct StageState: Sendable {
    var layers: [LayerRef]
    var editor: ConfigEditor
    var history: [ImageConfig.History]
    /// The cache identity of the file system after the last step (chains every step's key).
    var key: Digest
}

/// The execution of one build: stages in dependency order, independent ones in parallel.
final class BuildRun: Sendable {
    let builder: Builder
    let request: BuildRequest
    let graph: BuildGraph
    let plan: StepPlan
    let context: BuildContext
    let fileName: String
    /// The build's target platform (this run's: a multi-platform build has one run per platform).
    let target: BuildPlatform
    /// The machine's own platform (`BUILDPLATFORM`).
    let host: BuildPlatform
    /// Every image the build names, resolved before planning: cache keys and content use the same digests.
    let images: ImageResolver
    let events: @Sendable (BuildEvent) -> Void
    /// The build's time for history entries: SOURCE_DATE_EPOCH when given.
    let now: String
    /// What the runs of this build share (imported cache, used records, claims on step keys).
    let session: BuildSession
    var checksums: ContextChecksum { session.checksums }
    var imported: [String: (record: CacheRecord, location: CacheLocation)] { session.imported }
    var importedMounts: [String: (layer: CacheRecord.Layer, location: CacheLocation)] { session.importedMounts }
    /// What step layers are checked for (nil with `--allow-secrets-in-layers`).
    let secretGuard: SecretGuard?
    /// This build's steps against the last build's, for the reason of each miss.
    let explainer: CacheMissExplainer

    init(builder: Builder, request: BuildRequest, graph: BuildGraph, plan: StepPlan, context: BuildContext,
         fileName: String, target: BuildPlatform, host: BuildPlatform, images: ImageResolver, session: BuildSession,
         events: @escaping @Sendable (BuildEvent) -> Void) throws {
        self.builder = builder
        self.request = request
        self.graph = graph
        self.plan = plan
        self.context = context
        self.fileName = fileName
        self.target = target
        self.host = host
        self.images = images
        self.session = session
        self.events = events
        var contextPath = context.directory
        if let resolved = realpath(context.directory, nil) {
            contextPath = String(cString: resolved)
            free(resolved)
        }
        explainer = CacheMissExplainer(root: builder.root, identity: [contextPath, fileName, request.target ?? "",
                                                                      target.description].joined(separator: "\u{0}"))
        if request.allowSecretsInLayers {
            secretGuard = nil
        } else {
            // Every secret given, used or not: one a step cannot read is harmless to look for. One that cannot
            // be read at all fails only the step that mounts it.
            var values: [String: [UInt8]] = [:]
            for (id, source) in request.secrets {
                if let value = try? Self.secretValue(source, id: id) { values[id] = value }
            }
            secretGuard = SecretGuard(secrets: values, buildArguments: request.buildArguments)
        }
        let seconds = request.sourceDateEpoch ?? Int64(Date().timeIntervalSince1970)
        now = RFC3339.format(secondsSinceEpoch: seconds)
    }

    /// A record from `--cache-from` for a key missing locally. It is stored locally at once (a local record
    /// whose blob is missing counts as a miss until the blob arrives); its layer is fetched later, when needed.
    func importedRecord(_ key: CacheKey) throws -> CacheRecord? {
        guard let (record, location) = imported[key.digest.description] else { return nil }
        for layer in record.layers where !builder.content.has(layer.digest) {
            session.pendingLayers.withLock { $0[layer.digest] = (layer, location) }
        }
        try builder.cache.store(record, for: key)
        return record
    }

    /// Fetches the imported layers among `digests` that are not in the content store yet.
    func ensureLayers(_ digests: [Digest]) throws {
        let exchange = CacheExchange(content: builder.content, registry: request.registry)
        for digest in digests {
            guard let (layer, location) = session.pendingLayers.withLock({ $0[digest] }) else { continue }
            try exchange.fetch(layer, from: location)
            session.pendingLayers.withLock { _ = $0.removeValue(forKey: digest) }
        }
    }

    /// Runs every needed stage, each as soon as the stages it reads are done (not in levels): a stage waits
    /// only for its own dependencies. Returns the target's state.
    func execute() async throws -> StageState {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var tasks: [Int: Task<StageState, any Error>] = [:]
            // Nodes come in dependency order, so every dependency's task exists when a stage's task is made.
            for node in graph.nodes {
                let dependencies = node.dependencies.compactMap { index in tasks[index].map { (index, $0) } }
                let task = Task { () async throws -> StageState in
                    var inputs: [Int: StageState] = [:]
                    for (index, dependency) in dependencies { inputs[index] = try await dependency.value }
                    return try await self.runStage(node, inputs)
                }
                tasks[node.stage.stage.index] = task
                group.addTask {
                    try await withTaskCancellationHandler { _ = try await task.value } onCancel: { task.cancel() }
                }
            }
            // The first failure cancels the other stages.
            do {
                try await group.waitForAll()
            } catch {
                for task in tasks.values { task.cancel() }
                throw error
            }
            guard let final = tasks[graph.target] else { throw BuildError("the target stage was not planned") }
            let state = try await final.value
            explainer.save()
            return state
        }
    }

    // MARK: - Stages

    func runStage(_ node: BuildGraph.Node, _ stages: [Int: StageState]) async throws -> StageState {
        let index = node.stage.stage.index
        let ids = plan.ids[index] ?? (0, [])
        let clock = ContinuousClock()
        let fromStart = clock.now
        events(.stepStarted(id: ids.from))
        var state: StageState
        do {
            state = try await baseState(node, stages, stepID: ids.from)
        } catch {
            let e = wrap(error, range: node.stage.stage.fromRange, instruction: "FROM \(node.stage.base)")
            events(.stepFailed(id: ids.from, seconds: (clock.now - fromStart).seconds, message: e.message))
            throw e
        }
        // ONBUILD triggers of the base image run first, as part of FROM.
        if case .image = node.base, let triggers = state.editor.config.config.onBuild, !triggers.isEmpty {
            state.editor.config.config.onBuild = nil
            do {
                try await runTriggers(triggers, &state, node: node, stepID: ids.from)
            } catch {
                let e = wrap(error, range: node.stage.stage.fromRange, instruction: "FROM \(node.stage.base) (ONBUILD)")
                events(.stepFailed(id: ids.from, seconds: (clock.now - fromStart).seconds, message: e.message))
                throw e
            }
        }
        events(.stepFinished(id: ids.from, seconds: (clock.now - fromStart).seconds, key: state.key, layerBytes: nil))

        for (i, step) in node.stage.steps.enumerated() {
            try Task.checkCancellation()
            let id = i < ids.steps.count ? ids.steps[i] : 0
            let started = clock.now
            events(.stepStarted(id: id))
            do {
                switch try await runStep(step, &state, node: node, stages: stages, stepID: id) {
                case .cached:
                    break  // `stepCached` was sent
                case .configured:
                    events(.stepFinished(id: id, seconds: (clock.now - started).seconds, key: state.key, layerBytes: nil))
                case .built(let bytes):
                    events(.stepFinished(id: id, seconds: (clock.now - started).seconds, key: state.key, layerBytes: bytes))
                }
            } catch {
                let e = wrap(error, range: step.node.range, instruction: StepPlan.firstLine(step.node.original))
                events(.stepFailed(id: id, seconds: (clock.now - started).seconds, message: e.message))
                throw e
            }
        }
        return state
    }

    func isFilesystemStep(_ instruction: Instruction) -> Bool {
        switch instruction {
        case .run, .copy, .add, .workdir: return true
        default: return false
        }
    }

    func wrap(_ error: any Error, range: SourceRange, instruction: String) -> BuildError {
        if var e = error as? BuildError {
            if e.range == nil { e.range = range }
            if e.instruction == nil { e.instruction = instruction }
            e.fileName = fileName
            return e
        }
        if error is CancellationError || (error as? SandboxError) == .cancelled {
            return BuildError("the build was cancelled", fileName: fileName, range: range, instruction: instruction)
        }
        return BuildError("\(error)", fileName: fileName, range: range, instruction: instruction)
    }

    /// The state a stage starts from.
    func baseState(_ node: BuildGraph.Node, _ stages: [Int: StageState], stepID: Int) async throws -> StageState {
        switch node.base {
        case .scratch:
            // BuildKit's empty image: the default PATH and "/" as the working directory.
            var config = ImageConfig(platform: Platform(node.platform))
            config.config.env = ["PATH=" + ConfigEditor.defaultPath]
            config.config.workingDir = "/"
            return StageState(layers: [], editor: ConfigEditor(base: config), history: [],
                              key: CacheKey([.init(name: "scratch", value: node.platform.description)]).digest)
        case .stage(let s):
            guard let state = stages[s] else { throw BuildError("stage \(s) was not built") }
            var next = state
            next.editor.cmdSetInStage = false
            return next
        case .image(let name):
            let image = try images.image(ImageRequest(name: name, platform: node.platform))
            let layers = zip(image.layers, image.diffIDs).map { LayerRef(descriptor: $0, diffID: $1) }
            var config = image.config
            let history = config.history ?? []
            config.history = nil
            return StageState(layers: layers, editor: ConfigEditor(base: config), history: history,
                              key: CacheKey([.init(name: "image", value: image.manifestDescriptor.digest.description)]).digest)
        }
    }

    func runTriggers(_ triggers: [String], _ state: inout StageState, node: BuildGraph.Node, stepID: Int) async throws {
        let text = "FROM scratch\n" + triggers.joined(separator: "\n") + "\n"
        let definition: BuildDefinition
        do { definition = try BuildDefinition(parsing: text) } catch {
            throw BuildError("invalid ONBUILD trigger in the base image: \(error.message)")
        }
        guard let stage = definition.stages.first else { return }
        let resolver = StageResolver(definition: definition, buildArguments: request.buildArguments,
                                     buildPlatform: host, targetPlatform: target)
        let resolved = try resolver.resolve(stage, baseEnvironment: state.editor.environment)
        for step in resolved.steps {
            _ = try await runStep(step, &state, node: node, stages: [:], stepID: stepID)
        }
    }

    // MARK: - Steps

    /// How a step ended.
    enum StepOutcome: Equatable {
        /// A metadata step (ENV, LABEL, CMD, …): the config changed, no layer.
        case configured
        /// The step's record came from the cache (local or imported); nothing ran.
        case cached
        /// The step ran: its layer's compressed size, 0 when it changed no file (an empty layer).
        case built(layerBytes: Int64)
    }

    /// Runs one step (events for cache hits are sent here).
    func runStep(_ step: ResolvedStep, _ state: inout StageState, node: BuildGraph.Node,
                 stages: [Int: StageState], stepID: Int) async throws -> StepOutcome {
        let instruction = step.instruction
        guard isFilesystemStep(instruction) else {
            _ = state.editor.apply(instruction)
            // ONBUILD only records its trigger: BuildKit writes no history entry for it.
            if case .onbuild = instruction { return .configured }
            // A metadata step takes the time of the entry before it (as BuildKit fills history times from
            // its layers), so a rebuild whose layers all come from the cache gives the same image.
            state.history.append(.init(created: state.history.last?.created ?? now,
                                       createdBy: state.editor.history(for: instruction), emptyLayer: true))
            return .configured
        }
        if case .workdir = instruction { _ = state.editor.apply(instruction) }

        let skipCache = request.noCache
            || (node.stage.stage.name.map { name in request.noCacheFilter.contains { $0.lowercased() == name } } ?? false)
        // A COPY that will run whatever its key (no cache, or no record of its family can exist) and qualifies
        // for a direct copy writes its layer first and hashes its files from the bytes the layer reads: then
        // its key needs no second read of them.
        var family: CacheKey?
        if case .copy = instruction {
            family = try cacheKey(step, state, node: node, stages: stages, content: false)
        }
        if let family, skipCache || (request.cacheFrom.isEmpty && !builder.cache.mayHaveRecord(family: family)) {
            let recorder = ContentHashRecorder()
            if let layer = try await directCopy(step, state: state, node: node, observer: recorder) {
                checksums.remember(recorder.results)
                // A miss for sure: the key's walk lists the files for the explanations too.
                let key = try cacheKey(step, state, node: node, stages: stages, listing: true)
                checksums.forgetRemembered()  // the stat index has them now
                events(.stepCacheKey(id: stepID, key: key))
                explainMiss(step, key: key, state: state, node: node, stepID: stepID, noCache: skipCache)
                return try record(layer, key: key, family: family, step: step, state: &state)
            }
        }

        let key = try cacheKey(step, state, node: node, stages: stages)
        events(.stepCacheKey(id: stepID, key: key))
        // Another platform's run that reaches the same key (a stage both build alike) waits for this one and
        // takes its record, even with --no-cache: one build builds a step once.
        return try await session.withClaim(key.digest) { () async throws -> StepOutcome in
            var unchecked = false
            let found: CacheRecord?
            if let made = session.produced.withLock({ $0[key.digest.description] }) {
                found = made
            } else if !skipCache {
                found = try builder.cache.lookup(key) ?? importedRecord(key)
            } else {
                found = nil
            }
            if let found {
                if secretGuard != nil && found.secretsAllowed == true {
                    unchecked = true  // made without the secret check: run the step again, and check it
                } else {
                    let (remembered, listing) = rememberedStep(step, key: key, state: state, node: node, missed: false)
                    explainer.record(remembered, listing: listing)
                    session.usedRecords.withLock { $0[key.digest.description] = found }
                    apply(found, to: &state, step: step)
                    state.key = key.digest
                    events(.stepCached(id: stepID, key: key.digest))
                    return .cached
                }
            }
            explainMiss(step, key: key, state: state, node: node, stepID: stepID, noCache: skipCache,
                        unchecked: unchecked)

            let layer = try await execute(step, state: state, node: node, stages: stages, stepID: stepID)
            return try record(layer, key: key, family: family, step: step, state: &state)
        }
    }

    /// The step as the explainer remembers it: stage, position, text, base, key parts, and the files of a
    /// context COPY.
    func rememberedStep(_ step: ResolvedStep, key: CacheKey, state: StageState, node: BuildGraph.Node,
                        missed: Bool) -> (CacheMissExplainer.Step, [ContextChecksum.Listed]?) {
        // A context COPY's files: listed (a second walk, over the stat index) when the step missed or its
        // listing was never kept.
        var listing: [ContextChecksum.Listed]?
        var listingName: String?
        if let sources = key.parts.first(where: { $0.name == "sources" }), let digest = try? Digest(parsing: sources.value) {
            if let kept = checksums.takeListing(digest) {
                listing = kept
            } else if missed || !explainer.hasListing(digest.encoded), let read = Self.fileSources(step.instruction),
                      let root = fileRoot(read.from),
                      let (again, listed) = try? checksums.listing(source: root, sources: read.paths,
                                                                    excludes: read.excludes),
                      again == digest {
                listing = listed
            }
            listingName = digest.encoded
        }
        let base: String
        switch node.base {
        case .scratch: base = "scratch"
        case .stage(let index): base = "stage \(graph.node(index)?.stage.stage.name ?? String(index))"
        case .image(let name): base = (try? images.image(ImageRequest(name: name, platform: node.platform))).map { "\(name)@\($0.manifestDescriptor.digest)" } ?? name
        }
        return (CacheMissExplainer.Step(stage: node.stage.stage.name ?? String(node.stage.stage.index),
                                        position: (node.stage.steps.firstIndex(of: step) ?? 0) + 1,
                                        text: StepPlan.firstLine(step.node.original), base: base,
                                        parts: key.parts.map(explainer.remembered), listing: listingName),
                listing)
    }

    /// Says why a step that runs missed (`stepCacheMiss`), and remembers it for the next build.
    func explainMiss(_ step: ResolvedStep, key: CacheKey, state: StageState, node: BuildGraph.Node, stepID: Int,
                     noCache: Bool, unchecked: Bool = false) {
        let (remembered, listing) = rememberedStep(step, key: key, state: state, node: node, missed: true)
        explainer.record(remembered, listing: listing)
        var explanation = explainer.explain(remembered, noCache: noCache)
        if unchecked {
            explanation = CacheMissExplanation(
                reason: "its cached result was made with --allow-secrets-in-layers and was never checked for secrets",
                parts: [], details: [])
        }
        events(.stepCacheMiss(id: stepID, explanation: explanation))
    }

    /// Stores the result of a step that ran and applies it to the stage.
    private func record(_ layers: [LayerRef], key: CacheKey, family: CacheKey?, step: ResolvedStep,
                        state: inout StageState) throws -> StepOutcome {
        let recorded = layers.map {
            CacheRecord.Layer(digest: $0.descriptor.digest, diffID: $0.diffID, size: $0.descriptor.size,
                              mediaType: $0.descriptor.mediaType)
        }
        let record = CacheRecord(layer: recorded.first,
                                 moreLayers: recorded.count > 1 ? Array(recorded.dropFirst()) : nil, created: now,
                                 secretsAllowed: secretGuard == nil && !layers.isEmpty ? true : nil)
        if let family { builder.cache.noteFamily(family) }
        try builder.cache.store(record, for: key)
        session.usedRecords.withLock { $0[key.digest.description] = record }
        session.produced.withLock { $0[key.digest.description] = record }
        apply(record, to: &state, step: step)
        state.key = key.digest
        return .built(layerBytes: layers.reduce(0) { $0 + $1.descriptor.size })
    }

    func apply(_ record: CacheRecord, to state: inout StageState, step: ResolvedStep) {
        let createdBy = state.editor.history(for: step.instruction, arguments: runArguments(step))
        if !record.layers.isEmpty {
            // A split step is several layers: one history entry each.
            for layer in record.layers {
                state.layers.append(LayerRef(descriptor: layer.descriptor, diffID: layer.diffID))
                state.history.append(.init(created: record.created, createdBy: createdBy))
            }
        } else {
            state.history.append(.init(created: record.created, createdBy: createdBy, emptyLayer: true))
        }
    }

    /// ARG values a RUN sees (and BuildKit records in its history text); proxies are left out of history.
    func runArguments(_ step: ResolvedStep) -> [Instruction.KeyValue] {
        guard case .run = step.instruction else { return [] }
        return step.arguments.filter { !StageResolver.proxyArguments.contains($0.key) }
    }

    // MARK: - Cache keys

    /// `content: false` leaves out what the step reads besides its instruction (a COPY's file checksum): the
    /// step's family (`CacheStore.mayHaveRecord`).
    func cacheKey(_ step: ResolvedStep, _ state: StageState, node: BuildGraph.Node,
                  stages: [Int: StageState], content: Bool = true, listing: Bool = false) throws -> CacheKey {
        var parts: [CacheKey.Part] = [
            .init(name: "parent", value: state.key.description),
            .init(name: "platform", value: node.platform.description),
            .init(name: "instruction", value: CacheKey.canonical(step.instruction)),
        ]
        // How the step's layer is cut, when it is not the default (so the default keys stay as they were).
        if request.splitLayers != .default && isFilesystemStep(step.instruction) {
            parts.append(.init(name: "split-layers", value: "\(request.splitLayers.maximum) \(request.splitLayers.ownLayer)"))
        }
        let config = state.editor.config.config
        switch step.instruction {
        case .run(let run):
            parts.append(.init(name: "env", value: CacheKey.canonical(state.editor.environment)))
            parts.append(.init(name: "args", value: CacheKey.canonical(step.arguments)))
            parts.append(.init(name: "user", value: config.user ?? ""))
            parts.append(.init(name: "workdir", value: state.editor.workingDirectory))
            parts.append(.init(name: "shell", value: state.editor.shell.joined(separator: " ")))
            for (i, mount) in run.mounts.enumerated() where mount.kind == .bind {
                parts.append(.init(name: "mount[\(i)]", value: try sourceIdentity(from: mount.from,
                    paths: [mount.source ?? "/"], excludes: [], node: node, stages: stages)))
            }
        case .copy, .add:
            parts.append(.init(name: "workdir", value: state.editor.workingDirectory))
            guard content, let read = Self.fileSources(step.instruction) else { return CacheKey(parts) }
            parts.append(.init(name: "sources", value: try sourceIdentity(from: read.from, paths: read.paths,
                excludes: read.excludes, node: node, stages: stages, listing: listing)))
        case .workdir:
            parts.append(.init(name: "user", value: config.user ?? ""))
        default:
            break
        }
        return CacheKey(parts)
    }

    /// What a COPY or ADD reads by path (its key's `sources`): where from (`--from`, nil: the context), the
    /// source paths (heredocs and URLs have keys of their own) and `--exclude`.
    static func fileSources(_ instruction: Instruction) -> (from: String?, paths: [String], excludes: [String])? {
        switch instruction {
        case .copy(let copy):
            return (copy.from, copy.transfer.sources.filter { !$0.hasPrefix("<<") }, copy.transfer.excludes)
        case .add(let add):
            return (nil, add.transfer.sources.filter { !$0.hasPrefix("<<") && !isURL($0) }, add.transfer.excludes)
        default:
            return nil
        }
    }

    /// The files `from` names when they are files of this machine, checksummed by content: the context (nil) or
    /// a `--build-context NAME=DIR`; nil for a stage or an image.
    func fileRoot(_ from: String?) -> CopySourceRoot? {
        guard let from else { return .context(context) }
        guard case .directory(let path) = request.buildContexts[from.lowercased()] else { return nil }
        return .directory(path)
    }

    static func isURL(_ s: String) -> Bool {
        let lower = s.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("git@")
            || lower.hasPrefix("git://")
    }

    /// What a COPY reads, as a cache key part: the content of the selected context files, or the identity
    /// of the stage or image it copies from.
    func sourceIdentity(from: String?, paths: [String], excludes: [String], node: BuildGraph.Node,
                        stages: [Int: StageState], listing: Bool = false) throws -> String {
        switch try input(from, node: node, stages: stages) {
        case .context:
            return try checksums.checksum(source: .context(context), sources: paths, excludes: excludes,
                                          keepListing: listing).description
        case .directory(let path):
            return try checksums.checksum(source: .directory(path), sources: paths, excludes: excludes,
                                          keepListing: listing).description
        case .stage(_, let state):
            return "stage:\(state.key) " + paths.joined(separator: " ")
        case .image(let image):
            return "image:\(image.manifestDescriptor.digest) " + paths.joined(separator: " ")
        }
    }

    /// What a step reads besides its own file system (`COPY --from`, `RUN --mount=from=`, or the context), as one
    /// typed value: the cache key and the content both come from it.
    enum StepInput {
        /// The build context.
        case context
        /// A directory given with `--build-context NAME=DIR`.
        case directory(String)
        /// A stage this one depends on (its index, and its result in this build).
        case stage(Int, StageState)
        /// An image, resolved once for the build.
        case image(Image)

        /// The layers to read it from (none for the context or a directory).
        var layers: [LayerRef] {
            switch self {
            case .context, .directory: return []
            case .stage(_, let state): return state.layers
            case .image(let image): return zip(image.layers, image.diffIDs).map { LayerRef(descriptor: $0, diffID: $1) }
            }
        }
    }

    /// The input `from` names (nil: the context): a directory context, a stage this one depends on (by name or
    /// index), else the image resolved for the build.
    func input(_ from: String?, node: BuildGraph.Node, stages: [Int: StageState]) throws -> StepInput {
        switch fileRoot(from) {
        case .context: return .context
        case .directory(let path): return .directory(path)
        case nil: break
        }
        guard let from else { return .context }
        if let dependency = node.dependencies.first(where: { graph.node($0)?.stage.stage.name == from.lowercased()
                                                                 || String($0) == from }) {
            guard let state = stages[dependency] else { throw BuildError("stage \(from) was not built before it was read") }
            return .stage(dependency, state)
        }
        return .image(try images.image(ImageRequest(name: from, platform: target)))
    }

    // MARK: - Execution

    /// Runs a file-system step on the current layers; returns its layer (empty when it changed nothing), nil for
    /// an instruction that writes no files.
    func execute(_ step: ResolvedStep, state: StageState, node: BuildGraph.Node,
                 stages: [Int: StageState], stepID: Int) async throws -> [LayerRef] {
        if let layers = try await directCopy(step, state: state, node: node) { return layers }
        let work = try Scratch(in: builder.scratch)
        defer { work.remove() }
        let fs = try StepFilesystem(mode: builder.snapshotter, lowers: try await unpacked(state.layers), scratch: work)

        switch step.instruction {
        case .run(let run):
            try await runProcess(run, step: step, state: state, filesystem: fs, node: node, stages: stages,
                                 stepID: stepID)
        case .copy, .add:
            try await fs.withWritableView { merged in
                try await self.copy(step, state: state, into: merged, scratch: work, node: node, stages: stages)
            }
        case .workdir:
            let user = state.editor.config.config.user ?? ""
            let dir = state.editor.workingDirectory
            try await fs.withWritableView { merged in
                let ids = try UserResolver.resolve(user, rootfs: merged)
                _ = try RootfsWriter(rootfs: merged, createdOwner: (ids.uid, ids.gid)).ensureDirectory(dir)
            }
        default:
            return []
        }

        // Walking the changes and writing the layer are blocking work: off the cooperative pool.
        let (compression, level, epoch, content, split) = (request.compression, request.compressionLevel,
                                                           request.sourceDateEpoch, builder.content, request.splitLayers)
        // A step that changed nothing still gets its (empty) layer, as in BuildKit, where every RUN, COPY, ADD
        // and WORKDIR is a layer of the image and a non-empty history entry.
        let scanner = secretGuard.map(SecretScanner.init)
        let (results, linked) = try await BlockingExecutor.shared.run {
            let entries = try fs.entries()
            let writer = try LayerWriter(compression: compression, level: level, sourceDateEpoch: epoch)
            let results = try writer.write(entries: entries, from: fs.changes, into: content, observer: scanner, split: split)
            return (results, results.count > 1 && Self.hasHardLinks(entries, under: fs.changes))
        }
        // The overlay's upper directory already holds the step's layers in overlay form: keep it as their snapshot
        // rather than extracting the blobs again (only when the tar has the same metadata as the files). A step
        // cut into several layers keeps one snapshot of them all, which the next step stacks as one lower, unless
        // it holds hard links: a cut may leave a link's second name in a later layer as a copy, which the upper
        // directory would not show.
        if fs.mode == .overlay && request.sourceDateEpoch == nil && !results.isEmpty && !linked
            && results.count <= SnapshotStore.maximumGroup {
            _ = try? builder.snapshots.adopt(directory: fs.changes, diffIDs: results.map(\.diffID))
        }
        return results.map(LayerRef.init)
    }

    /// Whether any non-directory among `entries` (paths under `root`) has more than one link.
    static func hasHardLinks(_ entries: [LayerEntry], under root: String) -> Bool {
        entries.contains { entry in
            guard case .path(let path) = entry else { return false }
            var st = stat()
            return lstat(root + "/" + path, &st) == 0 && st.st_mode & S_IFMT != S_IFDIR && st.st_nlink > 1
        }
    }

    /// Whether no later step of this build reads the file system after `step`: it is the last step of its stage
    /// that changes files, and no other stage starts from this one or reads it.
    func isUnreadLater(_ step: ResolvedStep, node: BuildGraph.Node) -> Bool {
        guard let last = node.stage.steps.lastIndex(where: { isFilesystemStep($0.instruction) }),
              node.stage.steps[last] == step else { return false }
        let index = node.stage.stage.index
        return !graph.nodes.contains { $0.dependencies.contains(index) }
    }

    /// A COPY from the build context that no later step reads, written from the context straight into its
    /// layer (`DirectCopy`); nil when the step does not qualify and must be materialised.
    func directCopy(_ step: ResolvedStep, state: StageState, node: BuildGraph.Node,
                    observer: ContentHashRecorder? = nil) async throws -> [LayerRef]? {
        guard request.streamsContextCopies, case .copy(let copy) = step.instruction, copy.from == nil, !copy.parents,
              copy.transfer.heredocs.isEmpty, isUnreadLater(step, node: node) else { return nil }
        let lowers = try await unpacked(state.layers)
        var owner: (uid: UInt32, gid: UInt32) = (0, 0)
        if let chown = copy.transfer.chown { owner = try UserResolver.owner(forChown: chown, layers: lowers) }
        let transfer = copy.transfer
        let copyRequest = CopyRequest(sources: transfer.sources.map { .path($0) },
                                      destination: state.editor.absolute(transfer.destination),
                                      owner: .init(uid: owner.uid, gid: owner.gid), chmod: transfer.chmod, parents: false,
                                      excludes: transfer.excludes, link: transfer.link, isAdd: false, checksum: nil)
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let (now, ids) = (clock, owner)
        let (context, compression, level, epoch, content) = (self.context, request.compression, request.compressionLevel,
                                                            request.sourceDateEpoch, builder.content)
        let split = request.splitLayers
        let scanner = secretGuard.map(SecretScanner.init)
        let results = try await BlockingExecutor.shared.run { () throws -> [LayerResult]? in
            let selection = try CopySelection(root: .context(context), excludes: transfer.excludes)
            guard let plan = try DirectCopy(request: copyRequest, selection: selection, lowers: lowers,
                                            owner: ids, now: now).plan() else { return nil }
            let writer = try LayerWriter(compression: compression, level: level, sourceDateEpoch: epoch)
            var observers: [any LayerContentObserver] = []
            if let observer { observers.append(observer) }
            if let scanner { observers.append(scanner) }
            return try writer.write(entries: plan.entries, from: "/", into: content,
                                    observer: LayerContentObservers(observers), split: split, sizes: plan.sizes)
        }
        guard let results else { return nil }
        session.streamedCopies.add(1, ordering: .relaxed)
        return results.map(LayerRef.init)
    }

    /// The unpacked snapshots of `layers`, top first.
    func unpacked(_ layers: [LayerRef]) async throws -> [String] {
        let digests = layers.map(\.descriptor.digest)
        try await BlockingExecutor.shared.run { try self.ensureLayers(digests) }
        var lowers: [String] = []
        var seen: Set<String> = []
        // The same layer twice in a stack (two empty steps, say) is one snapshot directory, which overlayfs
        // refuses to stack twice. The upper copy re-applies everything the lower one does, whiteouts included,
        // so keeping only the topmost occurrence gives the same tree.
        // A run of layers one step produced (split) is one snapshot when that step left it (`adopt`).
        let lengths = builder.snapshots.groupLengths().sorted(by: >)
        var top = layers.count - 1
        while top >= 0 {
            var group: (path: String, count: Int)?
            for count in lengths where count <= top + 1 {
                if let path = builder.snapshots.unpackedGroup(layers[(top - count + 1)...top].map(\.diffID)) {
                    group = (path, count)
                    break
                }
            }
            if let group {
                if seen.insert(group.path).inserted { lowers.append(group.path) }
                top -= group.count
                continue
            }
            let layer = layers[top]
            top -= 1
            guard seen.insert(builder.snapshots.path(diffID: layer.diffID)).inserted else { continue }
            lowers.append(try await builder.snapshots.unpacked(layer: layer.descriptor.digest,
                                                               mediaType: layer.descriptor.mediaType.rawValue,
                                                               diffID: layer.diffID))
        }
        return lowers
    }

    /// A read-only view of another stage's or image's file system for `COPY --from` and `--mount from=`.
    func withSourceView<T>(layers: [LayerRef], scratch: Scratch, name: String,
                           _ body: (String) async throws -> T) async throws -> T {
        try await StepFilesystem.withView(of: try await unpacked(layers), mode: builder.snapshotter, scratch: scratch,
                                          name: name, body)
    }

    /// The layers of the stage or image `from` names.
    func copy(_ step: ResolvedStep, state: StageState, into merged: String, scratch: Scratch,
              node: BuildGraph.Node, stages: [Int: StageState]) async throws {
        let transfer: Instruction.Transfer
        var from: String?
        var isAdd = false
        var parents = false
        var checksum: Digest?
        switch step.instruction {
        case .copy(let c):
            transfer = c.transfer
            from = c.from
            parents = c.parents
        case .add(let a):
            transfer = a.transfer
            isAdd = true
            if let text = a.checksum {
                do { checksum = try Digest(parsing: text) } catch {
                    throw BuildError("unsupported checksum \"\(text)\": only sha256 digests are supported")
                }
            }
        default:
            return
        }
        var owner: CopyRequest.Owner?
        if let chown = transfer.chown {
            let ids = try UserResolver.owner(forChown: chown, rootfs: merged)
            owner = .init(uid: ids.uid, gid: ids.gid)
        }
        var sources: [CopyRequest.Source] = []
        for s in transfer.sources {
            if let heredoc = transfer.heredoc(opening: s) {
                let text = heredoc.chomp ? Heredoc.chomped(heredoc.content) : heredoc.content
                sources.append(.heredoc(name: heredoc.name, contents: Array(text.utf8)))
            } else if isAdd && Self.isURL(s) {
                sources.append(.url(s))
            } else {
                sources.append(.path(s))
            }
        }
        let copyRequest = CopyRequest(sources: sources, destination: state.editor.absolute(transfer.destination),
                                      owner: owner, chmod: transfer.chmod, parents: parents,
                                      excludes: transfer.excludes, link: transfer.link, isAdd: isAdd, checksum: checksum)
        let downloads = scratch.path + "/copy"
        try Scratch.makeDirectories([downloads])
        switch try input(from, node: node, stages: stages) {
        case .context:
            try await CopyExecutor(source: .context(context), rootfs: merged, scratch: downloads).run(copyRequest)
        case .directory(let path):
            try await CopyExecutor(source: .directory(path), rootfs: merged, scratch: downloads).run(copyRequest)
        case let layered:
            try await withSourceView(layers: layered.layers, scratch: scratch, name: "copy") { source in
                try await CopyExecutor(source: .directory(source), rootfs: merged, scratch: downloads).run(copyRequest)
            }
        }
    }
}

/// A scratch directory under `<root>/tmp`, removed when the step ends.
struct Scratch: Sendable {
    let path: String

    init(in parent: String) throws {
        path = parent + "/step-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try Self.makeDirectories([path])
    }

    func remove() {
        try? FileTree.remove(path)
    }

    static func makeDirectories(_ paths: [String]) throws {
        for p in paths { try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true) }
    }
}
