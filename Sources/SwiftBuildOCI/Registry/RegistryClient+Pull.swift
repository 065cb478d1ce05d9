extension RegistryClient {
    /// The manifest media types swiftbuild reads, in the `Accept` header of manifest requests.
    static let manifestAccept = [MediaType.ociManifest, .ociIndex, .dockerManifest, .dockerManifestList]
        .map(\.rawValue).joined(separator: ", ")

    /// The descriptor a tag or digest currently names (`HEAD` on the manifest; a `GET` if the registry gives no
    /// digest header).
    public func resolve(repository: String, reference: String) throws(RegistryError) -> Descriptor {
        let what = "manifest \(domain)/\(repository):\(reference)"
        let response = try send("HEAD", "/v2/\(repository)/manifests/\(reference)", repository: repository,
                                actions: "pull", headers: [("Accept", Self.manifestAccept)])
        guard response.isSuccess else { throw Self.failure(response, what: what) }
        if let digestText = response.header("Docker-Content-Digest"), let digest = try? Digest(parsing: digestText),
           let typeText = response.header("Content-Type"), let sizeText = response.header("Content-Length"),
           let size = Int64(sizeText) {
            return Descriptor(mediaType: MediaType(rawValue: Self.bareType(typeText)), digest: digest, size: size)
        }
        return try manifest(repository: repository, reference: reference).descriptor
    }

    /// Fetches a manifest or index by tag or digest: its bytes (as served, so its digest holds) and descriptor.
    /// A digest reference is verified against the bytes; a tag's bytes against `Docker-Content-Digest` if given.
    public func manifest(repository: String, reference: String) throws(RegistryError)
        -> (descriptor: Descriptor, bytes: [UInt8]) {
        let what = "manifest \(domain)/\(repository)" + (reference.contains(":") ? "@" : ":") + reference
        var bytes: [UInt8] = []
        let limit = 4 << 20
        let response = try send("GET", "/v2/\(repository)/manifests/\(reference)", repository: repository,
                                actions: "pull", headers: [("Accept", Self.manifestAccept)]) { _, chunk in
            guard bytes.count + chunk.count <= limit else {
                throw RegistryError.protocolViolation(what: what, reason: "manifest larger than 4 MiB")
            }
            bytes.append(contentsOf: chunk)
        }
        guard response.isSuccess else { throw Self.failure(response, what: what) }
        let digest = SHA256Hasher.digest(bytes)
        if let expected = try? Digest(parsing: reference), expected != digest {
            throw .verification(what: what, reason: "content digest mismatch: expected \(expected), got \(digest)")
        }
        if let header = response.header("Docker-Content-Digest"), let expected = try? Digest(parsing: header),
           expected != digest {
            throw .verification(what: what, reason: "content digest mismatch: registry said \(expected), got \(digest)")
        }
        struct Probe: Decodable { var mediaType: MediaType?; var manifests: [Descriptor]? }
        let probe = try? CanonicalJSON.decode(Probe.self, from: bytes)
        var mediaType = probe?.mediaType
        if mediaType == nil, let type = response.header("Content-Type") {
            let candidate = MediaType(rawValue: Self.bareType(type))
            if candidate.isManifest || candidate.isIndex { mediaType = candidate }
        }
        let resolved = mediaType ?? (probe?.manifests != nil ? .ociIndex : .ociManifest)
        guard resolved.isManifest || resolved.isIndex else {
            throw .protocolViolation(what: what, reason: "unsupported manifest type \(resolved)")
        }
        return (Descriptor(mediaType: resolved, digest: digest, size: Int64(bytes.count)), bytes)
    }

    /// Downloads a blob into the content store, streaming through the store's ingest writer, which verifies
    /// the digest and size before the blob gets its name: bad bytes store nothing. A blob already stored is
    /// not downloaded again. A transfer broken off midway is resumed with a `Range` request for the rest
    /// (bounded by `RegistryOptions.attempts`); a registry that answers the range with the whole blob has the
    /// part already written skipped.
    @discardableResult
    public func fetchBlob(repository: String, _ descriptor: Descriptor,
                          into content: ContentStore) throws(RegistryError) -> BlobInfo {
        let what = "blob \(descriptor.digest) of \(domain)/\(repository)"
        if let info = try? content.info(descriptor.digest), info.size == descriptor.size { return info }
        let writer: IngestWriter
        do { writer = try content.writer() } catch { throw .store(what: what, error: error) }
        var attempt = 0
        while true {
            attempt += 1
            let offset = writer.bytesWritten
            var skip: Int64 = 0
            var first = true
            do throws(RegistryError) {
                let response = try send("GET", "/v2/\(repository)/blobs/\(descriptor.digest)", repository: repository,
                                        actions: "pull", headers: offset > 0 ? [("Range", "bytes=\(offset)-")] : []) {
                    status, chunk in
                    if first {
                        first = false
                        if offset > 0 && status != 206 { skip = offset }  // the whole blob again
                    }
                    var part = chunk
                    if skip > 0 {
                        let n = Int(min(skip, Int64(part.count)))
                        part = UnsafeRawBufferPointer(rebasing: part[n...])
                        skip -= Int64(n)
                    }
                    guard writer.bytesWritten + Int64(part.count) <= descriptor.size else {
                        throw RegistryError.verification(
                            what: what, reason: "the registry sent more than the \(descriptor.size) bytes expected")
                    }
                    try writer.write(part)
                }
                guard response.isSuccess else { throw Self.failure(response, what: what) }
                do { return try writer.commit(expected: descriptor.digest, expectedSize: descriptor.size) } catch {
                    switch error {
                    case .digestMismatch, .sizeMismatch: throw .verification(what: what, reason: error.description)
                    default: throw .store(what: what, error: error)
                    }
                }
            } catch {
                if case .transport(let failure) = error {
                    if let local = failure.sinkFailure as? RegistryError { writer.abort(); throw local }
                    if let local = failure.sinkFailure as? ContentStoreError {
                        writer.abort()
                        throw .store(what: what, error: local)
                    }
                    if attempt < options.attempts { continue }
                }
                writer.abort()
                throw error
            }
        }
    }

    /// Whether the registry has the blob (`HEAD`).
    public func blobExists(repository: String, digest: Digest) throws(RegistryError) -> Bool {
        let response = try send("HEAD", "/v2/\(repository)/blobs/\(digest)", repository: repository, actions: "pull")
        if response.isSuccess { return true }
        if response.status == 404 { return false }
        throw Self.failure(response, what: "blob \(digest) of \(domain)/\(repository)")
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func bareType(_ value: String) -> String {
        String(value.prefix(while: { $0 != ";" })).trimmingCharacters(" ")
    }
}

extension String {
    fileprivate func trimmingCharacters(_ c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
