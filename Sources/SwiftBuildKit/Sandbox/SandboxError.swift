#if canImport(Glibc)
import Glibc
#endif

/// Why a sandboxed process could not be run. A command that runs and fails is not an error: its status is returned.
public enum SandboxError: Error, Equatable, CustomStringConvertible {
    /// The spec cannot be run as given (relative paths, empty argv, characters overlayfs cannot take…).
    case invalidSpec(String)
    /// The executable was not found (in PATH inside the rootfs when the name has no `/`).
    case executableNotFound(String)
    /// A step of the child's setup failed (`step` as the child names it, the path it was working on).
    case setupFailed(step: String, path: String, errno: Int32)
    /// The builder could not prepare or start the child.
    case system(operation: String, path: String, errno: Int32)
    /// The task was cancelled; the process tree was killed and its mounts released.
    case cancelled

    public var description: String {
        switch self {
        case .invalidSpec(let why):
            return "sandbox: \(why)"
        case .executableNotFound(let name):
            return name.contains("/") ? "exec: \"\(name)\": no such file or directory"
                                      : "exec: \"\(name)\": executable file not found in $PATH"
        case .setupFailed(let step, let path, let code):
            return "sandbox setup failed: \(step) \(path): \(Self.message(code))"
        case .system(let operation, let path, let code):
            return "sandbox: \(operation) \(path): \(Self.message(code))"
        case .cancelled:
            return "sandbox: cancelled"
        }
    }

    static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
