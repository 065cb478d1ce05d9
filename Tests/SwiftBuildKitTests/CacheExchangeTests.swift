import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

/// `--cache-to` / `--cache-from`: a cache written by one root gives every step of a fresh root a hit.
@Suite struct CacheExchangeTests {
    static let dockerfile = """
        FROM localhost/busybox AS builder
        RUN echo compiled > /artifact && echo tmp > /scratch
        FROM localhost/busybox
        COPY hello.txt /hello.txt
        RUN echo run > /run.txt
        ENV A=b
        COPY --from=builder /artifact /artifact
        RUN true
        """

    @Test func localRoundTripMaxCachesEveryStep() async throws {
        let h1 = try BuildHarness()
        let dir = h1.directory.path + "/cache"
        try h1.write("hello.txt", "hello\n")
        let built = try await h1.build(Self.dockerfile) { $0.cacheTo = [CacheExport(location: .local(dir), mode: .max)] }
        #expect(h1.cachedSteps.isEmpty)
        #expect(FileManager.default.fileExists(atPath: dir + "/index.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/oci-layout"))

        let h2 = try BuildHarness()
        try h2.write("hello.txt", "hello\n")
        let rebuilt = try await h2.build(Self.dockerfile) { $0.cacheFrom = [.local(dir)] }
        #expect(h2.executedSteps.isEmpty)
        #expect(h2.cachedSteps.count == 5)
        #expect(rebuilt.manifest.digest == built.manifest.digest)
        // The layers came along: the image unpacks.
        let rootfs = try h2.unpack(rebuilt)
        #expect(h2.contents(rootfs + "/artifact") == "compiled\n")
        #expect(h2.contents(rootfs + "/run.txt") == "run\n")
        // Only the final image's layers were fetched: the builder stage's layer (all its steps hit) was not.
        let records = try #require(try CacheExchange(content: h2.builder.content, registry: nil).load(.local(dir))).records
        let finalLayers = Set(try h2.builder.images.image(rebuilt.manifest).layers.map(\.digest))
        let others = records.values.compactMap { $0.layer?.digest }
            .filter { !finalLayers.contains($0) }
        #expect(others.count == 1)
        for digest in others { #expect(!h2.builder.content.has(digest)) }
        for digest in finalLayers { #expect(h2.builder.content.has(digest)) }
    }

    @Test func localMinExportsOnlyFinalImageLayers() async throws {
        let h1 = try BuildHarness()
        let dir = h1.directory.path + "/cache"
        try h1.write("hello.txt", "hello\n")
        let built = try await h1.build(Self.dockerfile) { $0.cacheTo = [CacheExport(location: .local(dir))] }

        let h2 = try BuildHarness()
        try h2.write("hello.txt", "hello\n")
        let rebuilt = try await h2.build(Self.dockerfile) { $0.cacheFrom = [.local(dir)] }
        // The builder stage's layer is not in the final image: its step runs again; the final stage's are hits.
        #expect(h2.executedSteps == ["RUN echo compiled > /artifact && echo tmp > /scratch"])
        #expect(h2.cachedSteps.count == 4)
        #expect(rebuilt.manifest.digest == built.manifest.digest)
    }

    @Test func changedStepMissesAndLaterStepsRun() async throws {
        let h1 = try BuildHarness()
        let dir = h1.directory.path + "/cache"
        try h1.write("hello.txt", "hello\n")
        try await h1.build(Self.dockerfile) { $0.cacheTo = [CacheExport(location: .local(dir), mode: .max)] }

        let h2 = try BuildHarness()
        try h2.write("hello.txt", "changed\n")
        let rebuilt = try await h2.build(Self.dockerfile) { $0.cacheFrom = [.local(dir)] }
        #expect(h2.cachedSteps == ["RUN echo compiled > /artifact && echo tmp > /scratch"])
        let rootfs = try h2.unpack(rebuilt)
        #expect(h2.contents(rootfs + "/hello.txt") == "changed\n")
    }

    @Test func parsesFlags() throws {
        #expect(try CacheExport.parse("type=local,dest=/x,mode=max") == CacheExport(location: .local("/x"), mode: .max))
        #expect(try CacheExport.parse("type=registry,ref=h/r:c") == CacheExport(location: .registry("h/r:c"), mode: .min))
        #expect(try CacheExport.parseSource("type=local,src=/x") == .local("/x"))
        #expect(throws: BuildRequestError.self) { try CacheExport.parse("type=local") }
        #expect(throws: BuildRequestError.self) { try CacheExport.parse("type=local,dest=/x,mode=all") }
    }

    @Test func missingCacheIsAWarning() async throws {
        let h = try BuildHarness()
        try await h.build("FROM localhost/busybox\nRUN true\n") { $0.cacheFrom = [.local(h.directory.path + "/none")] }
        #expect(h.events.contains { if case .warning(let m) = $0 { return m.contains("/none") } else { return false } })
        #expect(h.executedSteps == ["RUN true"])
    }

    @Test func corruptLocalLayerIsAClearErrorAndNothingIsStored() async throws {
        let h1 = try BuildHarness()
        let dir = h1.directory.path + "/cache"
        try h1.write("hello.txt", "hello\n")
        let built = try await h1.build(Self.dockerfile) { $0.cacheTo = [CacheExport(location: .local(dir), mode: .max)] }
        let layer = try #require(try h1.builder.images.image(built.manifest).layers.last)
        let path = dir + "/blobs/sha256/" + layer.digest.encoded
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let h2 = try BuildHarness()
        try h2.write("hello.txt", "hello\n")
        await #expect(throws: BuildError.self) {
            try await h2.build(Self.dockerfile) { $0.cacheFrom = [.local(dir)] }
        }
        #expect(!h2.builder.content.has(layer.digest))
    }

    @Test func registryRoundTripMaxCachesEveryStep() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let ref = registry.host + "/cache/app:buildcache"
        let h1 = try BuildHarness()
        try h1.write("hello.txt", "hello\n")
        let built = try await h1.build(Self.dockerfile) { $0.cacheTo = [CacheExport(location: .registry(ref), mode: .max)] }
        // An ordinary client sees the artifact manifest.
        let raw = try runTool("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://" + ref])
        #expect(raw.contains(CacheFormat.artifactType))
        #expect(raw.contains(CacheFormat.configMediaType))

        let h2 = try BuildHarness()
        try h2.write("hello.txt", "hello\n")
        let rebuilt = try await h2.build(Self.dockerfile) { $0.cacheFrom = [.registry(ref)] }
        #expect(h2.executedSteps.isEmpty)
        #expect(h2.cachedSteps.count == 5)
        #expect(rebuilt.manifest.digest == built.manifest.digest)
        let rootfs = try h2.unpack(rebuilt)
        #expect(h2.contents(rootfs + "/run.txt") == "run\n")
    }

    @Test func registryCacheMissingIsAWarning() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let h = try BuildHarness()
        try await h.build("FROM localhost/busybox\nRUN true\n") {
            $0.cacheFrom = [.registry(registry.host + "/cache/none:latest")]
        }
        #expect(h.events.contains { if case .warning(let m) = $0 { return m.contains("cache/none") } else { return false } })
    }

    /// The command line, through a registry with basic auth (credentials from DOCKER_CONFIG) and a local directory.
    @Test func commandLineCacheToAndFrom() throws {
        let registry = try TestRegistry(user: "cc", password: "pw")
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let dockerConfig = try registry.dockerConfig(in: scratch.path, user: "cc", password: "pw")
        let context = scratch.path + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try Data("FROM localhost/busybox\nRUN echo cli > /cli\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        @discardableResult func sb(_ arguments: [String]) throws -> String {
            try swiftbuildCLI(dockerConfig: dockerConfig, arguments)
        }
        let ref = registry.host + "/cli/cache:main"
        let dir = scratch.path + "/cache"
        let first = scratch.path + "/first"
        try TestImages.busybox(root: first)
        let id = try sb(["build", "-q", "--root", first, "--cache-to", "type=registry,ref=\(ref),mode=max",
                         "--cache-to", "type=local,dest=\(dir)", context])
        for source in ["type=registry,ref=" + ref, "type=local,src=" + dir] {
            let fresh = scratch.path + "/fresh-\(UUID().uuidString)"
            try TestImages.busybox(root: fresh)
            let iidfile = fresh + "/iid"
            // Progress goes to standard error.
            let tool = SwiftBuildExecutable.path
            let log = try runTool("/bin/sh", ["-c", #""$@" 2>&1"#, "sh", "/usr/bin/env", "DOCKER_CONFIG=" + dockerConfig, tool,
                                                   "build", "--progress", "plain", "--root", fresh, "--iidfile", iidfile, "--cache-from", source, context])
            #expect(log.contains("#3 [stage-0 2/2] RUN echo cli > /cli\n#3 CACHED\n"))
            #expect(try String(contentsOfFile: iidfile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                    == id.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(throws: (any Error).self) { try sb(["build", "--root", first, "--cache-to", "type=s3,bucket=x", context]) }
    }
}
