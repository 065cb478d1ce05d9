#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// Why writing an output failed; each case names the output or the layer.
public enum ExportError: Error, CustomStringConvertible {
    case image(ImageStoreError)
    case content(ContentStoreError)
    /// A layer could not be re-encoded or unpacked.
    case layer(digest: Digest, reason: String)
    /// Re-encoding a layer gave other tar bytes than its config's diff_id says.
    case diffIDMismatch(layer: Digest, expected: Digest, actual: Digest)
    case system(call: String, path: String, errno: Int32)
    /// The output cannot be written as asked.
    case unsupported(String)

    public var description: String {
        switch self {
        case .image(let error): return error.description
        case .content(let error): return error.description
        case .layer(let digest, let reason): return "layer \(digest): \(reason)"
        case .diffIDMismatch(let layer, let expected, let actual):
            return "layer \(layer): its tar stream has digest \(actual) but the image config says \(expected)"
        case .system(let call, let path, let code): return "\(call) \(path): \(String(cString: strerror(code)))"
        case .unsupported(let what): return what
        }
    }
}
