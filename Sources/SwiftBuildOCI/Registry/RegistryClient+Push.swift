#if canImport(Glibc)
import Glibc
#endif

/// What pushing a blob took.
public enum BlobPushOutcome: Sendable, Equatable {
    /// The repository had it (`HEAD`).
    case present
    /// The registry linked it from another of its repositories (cross-repository mount).
    case mounted(from: String)
    /// Its bytes were uploaded.
    case uploaded
}

// Content-Length is set by the transport from the body (libcurl: from the upload size; 0 for no body).
extension RegistryClient {
    /// Uploads a blob from the content store unless the registry has it (`HEAD`). With `mountFrom` (another
    /// repository of this registry that has the blob), a cross-repository mount is asked for first; a registry
    /// that declines answers with an upload session, which is then used. Blobs up to `RegistryOptions.chunkSize`
    /// go in one request (POST to open the upload, PUT with the body and digest); larger ones in PATCH chunks
    /// with `Content-Range`, then a PUT with the digest (distribution spec, "Pushing blobs").
    @discardableResult
    public func pushBlob(repository: String, _ descriptor: Descriptor, from content: ContentStore,
                         mountFrom: String? = nil) throws(RegistryError) -> BlobPushOutcome {
        let what = "blob \(descriptor.digest) to \(domain)/\(repository)"
        if try blobExists(repository: repository, digest: descriptor.digest) { return .present }
        var query = ""
        if let mountFrom, mountFrom != repository {
            query = "?mount=" + Self.percentEncoded(descriptor.digest.description) + "&from="
                + Self.percentEncoded(mountFrom)
        }
        let opened = try send("POST", "/v2/\(repository)/blobs/uploads/" + query, repository: repository,
                              actions: "pull,push")
        if opened.status == 201, let mountFrom, !query.isEmpty { return .mounted(from: mountFrom) }
        guard opened.status == 202 || opened.isSuccess else { throw Self.failure(opened, what: what) }
        guard let started = opened.header("Location") else {
            throw .protocolViolation(what: what, reason: "upload started without a Location")
        }
        var location = absolute(started)
        let path = content.path(for: descriptor.digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .store(what: what, error: .system(call: "open", path: path, errno: errno))
        }
        defer { close(fd) }
        if descriptor.size <= options.chunkSize {
            let response = try send("PUT", Self.appending(digest: descriptor.digest, to: location),
                                    repository: repository, actions: "pull,push",
                                    headers: [("Content-Type", "application/octet-stream")],
                                    body: .file(descriptor: fd, length: descriptor.size))
            guard response.status == 201 || response.isSuccess else { throw Self.failure(response, what: what) }
            return .uploaded
        }
        var offset: Int64 = 0
        while offset < descriptor.size {
            let length = min(options.chunkSize, descriptor.size - offset)
            guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
                throw .store(what: what, error: .system(call: "lseek", path: path, errno: errno))
            }
            let response = try send("PATCH", location, repository: repository, actions: "pull,push",
                                    headers: [("Content-Type", "application/octet-stream"),
                                              ("Content-Range", "\(offset)-\(offset + length - 1)")],
                                    body: .file(descriptor: fd, length: length))
            guard response.status == 202 || response.isSuccess else { throw Self.failure(response, what: what) }
            guard let next = response.header("Location") else {
                throw .protocolViolation(what: what, reason: "PATCH answer without Location")
            }
            location = absolute(next)
            offset += length
        }
        let response = try send("PUT", Self.appending(digest: descriptor.digest, to: location),
                                repository: repository, actions: "pull,push")
        guard response.status == 201 || response.isSuccess else { throw Self.failure(response, what: what) }
        return .uploaded
    }

    /// Uploads a manifest or index under a tag (or its digest).
    public func pushManifest(repository: String, reference: String, mediaType: MediaType,
                             bytes: [UInt8]) throws(RegistryError) {
        let what = "manifest \(domain)/\(repository):\(reference)"
        let response = try send("PUT", "/v2/\(repository)/manifests/\(reference)", repository: repository,
                                actions: "pull,push",
                                headers: [("Content-Type", mediaType.rawValue)], body: .bytes(bytes))
        guard response.status == 201 || response.isSuccess else { throw Self.failure(response, what: what) }
        if let header = response.header("Docker-Content-Digest"), let digest = try? Digest(parsing: header),
           digest != SHA256Hasher.digest(bytes) {
            throw .protocolViolation(what: what, reason: "the registry stored it as \(digest)")
        }
    }

    static func appending(digest: Digest, to location: String) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + percentEncoded(digest.description)
    }
}
