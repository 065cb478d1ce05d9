import Foundation
import Testing
import TestSupport
@testable import SwiftBuildArchive
import SwiftBuildOCI

/// Our writer → the content store → our extractor gives back the same tree, for every compression.
@Suite struct LayerRoundTripTests {
    @Test(arguments: LayerCompression.allCases)
    func writerToStoreToExtractor(compression: LayerCompression) throws {
        let tmp = try TemporaryDirectory()
        let source = tmp.path("src")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        let tree = TreeBuilder(root: source)
        for dir in ["bin", "etc", "data", "run"] { try tree.dir(dir) }
        try tree.file("bin/tool", randomBytes(3 << 20), mode: 0o4755)
        try tree.file("etc/config", "key=value\n", mode: 0o600)
        try tree.file("data/é ü long name " + String(repeating: "x", count: 120), "unicode\n")
        try tree.symlink("etc/link", to: "../bin/tool")
        try tree.hardlink("bin/tool-hard", to: "bin/tool")
        try tree.fifo("run/fifo")
        tree.chown("etc/config", 1000, 1001)
        _ = tree.setXattr("etc/config", "user.purpose", Array("test".utf8))
        for path in ["bin", "bin/tool", "etc", "etc/config", "data", "run", "run/fifo"] {
            tree.times(path, mtime: 1_700_000_000)
        }

        let store = try ContentStore(root: tmp.path("store"), create: true)
        let result = try LayerWriter(compression: compression).write(tree: source, into: store)
        #expect(store.has(result.digest))
        #expect(try store.info(result.digest).size == result.size)
        // Nothing is left behind in the ingest area.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path("store") + "/ingest").isEmpty)

        let target = tmp.path("out")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let report = try LayerExtractor().extract(archiveAt: store.path(for: result.digest), into: target)
        #expect(report.compression == (compression == .gzip ? .gzip : compression == .zstd ? .zstd : .none))

        let expected = try snapshot(source)
        let actual = try snapshot(target)
        #expect(Set(actual.keys) == Set(expected.keys))
        for (path, info) in expected.sorted(by: { $0.key < $1.key }) {
            guard let other = actual[path] else { continue }
            #expect(info.sameContent(other), "\(path): \(info) vs \(other)")
        }
        // The hardlink is still one inode.
        #expect(actual["bin/tool"]?.inode == actual["bin/tool-hard"]?.inode)
    }
}
