import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// Multi-platform builds: `--platform linux/amd64,linux/arm64` builds the graph once per platform into one image
/// index, the arm64 RUN steps under qemu-user-static (binfmt_misc), a `$BUILDPLATFORM` stage natively, and a stage
/// both platforms build alike only once. The base is an index of two busybox images made from Debian's
/// busybox-static packages (amd64 and arm64; scripts/setup.sh downloads the arm64 one).
@Suite(.serialized) struct MultiPlatformBuildTests {
    static let amd64 = BuildPlatform(os: "linux", architecture: "amd64")
    static let arm64 = BuildPlatform(os: "linux", architecture: "arm64")

    static let dockerfile = """
        FROM --platform=$BUILDPLATFORM localhost/busybox-multi AS shared
        RUN echo shared > /shared

        FROM --platform=$BUILDPLATFORM localhost/busybox-multi AS build
        ARG TARGETARCH
        RUN echo "built on $(uname -m) for $TARGETARCH" > /out

        FROM localhost/busybox-multi
        ARG TARGETPLATFORM BUILDPLATFORM TARGETVARIANT
        COPY --from=shared /shared /shared
        COPY --from=build /out /out
        RUN uname -m > /arch && echo "$TARGETPLATFORM $BUILDPLATFORM [$TARGETVARIANT]" > /args

        """

    static func harness() throws -> BuildHarness {
        let h = try BuildHarness()
        try TestImages.busyboxIndex(root: h.root)
        return h
    }

    /// Each platform's image of a build, unpacked with the local exporter into `DIR/linux_ARCH`.
    static func unpacked(_ h: BuildHarness, _ result: BuildResult) throws -> String {
        let dest = h.directory.path + "/local-\(UInt32.random(in: 0...UInt32.max))"
        try ImageExporter(content: h.builder.content, scratch: h.root + "/tmp")
            .export(try #require(result.written), tags: [], to: .local(destination: dest))
        return dest
    }

    @Test func twoPlatformsMakeAnIndexWithEmulatedArm64Steps() async throws {
        let h = try Self.harness()
        let result = try await h.build(Self.dockerfile, tags: ["localhost/multi/app:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
        }
        // The index lists both images, each with its platform; the tag names the index.
        #expect(result.manifest.mediaType == .ociIndex)
        guard case .index(_, let index, let images)? = result.written else {
            Issue.record("no index written")
            return
        }
        #expect(index.manifests.map { $0.platform?.description } == ["linux/amd64", "linux/arm64"])
        #expect(images.map(\.config.architecture) == ["amd64", "arm64"])
        #expect(try h.builder.images.resolve(try ImageReference(parsing: "localhost/multi/app:1"))?.digest
                == result.manifest.digest)
        #expect(result.platforms.map(\.platform.description) == ["linux/amd64", "linux/arm64"])

        let local = try Self.unpacked(h, result)
        #expect(h.contents(local + "/linux_amd64/arch") == "x86_64\n")
        #expect(h.contents(local + "/linux_arm64/arch") == "aarch64\n")
        #expect(h.contents(local + "/linux_amd64/args") == "linux/amd64 linux/amd64 []\n")
        #expect(h.contents(local + "/linux_arm64/args") == "linux/arm64 linux/amd64 []\n")
        // The $BUILDPLATFORM stage ran natively for each target (its key names TARGETARCH).
        #expect(h.contents(local + "/linux_arm64/out") == "built on x86_64 for arm64\n")
        #expect(h.contents(local + "/linux_amd64/out") == "built on x86_64 for amd64\n")
        #expect(h.contents(local + "/linux_arm64/shared") == "shared\n")

        // The shared stage's RUN ran once; the other platform's run took its record.
        #expect(h.executedSteps.filter { $0 == "RUN echo shared > /shared" }.count == 1)
        #expect(h.cachedSteps.filter { $0 == "RUN echo shared > /shared" }.count == 1)
        // Progress names the platform of every step; the arm64 ones are the emulated ones.
        let labels = h.events.compactMap { event -> String? in
            if case .stepPlanned(let step) = event { return "[\(step.label)] \(step.text)" }
            return nil
        }
        #expect(labels.contains("[linux/arm64 stage-2 5/5] RUN uname -m > /arch && echo \"$TARGETPLATFORM $BUILDPLATFORM [$TARGETVARIANT]\" > /args"))
        #expect(labels.contains("[linux/amd64 build 3/3] RUN echo \"built on $(uname -m) for $TARGETARCH\" > /out"))
        // The arm64 run's steps of that stage say for which target they build, as BuildKit's labels do.
        #expect(labels.contains("[linux/amd64->arm64 build 3/3] RUN echo \"built on $(uname -m) for $TARGETARCH\" > /out"))
        #expect(labels.contains("[internal] load metadata for linux/arm64 localhost/busybox-multi"), "\(labels)")

        // A rebuild hits the cache for both platforms and gives the same index.
        let again = try await h.build(Self.dockerfile, tags: ["localhost/multi/app:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
        }
        #expect(again.manifest.digest == result.manifest.digest)
        #expect(h.executedSteps.isEmpty)

        // With --no-cache every step runs, but the shared one still once: the other run takes its record.
        _ = try await h.build(Self.dockerfile, tags: ["localhost/multi/app:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
            $0.noCache = true
        }
        #expect(h.executedSteps.filter { $0 == "RUN echo shared > /shared" }.count == 1)
        #expect(h.executedSteps.filter { $0.hasPrefix("RUN uname -m") }.count == 2)
    }

    /// The OCI archive holds the index (skopeo reads both platforms from it); `oci-mediatypes=false` makes it
    /// a Docker manifest list; the tar output has one folder per platform; the docker archive lists both
    /// images with the tag on the host's.
    @Test func outputsHoldEveryPlatform() async throws {
        let h = try Self.harness()
        let oci = h.directory.path + "/multi.tar"
        let dockerTypes = h.directory.path + "/multi-docker-types"
        let tar = h.directory.path + "/rootfs.tar"
        let docker = h.directory.path + "/docker.tar"
        var options = ExportOptions()
        options.ociMediaTypes = false
        let result = try await h.build("FROM localhost/busybox-multi\nRUN uname -m > /arch\n",
                                       tags: ["localhost/multi/out:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
            $0.sourceDateEpoch = 0
            $0.outputs = [.oci(destination: oci, tar: true), .oci(destination: dockerTypes, tar: false, options: options),
                          .tar(destination: tar), .docker(destination: docker)]
        }
        for arch in ["amd64", "arm64"] {
            let config = try runTool("/usr/bin/skopeo", ["inspect", "--override-arch", arch, "--config",
                                                         "oci-archive:" + oci])
            #expect(config.contains("\"architecture\": \"\(arch)\""), "\(config)")
        }
        let raw = try runTool("/usr/bin/skopeo", ["inspect", "--raw", "oci-archive:" + oci])
        #expect(raw.contains("application/vnd.oci.image.index.v1+json"))
        let list = try runTool("/usr/bin/skopeo", ["inspect", "--raw", "oci:" + dockerTypes])
        #expect(list.contains("application/vnd.docker.distribution.manifest.list.v2+json"))
        #expect(list.contains("\"architecture\":\"arm64\""))
        let listing = try runTool("/usr/bin/tar", ["-tf", tar]).split(separator: "\n").map(String.init)
        #expect(listing.contains("linux_amd64/arch") && listing.contains("linux_arm64/arch"))
        let manifest = try runTool("/usr/bin/tar", ["-xOf", docker, "manifest.json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries.map { ($0["RepoTags"] as? [String]) ?? [] } == [["localhost/multi/out:1"], []])
        // Built twice with SOURCE_DATE_EPOCH, the index is the same.
        let again = try await h.build("FROM localhost/busybox-multi\nRUN uname -m > /arch\n",
                                      tags: ["localhost/multi/out:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
            $0.sourceDateEpoch = 0
            $0.noCache = true
        }
        #expect(again.manifest.digest == result.manifest.digest)
    }

    /// The index goes to a real registry (both manifests by digest, then the index under the tag); skopeo reads
    /// it back raw, a fresh root pulls the arm64 image from it, and `--cache-to`/`--cache-from` carry both
    /// platforms' records.
    @Test func indexPushPullAndCacheCarryBothPlatforms() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let h = try Self.harness()
        let name = "\(registry.host)/multi/app:1"
        let cache = h.directory.path + "/cache"
        let result = try await h.build(Self.dockerfile, tags: [name]) {
            $0.platforms = [Self.amd64, Self.arm64]
            $0.cacheTo = [try! CacheExport.parse("type=local,dest=\(cache),mode=max")]
        }
        let options = RegistryOptions(insecureRegistries: [registry.host])
        let pusher = ImagePusher(images: h.builder.images, options: options)
        let reference = try ImageReference(parsing: name)
        let pushed = try pusher.push(reference, to: reference)
        #expect(pushed.digest == result.manifest.digest)
        let raw = try runTool("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--raw", "docker://" + name])
        let index = try CanonicalJSON.decode(ImageIndex.self, from: Array(raw.utf8))
        #expect(index.manifests.compactMap { $0.platform?.description } == ["linux/amd64", "linux/arm64"])
        #expect(SHA256Hasher.digest(Array(raw.utf8)) == result.manifest.digest)

        let fresh = try TemporaryDirectory()
        let content = try ContentStore(root: fresh.path)
        let store = try ImageStore(root: fresh.path, content: content)
        let pulled = try ImagePuller(images: store, options: options).pull(reference, platform: Platform(os: "linux", architecture: "arm64"))
        let image = try store.image(pulled, platform: Platform(os: "linux", architecture: "arm64"))
        #expect(image.config.architecture == "arm64")
        #expect(image.manifestDescriptor.digest == result.platforms[1].manifest.digest)

        // A fresh root with the cache builds both platforms without running a step.
        let other = try Self.harness()
        let rebuilt = try await other.build(Self.dockerfile, tags: ["localhost/multi/app:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
            $0.cacheFrom = [.local(cache)]
        }
        #expect(other.executedSteps.isEmpty, "\(other.executedSteps)")
        #expect(rebuilt.manifest.digest == result.manifest.digest)
    }

    /// A single-platform base of another architecture is used with a warning, as in BuildKit. RUN emulates what
    /// the base's binaries are: an amd64 base in an arm64 stage runs natively, an arm64 base in an amd64 stage
    /// runs under qemu.
    @Test func wrongArchitectureBaseWarnsAndRunsAsWhatItIs() async throws {
        let h = try Self.harness()
        func warnings() -> [String] { h.events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } } }
        let native = try await h.build("FROM localhost/busybox\nRUN uname -m > /arch\n") { $0.platforms = [Self.arm64] }
        #expect(warnings().contains { $0.contains("InvalidBaseImagePlatform") && $0.contains("linux/amd64")
                                      && $0.contains("linux/arm64") }, "\(warnings())")
        #expect(try Self.file(h, native, "arch") == "x86_64\n")

        // The index's arm64 manifest alone, by digest: a single-platform arm64 image.
        let index = try #require(try h.builder.images.resolve(try ImageReference(parsing: TestImages.multiPlatformName)))
        let arm = try h.builder.images.image(index, platform: Platform(os: "linux", architecture: "arm64"))
        let emulated = try await h.build("FROM localhost/busybox-multi@\(arm.manifestDescriptor.digest)\nRUN uname -m > /arch\n") {
            $0.platforms = [Self.amd64]
        }
        #expect(warnings().contains { $0.contains("InvalidBaseImagePlatform") && $0.contains("\"linux/arm64\"") })
        #expect(try Self.file(h, emulated, "arch") == "aarch64\n")
        #expect(emulated.imageConfig.architecture == "arm64")
    }

    /// A file of a single-platform build's image.
    static func file(_ h: BuildHarness, _ result: BuildResult, _ path: String) throws -> String? {
        h.contents(try unpacked(h, result) + "/" + path)
    }

    /// amd64 image from the index's OCI layout: umoci unpacks the amd64 manifest, runc runs it.
    @Test func umociAndRuncRunTheAmd64Image() async throws {
        let h = try Self.harness()
        let layout = h.directory.path + "/layout"
        let result = try await h.build("FROM localhost/busybox-multi\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n",
                                       tags: ["localhost/multi/run:1"]) {
            $0.platforms = [Self.amd64, Self.arm64]
        }
        // umoci takes a manifest: name the amd64 one in a layout of its own.
        let amd64 = try #require(result.platforms.first { $0.platform.architecture == "amd64" })
        try OCIArchiveExporter.write(images: [(amd64.manifest, [try ImageReference(parsing: "localhost/multi/run:amd64")])],
                                     content: h.builder.content, to: layout, tar: false)
        let bundle = h.directory.path + "/bundle"
        try runTool("/usr/bin/umoci", ["unpack", "--image", layout + ":amd64", bundle])
        let run = try runcRun(bundle: bundle, stateRoot: h.directory.path + "/runc-state")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == "x86_64\n")
    }
}

/// binfmt_misc handling, against directories that stand in for /proc/sys/fs/binfmt_misc.
struct EmulationTests {
    static let arm64 = BuildPlatform(os: "linux", architecture: "arm64")
    static let host = BuildPlatform(os: "linux", architecture: "amd64")

    /// Debian's qemu-user-static entry for aarch64, as the kernel prints it.
    static let debianEntry = """
        enabled
        interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
        flags: PF
        offset 0
        magic 7f454c460201010000000000000000000200b700
        mask ffffffffffffff00fffffffffffffffffeffffff

        """

    func fakeBinfmt(_ entries: [String: String]) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try Data().write(to: URL(fileURLWithPath: dir.path + "/register"))
        try Data("enabled\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/status"))
        for (name, text) in entries { try Data(text.utf8).write(to: URL(fileURLWithPath: dir.path + "/" + name)) }
        return dir
    }

    @Test func nativeNeedsNoHandler() throws {
        #expect(try Emulation.prepare(Self.host, host: Self.host, directory: "/nonexistent") == .native)
        #expect(try Emulation.prepare(BuildPlatform(os: "linux", architecture: "386"), host: Self.host,
                                      directory: "/nonexistent") == .native)
    }

    @Test func anEntryWithTheFixFlagIsUsed() throws {
        let dir = try fakeBinfmt(["qemu-aarch64": Self.debianEntry])
        #expect(try Emulation.prepare(Self.arm64, host: Self.host, directory: dir.path, interpreters: [])
                == .emulated(entry: "qemu-aarch64", interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"))
        // The same entry does not handle arm (32-bit) binaries.
        #expect(throws: BuildError.self) {
            try Emulation.prepare(BuildPlatform(os: "linux", architecture: "arm", variant: "v7"), host: Self.host,
                                  directory: dir.path, interpreters: [])
        }
    }

    @Test func noHandlerAndNoQemuSaysWhatToInstall() throws {
        let withoutFix = Self.debianEntry.replacingOccurrences(of: "flags: PF", with: "flags: P")
        let disabled = Self.debianEntry.replacingOccurrences(of: "enabled", with: "disabled")
        for entries in [[:], ["qemu-aarch64": withoutFix], ["qemu-aarch64": disabled]] {
            let dir = try fakeBinfmt(entries)
            do {
                _ = try Emulation.prepare(Self.arm64, host: Self.host, directory: dir.path, interpreters: [])
                Issue.record("no error without a handler")
            } catch let error as BuildError {
                #expect(error.message.contains("linux/arm64"))
                #expect(error.message.contains("apt-get install qemu-user-static"), "\(error.message)")
                if entries.values.first == withoutFix { #expect(error.message.contains("no F (fix-binary) flag")) }
            }
        }
    }

    /// With a qemu to register, the registration line goes to `register` with the F flag.
    @Test func registersQemuWithTheFixFlag() throws {
        let dir = try fakeBinfmt([:])
        let qemu = dir.path + "/qemu-aarch64-static"
        try Data().write(to: URL(fileURLWithPath: qemu))
        _ = chmod(qemu, 0o755)
        let handler = try Emulation.prepare(Self.arm64, host: Self.host, directory: dir.path, interpreters: [qemu])
        #expect(handler == .registered(entry: "swiftbuild-aarch64", interpreter: qemu))
        let line = String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir.path + "/register")), as: UTF8.self)
        #expect(line == ":swiftbuild-aarch64:M:0:" + #"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"#
                + ":" + #"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"# + ":\(qemu):F")
    }

    @Test func platformsNormalizeAsContainerdDoes() {
        #expect(BuildPlatform.parseList("linux/amd64, linux/arm64/v8,linux/aarch64,linux/arm")?.map(\.description)
                == ["linux/amd64", "linux/arm64", "linux/arm/v7"])
        #expect(BuildPlatform.parseList("linux") == nil)
        #expect(BuildPlatform.parseList("linux/amd64,") == nil)
        #expect(BuildPlatform(parsing: "linux/armhf")?.description == "linux/arm/v7")
        #expect(BuildPlatform(parsing: "LINUX/x86_64")?.description == "linux/amd64")
    }
}
