#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive

/// The diff of two full trees, for when overlayfs is not available: `lower` is the view before a step,
/// `upper` the same view after it (the step ran in a copy). Layer entries are read from `upper`.
///
/// Rules: a name only in `upper` is added (`.path`, with everything below it); a name only in `lower` is
/// deleted (`.whiteout`); a name in both is changed when its type, permission bits, owner, size, mtime
/// (to the nanosecond), device number or symlink target differ — file contents are not compared, so a rewrite
/// keeping size and mtime exactly is not seen (the step's writes always move mtime). A directory is listed
/// when its own metadata (mode, owner) changed or anything below it did, so parents come with each change.
/// A directory replaced by a non-directory (or the reverse) is written whole, with no whiteout: extraction
/// replaces the lower node.
/// Example: lower `a/x`, `a/y`, `b`; upper `a/x` (edited), `c` → `.path("a")`, `.path("a/x")`,
/// `.whiteout("a/y")`, `.whiteout("b")`, `.path("c")`.
public enum TreeDiff {
    public static func entries(lower: String, upper: String) throws(SnapshotError) -> [LayerEntry] {
        let l = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard l >= 0 else { throw .system(operation: "open", path: lower, errno: errno) }
        defer { close(l) }
        let u = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard u >= 0 else { throw .system(operation: "open", path: upper, errno: errno) }
        defer { close(u) }
        var out: [LayerEntry] = []
        _ = try compare(l, u, relative: "", upperPath: upper, into: &out)
        return out
    }

    /// Appends the changes below this directory pair; returns whether there were any.
    private static func compare(_ l: Int32, _ u: Int32, relative: String, upperPath: String,
                                into out: inout [LayerEntry]) throws(SnapshotError) -> Bool {
        let lowerNames = Set(try FileTree.names(l, path: relative))
        let upperNames = try FileTree.names(u, path: upperPath)
        var changed = false
        for name in upperNames {
            let c = FileTree.cString(name)
            let text = String(decoding: name, as: UTF8.self)
            let rel = relative.isEmpty ? text : relative + "/" + text
            var us = stat()
            guard fstatat(u, c, &us, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .system(operation: "lstat", path: upperPath + "/" + text, errno: errno)
            }
            var ls = stat()
            let inLower = lowerNames.contains(name) && fstatat(l, c, &ls, AT_SYMLINK_NOFOLLOW) == 0
            let isDir = us.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR
            if inLower && isDir && ls.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR {
                let lc = openat(l, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                let uc = openat(u, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                defer {
                    if lc >= 0 { close(lc) }
                    if uc >= 0 { close(uc) }
                }
                guard lc >= 0, uc >= 0 else { throw .system(operation: "open", path: upperPath + "/" + text, errno: errno) }
                let index = out.count
                out.append(.path(rel))
                let below = try compare(lc, uc, relative: rel, upperPath: upperPath + "/" + text, into: &out)
                let own = us.st_mode != ls.st_mode || us.st_uid != ls.st_uid || us.st_gid != ls.st_gid
                if below || own { changed = true } else { out.remove(at: index) }
                continue
            }
            if inLower && !differs(l, u, c, ls, us) { continue }
            changed = true
            out.append(.path(rel))
            if isDir { try addAll(u, c, relative: rel, path: upperPath + "/" + text, into: &out) }
        }
        let upperSet = Set(upperNames)
        for name in lowerNames.sorted(by: { $0.lexicographicallyPrecedes($1) }) where !upperSet.contains(name) {
            let text = String(decoding: name, as: UTF8.self)
            out.append(.whiteout(relative.isEmpty ? text : relative + "/" + text))
            changed = true
        }
        return changed
    }

    private static func differs(_ l: Int32, _ u: Int32, _ c: [CChar], _ ls: stat, _ us: stat) -> Bool {
        if ls.st_mode != us.st_mode || ls.st_uid != us.st_uid || ls.st_gid != us.st_gid || ls.st_size != us.st_size
            || ls.st_mtim.tv_sec != us.st_mtim.tv_sec || ls.st_mtim.tv_nsec != us.st_mtim.tv_nsec
            || ls.st_rdev != us.st_rdev {
            return true
        }
        if us.st_mode & Glibc.S_IFMT == Glibc.S_IFLNK {
            return linkTarget(l, c) != linkTarget(u, c)
        }
        return false
    }

    static func linkTarget(_ dir: Int32, _ name: [CChar]) -> [CChar] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(dir, name, &buffer, buffer.count - 1)
        return n >= 0 ? Array(buffer[0..<n]) : []
    }

    private static func addAll(_ parent: Int32, _ c: [CChar], relative: String, path: String,
                               into out: inout [LayerEntry]) throws(SnapshotError) {
        let fd = openat(parent, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        for name in try FileTree.names(fd, path: path) {
            let cc = FileTree.cString(name)
            let text = String(decoding: name, as: UTF8.self)
            let rel = relative + "/" + text
            out.append(.path(rel))
            var st = stat()
            if fstatat(fd, cc, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR {
                try addAll(fd, cc, relative: rel, path: path + "/" + text, into: &out)
            }
        }
    }
}
