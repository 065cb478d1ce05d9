import Foundation
import SwiftBuildOCI

/// A `--build-context NAME=VALUE` of buildx: what FROM NAME or COPY --from=NAME reads instead of an image or stage.
public enum NamedContext: Sendable, Equatable {
    /// `oci-layout:///path[:tag|@sha256:…]`: an image in an OCI layout directory.
    case ociLayout(path: String, tag: String?, digest: Digest?)
    /// `docker-image://ref`: another image (from the local store).
    case dockerImage(String)
    /// A local directory (for `COPY --from=NAME` and `--mount from=NAME`).
    case directory(String)

    public static func parse(_ value: String) throws(BuildRequestError) -> NamedContext {
        if value.hasPrefix("docker-image://") {
            let ref = String(value.dropFirst("docker-image://".count))
            guard !ref.isEmpty else { throw .invalid("--build-context", value, "an image reference is required") }
            return .dockerImage(ref)
        }
        if value.hasPrefix("oci-layout://") {
            var rest = String(value.dropFirst("oci-layout://".count))
            var digest: Digest?
            var tag: String?
            if let at = rest.range(of: "@") {
                do { digest = try Digest(parsing: String(rest[at.upperBound...])) } catch {
                    throw .invalid("--build-context", value, error.description)
                }
                rest = String(rest[..<at.lowerBound])
            }
            if let colon = rest.lastIndex(of: ":"), !rest[rest.index(after: colon)...].contains("/") {
                tag = String(rest[rest.index(after: colon)...])
                rest = String(rest[..<colon])
            }
            guard !rest.isEmpty else { throw .invalid("--build-context", value, "a layout directory is required") }
            return .ociLayout(path: rest, tag: tag, digest: digest)
        }
        if value.contains("://") {
            throw .invalid("--build-context", value, "unsupported context type (use oci-layout://, docker-image:// or a directory)")
        }
        return .directory(value)
    }

    /// `NAME=VALUE` → (name, context).
    public static func parseFlag(_ text: String) throws(BuildRequestError) -> (String, NamedContext) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw .invalid("--build-context", text, "expected NAME=VALUE")
        }
        return (String(text[..<eq]).lowercased(), try parse(String(text[text.index(after: eq)...])))
    }
}

/// An image in an OCI layout directory (a named context `oci-layout://`): its blobs are verified into the
/// content store.
struct OCILayoutSource {
    let path: String
    let content: ContentStore
    let images: ImageStore

    func image(tag: String?, digest: Digest?, platform: Platform) throws -> Image {
        guard let data = FileManager.default.contents(atPath: path + "/index.json") else {
            throw BuildError("build context \(path): not an OCI layout (no index.json)")
        }
        let index = try CanonicalJSON.decode(ImageIndex.self, from: [UInt8](data))
        var candidates = index.manifests
        if let digest {
            candidates = candidates.filter { $0.digest == digest }
        } else if let tag {
            candidates = candidates.filter { $0.annotations?[AnnotationKey.refName] == tag }
        }
        guard var descriptor = candidates.first else {
            throw BuildError("build context \(path): no image \(digest?.description ?? tag ?? "") in the layout")
        }
        func ingest(_ d: Descriptor) throws {
            if !content.has(d.digest) {
                try content.ingest(file: path + "/blobs/sha256/" + d.digest.encoded, expected: d.digest,
                                   expectedSize: d.size)
            }
        }
        if descriptor.mediaType.isIndex {
            try ingest(descriptor)
            let nested = try CanonicalJSON.decode(ImageIndex.self, from: try content.read(descriptor.digest))
            descriptor = try PlatformSelector.select(from: nested.manifests, platform: platform)
        }
        try ingest(descriptor)
        let manifest = try CanonicalJSON.decode(ImageManifest.self, from: try content.read(descriptor.digest))
        try ingest(manifest.config)
        for layer in manifest.layers { try ingest(layer) }
        return try images.image(descriptor, platform: platform)
    }
}
