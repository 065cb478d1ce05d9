#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// A failure of the snapshot store, the overlay mount or a diff, naming the layer or path concerned.
public enum SnapshotError: Error, Sendable, CustomStringConvertible {
    /// The layer blob is not in the content store.
    case blobMissing(layer: Digest)
    /// The layer's uncompressed tar stream does not hash to the diff ID the image config gives.
    case diffIDMismatch(layer: Digest, expected: Digest, actual: Digest)
    /// The layer could not be decompressed.
    case decompression(layer: Digest, ArchiveError)
    /// Extracting the layer failed.
    case extraction(layer: Digest, LayerExtractionError)
    /// A path cannot be given to overlayfs (it holds `:`, `,` or a newline).
    case unusableOverlayPath(String)
    /// A system call failed.
    case system(operation: String, path: String, errno: Int32)
    /// The build was cancelled while the layer waited to be unpacked.
    case cancelled(layer: Digest)

    public var description: String {
        switch self {
        case .blobMissing(let layer): return "layer \(layer): blob not found in the content store"
        case .diffIDMismatch(let layer, let expected, let actual):
            return "layer \(layer): uncompressed content is \(actual), but the image config says \(expected)"
        case .decompression(let layer, let error): return "layer \(layer): \(error)"
        case .extraction(let layer, let error): return "layer \(layer): \(error)"
        case .unusableOverlayPath(let path): return "\(path): overlay paths cannot contain ':', ',' or newlines"
        case .system(let operation, let path, let code):
            return "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case .cancelled(let layer): return "layer \(layer): cancelled before it was unpacked"
        }
    }
}
