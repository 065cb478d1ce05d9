import Foundation
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// What a cached step produced: a layer (or nothing, for a step that changed no file) and when.
public struct CacheRecord: Sendable, Codable, Equatable {
    /// A layer: typed values, checked when a record is decoded (a malformed digest fails the decoding).
    public struct Layer: Sendable, Codable, Equatable {
        public var digest: Digest
        public var diffID: Digest
        public var size: Int64
        public var mediaType: MediaType

        public init(digest: Digest, diffID: Digest, size: Int64, mediaType: MediaType) {
            self.digest = digest
            self.diffID = diffID
            self.size = size
            self.mediaType = mediaType
        }

        /// The layer blob's descriptor.
        public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: size) }

        private enum CodingKeys: String, CodingKey { case digest, diffID, size, mediaType }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func decodeDigest(_ key: CodingKeys) throws -> Digest {
                let text = try c.decode(String.self, forKey: key)
                do { return try Digest(parsing: text) } catch {
                    throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: error.description)
                }
            }
            digest = try decodeDigest(.digest)
            diffID = try decodeDigest(.diffID)
            size = try c.decode(Int64.self, forKey: .size)
            guard size >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: .size, in: c, debugDescription: "negative layer size \(size)")
            }
            mediaType = try c.decode(MediaType.self, forKey: .mediaType)
            guard mediaType.layerCompression != nil else {
                throw DecodingError.dataCorruptedError(forKey: .mediaType, in: c,
                                                       debugDescription: "\(mediaType) is not a layer media type")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(digest.description, forKey: .digest)
            try c.encode(diffID.description, forKey: .diffID)
            try c.encode(size, forKey: .size)
            try c.encode(mediaType, forKey: .mediaType)
        }
    }
    /// Nil for a step that changed nothing (an `empty_layer` history entry).
    public var layer: Layer?
    /// The step's further layers when its changes were split (`LayerSplit`), in order after `layer`.
    public var moreLayers: [Layer]? = nil
    /// When the step first ran (RFC 3339): the history entry keeps it, so a cached rebuild gives the same image.
    public var created: String
    /// True when the layer was made with `--allow-secrets-in-layers` (never checked for secrets): a build that
    /// checks treats the record as a miss, so its step runs and is checked.
    public var secretsAllowed: Bool? = nil

    /// Every layer the step produced, in order.
    public var layers: [Layer] { (layer.map { [$0] } ?? []) + (moreLayers ?? []) }
}

/// Step results by cache key, in `<root>/cache/records/<key hex>.json`. A record is written to a temp file,
/// synced and renamed, so a build killed at any point leaves either the whole record or none; a record whose
/// layer blob is missing from the content store is a miss.
///
/// Families (`<root>/cache/families/<hex>`): an empty marker for every key without its content part (a COPY's
/// parent, instruction and working directory, not the checksum of its files), written before the record. No
/// marker means no record of that step can exist, whatever the files hold, so the builder may write the layer
/// before it knows the key (and hash the files from the bytes it reads). A store made before markers existed
/// has records but no families directory: then every family counts as possibly present.
public struct CacheStore: Sendable {
    public let directory: String
    public let content: ContentStore
    /// Nil when the store predates family markers (`mayHaveRecord` is then always true).
    let familiesDirectory: String?

    public init(root: String, content: ContentStore) throws {
        directory = root + "/cache/records"
        self.content = content
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let families = root + "/cache/families"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: families, isDirectory: &isDirectory), isDirectory.boolValue {
            familiesDirectory = families
        } else if (try? FileManager.default.contentsOfDirectory(atPath: directory))?.contains(where: { $0.hasSuffix(".json") }) == false {
            try FileManager.default.createDirectory(atPath: families, withIntermediateDirectories: true)
            familiesDirectory = families
        } else {
            familiesDirectory = nil
        }
    }

    /// Whether a record of a key whose content-free part is `family` may exist.
    func mayHaveRecord(family: CacheKey) -> Bool {
        guard let familiesDirectory else { return true }
        return access(familiesDirectory + "/" + family.digest.encoded, F_OK) == 0
    }

    /// Marks `family` as having records (before the record is stored). A marker lost in a crash only costs a
    /// rebuild of that step; it never makes a lookup return a wrong record.
    func noteFamily(_ family: CacheKey) {
        guard let familiesDirectory else { return }
        let fd = open(familiesDirectory + "/" + family.digest.encoded, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        if fd >= 0 { close(fd) }
    }

    func path(_ key: CacheKey) -> String { directory + "/" + key.digest.encoded + ".json" }

    /// The record of a key, if present and its layer is still in the content store. A record that is there
    /// but unreadable is an error that names its file (records are written atomically, so it was damaged).
    public func lookup(_ key: CacheKey) throws(CacheStoreError) -> CacheRecord? {
        let file = path(key)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let record: CacheRecord
        do { record = try JSONDecoder().decode(CacheRecord.self, from: data) } catch {
            throw .corruptRecord(file, error)
        }
        if record.layers.contains(where: { !content.has($0.digest) }) { return nil }
        touch(key)
        return record
    }

    public func store(_ record: CacheRecord, for key: CacheKey) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(record)
        let target = path(key)
        let temp = target + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CacheStoreError.system("open", temp, errno) }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else {
            let code = errno
            unlink(temp)
            throw CacheStoreError.system("write", temp, code)
        }
        guard rename(temp, target) == 0 else {
            let code = errno
            unlink(temp)
            throw CacheStoreError.system("rename", target, code)
        }
    }

    /// Marks a record used now (for least-recently-used pruning).
    func touch(_ key: CacheKey) {
        _ = utimensat(AT_FDCWD, path(key), nil, 0)
    }
}

public enum CacheStoreError: Error, CustomStringConvertible {
    case system(String, String, Int32)
    /// A record file that does not decode (its path, and the decoder's error).
    case corruptRecord(String, any Error)

    public var description: String {
        switch self {
        case .corruptRecord(let path, let error):
            return "cache store: record \(path) is corrupt (\(error)); remove it, or run `swiftbuild prune`"
        case .system(let call, let path, let code):
            return "cache store: \(call) \(path): \(String(cString: strerror(code)))"
        }
    }
}
