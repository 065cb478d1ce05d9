import Foundation
import SwiftBuildOCI

/// Writes and reads the shared cache (an OCI layout directory or a registry artifact).
struct CacheExchange: Sendable {
    let content: ContentStore
    let registry: RegistryOptions?

    // MARK: Export

    func export(_ records: [String: CacheRecord], mounts: [String: CacheRecord.Layer] = [:],
                to location: CacheLocation) throws {
        let (manifest, config, layers) = try CacheFormat.encode(records, mounts: mounts)
        switch location {
        case .local(let directory): try exportLocal(directory, manifest: manifest, config: config, layers: layers)
        case .registry(let name): try exportRegistry(name, manifest: manifest, config: config, layers: layers)
        }
    }

    private func exportLocal(_ directory: String, manifest: [UInt8], config: [UInt8], layers: [Descriptor]) throws {
        let blobs = directory + "/blobs/sha256"
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: blobs, withIntermediateDirectories: true)
            for layer in layers {
                let target = blobs + "/" + layer.digest.encoded
                if fm.fileExists(atPath: target) { continue }
                guard content.has(layer.digest) else {
                    throw BuildError("cache export to \(directory): layer \(layer.digest) is not in the content store")
                }
                try Self.replace(target) { temp in try fm.copyItem(atPath: content.path(for: layer.digest), toPath: temp) }
            }
            for bytes in [config, manifest] {
                let target = blobs + "/" + SHA256Hasher.digest(bytes).encoded
                try Self.replace(target) { temp in try Data(bytes).write(to: URL(fileURLWithPath: temp)) }
            }
            let layout = try CanonicalJSON.encode(["imageLayoutVersion": "1.0.0"])
            try Self.replace(directory + "/oci-layout") { temp in try Data(layout).write(to: URL(fileURLWithPath: temp)) }
            var descriptor = Descriptor(mediaType: .ociManifest, digest: SHA256Hasher.digest(manifest),
                                        size: Int64(manifest.count),
                                        annotations: ["org.opencontainers.image.ref.name": CacheFormat.refName])
            descriptor.artifactType = CacheFormat.artifactType
            let index = try CanonicalJSON.encode(CacheFormat.Index(schemaVersion: 2, mediaType: MediaType.ociIndex.rawValue,
                                                                   manifests: [descriptor]))
            try Self.replace(directory + "/index.json") { temp in try Data(index).write(to: URL(fileURLWithPath: temp)) }
        } catch let error as BuildError {
            throw error
        } catch {
            throw BuildError("cache export to \(directory): \(error)")
        }
    }

    /// Writes `target` through a temp file renamed over it.
    private static func replace(_ target: String, _ write: (String) throws -> Void) throws {
        let temp = target + ".\(UInt64.random(in: 0...UInt64.max)).tmp"
        do {
            try write(temp)
            guard rename(temp, target) == 0 else { throw BuildError("rename \(temp) to \(target) failed") }
        } catch {
            unlink(temp)
            throw error
        }
    }

    private func client(_ name: String) throws -> (RegistryClient, ImageReference) {
        guard let options = registry else { throw BuildError("cache \(name): registry access is disabled") }
        let reference = try ImageReference(parsing: name)
        return (RegistryClient(domain: reference.domain, options: options), reference)
    }

    private func exportRegistry(_ name: String, manifest: [UInt8], config: [UInt8], layers: [Descriptor]) throws {
        let (client, reference) = try client(name)
        do {
            for layer in layers {
                try client.pushBlob(repository: reference.path, layer, from: content)
            }
            let info = try content.ingest(bytes: config)
            try client.pushBlob(repository: reference.path,
                                Descriptor(mediaType: MediaType(rawValue: CacheFormat.configMediaType),
                                           digest: info.digest, size: Int64(config.count)), from: content)
            try client.pushManifest(repository: reference.path, reference: reference.tag ?? "latest",
                                    mediaType: .ociManifest, bytes: manifest)
        } catch {
            throw BuildError("cache export to \(name): \(error)")
        }
    }

    // MARK: Import

    /// The records (and cache-mount contents) of a cache; nil when there is no cache there (no `index.json`, or the registry does not
    /// know the reference); an error when it is there but unreadable or corrupt.
    func load(_ location: CacheLocation) throws -> CacheFormat.Contents? {
        switch location {
        case .local(let directory):
            let indexPath = directory + "/index.json"
            guard let data = FileManager.default.contents(atPath: indexPath) else { return nil }
            let index: CacheFormat.Index
            do { index = try CanonicalJSON.decode(CacheFormat.Index.self, from: [UInt8](data)) } catch {
                throw BuildError("cache import from \(directory): unreadable index.json: \(error)")
            }
            guard let entry = index.manifests.first(where: { $0.artifactType == CacheFormat.artifactType })
                ?? index.manifests.first else {
                throw BuildError("cache import from \(directory): index.json lists no manifest")
            }
            let manifest = try readLocal(directory, entry)
            return try CacheFormat.decode(manifest: manifest, what: directory) { try readLocal(directory, $0) }
        case .registry(let name):
            let (client, reference) = try client(name)
            do {
                let (_, manifest) = try client.manifest(repository: reference.path,
                                                        reference: reference.digest?.description ?? reference.tag ?? "latest")
                return try CacheFormat.decode(manifest: manifest, what: name) { descriptor in
                    try client.fetchBlob(repository: reference.path, descriptor, into: content)
                    return try content.read(descriptor.digest)
                }
            } catch let error as BuildError {
                throw error
            } catch RegistryError.notFound {
                return nil
            } catch {
                throw BuildError("cache import from \(name): \(error)")
            }
        }
    }

    private func readLocal(_ directory: String, _ descriptor: Descriptor) throws -> [UInt8] {
        let path = directory + "/blobs/sha256/" + descriptor.digest.encoded
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BuildError("cache import from \(directory): blob \(descriptor.digest) is missing")
        }
        let bytes = [UInt8](data)
        guard SHA256Hasher.digest(bytes) == descriptor.digest else {
            throw BuildError("cache import from \(directory): blob \(descriptor.digest) does not match its digest")
        }
        return bytes
    }

    /// Brings an imported record's layer blob into the content store (verified against its digest).
    func fetch(_ layer: CacheRecord.Layer, from location: CacheLocation) throws {
        let digest = layer.digest
        if content.has(digest) { return }
        let descriptor = layer.descriptor
        switch location {
        case .local(let directory):
            do {
                _ = try content.ingest(file: directory + "/blobs/sha256/" + digest.encoded, expected: digest,
                                       expectedSize: layer.size)
            } catch {
                throw BuildError("cache import from \(directory): layer \(digest): \(error)")
            }
        case .registry(let name):
            let (client, reference) = try client(name)
            do { try client.fetchBlob(repository: reference.path, descriptor, into: content) } catch {
                throw BuildError("cache import from \(name): layer \(digest): \(error)")
            }
        }
    }
}
