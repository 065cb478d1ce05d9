import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildDockerfile
import SwiftBuildArchive
import SwiftBuildOCI

extension BuildRun {
    /// Runs a RUN step in the sandbox on the step's file system.
    func runProcess(_ run: Instruction.Run, step: ResolvedStep, state: StageState, filesystem fs: StepFilesystem,
                    node: BuildGraph.Node, stages: [Int: StageState], stepID: Int) async throws {
        let scratch = fs.scratch
        // A foreign platform's binaries run under qemu-user-static through binfmt_misc; none registered (and
        // none this process may register) fails the step here, before anything runs. The binaries are those of
        // the stage's image (its config's platform: the base's, which can differ from the stage's with a
        // warning), so that is the platform emulated.
        let image = state.editor.config
        let binaries = image.architecture.isEmpty ? node.platform
            : BuildPlatform(os: image.os.isEmpty ? "linux" : image.os, architecture: image.architecture,
                            variant: image.variant).normalized
        let handler = try await BlockingExecutor.shared.run { try Emulation.prepare(binaries, host: self.host) }
        if case .registered(let entry, let interpreter) = handler {
            events(.warning("registered \(interpreter) as the binfmt_misc handler \(entry) (F flag) to run \(binaries) "
                            + "steps; it stays registered for the whole machine until it restarts or "
                            + "`echo -1 > \(Emulation.directory)/\(entry)`"))
        }
        let config = state.editor.config.config
        // User and groups come from the image's /etc/passwd and /etc/group (read in a merged view).
        let user = config.user ?? ""
        let layers = fs.parentLayers
        let ids = try UserResolver.resolve(user, layers: layers)

        // Environment: the image's ENV, then ARG values it does not override; PATH as BuildKit defaults it.
        var environment = state.editor.environment
        for arg in step.arguments {
            if let i = environment.firstIndex(where: { $0.key == arg.key }) {
                if step.argumentsOverridingEnvironment.contains(arg.key) { environment[i].value = arg.value }
            } else {
                environment.append(arg)
            }
        }
        for (k, v) in request.buildArguments where StageResolver.proxyArguments.contains(k)
            && !environment.contains(where: { $0.key == k }) {
            environment.append(.init(key: k, value: v))
        }
        if !environment.contains(where: { $0.key == "PATH" }) {
            environment.insert(.init(key: "PATH", value: ConfigEditor.defaultPath), at: 0)
        }
        // As runc does for BuildKit: HOME, when the image does not set it, is the user's home in /etc/passwd, else /.
        if !environment.contains(where: { $0.key == "HOME" }) {
            environment.append(.init(key: "HOME", value: try UserResolver.home(uid: ids.uid, layers: layers)))
        }

        let (arguments, scriptMount) = try commandLine(run, shell: state.editor.shell)
        var mounts: [SandboxMount] = scriptMount.map { [$0] } ?? []
        // Cache mounts with sharing=locked (or private ones in use) hold a lock for the whole run.
        var cacheLocks: [Int32] = []
        defer { for fd in cacheLocks { close(fd) } }
        var sourceViews: [(layers: [LayerRef], target: String, source: String, readOnly: Bool)] = []
        for (i, mount) in run.mounts.enumerated() {
            let target = mount.target.map { state.editor.absolute($0) } ?? "/"
            switch mount.kind {
            case .bind:
                if let from = mount.from, case .directory(let directory) = try input(from, node: node, stages: stages) {
                    // A directory context, like the build context: writes go to a throwaway copy.
                    let path = RootedPath.host(try RootedPath.resolve(mount.source ?? "/", in: directory), in: directory)
                    if mount.readOnly {
                        mounts.append(.bind(source: path, target: target, readOnly: true))
                    } else {
                        let copy = scratch.path + "/bind-\(i)"
                        try FileManager.default.copyItem(atPath: path, toPath: copy)
                        mounts.append(.bind(source: copy, target: target, readOnly: false))
                    }
                } else if let from = mount.from {
                    sourceViews.append((try input(from, node: node, stages: stages).layers, target,
                                        mount.source ?? "/", mount.readOnly))
                } else {
                    let path = try contextPath(mount.source ?? "/")
                    // Writes to a read-write bind mount are discarded: bind a throwaway copy.
                    if !mount.readOnly {
                        let copy = scratch.path + "/bind-\(i)"
                        try FileManager.default.copyItem(atPath: path, toPath: copy)
                        mounts.append(.bind(source: copy, target: target, readOnly: false))
                    } else {
                        mounts.append(.bind(source: path, target: target, readOnly: true))
                    }
                }
            case .cache:
                let id = mount.id ?? target
                let (mode, uid, gid, sharing) = (mount.mode, mount.uid, mount.gid, mount.sharing)
                // Waiting for a locked cache mount is blocking work: off the cooperative pool.
                let (directory, lock) = try await BlockingExecutor.shared.run {
                    try self.cacheMountDirectory(id: id, sharing: sharing, mode: mode, uid: uid, gid: gid)
                }
                if let lock { cacheLocks.append(lock) }
                mounts.append(.bind(source: directory, target: target, readOnly: mount.readOnly))
            case .tmpfs:
                mounts.append(.tmpfs(target: target, sizeBytes: mount.size))
            case .secret:
                let id = mount.id ?? ""
                guard let source = request.secrets[id] else {
                    if mount.required { throw BuildError("secret \(id) not found: pass it with --secret id=\(id),src=FILE") }
                    continue
                }
                let value = try secretValue(source, id: id)
                if let env = mount.env { environment.append(.init(key: env, value: String(decoding: value, as: UTF8.self))) }
                if mount.target != nil || mount.env == nil {
                    mounts.append(.file(contents: value, target: target, mode: mount.mode ?? 0o400,
                                        uid: UInt32(mount.uid ?? 0), gid: UInt32(mount.gid ?? 0)))
                }
            case .ssh:
                let id = mount.id ?? "default"
                guard let socket = request.sshSockets[id] else {
                    if mount.required { throw BuildError("no SSH agent socket for id \"\(id)\": pass --ssh \(id)=SOCKET") }
                    continue
                }
                mounts.append(.bind(source: socket, target: target, readOnly: true))
            }
        }

        let spec = SandboxSpec(
            root: fs.sandboxRoot, arguments: arguments,
            environment: environment.map { "\($0.key)=\($0.value)" },
            workingDirectory: state.editor.workingDirectory, uid: ids.uid, gid: ids.gid,
            supplementaryGroups: ids.groups, network: run.network == .none ? .none : .host, mounts: mounts,
            resolvConf: (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: "/etc/resolv.conf")))) ?? [])

        let tail = OutputTail(lines: 10)
        let events = self.events
        let output: @Sendable ([UInt8]) -> Void = { bytes in
            tail.append(bytes)
            events(.stepOutput(id: stepID, bytes: bytes))
        }
        let session = self.session
        session.once("sandbox") {
            events(.sandbox(SandboxEnvironment.current.description(snapshotter: builder.snapshotter)))
        }
        let weaker: @Sendable (SandboxWeakness) -> Void = { weakness in
            session.once("weaker " + weakness.rawValue) {
                switch weakness {
                case .sharedProc:
                    events(.warning("RUN steps see the builder's /proc: this machine refuses a /proc of their own "
                                    + "PID namespace (a container with masked /proc paths; in Kubernetes, "
                                    + "procMount: Unmasked gives them one)"))
                }
            }
        }
        let status = try await withSourceMounts(sourceViews, scratch: scratch, spec: spec) { spec in
            // The sandbox's own scratch files live in the step's directory, so a killed build's leftovers
            // are found and removed with it.
            try await Sandbox(scratchDirectory: scratch.path).run(spec, output: output, weaker: weaker)
        }
        guard status == 0 else {
            let shown = arguments.joined(separator: " ")
            throw BuildError("process \"\(shown)\" did not complete successfully: exit code: \(status)",
                             outputTail: tail.lines)
        }
    }

    /// Mounts read-only views of stages/images for `--mount=from=` and adds them to the spec.
    func withSourceMounts(_ views: [(layers: [LayerRef], target: String, source: String, readOnly: Bool)],
                          scratch: Scratch, spec: SandboxSpec,
                          _ body: (SandboxSpec) async throws -> Int32) async throws -> Int32 {
        guard let first = views.first else { return try await body(spec) }
        return try await withSourceView(layers: first.layers, scratch: scratch, name: "mount-\(views.count)") { merged in
            var next = spec
            let path = try RootedPath.resolve(first.source, in: merged)
            next.mounts.append(.bind(source: RootedPath.host(path, in: merged), target: first.target, readOnly: true))
            return try await self.withSourceMounts(Array(views.dropFirst()), scratch: scratch, spec: next, body)
        }
    }

    /// argv of a RUN: exec form as is; shell form through SHELL; a RUN that is only a heredoc runs its body
    /// as the script, and a body that starts with `#!` is, as in BuildKit, a read-only executable file at
    /// `/dev/pipes/NAME` (the mount returned with the argv) that the shell runs.
    func commandLine(_ run: Instruction.Run, shell: [String]) throws -> ([String], SandboxMount?) {
        switch run.command {
        case .exec(let args):
            guard !args.isEmpty else { throw BuildError("RUN with an empty command") }
            return (args, nil)
        case .shell(let text):
            if let heredoc = run.heredocs.first {
                let body = heredoc.chomp ? Heredoc.chomped(heredoc.content) : heredoc.content
                // The command is nothing but the opener (`<<EOF`, `<<-"EOF"`, …): the body is the script.
                if run.heredocs.count == 1,
                   Heredoc.delimiter(openedBy: text.trimmingCharacters(in: .whitespaces)) == heredoc.name {
                    if body.hasPrefix("#!") {
                        let script = "/dev/pipes/" + heredoc.name
                        return (shell + [script], .file(contents: Array(body.utf8), target: script, mode: 0o755, uid: 0, gid: 0))
                    }
                    return (shell + [body], nil)
                }
                // `RUN python3 <<EOF …`: the shell reads the heredocs itself.
                var script = text
                for h in run.heredocs {
                    script += "\n" + h.content + h.name
                }
                return (shell + [script], nil)
            }
            return (shell + [text], nil)
        }
    }

    /// A path in the build context, never outside it.
    func contextPath(_ relative: String) throws -> String {
        let resolved = try RootedPath.resolve(relative, in: context.directory)
        return RootedPath.host(resolved, in: context.directory)
    }

    /// `<root>/cache-mounts/<id>`: persists across builds, never part of a layer or a key.
    /// `sharing=shared`: used by every build at once; `locked`: one build at a time (others wait);
    /// `private`: a build that finds it in use gets another directory of its own (`<id>-1`, `-2`, …).
    /// Returns the directory and the descriptor that holds its lock (the caller closes it when the RUN ends).
    func cacheMountDirectory(id: String, sharing: Mount.Sharing, mode: UInt32?, uid: Int?,
                             gid: Int?) throws -> (String, Int32?) {
        let base = builder.root + "/cache-mounts/" + SHA256Hasher.digest(Array(id.utf8)).encoded
        session.usedCacheMounts.withLock { $0[id] = base }
        func prepare(_ path: String) throws {
            if !FileManager.default.fileExists(atPath: path) {
                if path == base, let (layer, location) = importedMounts[id] {
                    try importMount(id: id, layer: layer, from: location, into: path)
                } else {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                    _ = chmod(path, mode_t(mode ?? 0o755))
                    _ = chown(path, uid_t(uid ?? 0), gid_t(gid ?? 0))
                }
            }
            _ = utimensat(AT_FDCWD, path, nil, 0)  // last use, for the export's most-recent-first order
        }
        /// The lock's descriptor; nil when another build holds it and `wait` is false. Waiting polls, so a
        /// cancelled build stops waiting.
        func lock(_ path: String, wait: Bool) throws -> Int32? {
            let lockPath = path + ".lock"
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw BuildError("cache mount \(id): open \(lockPath): \(String(cString: strerror(errno)))") }
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                if code == EINTR { continue }
                guard code == EWOULDBLOCK, wait else {
                    close(fd)
                    if code == EWOULDBLOCK { return nil }
                    throw BuildError("cache mount \(id): flock \(lockPath): \(String(cString: strerror(code)))")
                }
                if BlockingExecutor.isCancelled {
                    close(fd)
                    throw CancellationError()
                }
                usleep(20_000)
            }
            return fd
        }
        switch sharing {
        case .shared:
            try prepare(base)
            return (base, nil)
        case .locked:
            try prepare(base)
            return (base, try lock(base, wait: true))
        case .private:
            for n in 0..<64 {
                let path = n == 0 ? base : base + "-\(n)"
                try prepare(path)
                if let fd = try lock(path, wait: false) { return (path, fd) }
            }
            throw BuildError("cache mount \(id): too many private copies in use")
        }
    }

    /// Unpacks a cache mount's imported contents into `path` (a new directory): fetched and verified like a
    /// layer, extracted into a temp directory with the diff ID checked, then renamed into place, so a
    /// concurrent build sees the whole mount or none.
    func importMount(id: String, layer: CacheRecord.Layer, from location: CacheLocation, into path: String) throws {
        let exchange = CacheExchange(content: builder.content, registry: request.registry)
        try exchange.fetch(layer, from: location)
        let temp = path + ".import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        do {
            try SnapshotStore.extractVerified(blob: builder.content.path(for: layer.digest), layer: layer.digest,
                                              diffID: layer.diffID, into: temp)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw BuildError("cache mount \(id): importing its contents: \(error)", cause: error)
        }
        if rename(temp, path) != 0 {
            try? FileManager.default.removeItem(atPath: temp)  // another build made it first
        }
    }

    /// The contents of the cache mounts this build used, as layers in the content store, most recently used
    /// first up to `limit` bytes (before compression); the rest are left out with a warning.
    func cacheMountLayers(limit: Int64) throws -> [String: CacheRecord.Layer] {
        var used = session.usedCacheMounts.withLock { $0 }
        // The mounts of steps that hit the cache too (they did not run, but a fresh runner needs the contents
        // all the same): every cache mount the planned stages name, by its id or its absolute target.
        for node in graph.nodes {
            for step in node.stage.steps {
                guard case .run(let run) = step.instruction else { continue }
                for mount in run.mounts where mount.kind == .cache {
                    guard let id = mount.id ?? mount.target.flatMap({ $0.hasPrefix("/") ? $0 : nil }), used[id] == nil
                    else { continue }
                    let path = builder.root + "/cache-mounts/" + SHA256Hasher.digest(Array(id.utf8)).encoded
                    if FileManager.default.fileExists(atPath: path) { used[id] = path }
                }
            }
        }
        var mounts: [(id: String, path: String, used: Int64, size: Int64)] = []
        for (id, path) in used {
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            mounts.append((id, path, Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                           Self.treeSize(path)))
        }
        mounts.sort { ($0.used, $1.id) > ($1.used, $0.id) }
        var total: Int64 = 0
        var out: [String: CacheRecord.Layer] = [:]
        for mount in mounts {
            guard total + mount.size <= limit else {
                events(.warning("cache mount \(mount.id) (\(mount.size) bytes) not exported: over cache-mounts-max (\(limit) bytes)"))
                continue
            }
            total += mount.size
            let writer = try LayerWriter(compression: .gzip)
            let result = try writer.write(tree: mount.path, into: builder.content)
            out[mount.id] = CacheRecord.Layer(digest: result.digest, diffID: result.diffID, size: result.size,
                                              mediaType: MediaType(rawValue: result.mediaType))
        }
        return out
    }

    /// Bytes of the regular files below `path`.
    static func treeSize(_ path: String) -> Int64 {
        var total: Int64 = 0
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let name = enumerator?.nextObject() as? String {
            var st = stat()
            if lstat(path + "/" + name, &st) == 0 && st.st_mode & S_IFMT == S_IFREG { total += Int64(st.st_size) }
        }
        return total
    }

    func secretValue(_ source: SecretSource, id: String) throws -> [UInt8] {
        try Self.secretValue(source, id: id)
    }

    static func secretValue(_ source: SecretSource, id: String) throws -> [UInt8] {
        switch source {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw BuildError("secret \(id): cannot read \(path)")
            }
            return [UInt8](data)
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw BuildError("secret \(id): environment variable \(name) is not set")
            }
            return Array(value.utf8)
        }
    }
}

/// The last lines a process printed, for error messages.
final class OutputTail: Sendable {
    private let limit: Int
    private let buffer = Mutex<[UInt8]>([])

    init(lines: Int) { limit = lines }

    func append(_ bytes: [UInt8]) {
        buffer.withLock { buffer in
            buffer.append(contentsOf: bytes)
            if buffer.count > 64 * 1024 { buffer.removeFirst(buffer.count - 64 * 1024) }
        }
    }

    var lines: [String] {
        let text = String(decoding: buffer.withLock { $0 }, as: UTF8.self)
        return Array(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .drop { $0.isEmpty }.suffix(limit + 1).filter { !$0.isEmpty }.suffix(limit))
    }
}
