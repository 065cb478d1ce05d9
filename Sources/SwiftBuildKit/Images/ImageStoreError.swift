#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// Why an image store, load or export operation failed. Each case says which file or blob.
public enum ImageStoreError: Error, CustomStringConvertible {
    /// A system call failed on `path`.
    case system(call: String, path: String, errno: Int32)
    /// The content store refused or lost a blob.
    case content(ContentStoreError)
    /// A JSON document (manifest, index, config, record) could not be decoded.
    case malformedJSON(what: String, reason: String)
    /// A blob's bytes do not match the digest (or size) that names it.
    case digestMismatch(what: String, expected: Digest, actual: Digest)
    case sizeMismatch(what: String, expected: Int64, actual: Int64)
    /// A blob a manifest or index names is not there.
    case missingBlob(what: String, digest: Digest)
    /// A media type where another kind of document was expected.
    case unexpectedMediaType(what: String, mediaType: MediaType)
    /// An index has no manifest for the wanted platform.
    case noMatchingPlatform(wanted: Platform, available: [String])
    /// The manifest's layers and the config's diff_ids do not pair up.
    case layerCountMismatch(manifest: Digest, layers: Int, diffIDs: Int)
    /// An image to be written is inconsistent.
    case invalidImage(String)
    /// The input is neither an OCI layout, an OCI archive nor a docker-archive.
    case unrecognizedInput(path: String, reason: String)
    /// An archive entry or a file in a layout names a path outside the input.
    case unsafePath(path: String)
    /// Reading the tar failed.
    case archive(String)

    public var description: String {
        switch self {
        case .system(let call, let path, let code): return "\(call) \(path): \(String(cString: strerror(code)))"
        case .content(let error): return error.description
        case .malformedJSON(let what, let reason): return "malformed \(what): \(reason)"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what): content digest mismatch: expected \(expected), got \(actual)"
        case .sizeMismatch(let what, let expected, let actual):
            return "\(what): size mismatch: expected \(expected) bytes, got \(actual)"
        case .missingBlob(let what, let digest): return "\(what): blob \(digest) is missing"
        case .unexpectedMediaType(let what, let mediaType): return "\(what): unexpected media type \(mediaType)"
        case .noMatchingPlatform(let wanted, let available):
            return "no image for platform \(wanted) (available: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case .layerCountMismatch(let manifest, let layers, let diffIDs):
            return "image \(manifest) has \(layers) layers but its config lists \(diffIDs) diff_ids"
        case .invalidImage(let reason): return "invalid image: \(reason)"
        case .unrecognizedInput(let path, let reason): return "\(path): not an image archive or layout: \(reason)"
        case .unsafePath(let path): return "refusing path outside the input: \(path)"
        case .archive(let message): return "reading the archive: \(message)"
        }
    }
}
