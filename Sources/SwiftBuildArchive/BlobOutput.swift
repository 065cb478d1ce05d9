import SwiftBuildOCI

/// The end of the pipeline: hashes and counts the blob bytes, then passes them to the caller's sink.
final class BlobOutput {
    private let sink: any LayerSink
    private let hasher: SHA256Hasher?
    private(set) var size: Int64 = 0

    /// With `hashing` off the blob is the tar stream itself, whose digest is already the diff ID.
    init(sink: any LayerSink, hashing: Bool) {
        self.sink = sink
        self.hasher = hashing ? SHA256Hasher() : nil
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        hasher?.update(bytes)
        size += Int64(bytes.count)
        try sink.write(bytes)
    }

    func finalize() -> Digest? { hasher?.finalize() }
}
