import Foundation
import SwiftBuildArchive
#if canImport(Glibc)
import Glibc
#endif

/// How a step sees and changes its file system.
public enum Snapshotter: String, Sendable, CaseIterable {
    /// overlayfs: the layers are lower directories, the step writes to a fresh upper directory, which is the diff.
    case overlay
    /// Where overlayfs cannot be mounted: the layers are copied into a directory, the step runs there, and the
    /// layer is the tree difference against an untouched copy.
    case copy

    /// overlay when this kernel lets us mount it in `scratch`, else copy. A successful probe is remembered for
    /// the running kernel in `marker`, so later builds skip the mount test.
    public static func detect(scratch: String, marker: String) -> Snapshotter {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let data = FileManager.default.contents(atPath: marker), String(decoding: data, as: UTF8.self) == release {
            return .overlay
        }
        guard Overlay.isSupported(scratch: scratch) else { return .copy }
        _ = FileManager.default.createFile(atPath: marker, contents: Data(release.utf8))
        return .overlay
    }
}

/// The file system of one step: the parent's layers (unpacked snapshots, top first) and what the step writes.
struct StepFilesystem {
    let mode: Snapshotter
    let lowers: [String]
    let scratch: Scratch
    /// overlay: the upper directory; copy: the working copy of the whole tree.
    let changes: String
    private let overlayWork: String
    /// copy mode: the untouched copy to diff against.
    private let base: String

    init(mode: Snapshotter, lowers: [String], scratch: Scratch) throws {
        self.mode = mode
        self.scratch = scratch
        overlayWork = scratch.path + "/work"
        base = scratch.path + "/base"
        var lowers = lowers
        switch mode {
        case .overlay:
            changes = scratch.path + "/upper"
            try Scratch.makeDirectories([changes, overlayWork])
            if lowers.isEmpty {
                lowers = [scratch.path + "/empty"]
                try Scratch.makeDirectories(lowers)
            }
        case .copy:
            changes = scratch.path + "/rootfs"
            try Scratch.makeDirectories([scratch.path])
            try Overlay.materialize(lower: lowers, into: base)
            try Overlay.materialize(lower: lowers, into: changes)
            // The root directory as in overlay mode (and BuildKit): 0755, so a RUN as another user can enter it.
            _ = chmod(base, 0o755)
            _ = chmod(changes, 0o755)
        }
        self.lowers = lowers
    }

    /// The root the sandbox runs a RUN in.
    var sandboxRoot: SandboxSpec.RootFilesystem {
        switch mode {
        case .overlay: return .overlay(lower: lowers, upper: changes, work: overlayWork)
        case .copy: return .directory(changes)
        }
    }

    /// The step's view of the tree, writable (COPY, ADD, WORKDIR write through it).
    func withWritableView<T>(_ body: (String) async throws -> T) async throws -> T {
        switch mode {
        case .copy:
            return try await body(changes)
        case .overlay:
            return try await Overlay.withMergedViewAsync(lower: lowers, upper: changes, work: overlayWork, body)
        }
    }

    /// The parent's tree as directories to read files from without mounting anything (top first; overlay
    /// whiteouts respected): the unpacked layers, or the untouched copy.
    var parentLayers: [String] {
        switch mode {
        case .overlay: return lowers
        case .copy: return [base]
        }
    }

    /// A read-only look at the parent's tree (user lookups), leaving no change.
    func withParentView<T>(_ body: (String) async throws -> T) async throws -> T {
        switch mode {
        case .copy:
            return try await body(base)
        case .overlay:
            let dir = scratch.path + "/peek"
            try Scratch.makeDirectories([dir + "/upper", dir + "/work"])
            return try await Overlay.withMergedViewAsync(lower: lowers, upper: dir + "/upper", work: dir + "/work", body)
        }
    }

    /// What the step changed, as layer entries to read under `changes`.
    func entries() throws -> [LayerEntry] {
        switch mode {
        case .overlay: return try OverlayDiff.entries(upper: changes)
        case .copy: return try TreeDiff.entries(lower: base, upper: changes)
        }
    }

    /// A read-only view of other layers (another stage or image) for `COPY --from` and `--mount from=`.
    static func withView<T>(of lowers: [String], mode: Snapshotter, scratch: Scratch, name: String,
                            _ body: (String) async throws -> T) async throws -> T {
        let dir = scratch.path + "/src-\(name)"
        switch mode {
        case .copy:
            try Scratch.makeDirectories([dir])
            try Overlay.materialize(lower: lowers, into: dir + "/tree")
            return try await body(dir + "/tree")
        case .overlay:
            var lowers = lowers
            try Scratch.makeDirectories([dir + "/upper", dir + "/work", dir + "/empty"])
            if lowers.isEmpty { lowers = [dir + "/empty"] }
            return try await Overlay.withMergedViewAsync(lower: lowers, upper: dir + "/upper", work: dir + "/work", body)
        }
    }
}
