import SwiftBuildArchive
import CSys
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// overlayfs mounts for COPY and ADD, which run in the builder process (inside a private mount namespace the
/// caller set up), and the fallback when overlayfs is not available.
///
/// Mount options: `redirect_dir=off,index=off,metacopy=off`, so that everything a step changes is in the upper
/// directory as plain files, `c 0 0` whiteouts and `trusted.overlay.opaque` directories, the three forms
/// `OverlayDiff` reads (a renamed lower directory is then copied up whole, as `rename(2)` gets `EXDEV`).
/// Lower directories are passed as `/proc/self/fd/N` of descriptors held open during `mount(2)`, so the option
/// string stays short however long the paths or the stack.
public enum Overlay {
    /// Mounts `lower` (top first; may be empty: then the upper alone is the view) with `upper` and `work`
    /// (same file system, `work` empty) at `at`.
    public static func mount(lower: [String], upper: String, work: String, at target: String) throws(SnapshotError) {
        for path in [upper, work, target] + lower where path.contains(where: { $0 == ":" || $0 == "," || $0 == "\n" }) {
            throw .unusableOverlayPath(path)
        }
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        var lowers: [String] = []
        for path in lower {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
            held.append(fd)
            lowers.append("/proc/self/fd/\(fd)")
        }
        if lowers.isEmpty {
            // overlayfs needs a lower layer: an empty, read-only directory stands in for "nothing below".
            let empty = work + "-empty"
            try SnapshotStore.makeDirectory(empty)
            lowers.append(empty)
        }
        // In a user namespace (rootless) overlayfs keeps its bookkeeping in user.overlay.* attributes.
        let base = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
            + (OverlayAttributes.inUserNamespace ? ",userxattr" : "")
        var status = Glibc.mount("overlay", target, "overlay", 0, base + ",redirect_dir=off,index=off,metacopy=off")
        if status != 0 && (errno == EINVAL || errno == EPERM) {
            // An old kernel without those options, or a user namespace, where naming them is refused (and where
            // the kernel keeps them off anyway).
            status = Glibc.mount("overlay", target, "overlay", 0, base)
        }
        guard status == 0 else { throw .system(operation: "mount(overlay)", path: target, errno: errno) }
    }

    /// Unmounts `at` (lazily if it is busy).
    public static func unmount(at target: String) throws(SnapshotError) {
        if umount2(target, 0) == 0 { return }
        let code = errno
        if code == EBUSY, umount2(target, Int32(MNT_DETACH)) == 0 { return }
        throw .system(operation: "umount", path: target, errno: code)
    }

    /// Mounts the view, runs `body` with its path, and always unmounts it (also when `body` throws).
    /// `work` and the mount point `<work>.mnt` are created if missing and removed afterwards.
    public static func withMergedView<T>(lower: [String], upper: String, work: String,
                                         _ body: (String) throws -> T) throws -> T {
        let mountPoint = try mountView(lower: lower, upper: upper, work: work)
        defer { removeView(mountPoint: mountPoint, work: work) }
        return try body(mountPoint)
    }

    /// `withMergedView` for an async body (COPY/ADD run async for downloads).
    public static func withMergedViewAsync<T>(lower: [String], upper: String, work: String,
                                              _ body: (String) async throws -> T) async throws -> T {
        let mountPoint = try mountView(lower: lower, upper: upper, work: work)
        defer { removeView(mountPoint: mountPoint, work: work) }
        return try await body(mountPoint)
    }

    private static func mountView(lower: [String], upper: String, work: String) throws(SnapshotError) -> String {
        let mountPoint = work + ".mnt"
        try SnapshotStore.makeDirectory(upper)
        try SnapshotStore.makeDirectory(work)
        try SnapshotStore.makeDirectory(mountPoint)
        do {
            try mount(lower: lower, upper: upper, work: work, at: mountPoint)
        } catch {
            removeView(mountPoint: nil, work: work)
            try? FileTree.remove(mountPoint)
            throw error
        }
        return mountPoint
    }

    private static func removeView(mountPoint: String?, work: String) {
        if let mountPoint {
            try? unmount(at: mountPoint)
            try? FileTree.remove(mountPoint)
        }
        try? FileTree.remove(work)
        try? FileTree.remove(work + "-empty")
    }

    /// Whether an overlay can be mounted here: tries one in a temp directory under `scratch`.
    public static func isSupported(scratch: String) -> Bool {
        let base = scratch + "/.overlay-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileTree.remove(base) }
        do {
            try SnapshotStore.makeDirectory(base)
            try SnapshotStore.makeDirectory(base + "/lower")
            return try withMergedView(lower: [base + "/lower"], upper: base + "/upper", work: base + "/work") { _ in true }
        } catch {
            return false
        }
    }

    /// The fallback when overlayfs cannot be mounted: copies the lower directories (top first, each in the
    /// overlay form `SnapshotStore` writes) bottom-up into `into`, applying their whiteouts and opaque
    /// directories, so `into` is the merged view. Diff the result of a step with `TreeDiff`.
    public static func materialize(lower: [String], into target: String) throws(SnapshotError) {
        try SnapshotStore.makeDirectory(target)
        for layer in lower.reversed() {
            try TreeMerge(source: layer, target: target).run()
        }
    }
}
