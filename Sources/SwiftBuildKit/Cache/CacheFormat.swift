import Foundation
import SwiftBuildOCI

/// The shared cache format (docs/cache.md): media types, manifest and config.
enum CacheFormat {
    static let artifactType = "application/vnd.swiftbuild.cache.v1"
    static let configMediaType = "application/vnd.swiftbuild.cache.config.v1+json"
    static let refName = "cache"

    /// The config blob of a cache manifest: every exported step result by cache key (see docs/cache.md).
    struct Config: Codable, Sendable {
        struct Entry: Codable, Sendable {
            var key: String
            var record: CacheRecord
        }
        /// A `RUN --mount=type=cache` directory's contents, by mount id (`cache-mounts=true`).
        struct Mount: Codable, Sendable {
            var id: String
            var layer: CacheRecord.Layer
        }
        var version: Int
        var records: [Entry]
        var mounts: [Mount]?
    }

    /// What a cache holds: step records by key, and cache-mount contents by id.
    struct Contents: Sendable {
        var records: [String: CacheRecord]
        var mounts: [String: CacheRecord.Layer]
    }

    struct Manifest: Codable {
        var schemaVersion: Int
        var mediaType: String
        var artifactType: String?
        var config: Descriptor
        var layers: [Descriptor]
    }

    struct Index: Codable {
        var schemaVersion: Int
        var mediaType: String?
        var manifests: [Descriptor]
    }

    /// The manifest and config bytes for `records`.
    static func encode(_ records: [String: CacheRecord], mounts: [String: CacheRecord.Layer] = [:]) throws
        -> (manifest: [UInt8], config: [UInt8], layers: [Descriptor]) {
        let entries = records.keys.sorted().compactMap { key in records[key].map { Config.Entry(key: key, record: $0) } }
        let mountEntries = mounts.keys.sorted().compactMap { id in mounts[id].map { Config.Mount(id: id, layer: $0) } }
        let config = try CanonicalJSON.encode(Config(version: 1, records: entries,
                                                     mounts: mountEntries.isEmpty ? nil : mountEntries))
        var seen: Set<Digest> = []
        var layers: [Descriptor] = []
        for layer in entries.flatMap(\.record.layers) + mountEntries.map(\.layer) {
            guard seen.insert(layer.digest).inserted else { continue }
            layers.append(layer.descriptor)
        }
        let manifest = Manifest(schemaVersion: 2, mediaType: MediaType.ociManifest.rawValue, artifactType: artifactType,
                                config: Descriptor(mediaType: MediaType(rawValue: configMediaType),
                                                   digest: SHA256Hasher.digest(config), size: Int64(config.count)),
                                layers: layers)
        return (try CanonicalJSON.encode(manifest), config, layers)
    }

    /// The records of a manifest whose bytes were verified; `config` reads the config blob.
    static func decode(manifest bytes: [UInt8], what: String,
                       config: (Descriptor) throws -> [UInt8]) throws -> Contents {
        let manifest: Manifest
        do { manifest = try CanonicalJSON.decode(Manifest.self, from: bytes) } catch {
            throw BuildError("cache \(what): not a cache manifest: \(error)")
        }
        guard manifest.config.mediaType.rawValue == configMediaType else {
            throw BuildError("cache \(what): config media type \(manifest.config.mediaType.rawValue), expected \(configMediaType)")
        }
        let configBytes = try config(manifest.config)
        guard SHA256Hasher.digest(configBytes) == manifest.config.digest else {
            throw BuildError("cache \(what): config blob does not match its digest \(manifest.config.digest)")
        }
        let decoded: Config
        do { decoded = try CanonicalJSON.decode(Config.self, from: configBytes) } catch {
            throw BuildError("cache \(what): unreadable config: \(error)")
        }
        var records: [String: CacheRecord] = [:]
        for entry in decoded.records { records[entry.key] = entry.record }
        var mounts: [String: CacheRecord.Layer] = [:]
        for mount in decoded.mounts ?? [] { mounts[mount.id] = mount.layer }
        return Contents(records: records, mounts: mounts)
    }
}
