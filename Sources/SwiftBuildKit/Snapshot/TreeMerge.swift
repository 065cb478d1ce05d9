#if canImport(Glibc)
import Glibc
#endif

/// Applies one overlay-form layer directory (`c 0 0` whiteouts, `trusted.overlay.opaque=y`) onto a target
/// tree, the way overlayfs stacks it: used by `Overlay.materialize` when overlayfs is unavailable.
struct TreeMerge {
    var source: String
    var target: String

    func run() throws(SnapshotError) {
        let s = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard s >= 0 else { throw .system(operation: "open", path: source, errno: errno) }
        defer { close(s) }
        let t = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard t >= 0 else { throw .system(operation: "open", path: target, errno: errno) }
        defer { close(t) }
        let copier = NodeCopier()
        try merge(s, t, path: source, copier: copier)
    }

    private func merge(_ s: Int32, _ t: Int32, path: String, copier: NodeCopier) throws(SnapshotError) {
        for name in try FileTree.names(s, path: path) {
            let c = FileTree.cString(name)
            let childPath = path + "/" + String(decoding: name, as: UTF8.self)
            var st = stat()
            guard fstatat(s, c, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw .system(operation: "lstat", path: childPath, errno: errno) }
            let type = st.st_mode & Glibc.S_IFMT
            if type == Glibc.S_IFCHR && st.st_rdev == 0 {
                try FileTree.removeChild(t, name, path: target)  // a whiteout
                continue
            }
            var existing = stat()
            let exists = fstatat(t, c, &existing, AT_SYMLINK_NOFOLLOW) == 0
            let existingIsDirectory = exists && existing.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR
            if type != Glibc.S_IFDIR {
                if existingIsDirectory { try FileTree.removeChild(t, name, path: target) }
                try copier.copyLeaf(source: s, name: c, st: st, target: t, targetName: c, path: childPath)
                continue
            }
            if exists && !existingIsDirectory { try FileTree.removeChild(t, name, path: target) }
            if !existingIsDirectory {
                guard mkdirat(t, c, 0o700) == 0 else { throw .system(operation: "mkdir", path: childPath, errno: errno) }
            }
            let sc = openat(s, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard sc >= 0 else { throw .system(operation: "open", path: childPath, errno: errno) }
            defer { close(sc) }
            let tc = openat(t, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard tc >= 0 else { throw .system(operation: "open", path: childPath, errno: errno) }
            defer { close(tc) }
            if existingIsDirectory && OverlayDiff.isOpaque(fd: sc) {
                try FileTree.removeContents(tc, path: childPath)
            }
            try merge(sc, tc, path: childPath, copier: copier)
            try copier.setMetadata(fd: tc, st: st, path: childPath, sourceFD: sc)
        }
    }
}
