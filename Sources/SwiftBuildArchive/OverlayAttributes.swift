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

    /// Whether this process is in a user namespace other than the machine's own (read once): the initial user
    /// namespace's inode number is fixed (PROC_USER_INIT_INO). A namespace whose map mirrors the host's ids
    /// (a container's root that mapped its own ids) is still one: trusted attributes are refused there.
    public static let inUserNamespace: Bool = {
        var st = stat()
        guard stat("/proc/self/ns/user", &st) == 0 else { return false }
        return st.st_ino != 0xEFFF_FFFD
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
