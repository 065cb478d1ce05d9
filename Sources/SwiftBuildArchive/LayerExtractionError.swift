#if canImport(Glibc)
import Glibc
#endif

/// Why extracting a layer stopped, naming the entry that caused it.
public struct LayerExtractionError: Error, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The entry path has a `..` component.
        case parentTraversal
        /// The entry path starts with `/`.
        case absolutePath
        /// The entry path (or a hardlink target) is empty or names the root itself.
        case emptyPath
        /// The entry path has more components than `maxPathDepth`.
        case pathTooDeep(depth: Int, limit: Int)
        /// The entry path is longer than `maxPathBytes`.
        case pathTooLong(bytes: Int, limit: Int)
        /// A directory on the way to the entry is a symlink (from this layer or already on disk).
        case symlinkInPath(component: String)
        /// A directory on the way to the entry is not a directory.
        case notADirectoryInPath(component: String)
        /// A hardlink's target is absolute, has `..`, or passes through a symlink.
        case hardlinkTargetOutsideRoot(target: String)
        /// A hardlink's target does not exist (yet) in the tree.
        case hardlinkTargetMissing(target: String)
        /// A hardlink's target is a directory.
        case hardlinkToDirectory(target: String)
        /// A device node, and devices are not allowed (not root, or `allowDevices` is false).
        case deviceNotAllowed
        /// A whiteout with no name after `.wh.`, or whiting out `.` or `..`.
        case invalidWhiteout
        /// The entry type is not one a layer may hold.
        case unsupportedEntryType(mode: UInt32)
        /// The archive had fewer data bytes than the entry header declared.
        case truncatedData(declared: Int64, read: Int64)
        /// libarchive could not read the archive (bad compression, truncated header or data, ...).
        case archive(ArchiveError)
        /// A system call failed.
        case system(call: String, errno: Int32)
    }

    /// The entry path as it appears in the archive (lossy UTF-8), or a description of the position.
    public let entry: String
    public let reason: Reason

    public init(entry: String, reason: Reason) {
        self.entry = entry
        self.reason = reason
    }

    public var description: String {
        let why: String
        switch reason {
        case .parentTraversal: why = "path contains '..'"
        case .absolutePath: why = "path is absolute"
        case .emptyPath: why = "path is empty or names the root"
        case .pathTooDeep(let depth, let limit): why = "path has \(depth) components (limit \(limit))"
        case .pathTooLong(let bytes, let limit): why = "path is \(bytes) bytes long (limit \(limit))"
        case .symlinkInPath(let c): why = "path passes through the symlink '\(c)'"
        case .notADirectoryInPath(let c): why = "path passes through '\(c)', which is not a directory"
        case .hardlinkTargetOutsideRoot(let t): why = "hardlink target '\(t)' is outside the root or passes through a symlink"
        case .hardlinkTargetMissing(let t): why = "hardlink target '\(t)' does not exist"
        case .hardlinkToDirectory(let t): why = "hardlink target '\(t)' is a directory"
        case .deviceNotAllowed: why = "device nodes are not allowed here (not running as root, or allowDevices is false)"
        case .invalidWhiteout: why = "invalid whiteout name"
        case .unsupportedEntryType(let mode): why = "unsupported entry type (mode \(String(mode, radix: 8)))"
        case .truncatedData(let declared, let read): why = "entry declares \(declared) bytes but the archive holds only \(read)"
        case .archive(let e): why = e.description
        case .system(let call, let e): why = "\(call) failed: \(String(cString: strerror(e)))"
        }
        return "layer entry '\(entry)': \(why)"
    }
}
