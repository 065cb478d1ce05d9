import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI
@testable import SwiftBuildKit

/// Whole builds on the busybox test image, checked by unpacking the result with umoci.
@Suite(.serialized) struct BuildEndToEndTests {
    @Test(arguments: Snapshotter.allCases)
    func multiStageBuildWithMetadata(snapshotter: Snapshotter) async throws {
        let h = try BuildHarness(snapshotter: snapshotter)
        try h.write("src/app.txt", "application\n")
        try h.write("src/lib/util.txt", "utility\n")
        let result = try await h.build("""
            FROM localhost/busybox AS base
            ARG GREETING=hello
            ENV APP_HOME=/srv/app PATH=/opt/bin:$PATH
            WORKDIR $APP_HOME
            COPY src/ ./
            RUN echo "$GREETING $(id -u) $(pwd) $$" > run.txt && mkdir -p /opt/bin

            FROM base AS unused
            RUN exit 3

            FROM localhost/busybox
            COPY --from=base /srv/app /srv/app
            COPY --chown=app:app --chmod=0750 <<EOF /usr/local/bin/start
            #!/bin/sh
            cat /srv/app/run.txt
            EOF
            LABEL org.example.name="demo app" version=1
            EXPOSE 8080
            USER app
            WORKDIR /srv/app
            ENTRYPOINT ["/usr/local/bin/start"]
            """)
        let rootfs = try h.unpack(result)
        #expect(h.contents(rootfs + "/srv/app/run.txt") == "hello 0 /srv/app 1\n", "RUN ran as root in WORKDIR as PID 1")
        #expect(h.contents(rootfs + "/srv/app/app.txt") == "application\n")
        #expect(h.contents(rootfs + "/srv/app/lib/util.txt") == "utility\n")
        #expect(h.contents(rootfs + "/usr/local/bin/start") == "#!/bin/sh\ncat /srv/app/run.txt\n")
        let start = try #require(lstatMode(rootfs + "/usr/local/bin/start"))
        #expect(start.mode & 0o7777 == 0o750 && start.uid == 1000 && start.gid == 1000)
        #expect(!exists(rootfs + "/opt/bin"), "the final stage does not contain the first stage's other files")

        let config = result.imageConfig.config
        #expect(config.user == "app")
        #expect(config.workingDir == "/srv/app")
        #expect(config.entrypoint == ["/usr/local/bin/start"])
        #expect(config.cmd == nil, "ENTRYPOINT resets the inherited CMD")
        #expect(config.labels == ["org.example.name": "demo app", "version": "1"])
        #expect(config.exposedPorts == ["8080/tcp"])
        #expect(config.env?.contains { $0.hasPrefix("PATH=") } == true)
        #expect(!(config.env ?? []).contains { $0.hasPrefix("APP_HOME") }, "ENV of another stage does not leak")
        let history = result.imageConfig.history ?? []
        #expect(history.filter { !$0.emptyLayer }.count == result.imageConfig.rootfs.diffIDs.count)
        #expect(history.contains { $0.createdBy == "COPY --from=base /srv/app /srv/app # buildkit" })
        #expect(!h.executedSteps.contains("RUN exit 3"), "the unused stage is pruned")
        // The tag points at the result.
        let tagged = try h.builder.images.resolve(try ImageReference(parsing: "test:latest"))
        #expect(tagged?.digest == result.manifest.digest)
    }

    @Test func cacheHitsAndInvalidation() async throws {
        let h = try BuildHarness()
        try h.write("deps.txt", "numpy\n")
        try h.write("code.py", "print(1)\n")
        let dockerfile = """
            FROM localhost/busybox
            COPY deps.txt /app/deps.txt
            RUN cat /app/deps.txt > /app/installed.txt
            ARG VERSION=1
            RUN echo "version $VERSION" > /app/version.txt
            COPY code.py /app/code.py
            """
        let first = try await h.build(dockerfile)
        #expect(h.executedSteps.count == 4)

        // Nothing changed: every step is a hit and the image is identical.
        let second = try await h.build(dockerfile)
        #expect(h.executedSteps.isEmpty)
        #expect(h.cachedSteps.count == 4)
        #expect(second.manifest.digest == first.manifest.digest)

        // touch alone keeps every hit.
        _ = utimes(h.context + "/deps.txt", nil)
        _ = utimes(h.context + "/code.py", nil)
        try await h.build(dockerfile)
        #expect(h.executedSteps.isEmpty)

        // A file used only by the last COPY: only that step runs.
        try h.write("code.py", "print(2)\n")
        try await h.build(dockerfile)
        #expect(h.executedSteps == ["COPY code.py /app/code.py"])

        // A build arg: the steps after its declaration that see it run again, not the ones before.
        try await h.build(dockerfile) { $0.buildArguments = ["VERSION": "2"] }
        #expect(h.executedSteps == ["RUN echo \"version $VERSION\" > /app/version.txt", "COPY code.py /app/code.py"])

        // Same size, mtime restored: the content change is still seen (ctime, racy-entry rule).
        var st = stat()
        _ = stat(h.context + "/code.py", &st)
        try h.write("code.py", "print(3)\n")
        var times = [st.st_atim, st.st_mtim]
        _ = utimensat(AT_FDCWD, h.context + "/code.py", &times, 0)
        try await h.build(dockerfile) { $0.buildArguments = ["VERSION": "2"] }
        #expect(h.executedSteps == ["COPY code.py /app/code.py"])
        // And unchanged again after that: all hits (the index remembered the new content).
        try await h.build(dockerfile) { $0.buildArguments = ["VERSION": "2"] }
        #expect(h.executedSteps.isEmpty)

        // --no-cache runs everything.
        try await h.build(dockerfile) { $0.noCache = true }
        #expect(h.executedSteps.count == 4)
    }

    @Test(arguments: Snapshotter.allCases)
    func deletionsBecomeWhiteouts(snapshotter: Snapshotter) async throws {
        let h = try BuildHarness(snapshotter: snapshotter)
        let result = try await h.build("""
            FROM localhost/busybox
            RUN mkdir -p /data/keep /data/gone /data/opaque && touch /data/keep/a /data/gone/b /data/opaque/old
            RUN rm -rf /data/gone /bin/wc && rm -rf /data/opaque && mkdir /data/opaque && touch /data/opaque/new
            RUN rm /data/keep/a && echo again > /data/keep/a
            """)
        let rootfs = try h.unpack(result)
        #expect(!exists(rootfs + "/data/gone"))
        #expect(!exists(rootfs + "/bin/wc"), "a file of the base image is deleted")
        #expect(exists(rootfs + "/bin/cat"))
        #expect(!exists(rootfs + "/data/opaque/old") && exists(rootfs + "/data/opaque/new"))
        #expect(h.contents(rootfs + "/data/keep/a") == "again\n")
    }

    @Test func failedRunSaysWhereAndWhy() async throws {
        let h = try BuildHarness()
        do {
            try await h.build("FROM localhost/busybox\n\nRUN echo first line && echo boom >&2 && exit 7\n")
            Issue.record("the build should fail")
        } catch let error as BuildError {
            #expect(error.range?.start.line == 3)
            #expect(error.description.contains("Dockerfile:3:1: RUN echo first line"))
            #expect(error.description.contains("exit code: 7"))
            #expect(error.outputTail.contains("boom"))
        }
        // The store stays usable and nothing is left mounted.
        let mounts = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        #expect(!mounts.contains(h.root))
        try await h.build("FROM localhost/busybox\nRUN true\n")
    }

    @Test func runIsIsolated() async throws {
        let h = try BuildHarness()
        let marker = h.directory.path + "/host-marker"
        try Data("host".utf8).write(to: URL(fileURLWithPath: marker))
        try await h.build("""
            FROM localhost/busybox
            RUN echo "pid $$"; ps; test ! -e \(marker) && echo "no host file"; hostname
            RUN --network=none ls /sys/class/net
            """)
        #expect(h.output.contains("pid 1\n"), "\(h.output)")
        let processRows = h.output.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).first?.isNumber == true }
        #expect(processRows.count == 2, "only the shell and ps are visible: \(h.output)")
        #expect(h.output.contains("no host file"))
        #expect(h.output.contains("buildkitsandbox"))
        #expect(h.output.contains("lo\n") && !h.output.contains("eth"))
    }

    @Test func pathsCannotEscape() async throws {
        let h = try BuildHarness()
        try h.write("inside.txt", "inside\n")
        _ = symlink("/etc/hostname", h.context + "/abs-link")
        _ = symlink("../../../../../../etc/hostname", h.context + "/rel-link")
        // A source through a symlink resolves inside the context, where the target does not exist.
        for source in ["abs-link", "rel-link", "../../etc/hostname"] {
            do {
                let r = try await h.build("FROM localhost/busybox\nCOPY \(source) /x\n")
                let rootfs = try h.unpack(r)
                // Either refused, or whatever was copied came from inside the context (a link is kept as a link).
                #expect(h.contents(rootfs + "/x") != h.contents("/etc/hostname") || !exists(rootfs + "/x"))
            } catch is BuildError {
            }
        }
        // A destination through a symlink in the image stays inside the rootfs.
        let r = try await h.build("""
            FROM localhost/busybox
            RUN ln -s / /escape && ln -s ../../../../.. /up
            COPY inside.txt /escape/tmp/a.txt
            COPY inside.txt /up/tmp/b.txt
            """)
        let rootfs = try h.unpack(r)
        #expect(h.contents(rootfs + "/tmp/a.txt") == "inside\n")
        #expect(h.contents(rootfs + "/tmp/b.txt") == "inside\n")
        #expect(!exists("/tmp/a.txt") || h.contents("/tmp/a.txt") != "inside\n")
    }

    @Test func reproducibleWithSourceDateEpoch() async throws {
        let h = try BuildHarness()
        try h.write("a.txt", "a\n")
        let dockerfile = "FROM localhost/busybox\nCOPY a.txt /a.txt\nRUN echo fixed > /b.txt && touch -d @100 /b.txt\n"
        // Every output format is byte-identical too.
        func outputs(_ n: Int) -> [BuildOutput] {
            [.oci(destination: h.directory.path + "/oci-\(n).tar", tar: true),
             .docker(destination: h.directory.path + "/docker-\(n).tar"),
             .tar(destination: h.directory.path + "/rootfs-\(n).tar")]
        }
        let one = try await h.build(dockerfile) { $0.noCache = true; $0.sourceDateEpoch = 1_700_000_000; $0.outputs = outputs(1) }
        // Another mtime for the context file (later than the first build, earlier than nothing it needs).
        var later = [timeval(tv_sec: Int(Date().timeIntervalSince1970) + 5, tv_usec: 0),
                     timeval(tv_sec: Int(Date().timeIntervalSince1970) + 5, tv_usec: 0)]
        _ = utimes(h.context + "/a.txt", &later)
        let two = try await h.build(dockerfile) { $0.noCache = true; $0.sourceDateEpoch = 1_700_000_000; $0.outputs = outputs(2) }
        #expect(one.manifest.digest == two.manifest.digest)
        for kind in ["oci", "docker", "rootfs"] {
            let a = FileManager.default.contents(atPath: h.directory.path + "/\(kind)-1.tar")
            #expect(a != nil && a == FileManager.default.contents(atPath: h.directory.path + "/\(kind)-2.tar"), "\(kind)")
        }
        #expect(one.imageConfig.created == "2023-11-14T22:13:20Z")
    }

    @Test func secretsNeverReachTheImage() async throws {
        let h = try BuildHarness()
        let secretFile = h.directory.path + "/token"
        try Data("s3cr3t-value".utf8).write(to: URL(fileURLWithPath: secretFile))
        let result = try await h.build("""
            FROM localhost/busybox
            RUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /len.txt
            """) { $0.secrets = ["token": .file(secretFile)] }
        let rootfs = try h.unpack(result)
        #expect(h.contents(rootfs + "/len.txt")?.trimmingCharacters(in: .whitespacesAndNewlines) == "12")
        #expect(!exists(rootfs + "/run/secrets/token"))
        for layer in result.imageConfig.rootfs.diffIDs {
            _ = layer
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: h.root + "/blobs/sha256")
        for blob in blobs {
            let data = try Data(contentsOf: URL(fileURLWithPath: h.root + "/blobs/sha256/" + blob))
            #expect(data.range(of: Data("s3cr3t-value".utf8)) == nil, "blob \(blob) holds the secret")
        }
    }

    @Test func cacheMountsPersistAndStayOutOfLayers() async throws {
        let h = try BuildHarness()
        let dockerfile = """
            FROM localhost/busybox
            ARG N=1
            RUN --mount=type=cache,target=/cache sh -c 'echo run$N >> /cache/log; cat /cache/log | wc -l > /count'
            """
        try await h.build(dockerfile)
        let second = try await h.build(dockerfile) { $0.buildArguments = ["N": "2"] }
        let rootfs = try h.unpack(second)
        #expect(h.contents(rootfs + "/count")?.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
        #expect(!exists(rootfs + "/cache/log"))
    }

    @Test func onbuildTriggersRunInTheChildBuild() async throws {
        let h = try BuildHarness()
        try h.write("payload.txt", "payload\n")
        try await h.build("FROM localhost/busybox\nONBUILD COPY payload.txt /from-trigger.txt\n", tags: ["parent:1"])
        let child = try await h.build("FROM parent:1\nRUN cat /from-trigger.txt\n", tags: ["child:1"])
        #expect(h.output.contains("payload"))
        #expect(child.imageConfig.config.onBuild == nil)
    }

    @Test func cancellationStopsTheBuild() async throws {
        let h = try BuildHarness()
        let dockerfile = "FROM localhost/busybox\nRUN echo running && sleep 1000\n"
        try h.write("Dockerfile", dockerfile)
        let task = Task { try await h.build(dockerfile) }
        // Cancel once the RUN is running (its first output arrived), not after a guessed delay.
        let deadline = ContinuousClock.now + .seconds(30)
        while !h.output.contains("running") {
            try #require(ContinuousClock.now < deadline, "the RUN did not start")
            try await Task.sleep(for: .milliseconds(10))
        }
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("a cancelled build should fail")
        } catch {}
        #expect(clock.now - start < .seconds(5))
        let mounts = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        #expect(!mounts.contains(h.root))
    }
}

@Suite(.serialized) struct NamedContextTests {
    @Test func parsing() throws {
        #expect(try NamedContext.parse("oci-layout:///srv/layout:v1") == .ociLayout(path: "/srv/layout", tag: "v1", digest: nil))
        #expect(try NamedContext.parse("oci-layout:///srv/layout") == .ociLayout(path: "/srv/layout", tag: nil, digest: nil))
        let d = "sha256:" + String(repeating: "a", count: 64)
        #expect(try NamedContext.parse("oci-layout:///l@\(d)") == .ociLayout(path: "/l", tag: nil, digest: try Digest(parsing: d)))
        #expect(try NamedContext.parse("docker-image://busybox:1") == .dockerImage("busybox:1"))
        #expect(try NamedContext.parse("./dir") == .directory("./dir"))
        #expect(throws: BuildRequestError.self) { try NamedContext.parse("git://x") }
        #expect(try NamedContext.parseFlag("Base=docker-image://x").0 == "base")
    }

    @Test func fromAnOCILayoutAndCopyFromADirectory() async throws {
        let h = try BuildHarness()
        // The busybox image as an OCI layout directory tagged "bb".
        let layout = h.directory.path + "/layout"
        let busybox = try #require(try h.builder.images.resolve(try ImageReference(parsing: TestImages.busyboxName)))
        try OCIArchiveExporter.write(images: [(busybox, [try ImageReference(parsing: "example/bb:bb")])],
                                     content: h.builder.content, to: layout, tar: false)
        let extra = h.directory.path + "/extra"
        try FileManager.default.createDirectory(atPath: extra, withIntermediateDirectories: true)
        try Data("from the extra context\n".utf8).write(to: URL(fileURLWithPath: extra + "/note.txt"))
        let result = try await h.build("""
            FROM base
            COPY --from=assets note.txt /note.txt
            RUN cat /note.txt
            RUN --mount=type=bind,from=assets,target=/assets cat /assets/note.txt > /mounted.txt
            """) {
            $0.buildContexts = ["base": .ociLayout(path: layout, tag: "bb", digest: nil), "assets": .directory(extra)]
        }
        #expect(h.output.contains("from the extra context"))
        // Base layer, COPY, the first RUN's layer (empty, as BuildKit keeps it), the second RUN's.
        #expect(result.imageConfig.rootfs.diffIDs.count == 4)
        #expect(result.imageConfig.history?.last?.emptyLayer != true)
        #expect(h.contents(try h.unpack(result) + "/mounted.txt") == "from the extra context\n")
        // A stage of the same name is replaced by the named context, as buildx does.
        try await h.build("FROM scratch AS base\nFROM base\nRUN echo replaced\n") {
            $0.buildContexts = ["base": .dockerImage(TestImages.busyboxName)]
        }
        #expect(h.output.contains("replaced"))
    }
}

@Suite(.serialized) struct BuildFeatureTests {
    /// A bad `-t` name fails before anything runs, and the error keeps the reference parser's error as its cause.
    @Test func invalidTagsFailBeforeTheBuild() async throws {
        let h = try BuildHarness()
        do {
            try await h.build("FROM localhost/busybox\nRUN echo ran > /ran\n", tags: ["Not A Valid:Tag!"])
            Issue.record("a build with an invalid tag should fail")
        } catch let error as BuildError {
            #expect(error.message.contains("invalid tag \"Not A Valid:Tag!\""))
            #expect(error.cause != nil)
            #expect(error.causeChain.count == 2)
        }
        #expect(!h.events.contains { if case .stepStarted = $0 { return true } else { return false } })
        #expect(h.output.isEmpty)
    }

    /// Found by building the same Dockerfiles with BuildKit: copies owned by a bare uid get gid = uid, an
    /// image FROM scratch has BuildKit's default PATH and "/" as its working directory, and a quoted heredoc
    /// source (`<<-"EOT"`) is a literal file whose tabs `<<-` removes; an unquoted one is expanded, quotes kept.
    @Test func buildKitParityOfOwnersScratchAndHeredocs() async throws {
        let h = try BuildHarness()
        try h.write("f.txt", "f\n")
        let result = try await h.build("""
            FROM scratch
            ARG WHO=world
            COPY --chown=1000 f.txt /owned-by-uid
            COPY --chown=1000:7 f.txt /owned-by-uid-gid
            COPY --chown=app f.txt /owned-by-name
            COPY <<-"EOT" /literal.txt
            \thello $WHO "quoted"
            \t\tindented
            EOT
            COPY <<EOT /expanded.txt
            hello $WHO "quoted"
            EOT

            """)
        let config = result.imageConfig.config
        #expect(config.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        #expect(config.workingDir == "/")
        let rootfs = try h.unpack(result)
        #expect(lstatMode(rootfs + "/owned-by-uid").map { [$0.uid, $0.gid] } == [1000, 1000])
        #expect(lstatMode(rootfs + "/owned-by-uid-gid").map { [$0.uid, $0.gid] } == [1000, 7])
        // No /etc/passwd in this image: BuildKit leaves an unknown name at 0:0.
        #expect(lstatMode(rootfs + "/owned-by-name").map { [$0.uid, $0.gid] } == [0, 0])
        #expect(h.contents(rootfs + "/literal.txt") == "hello $WHO \"quoted\"\nindented\n")
        #expect(h.contents(rootfs + "/expanded.txt") == "hello world \"quoted\"\n")
    }

    @Test func heredocScriptsUsersAndMounts() async throws {
        let h = try BuildHarness()
        try h.write("data/input.txt", "from the context\n")
        let result = try await h.build("""
            FROM localhost/busybox AS tools
            RUN mkdir -p /opt/tools && echo "tool v1" > /opt/tools/VERSION

            FROM localhost/busybox
            RUN <<EOF
            echo "script line 1"
            echo "script line 2" > /script.txt
            EOF
            RUN <<'EOF'
            #!/bin/sh -e
            echo "shebang \\$0"
            EOF
            RUN cat <<EOT > /cat.txt
            heredoc via the shell
            EOT
            USER app
            RUN id > /tmp/id.txt && cp /tmp/id.txt /home/app/id.txt
            USER root
            RUN --mount=type=bind,source=data,target=/ctx cat /ctx/input.txt > /bound.txt
            RUN --mount=type=bind,from=tools,source=/opt/tools,target=/t cat /t/VERSION > /tool.txt
            RUN --mount=type=bind,source=data,target=/rw,rw echo scribble > /rw/input.txt && cat /rw/input.txt
            RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && test -f /scratch/x
            WORKDIR /created/by/workdir
            """)
        let rootfs = try h.unpack(result)
        #expect(h.output.contains("script line 1"))
        #expect(h.contents(rootfs + "/script.txt") == "script line 2\n")
        #expect(h.output.contains("shebang"))
        #expect(h.contents(rootfs + "/cat.txt") == "heredoc via the shell\n")
        let id = h.contents(rootfs + "/home/app/id.txt") ?? ""
        #expect(id.contains("uid=1000(app)") && id.contains("gid=1000(app)") && id.contains("2000(extra)"), "\(id)")
        #expect(h.contents(rootfs + "/bound.txt") == "from the context\n")
        #expect(h.contents(rootfs + "/tool.txt") == "tool v1\n")
        #expect(h.contents(h.context + "/data/input.txt") == "from the context\n", "writes to an rw bind mount are discarded")
        #expect(!exists(rootfs + "/ctx") && !exists(rootfs + "/t") && !exists(rootfs + "/rw") && !exists(rootfs + "/scratch"),
                "mount points leave nothing in the image")
        #expect(exists(rootfs + "/created/by/workdir"))
    }

    @Test func addExtractsArchivesAndRefusesGit() async throws {
        let h = try BuildHarness()
        let staging = h.directory.path + "/archive"
        try FileManager.default.createDirectory(atPath: staging + "/pkg", withIntermediateDirectories: true)
        try Data("packed\n".utf8).write(to: URL(fileURLWithPath: staging + "/pkg/file.txt"))
        try runTool("/bin/tar", ["-czf", h.context + "/pkg.tar.gz", "-C", staging, "pkg"])
        let result = try await h.build("FROM localhost/busybox\nADD pkg.tar.gz /opt/\nCOPY pkg.tar.gz /kept/\n")
        let rootfs = try h.unpack(result)
        #expect(h.contents(rootfs + "/opt/pkg/file.txt") == "packed\n")
        #expect(exists(rootfs + "/kept/pkg.tar.gz"), "COPY does not extract")
        do {
            try await h.build("FROM localhost/busybox\nADD https://github.com/moby/buildkit.git#v0.12 /src\n")
            Issue.record("git sources should fail clearly")
        } catch let error as BuildError {
            #expect(error.description.contains("not supported"), "\(error)")
            #expect(error.range?.start.line == 2)
        }
    }

    @Test func independentStagesRunInParallel() async throws {
        let h = try BuildHarness()
        try await h.build("""
            FROM localhost/busybox AS a
            RUN sleep 1 && echo a > /a
            FROM localhost/busybox AS b
            RUN sleep 1 && echo b > /b
            FROM localhost/busybox
            COPY --from=a /a /a
            COPY --from=b /b /b
            """)
        // Both RUN steps start before either finishes (timing-free, so it holds on a loaded machine).
        var planned: [Int: String] = [:]
        var order: [String] = []
        for event in h.events {
            switch event {
            case .stepPlanned(let s): planned[s.id] = s.text
            case .stepStarted(let id) where planned[id]?.hasPrefix("RUN sleep") == true: order.append("start")
            case .stepFinished(let id, _, _, _) where planned[id]?.hasPrefix("RUN sleep") == true: order.append("end")
            default: break
            }
        }
        #expect(order == ["start", "start", "end", "end"], "\(order)")
    }
}
