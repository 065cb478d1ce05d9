import CSys
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive

/// Translates an overlayfs upper directory (what one step changed) into layer entries, read by
/// `LayerWriter.write(entries:from: upper, ...)`:
/// - a character device 0/0 is a deleted name → `.whiteout(path)`;
/// - a directory with `trusted.overlay.opaque=y` replaced the lower one → `.path(dir)`, `.opaqueDirectory(dir)`
///   and its contents;
/// - everything else → `.path`. Every directory of the upper is listed too, so the parents of each change are
///   in the layer with their (copied-up) metadata, as BuildKit's overlay differ does.
///
/// Example: after `rm /etc/motd; mkdir -p /opt/x` over a lower with `/etc/motd` and `/opt/x` (recreated from
/// scratch), the upper holds `etc/` `etc/motd` (c 0 0) `opt/` `opt/x/` (opaque), giving
/// `.path("etc"), .whiteout("etc/motd"), .path("opt"), .path("opt/x"), .opaqueDirectory("opt/x")`.
public enum OverlayDiff {
    public static func entries(upper: String) throws(SnapshotError) -> [LayerEntry] {
        let fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: upper, errno: errno) }
        defer { close(fd) }
        var out: [LayerEntry] = []
        try walk(fd, relative: "", path: upper, insideOpaque: false, into: &out)
        return out
    }

    private static func walk(_ fd: Int32, relative: String, path: String, insideOpaque: Bool,
                             into out: inout [LayerEntry]) throws(SnapshotError) {
        for name in try FileTree.names(fd, path: path) {
            let c = FileTree.cString(name)
            let text = String(decoding: name, as: UTF8.self)
            let rel = relative.isEmpty ? text : relative + "/" + text
            var st = stat()
            guard fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .system(operation: "lstat", path: path + "/" + text, errno: errno)
            }
            let type = st.st_mode & Glibc.S_IFMT
            if type == Glibc.S_IFCHR && st.st_rdev == 0 {
                if !insideOpaque { out.append(.whiteout(rel)) }
                continue
            }
            out.append(.path(rel))
            guard type == Glibc.S_IFDIR else { continue }
            let child = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { throw .system(operation: "open", path: path + "/" + text, errno: errno) }
            defer { close(child) }
            let opaque = isOpaque(fd: child)
            if opaque { out.append(.opaqueDirectory(rel)) }
            try walk(child, relative: rel, path: path + "/" + text, insideOpaque: insideOpaque || opaque, into: &out)
        }
    }

    /// Whether the open directory carries `trusted.overlay.opaque=y`.
    static func isOpaque(fd: Int32) -> Bool {
        var value: [UInt8] = [0, 0]
        let n = fgetxattr(fd, OverlayAttributes.opaque, &value, value.count)
        return n == 1 && value[0] == UInt8(ascii: "y")
    }
}
