import SwiftBuildDockerfile

/// Why a build context could not be read or filtered.
public enum BuildContextError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The include or exclude (`.dockerignore`) patterns were rejected, or one failed while matching `path`.
    case patterns(PatternError, source: String, path: String?)
    /// A system call failed on `path`.
    case system(operation: String, path: String, errno: Int32)
    /// The context root is not a directory.
    case notADirectory(path: String)
    /// The ignore file could not be read.
    case ignoreFile(path: String, IgnoreFileError)

    public var description: String {
        switch self {
        case .patterns(let err, let source, let path):
            if let path { return "\(source): failed to match \"\(path)\": \(err)" }
            return "\(source): \(err)"
        case .system(let op, let path, let code):
            return "\(op) \(path): \(BuildContextError.message(for: code)) (errno \(code))"
        case .notADirectory(let path):
            return "build context \(path) is not a directory"
        case .ignoreFile(let path, let err):
            return "\(path): \(err)"
        }
    }

    static func message(for code: Int32) -> String {
        guard let s = strerror(code) else { return "unknown error" }
        return String(cString: s)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
