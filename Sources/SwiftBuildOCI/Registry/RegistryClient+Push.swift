#if canImport(Glibc)
import Glibc
#endif

extension RegistryClient {
    /// Uploads a blob from the content store unless the registry has it (`HEAD`). Blobs up to
    /// `RegistryOptions.chunkSize` go in one request (POST to open the upload, PUT with the body and digest);
    /// larger ones in PATCH chunks with `Content-Range`, then a PUT with the digest (distribution spec,
    /// "Pushing blobs"). Returns false when the blob was already there.
    @discardableResult
    public func pushBlob(repository: String, _ descriptor: Descriptor,
                         from content: ContentStore) throws(RegistryError) -> Bool {
        let what = "blob \(descriptor.digest) to \(domain)/\(repository)"
        if try blobExists(repository: repository, digest: descriptor.digest) { return false }
        let path = content.path(for: descriptor.digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .store(what: what, error: .system(call: "open", path: path, errno: errno))
        }
        defer { close(fd) }
        var location = try startUpload(repository: repository, what: what)
        if descriptor.size <= options.chunkSize {
            let response = try send("PUT", Self.appending(digest: descriptor.digest, to: location),
                                    repository: repository, actions: "pull,push",
                                    headers: [("Content-Type", "application/octet-stream"),
                                              ("Content-Length", String(descriptor.size))],
                                    body: .file(descriptor: fd, length: descriptor.size))
            guard response.status == 201 || response.isSuccess else { throw Self.failure(response, what: what) }
            return true
        }
        var offset: Int64 = 0
        while offset < descriptor.size {
            let length = min(options.chunkSize, descriptor.size - offset)
            guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
                throw .store(what: what, error: .system(call: "lseek", path: path, errno: errno))
            }
            let response = try send("PATCH", location, repository: repository, actions: "pull,push",
                                    headers: [("Content-Type", "application/octet-stream"),
                                              ("Content-Length", String(length)),
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
                                repository: repository, actions: "pull,push",
                                headers: [("Content-Length", "0")])
        guard response.status == 201 || response.isSuccess else { throw Self.failure(response, what: what) }
        return true
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

    private func startUpload(repository: String, what: String) throws(RegistryError) -> String {
        let response = try send("POST", "/v2/\(repository)/blobs/uploads/", repository: repository,
                                actions: "pull,push")
        guard response.status == 202 || response.isSuccess else { throw Self.failure(response, what: what) }
        guard let location = response.header("Location") else {
            throw .protocolViolation(what: what, reason: "upload started without a Location")
        }
        return absolute(location)
    }

    static func appending(digest: Digest, to location: String) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + percentEncoded(digest.description)
    }
}
