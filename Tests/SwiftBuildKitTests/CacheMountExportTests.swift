import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// `--cache-to …,cache-mounts=true`: the contents of `RUN --mount=type=cache` directories travel with the cache,
/// so a fresh root's first RUN with that mount starts warm; without the option, or over the size limit, they
/// stay home. The contents never enter an image.
@Suite struct CacheMountExportTests {
    @Test func parsesOptions() throws {
        let plain = try CacheExport.parse("type=local,dest=/c")
        #expect(!plain.cacheMounts && plain.cacheMountsMax == CacheExport.defaultCacheMountsMax)
        let on = try CacheExport.parse("type=registry,ref=r/c,cache-mounts=true,cache-mounts-max=1GiB,mode=max")
        #expect(on.cacheMounts && on.cacheMountsMax == 1 << 30 && on.mode == .max)
        #expect(throws: BuildRequestError.self) { _ = try CacheExport.parse("type=local,dest=/c,cache-mounts=yes") }
        #expect(throws: BuildRequestError.self) { _ = try CacheExport.parse("type=local,dest=/c,cache-mounts=true,cache-mounts-max=lots") }
        #expect(throws: BuildRequestError.self) { _ = try CacheExport.parse("type=local,dest=/c,cache-mounts-max=1GiB") }
        #expect(throws: BuildRequestError.self) { _ = try CacheExport.parse("type=local,dest=/c,cache-mount=true") }
    }

    /// The exported config's mounts (id → layer), read back through the cache loader.
    static func exportedMounts(_ dir: String, _ content: ContentStore) throws -> [String: CacheRecord.Layer] {
        try CacheExchange(content: content, registry: nil).load(.local(dir))?.mounts ?? [:]
    }

    @Test(.enabled(if: getuid() == 0, "RUN needs root"))
    func aFreshRootStartsWithTheExportedMountContents() async throws {
        let h1 = try BuildHarness()
        let withMounts = h1.directory.path + "/cache-with"
        let without = h1.directory.path + "/cache-without"
        let small = h1.directory.path + "/cache-small"
        try await h1.build("""
            FROM localhost/busybox
            RUN --mount=type=cache,id=pip,target=/root/.cache/pip sh -c 'mkdir -p /root/.cache/pip/wheels && echo wheel-bytes > /root/.cache/pip/wheels/numpy.whl && echo built > /done'
            """) {
            $0.cacheTo = [CacheExport(location: .local(withMounts), mode: .max, cacheMounts: true),
                          CacheExport(location: .local(without), mode: .max),
                          CacheExport(location: .local(small), mode: .max, cacheMounts: true, cacheMountsMax: 4)]
        }
        let exported = try Self.exportedMounts(withMounts, h1.builder.content)
        #expect(Array(exported.keys) == ["pip"])
        #expect(try Self.exportedMounts(without, h1.builder.content).isEmpty)
        #expect(try Self.exportedMounts(small, h1.builder.content).isEmpty, "over cache-mounts-max: left out")
        #expect(h1.events.contains { if case .warning(let w) = $0 { return w.contains("cache mount pip") && w.contains("cache-mounts-max") } else { return false } })

        // Another RUN (no record to reuse) in a fresh root sees the imported contents.
        let h2 = try BuildHarness()
        let reader = """
            FROM localhost/busybox
            RUN --mount=type=cache,id=pip,target=/cache cat /cache/wheels/numpy.whl > /seen
            """
        let warm = try await h2.build(reader) { $0.cacheFrom = [.local(withMounts)] }
        let rootfs = try h2.unpack(warm)
        #expect(h2.contents(rootfs + "/seen") == "wheel-bytes\n")
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/cache/wheels"), "mount contents never enter the image")
        // A build whose mount step hits the cache still exports the mount (it exists here and the stage names it).
        let again = h1.directory.path + "/cache-again"
        try await h1.build("""
            FROM localhost/busybox
            RUN --mount=type=cache,id=pip,target=/root/.cache/pip sh -c 'mkdir -p /root/.cache/pip/wheels && echo wheel-bytes > /root/.cache/pip/wheels/numpy.whl && echo built > /done'
            """) { $0.cacheTo = [CacheExport(location: .local(again), mode: .max, cacheMounts: true)] }
        #expect(!h1.cachedSteps.isEmpty)
        #expect(Array(try Self.exportedMounts(again, h1.builder.content).keys) == ["pip"])
        // Without the mount contents, the same RUN finds an empty mount (and fails on the missing file).
        let h3 = try BuildHarness()
        await #expect(throws: (any Error).self) { try await h3.build(reader) { $0.cacheFrom = [.local(without)] } }
    }
}
