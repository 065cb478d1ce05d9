/// A blob in the content store.
public struct BlobInfo: Hashable, Sendable {
    public let digest: Digest
    public let size: Int64

    public init(digest: Digest, size: Int64) {
        self.digest = digest
        self.size = size
    }
}
