#if canImport(Glibc)
import Glibc
#endif

/// Why a USER (or --chown) value could not be resolved in an image's rootfs. Texts follow BuildKit's (runc's).
public enum UserResolverError: Error, Equatable, CustomStringConvertible {
    case unknownUser(String)
    case unknownGroup(String)
    case invalidID(String)
    /// /etc/passwd or /etc/group could not be read (not a regular file, too large, I/O error).
    case unreadable(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .unknownUser(let name): return "unable to find user \(name): no matching entries in passwd file"
        case .unknownGroup(let name): return "unable to find group \(name): no matching entries in group file"
        case .invalidID(let text): return "invalid user or group id \"\(text)\""
        case .unreadable(let path, let code): return "cannot read \(path) in the image: \(SandboxError.message(code))"
        }
    }
}
