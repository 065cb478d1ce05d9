import Foundation
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// What a cached step produced: a layer (or nothing, for a step that changed no file) and when.
public struct CacheRecord: Sendable, Codable, Equatable {
    public struct Layer: Sendable, Codable, Equatable {
        public var digest: String
        public var diffID: String
        public var size: Int64
        public var mediaType: String
    }
    /// Nil for a step that changed nothing (an `empty_layer` history entry).
    public var layer: Layer?
    /// When the step first ran (RFC 3339): the history entry keeps it, so a cached rebuild gives the same image.
    public var created: String
}

/// Step results by cache key, in `<root>/cache/records/<key hex>.json`. A record is written to a temp file,
/// synced and renamed, so a build killed at any point leaves either the whole record or none; a record whose
/// layer blob is missing from the content store is a miss.
public struct CacheStore: Sendable {
    public let directory: String
    public let content: ContentStore

    public init(root: String, content: ContentStore) throws {
        directory = root + "/cache/records"
        self.content = content
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ key: CacheKey) -> String { directory + "/" + key.digest.encoded + ".json" }

    /// The record of a key, if present and its layer is still in the content store.
    public func lookup(_ key: CacheKey) -> CacheRecord? {
        guard let data = FileManager.default.contents(atPath: path(key)),
              let record = try? JSONDecoder().decode(CacheRecord.self, from: data) else { return nil }
        if let layer = record.layer {
            guard let digest = try? Digest(parsing: layer.digest), content.has(digest) else { return nil }
        }
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

    public var description: String {
        switch self {
        case .system(let call, let path, let code):
            return "cache store: \(call) \(path): \(String(cString: strerror(code)))"
        }
    }
}
