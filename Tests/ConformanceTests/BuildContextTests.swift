import Foundation
import Testing
import TestSupport
import SwiftBuildDockerfile
import SwiftBuildKit

/// The build-context walk and ignore-file choice beyond the conformance vectors.
@Suite("BuildContext") struct BuildContextTests {
    final class TempDir {
        let directory: TemporaryDirectory
        let url: URL
        init() throws {
            directory = try TemporaryDirectory(prefix: "swiftbuild-ctx")
            url = URL(fileURLWithPath: directory.path)
        }
        var path: String { directory.path }
        func file(_ rel: String, _ content: String = "x") throws {
            let u = url.appendingPathComponent(rel)
            try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content.utf8).write(to: u)
        }
        func dir(_ rel: String) throws {
            try FileManager.default.createDirectory(at: url.appendingPathComponent(rel), withIntermediateDirectories: true)
        }
    }

    @Test func entriesOfADirectoryComeInByteOrderDepthFirst() throws {
        let t = try TempDir()
        for name in ["a.b", "B", "ab", "_", "a-b", "a/x", "a/Y", "\u{E9}"] { try t.file(name) }
        let walk = try BuildContext(directory: t.path).entries().map(\.description)
        #expect(walk == ["file B", "file _", "dir a", "file a/Y", "file a/x", "file a-b", "file a.b", "file ab",
                         "file \u{E9}"])
    }

    @Test func symbolicLinksAreEntriesNotFollowed() throws {
        let t = try TempDir()
        try t.file("real/inside")
        try FileManager.default.createSymbolicLink(atPath: t.path + "/link", withDestinationPath: "real")
        let entries = try BuildContext(directory: t.path).entries()
        #expect(entries.map(\.description) == ["symlink link", "dir real", "file real/inside"])
        #expect(entries.first?.linkTarget == "real")
        #expect(entries.last?.size == 1)
    }

    @Test func entriesCarryStatInformation() throws {
        let t = try TempDir()
        try t.file("f", "hello")
        chmod(t.path + "/f", 0o751)
        let e = try #require(try BuildContext(directory: t.path).entries().first)
        #expect(e.kind == .file && e.size == 5 && e.permissions == 0o751 && e.linkCount == 1)
    }

    @Test func dockerfileSpecificIgnoreFileWins() throws {
        let t = try TempDir()
        try t.file(".dockerignore", "a\n")
        try t.file("sub/app.Dockerfile", "FROM scratch\n")
        try t.file("sub/app.Dockerfile.dockerignore", "b\n!c\n")
        #expect(try IgnoreFileLocator.locate(dockerfilePath: t.path + "/sub/app.Dockerfile", contextDirectory: t.path)
                == t.path + "/sub/app.Dockerfile.dockerignore")
        #expect(try IgnoreFileLocator.excludePatterns(dockerfilePath: t.path + "/sub/app.Dockerfile",
                                                      contextDirectory: t.path) == ["b", "!c"])
        // Another Dockerfile without its own file falls back to the context's .dockerignore.
        #expect(try IgnoreFileLocator.excludePatterns(dockerfilePath: t.path + "/Dockerfile", contextDirectory: t.path)
                == ["a"])
        // An unreadable Dockerfile-specific file (here a directory) counts as absent, as in BuildKit.
        try t.dir("Dockerfile.dockerignore")
        #expect(try IgnoreFileLocator.excludePatterns(dockerfilePath: t.path + "/Dockerfile", contextDirectory: t.path)
                == ["a"])
        try FileManager.default.removeItem(atPath: t.path + "/.dockerignore")
        #expect(try IgnoreFileLocator.excludePatterns(dockerfilePath: t.path + "/Dockerfile", contextDirectory: t.path)
                == [])
        #expect(try IgnoreFileLocator.locate(dockerfilePath: t.path + "/Dockerfile", contextDirectory: t.path) == nil)
    }

    @Test func rejectedPatternListsFailTheBuild() throws {
        let t = try TempDir()
        try t.file(".dockerignore", "a\n!\n")
        let patterns = try IgnoreFileLocator.excludePatterns(dockerfilePath: t.path + "/Dockerfile", contextDirectory: t.path)
        #expect(patterns == ["a", "!"])
        #expect(throws: BuildContextError.self) { try BuildContext(directory: t.path, excludePatterns: patterns) }
        #expect(throws: BuildContextError.self) { try BuildContext(directory: t.path, excludePatterns: ["[a"]) }
    }

    @Test func patternErrorsAtMatchTimeStopTheWalk() throws {
        let t = try TempDir()
        try t.file("x")
        let ctx = try BuildContext(directory: t.path, excludePatterns: ["[Local-Only]"])
        #expect(throws: BuildContextError.self) { try ctx.entries() }
    }

    @Test func excludedDirectoriesAreNotEntered() throws {
        let filter = try ContextFilter(excludePatterns: ["node_modules", "!keep"])
        guard case .skip = try filter.evaluate(path: Array("node_modules".utf8), isDirectory: true, parent: .root) else {
            Issue.record("an excluded directory with unrelated literal exceptions must be skipped")
            return
        }
        let wild = try ContextFilter(excludePatterns: ["node_modules", "!**/keep"])
        guard case .hold = try wild.evaluate(path: Array("node_modules".utf8), isDirectory: true, parent: .root) else {
            Issue.record("a wildcard exception must make the walk enter excluded directories")
            return
        }
    }

    @Test func openUsesTheParentRule() throws {
        let t = try TempDir()
        try t.file("foo/bar/x")
        let ctx = try BuildContext(directory: t.path, excludePatterns: ["foo/bar", "!foo"])
        #expect(try ctx.admits("foo/bar/x"))                    // MatchesOrParentMatches re-includes it
        #expect(try !ctx.entries().map(\.path).contains("foo/bar/x"))  // the walk does not
        #expect(try !ctx.admits("foo/missing"))
    }

    @Test func missingContextIsAnError() {
        #expect(throws: BuildContextError.self) {
            try BuildContext(directory: "/nonexistent-swiftbuild-context").entries()
        }
    }

    @Test func walksAFewThousandFilesQuickly() throws {
        let t = try TempDir()
        for d in 0..<20 {
            try t.dir("d\(d)")
            for f in 0..<150 { _ = FileManager.default.createFile(atPath: "\(t.path)/d\(d)/f\(f).txt", contents: nil) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let ctx = try BuildContext(directory: t.path, excludePatterns: ["**/*1.txt", "d3", "!d3/f7.txt"])
        let entries = try ctx.entries()
        #expect(entries.count == 20 + 19 * 135 + 1)
        #expect(clock.now - start < .seconds(10))
    }
}
