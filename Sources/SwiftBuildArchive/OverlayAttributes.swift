#if canImport(Glibc)
import Glibc
#endif

/// The extended attributes overlayfs keeps its bookkeeping in (opaque directories, redirects, origins):
/// `trusted.overlay.*` as the machine's root, `user.overlay.*` as root of a user namespace (rootless), where
/// overlayfs must be mounted with `userxattr` because trusted attributes are refused there. Snapshots,
/// overlay mounts and diffs of one process all use the same kind; both kinds are overlay bookkeeping, never
/// image content: layers never carry them, and extraction refuses them.
public enum OverlayAttributes {
    public static let privilegedPrefix = "trusted.overlay."
    public static let unprivilegedPrefix = "user.overlay."

    /// Whether this process is root of a user namespace rather than the machine's root (read once, from
    /// /proc/self/uid_map: anything but the whole identity map).
    public static let inUserNamespace: Bool = {
        let fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return false }
        let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        return fields != ["0", "0", "4294967295"]
    }()

    /// The prefix this process's overlay mounts use.
    public static var prefix: String { inUserNamespace ? unprivilegedPrefix : privilegedPrefix }
    /// The opaque-directory attribute (value "y").
    public static var opaque: String { prefix + "opaque" }

    /// Whether the attribute name (bytes, without its NUL) is overlay bookkeeping of either kind.
    public static func isOverlay<C: Collection>(_ name: C) -> Bool where C.Element == UInt8 {
        name.starts(with: privilegedPrefix.utf8) || name.starts(with: unprivilegedPrefix.utf8)
    }
}
