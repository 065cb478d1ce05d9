#if canImport(Glibc)
import Glibc
#endif

/// Extracts an OCI layer (a tar stream, compressed with gzip, zstd, xz or bzip2, or not at all) onto a directory
/// that already holds the lower layers, applying OCI whiteouts.
///
/// Nothing is ever created or changed outside the root directory: every path is resolved by walking directory
/// descriptors from the root (`openat2` with `RESOLVE_NO_SYMLINKS` when the kernel has it, else one
/// `openat(O_NOFOLLOW | O_DIRECTORY)` per component), so an entry whose path has `..`, is absolute, or passes
/// through a symlink (from this layer or already on disk) is refused with an error naming it. Symlinks are created
/// as they are and never followed; hardlink targets are resolved the same way as entry paths.
public struct LayerExtractor: Sendable {
    public struct Options: Sendable {
        /// Set owners from the archive (requires root). Default: true when running as root.
        public var preserveOwners: Bool
        /// Create character and block devices. When false a device entry is refused. Default: true when root.
        public var allowDevices: Bool
        /// Apply `.wh.NAME` and `.wh..wh..opq` (OCI whiteouts). When false they are extracted as ordinary
        /// files, which is only useful to inspect a layer.
        public var applyWhiteouts: Bool
        /// With `applyWhiteouts`: instead of deleting lower content, write the whiteouts in overlayfs form so
        /// the extracted directory can be stacked as an overlay lower layer on its own:
        /// `dir/.wh.name` becomes a character device 0/0 at `dir/name`, and `dir/.wh..wh..opq` sets
        /// `trusted.overlay.opaque=y` on `dir` (created if missing). Needs root (mknod, trusted xattrs).
        /// Example: a layer with `etc/.wh.motd` extracts to `etc/motd`, a `c 0 0` device node.
        public var overlayWhiteouts: Bool
        /// Restore extended attributes. Failures to set one (e.g. unsupported by the file system) are
        /// reported as warnings, not errors.
        public var preserveXattrs: Bool
        /// An entry path with more components than this is refused (guards against deep-path tar bombs).
        public var maxPathDepth: Int
        /// An entry path longer than this many bytes is refused.
        public var maxPathBytes: Int
        /// Size of the one buffer file data streams through.
        public var bufferSize: Int
        /// Use `openat2` when the kernel has it. Turned off only to test the portable walk.
        public var useOpenat2: Bool

        public init(preserveOwners: Bool? = nil, allowDevices: Bool? = nil, applyWhiteouts: Bool = true,
                    overlayWhiteouts: Bool = false, preserveXattrs: Bool = true, maxPathDepth: Int = 1024, maxPathBytes: Int = 4096,
                    bufferSize: Int = 256 * 1024, useOpenat2: Bool = true) {
            let root = geteuid() == 0
            self.preserveOwners = preserveOwners ?? root
            self.allowDevices = allowDevices ?? root
            self.applyWhiteouts = applyWhiteouts
            self.overlayWhiteouts = overlayWhiteouts
            self.preserveXattrs = preserveXattrs
            self.maxPathDepth = maxPathDepth
            self.maxPathBytes = maxPathBytes
            self.bufferSize = max(4096, bufferSize)
            self.useOpenat2 = useOpenat2
        }
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Extracts the layer in the file at `path` onto `rootDirectory`, which must exist.
    @discardableResult
    public func extract(archiveAt path: String, into rootDirectory: String) throws(LayerExtractionError) -> ExtractionReport {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LayerExtractionError(entry: "<archive \(path)>", reason: .system(call: "open", errno: errno))
        }
        let owned = OwnedDescriptor(fd)
        return try extract(fileDescriptor: owned.raw, into: rootDirectory)
    }

    /// Extracts the layer read from `fileDescriptor` (a file or a pipe, left open) onto `rootDirectory`.
    @discardableResult
    public func extract(fileDescriptor: Int32, into rootDirectory: String) throws(LayerExtractionError) -> ExtractionReport {
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader()
            try reader.open(fileDescriptor: fileDescriptor)
        } catch {
            throw LayerExtractionError(entry: "<archive>", reason: .archive(error))
        }
        let session = try ExtractionSession(rootDirectory: rootDirectory, options: options)
        return try session.run(reader)
    }
}
