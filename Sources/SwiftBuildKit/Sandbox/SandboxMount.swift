/// A mount added to the sandbox after its root, /proc, /dev and /sys. Targets are absolute paths inside the rootfs;
/// a missing target is created as a stub and removed again after the run.
public enum SandboxMount: Sendable {
    /// A host directory or file; `readOnly` applies to the whole bound tree.
    case bind(source: String, target: String, readOnly: Bool)
    /// A fresh tmpfs (mode 1777); `sizeBytes` nil = the kernel's default size.
    case tmpfs(target: String, sizeBytes: Int64?)
    /// A file with these contents and metadata, mounted read-only (secrets).
    case file(contents: [UInt8], target: String, mode: UInt32, uid: UInt32, gid: UInt32)

    public var target: String {
        switch self {
        case .bind(_, let target, _), .tmpfs(let target, _), .file(_, let target, _, _, _): return target
        }
    }
}
