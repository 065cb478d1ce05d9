/// One entry of a layer built from an explicit list (a diff), rather than a whole tree.
/// Paths are relative to the root given to `LayerWriter.write(entries:from:to:)`, `/`-separated.
public enum LayerEntry: Sendable, Hashable {
    /// The file, directory, symlink, device or FIFO at this path, as it is on disk
    /// (for a directory: the directory itself, not its contents).
    case path(String)
    /// Marks `path` deleted from the lower layers: an empty `.wh.<name>` file in its parent directory.
    case whiteout(String)
    /// Hides everything the lower layers have in this directory: `<directory>/.wh..wh..opq`.
    case opaqueDirectory(String)
    /// A node with the type, content, link target, hard-link identity and extended attributes of the node at the
    /// absolute host path `source` (not followed if a symlink), and the owner, permission bits and modification
    /// time given: a file copied into the layer straight from where it is (a COPY from the build context),
    /// never written anywhere first.
    case copy(String, source: String, metadata: EntryMetadata)
    /// A directory that exists on no disk, with this metadata and no extended attributes.
    case directory(String, metadata: EntryMetadata)

    /// The owner, permission bits (with setuid/setgid/sticky) and modification time of a `copy` or `directory`.
    public struct EntryMetadata: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        public var permissions: UInt32
        public var mtime: Int64
        public var mtimeNanoseconds: Int

        public init(uid: UInt32, gid: UInt32, permissions: UInt32, mtime: Int64, mtimeNanoseconds: Int) {
            self.uid = uid
            self.gid = gid
            self.permissions = permissions
            self.mtime = mtime
            self.mtimeNanoseconds = mtimeNanoseconds
        }
    }
}

/// The order of entries in our layers: by path, component by component (a directory's children follow it
/// directly), each component compared by bytes. This is the order the tree walk produces, so an entry
/// list sorted this way gives the same bytes as walking the same files.
enum TarPathOrder {
    /// Compares two relative paths (no trailing slash) as if "/" sorted before every other byte.
    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let n = min(a.count, b.count)
        var i = 0
        while i < n {
            let x = a[i], y = b[i]
            if x != y {
                if x == 0x2f { return true }
                if y == 0x2f { return false }
                return x < y
            }
            i += 1
        }
        return a.count < b.count
    }

    /// Checks that `path` is relative and normal: no empty, `.` or `..` components, no NUL.
    /// A single trailing slash is dropped.
    static func normalized(_ path: String) throws(LayerWriterError) -> [UInt8] {
        var bytes = Array(path.utf8)
        if bytes.count > 1 && bytes.last == 0x2f { bytes.removeLast() }
        guard !bytes.isEmpty, bytes.first != 0x2f, !bytes.contains(0) else { throw .invalidEntryPath(path) }
        for component in bytes.split(separator: 0x2f, omittingEmptySubsequences: false) {
            if component.isEmpty || component.elementsEqual([0x2e]) || component.elementsEqual([0x2e, 0x2e]) {
                throw .invalidEntryPath(path)
            }
        }
        return bytes
    }
}
