import Foundation
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

        let images = self.images
        let graph: BuildGraph
        switch Self.plan(source: source, request: request, arguments: arguments, host: host,
                         targetPlatform: targetPlatform, images: images) {
        case .success(let planned): graph = planned
        case .failure(let error): throw BuildError(dockerfile: error, fileName: fileName, source: source)
        }

        let context: BuildContext
        do {
            let excludes = try IgnoreFileLocator.excludePatterns(dockerfilePath: dockerfilePath,
                                                                 contextDirectory: request.contextDirectory)
            context = try BuildContext(directory: request.contextDirectory, excludePatterns: excludes)
        } catch {
            throw BuildError("failed to read the build context \(request.contextDirectory): \(error)")
        }

        let plan = StepPlan(graph: graph)
        for step in plan.allSteps { events(.stepPlanned(step)) }

        let run = try BuildRun(builder: self, request: request, graph: graph, plan: plan, context: context,
                           fileName: fileName, platform: Platform(targetPlatform), events: events)
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
        try run.ensureLayers(final.layers.map(\.descriptor.digest.description))
        let written = try ImageWriter.write(config: config, layers: final.layers.map(\.descriptor),
                                           annotations: request.annotations.isEmpty ? nil : request.annotations, into: content)
        var tags: [ImageReference] = []
        for name in request.tags {
            let ref = try ImageReference(parsing: name)
            try images.tag(ref, manifest: written.manifestDescriptor)
            tags.append(ref)
        }
        let exporter = ImageExporter(content: content, scratch: scratch)
        for output in request.outputs {
            do {
                try exporter.export(written, tags: tags, to: output)
            } catch {
                throw BuildError("exporting to \(output.destination): \(error)")
            }
        }
        if !request.cacheTo.isEmpty {
            let all = run.usedRecords.withLock { $0 }
            let finalLayers = Set(final.layers.map(\.descriptor.digest.description))
            let exchange = CacheExchange(content: content, registry: request.registry)
            for target in request.cacheTo {
                // min: the records whose layer is in the final image (and steps that changed nothing).
                let records = target.mode == .max ? all : all.filter { $0.value.layer.map { finalLayers.contains($0.digest) } ?? true }
                try run.ensureLayers(records.values.compactMap { $0.layer?.digest })
                try exchange.export(records, to: target.location)
            }
        }
        events(.buildFinished(manifest: written.manifestDescriptor.digest, config: written.configDescriptor.digest,
                              seconds: (ContinuousClock.now - started).seconds))
        return BuildResult(manifest: written.manifestDescriptor, config: written.configDescriptor, imageConfig: config, tags: tags)
    }
}

extension Builder {
    /// Dockerfile → typed stages → the graph of stages the target needs.
    static func plan(source: [UInt8], request: BuildRequest, arguments: [String: String], host: BuildPlatform,
                     targetPlatform: BuildPlatform, images: ImageStore) -> Result<BuildGraph, DockerfileError> {
        do throws(DockerfileError) {
            let definition = try BuildDefinition(DockerfileParser().parse(bytes: source))
            let resolver = StageResolver(definition: definition, buildArguments: arguments, buildPlatform: host,
                                         targetPlatform: targetPlatform)
            return .success(try BuildGraph(definition: definition, target: request.target, resolver: resolver,
                                           namedContexts: Set(request.buildContexts.keys)) { name in
                guard let ref = try? ImageReference(parsing: name),
                      let image = try? images.image(ref, platform: Platform(targetPlatform)) else { return [] }
                return ConfigEditor(base: image.config).environment
            })
        } catch {
            return .failure(error)
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

    init(graph: BuildGraph) {
        var next = 1
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
