import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import SwiftBuildKit
import SwiftBuildArchive
import SwiftBuildOCI

/// The flow the builder runs for a COPY step: unpack the base layer, mount it with an empty upper, copy into
/// the merged view, diff the upper into a layer, and stack that layer on the base again.
@Suite(.serialized) struct CopyLayerFlowTests {
    @Test(.enabled(if: geteuid() == 0, "needs root (mounts, ownership)")) func copyStepProducesExactlyItsChanges() async throws {
        let scratch = try TemporaryDirectory()
        guard Overlay.isSupported(scratch: scratch.path) else { return }
        let root = try scratch.sub("root")
        let content = try ContentStore(root: root)
        let store = try SnapshotStore(root: root, content: content)

        let base = try scratch.sub("base")
        try put(base + "/etc/motd", "welcome")
        try put(base + "/opt/app/old", "old")
        try FileManager.default.createSymbolicLink(atPath: base + "/srv", withDestinationPath: "/opt/app")
        let baseLayer = try LayerWriter(compression: .gzip).write(tree: base, into: content)
        let lower = try await store.unpacked(layer: baseLayer.digest, diffID: baseLayer.diffID)

        let context = try scratch.sub("ctx")
        try put(context + "/site/index.html", "<h1>hi</h1>")
        try put(context + "/site/css/a.css", "body{}")
        let upper = scratch.path + "/upper"
        let entries = try await Overlay.withMergedViewAsync(lower: [lower], upper: upper, work: scratch.path + "/work") { merged in
            let executor = CopyExecutor(source: .context(try BuildContext(directory: context)), rootfs: merged,
                                        scratch: try scratch.sub("tmp"))
            // /srv is a symlink in the image: the files land in /opt/app.
            try await executor.run(CopyRequest(sources: [.path("site")], destination: "/srv/"))
            return try OverlayDiff.entries(upper: upper)
        }
        #expect(entries == [.path("opt"), .path("opt/app"), .path("opt/app/css"), .path("opt/app/css/a.css"),
                            .path("opt/app/index.html")])
        let step = try LayerWriter(compression: .gzip).write(entries: entries, from: upper, into: content)
        let stepLower = try await store.unpacked(layer: step.digest, diffID: step.diffID)
        let view = try Overlay.withMergedView(lower: [stepLower, lower], upper: scratch.path + "/u2",
                                              work: scratch.path + "/w2") { merged in
            (tree(merged), text(merged + "/opt/app/index.html"))
        }
        #expect(view.0 == ["etc", "etc/motd", "opt", "opt/app", "opt/app/css", "opt/app/css/a.css",
                           "opt/app/index.html", "opt/app/old", "srv"])
        #expect(view.1 == "<h1>hi</h1>")
    }
}
