/// What a `LayerExtractor` run did.
public struct ExtractionReport: Sendable, Equatable {
    /// The compression detected from the data.
    public var compression = DetectedCompression.none
    public var entries = 0
    public var regularFiles = 0
    public var directories = 0
    public var symlinks = 0
    public var hardlinks = 0
    public var devices = 0
    public var fifos = 0
    /// `.wh.NAME` entries applied (whether or not NAME existed).
    public var whiteouts = 0
    /// `.wh..wh..opq` entries applied.
    public var opaqueDirectories = 0
    /// Bytes of file data written.
    public var bytesWritten: Int64 = 0
    /// Things skipped or not restored that did not stop extraction (sockets, unsettable xattrs, ...).
    public var warnings: [String] = []

    public init() {}
}
