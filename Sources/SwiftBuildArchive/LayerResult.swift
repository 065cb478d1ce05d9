import SwiftBuildOCI

/// What writing one layer produced: the two digests an image needs and the blob's size.
public struct LayerResult: Sendable, Equatable {
    /// SHA-256 of the uncompressed tar stream (the image config's `rootfs.diff_ids` entry).
    public var diffID: Digest
    /// SHA-256 of the blob as written to the sink (the manifest's layer descriptor digest).
    public var digest: Digest
    /// Size of the blob in bytes.
    public var size: Int64
    /// Size of the uncompressed tar stream in bytes.
    public var uncompressedSize: Int64
    public var compression: LayerCompression

    /// `""`, `"+gzip"` or `"+zstd"`: appended to `application/vnd.oci.image.layer.v1.tar`.
    public var mediaTypeSuffix: String {
        switch compression {
        case .gzip: return "+gzip"
        case .zstd: return "+zstd"
        case .uncompressed: return ""
        }
    }

    /// The OCI layer media type of the blob.
    public var mediaType: String { "application/vnd.oci.image.layer.v1.tar" + mediaTypeSuffix }
}
