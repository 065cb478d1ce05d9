/// One entry of a build context, as sent to the builder: its path relative to the context root and its
/// `lstat` information (symbolic links are not followed).
public struct ContextEntry: Sendable, Hashable, CustomStringConvertible {
    /// The file type of an entry.
    public enum Kind: String, Sendable, Hashable {
        case file, directory, symlink, fifo, socket, characterDevice, blockDevice
    }

    /// Relative, `/`-separated path without a leading `/` (invalid UTF-8 in names replaced by U+FFFD).
    public var path: String
    /// The exact bytes of the relative path, for names that are not valid UTF-8.
    public var pathBytes: [UInt8]
    public var kind: Kind
    /// Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`).
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var modificationSeconds: Int64
    public var modificationNanoseconds: Int64
    public var device: UInt64
    public var inode: UInt64
    public var linkCount: UInt64
    /// Device number for character and block devices.
    public var rdev: UInt64
    /// Target of a symbolic link.
    public var linkTarget: String?

    public init(path: String, pathBytes: [UInt8]? = nil, kind: Kind, permissions: UInt32 = 0o644, uid: UInt32 = 0,
                gid: UInt32 = 0, size: Int64 = 0, modificationSeconds: Int64 = 0, modificationNanoseconds: Int64 = 0,
                device: UInt64 = 0, inode: UInt64 = 0, linkCount: UInt64 = 1, rdev: UInt64 = 0,
                linkTarget: String? = nil) {
        self.path = path
        self.pathBytes = pathBytes ?? Array(path.utf8)
        self.kind = kind
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.size = size
        self.modificationSeconds = modificationSeconds
        self.modificationNanoseconds = modificationNanoseconds
        self.device = device
        self.inode = inode
        self.linkCount = linkCount
        self.rdev = rdev
        self.linkTarget = linkTarget
    }

    /// `"<kind> <path>"`, with `file` and `dir` spelled as in the conformance vectors.
    public var description: String {
        let k: String
        switch kind {
        case .file: k = "file"
        case .directory: k = "dir"
        case .symlink: k = "symlink"
        case .fifo: k = "fifo"
        case .socket: k = "socket"
        case .characterDevice: k = "chardev"
        case .blockDevice: k = "blockdev"
        }
        return "\(k) \(path)"
    }
}
