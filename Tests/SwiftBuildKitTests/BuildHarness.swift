import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI
@testable import SwiftBuildKit

/// A swiftbuild root with the busybox test image, a build context, and helpers to build and inspect results.
final class BuildHarness: @unchecked Sendable {
    let directory: TemporaryDirectory
    var root: String { directory.path + "/root" }
    var context: String { directory.path + "/context" }
    let builder: Builder
    private let lock = NSLock()
    private var collected: [BuildEvent] = []

    init(snapshotter: Snapshotter? = nil) throws {
        directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/context", withIntermediateDirectories: true)
        try TestImages.busybox(root: directory.path + "/root")
        builder = try Builder(root: directory.path + "/root", snapshotter: snapshotter)
    }

    /// Writes a file in the context (parents created).
    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        let path = context + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        _ = chmod(path, mode_t(mode))
    }

    var events: [BuildEvent] { lock.withLock { collected } }

    /// Builds `dockerfile` (written to the context as `Dockerfile`); events are collected anew.
    @discardableResult
    func build(_ dockerfile: String, tags: [String] = ["test:latest"], configure: (inout BuildRequest) -> Void = { _ in })
        async throws -> BuildResult {
        try write("Dockerfile", dockerfile)
        var request = BuildRequest(contextDirectory: context, tags: tags)
        configure(&request)
        lock.withLock { collected = [] }
        return try await builder.build(request) { [weak self] event in
            self?.lock.withLock { self?.collected.append(event) }
        }
    }

    /// Texts of the steps that ran (not cached), e.g. ["RUN echo hi"].
    var executedSteps: [String] {
        let evs = events
        var planned: [Int: String] = [:]
        for case .stepPlanned(let s) in evs { planned[s.id] = s.text }
        var cached: Set<Int> = []
        for case .stepCached(let id, _) in evs { cached.insert(id) }
        var finished: [Int] = []
        for case .stepFinished(let id, _, _, _) in evs { finished.append(id) }
        return finished.filter { !cached.contains($0) }.compactMap { planned[$0] }
            .filter { ["RUN", "COPY", "ADD"].contains(String($0.prefix { $0 != " " })) }
    }

    var cachedSteps: [String] {
        let evs = events
        var planned: [Int: String] = [:]
        for case .stepPlanned(let s) in evs { planned[s.id] = s.text }
        return evs.compactMap { if case .stepCached(let id, _) = $0 { return planned[id] } else { return nil } }
    }

    /// Output of all RUN steps, concatenated.
    var output: String {
        String(decoding: events.flatMap { if case .stepOutput(_, let b) = $0 { return b } else { return [] } }, as: UTF8.self)
    }

    /// The image's root file system unpacked independently: exported as an OCI layout and unpacked by umoci.
    func unpack(_ result: BuildResult) throws -> String {
        let layout = directory.path + "/layout-\(UUID().uuidString)"
        let bundle = directory.path + "/bundle-\(UUID().uuidString)"
        try OCIArchiveExporter.write(images: [(result.manifest, [try ImageReference(parsing: "unpack:it")])],
                                     content: builder.content, to: layout, tar: false)
        try runTool("/usr/bin/umoci", ["unpack", "--image", layout + ":it", bundle])
        return bundle + "/rootfs"
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Whether a path exists without following a final symlink.
func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func lstatMode(_ path: String) -> (mode: UInt32, uid: UInt32, gid: UInt32)? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return (st.st_mode, st.st_uid, st.st_gid)
}
