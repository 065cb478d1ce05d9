import ArgumentParser
import Foundation
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildKit
import SwiftBuildOCI

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Dockerfile and a context directory.",
        discussion: """
            Flags follow docker buildx. The image is stored in the local image
            store (see `swiftbuild images`), tagged with every -t, and written to
            every -o output.

            Examples:
              swiftbuild -t app:1.2.3 .
              swiftbuild -f docker/Dockerfile --target runtime \\
                --build-arg PY=3.12 -t app .
              swiftbuild -o type=oci,dest=app.tar -t app:1.2.3 .
              swiftbuild -o type=docker,dest=app-docker.tar \\
                -o type=local,dest=rootfs -t app .
              swiftbuild -o type=oci,dest=-,compression=zstd . > app.tar
              swiftbuild -o type=oci,dest=app.tar,oci-mediatypes=false .
              swiftbuild --metadata-file meta.json -t app \\
                --annotation org.opencontainers.image.source=https://x/y .
              tar -C ctx -c . | swiftbuild -t app -    # context from stdin
              SOURCE_DATE_EPOCH=0 swiftbuild --no-cache -q .   # reproducible

            Outputs (-o, repeatable):
              type=oci,dest=FILE|DIR[,tar=false]   OCI archive or layout
              type=docker,dest=FILE                docker load, podman load,
                                                   kind load image-archive
              type=local,dest=DIR                  the root filesystem
              type=tar,dest=FILE                   the root filesystem as a tar
              dest=-                               to standard output
            Output options: oci-mediatypes=false, compression=gzip|zstd|
            uncompressed, compression-level=N, force-compression=true,
            name=NAME, annotation.KEY=VALUE, annotation-index.KEY=VALUE,
            split-layers=SIZE (cut each step's layer at SIZE; 0: never).

            Shell completion: swiftbuild --generate-completion-script bash
            (or zsh, fish).
            """
    )

    @Option(name: [.customShort("f"), .customLong("file")], help: "Name of the Dockerfile (default: CONTEXT/Dockerfile; '-' reads standard input).")
    var file: String?

    @Option(name: [.customShort("t"), .customLong("tag")], help: "Name and optionally a tag (name:tag); repeatable.")
    var tags: [String] = []

    @Option(help: "Set the target build stage to build.")
    var target: String?

    @Option(name: .customLong("build-arg"), help: "Set a build-time variable (KEY=VALUE, or KEY to take it from the environment).")
    var buildArgs: [String] = []

    @Option(name: .customLong("build-context"), help: "Additional build context (NAME=oci-layout:///path[:tag|@digest], NAME=docker-image://REF or NAME=DIR); repeatable.")
    var buildContexts: [String] = []

    @Option(help: "Set the target platforms for the build (os/arch[/variant], comma-separated or repeated: linux/amd64,linux/arm64 builds one image index).")
    var platform: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output destination (type=oci,dest=FILE[,tar=false]); repeatable.")
    var outputs: [String] = []

    @Flag(name: .customLong("no-cache"), help: "Do not use the cache when building the image.")
    var noCache = false

    @Flag(name: .customLong("explain"),
          help: "For each step that misses the cache, print every part of its key that changed since the last build (every file, every variable), not just the one-line reason.")
    var explain = false

    @Flag(name: .customLong("allow-secrets-in-layers"),
          help: "Do not fail a step whose layer holds a --secret value, a secret-looking --build-arg value, registry credentials, a private key or an AWS access key.")
    var allowSecretsInLayers = false

    @Option(name: .customLong("no-cache-filter"), help: "Do not use the cache for the named stage; repeatable.")
    var noCacheFilter: [String] = []

    @Option(name: .customLong("cache-to"), help: "Cache export destination (type=local,dest=DIR or type=registry,ref=REF, with mode=min|max, cache-mounts=true to include RUN --mount=type=cache contents, cache-mounts-max=SIZE); repeatable.")
    var cacheTo: [String] = []

    @Option(name: .customLong("cache-from"), help: "Cache import source (type=local,src=DIR or type=registry,ref=REF); repeatable.")
    var cacheFrom: [String] = []

    @Option(name: .customLong("secret"), help: "Secret to expose to the build (id=NAME,src=FILE or id=NAME,env=VAR); repeatable.")
    var secrets: [String] = []

    @Option(name: .customLong("ssh"), help: "SSH agent socket to expose (default or ID=SOCKET); repeatable.")
    var ssh: [String] = []

    @Option(name: .customLong("label"), help: "Set metadata for the image (KEY=VALUE); repeatable.")
    var labels: [String] = []

    @Option(help: "Set type of progress output (auto, plain, tty, json).")
    var progress: String = "auto"

    @Flag(name: .customLong("debug-cache"), help: "Print what each step's cache key was made of.")
    var debugCache = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Suppress the build output and print the image ID on success.")
    var quiet = false

    @Option(name: .customLong("iidfile"), help: "Write the image ID to the file.")
    var iidfile: String?

    @Option(help: "Layer compression: gzip, zstd or uncompressed (default: the first -o's compression=, else gzip).")
    var compression: String?

    @Option(name: .customLong("compression-level"), help: "Compression level.")
    var compressionLevel: Int?

    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    @Option(name: .customLong("metadata-file"), help: "Write build result metadata (buildx keys) to the file as JSON.")
    var metadataFile: String?

    @Option(name: .customLong("annotation"), help: "Add an annotation to the image manifest (KEY=VALUE, manifest:KEY=VALUE or index:KEY=VALUE); repeatable.")
    var annotations: [String] = []

    @Flag(help: "Ask the registry for each base image tag's current digest, even when the name is stored.")
    var pull = false

    @Flag(help: "Push the image to its registry under each -t name after the build.")
    var push = false

    @OptionGroup var registryFlags: RegistryFlags

    @Flag(help: "On failure, print the whole chain of causes.")
    var debug = false

    @Argument(help: "The build context directory ('-' reads a tar of it from standard input).")
    var context: String = "."

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let rootPath = try root ?? ContentStore.defaultRoot(environment: environment)
        var contextDirectory = context
        if context == "-" {
            guard file != "-" else { throw CommandFailure("the Dockerfile and the context cannot both come from standard input") }
            contextDirectory = try ContextArchive.unpack(fileDescriptor: 0, scratch: rootPath + "/tmp")
        }
        defer { if context == "-" { try? FileManager.default.removeItem(atPath: contextDirectory) } }
        var pushNames: [RegistryOutput] = []
        var request = BuildRequest(contextDirectory: contextDirectory)
        request.pull = pull
        let registryOptions = try registryFlags.options()
        request.registry = registryOptions
        if file == "-" {
            request.dockerfileContents = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        } else {
            request.dockerfilePath = file
        }
        request.target = target
        request.tags = tags
        request.noCache = noCache
        request.allowSecretsInLayers = allowSecretsInLayers
        request.noCacheFilter = noCacheFilter.map { $0.lowercased() }
        request.cacheTo = try cacheTo.map { try CacheExport.parse($0) }
        request.cacheFrom = try cacheFrom.map { try CacheExport.parseSource($0) }
        for entry in buildArgs {
            if let eq = entry.firstIndex(of: "=") {
                request.buildArguments[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
            } else if let value = environment[entry] {
                request.buildArguments[entry] = value
            }
        }
        for entry in labels {
            guard let eq = entry.firstIndex(of: "=") else { throw CommandFailure("invalid --label \"\(entry)\": expected KEY=VALUE") }
            request.labels[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        for entry in platform {
            guard let parsed = BuildPlatform.parseList(entry) else {
                throw CommandFailure("invalid --platform \"\(entry)\": expected os/arch[/variant][,os/arch…]")
            }
            for p in parsed where !request.platforms.contains(p) { request.platforms.append(p) }
        }
        do {
            // type=image/registry outputs are names to tag (and push); the rest are exporters.
            for output in outputs {
                if let registryOutput = try RegistryOutput.parse(output) {
                    request.tags.append(registryOutput.name)
                    if registryOutput.push { pushNames.append(registryOutput) }
                } else {
                    request.outputs.append(try BuildOutput.parse(output))
                }
            }
            // Manifest annotations go on the image itself (stored, tagged, and in every output); index ones
            // on each OCI output's index.json.
            for annotation in annotations {
                var parsed = ExportOptions()
                try parsed.addAnnotation(annotation)
                request.annotations.merge(parsed.manifestAnnotations) { _, new in new }
                for i in request.outputs.indices {
                    request.outputs[i].options.indexAnnotations.merge(parsed.indexAnnotations) { _, new in new }
                }
            }
            for c in buildContexts {
                let (name, context) = try NamedContext.parseFlag(c)
                request.buildContexts[name] = context
            }
            for s in secrets {
                let (id, source) = try SecretSource.parse(s)
                request.secrets[id] = source
            }
        } catch {
            throw CommandFailure(error.description)
        }
        for entry in ssh {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let id = parts[0]
            let socket = parts.count > 1 ? parts[1] : environment["SSH_AUTH_SOCK"] ?? ""
            guard !socket.isEmpty else { throw CommandFailure("--ssh \(entry): no socket given and SSH_AUTH_SOCK is not set") }
            request.sshSockets[id] = socket
        }
        if let epoch = environment["SOURCE_DATE_EPOCH"] ?? request.buildArguments["SOURCE_DATE_EPOCH"] {
            guard let seconds = Int64(epoch) else { throw CommandFailure("invalid SOURCE_DATE_EPOCH \"\(epoch)\"") }
            request.sourceDateEpoch = seconds
        }
        let firstOutput = request.outputs.first { $0.options.compression != nil }?.options
        let compressionName = compression ?? firstOutput?.compression?.rawValue ?? "gzip"
        guard let layerCompression = LayerCompression(rawValue: compressionName) else {
            throw CommandFailure("invalid --compression \"\(compressionName)\": use gzip, zstd or uncompressed")
        }
        request.compression = layerCompression
        if push {
            guard !tags.isEmpty else { throw CommandFailure("--push needs at least one -t name") }
            pushNames += tags.map { RegistryOutput(name: $0, push: true) }
        }
        request.compressionLevel = compressionLevel ?? (compression == nil ? firstOutput?.compressionLevel : nil)
        if let size = request.outputs.compactMap({ $0.options.splitLayers }).min() {
            request.splitLayers = size == 0 ? .never : LayerSplit(maximum: size)
        }

        let mode: ProgressRenderer.Mode
        switch progress {
        case "json": mode = .json
        case "plain": mode = .plain
        case "tty": mode = .tty
        case "auto": mode = isatty(2) == 1 && !explain ? .tty : .plain  // --explain's lines need plain output
        default: throw CommandFailure("invalid --progress \"\(progress)\": use auto, plain, tty or json")
        }
        let renderer = ProgressRenderer(mode: mode, showCacheKeys: debugCache, explain: explain) { text in
            CommandOutput.standardError(text)
        }
        let quiet = self.quiet
        do {
            let builder = try Builder(root: rootPath)
            let result = try await builder.build(request) { event in
                if !quiet { renderer.handle(event) }
            }
            if !pushNames.isEmpty {
                let pusher = ImagePusher(images: builder.images, options: registryOptions) { line in
                    if !quiet { CommandOutput.standardError(line + "\n") }
                }
                for tag in try pushNames.map({ try parseReference($0.name) }) {
                    let pushed = try pusher.push(tag, to: tag)
                    if !quiet { CommandOutput.standardError("pushed \(tag.familiar) \(pushed.digest)\n") }
                }
            }
            // The image ID; for a multi-platform build, the index digest (as buildx writes it).
            let imageID = result.platforms.isEmpty ? result.config.digest : result.manifest.digest
            if let iidfile {
                try Data(imageID.description.utf8).write(to: URL(fileURLWithPath: iidfile))
            }
            if let metadataFile {
                try BuildMetadata(result: result).write(to: metadataFile)
            }
            // Automatic GC: SWIFTBUILD_GC_KEEP_STORAGE=10GB prunes build cache (LRU) after each build.
            if let limit = environment["SWIFTBUILD_GC_KEEP_STORAGE"] {
                guard let bytes = StorageUnits.parseSize(limit) else {
                    throw CommandFailure("invalid SWIFTBUILD_GC_KEEP_STORAGE \"\(limit)\": use e.g. 10GB")
                }
                _ = try StorageManager(root: rootPath).prune(PrunePolicy(keepStorage: bytes, unusedFor: 60))
            }
            if quiet && !request.outputs.contains(where: \.isStandardOutput) {
                CommandOutput.standardOutput(imageID.description + "\n")
            } else if !quiet {
                for image in result.platforms {
                    CommandOutput.standardError("\(image.platform): image \(image.manifest.digest) ("
                        + String(format: "%.1fs", image.seconds) + ")\n")
                }
                CommandOutput.standardError((result.platforms.isEmpty ? "image " : "index ") + "\(result.manifest.digest)"
                    + (result.tags.isEmpty ? "" : " tagged " + result.tags.map(\.familiar).joined(separator: ", ")) + "\n")
            }
        } catch let error as BuildError {
            throw CommandFailure(error.description + (debug ? CauseChain.describe(error) : ""))
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("\(error)" + (debug ? CauseChain.describe(error) : ""))
        }
    }
}
