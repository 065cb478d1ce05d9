import Foundation
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// Accounts for and prunes what a swiftbuild root holds: blobs, step cache records, unpacked layers, cache
/// mounts and scratch. Pruning evicts least recently used items first and never removes a blob that a tagged
/// image needs (its manifest, config and layers, through indexes too).
///
/// Prune while no build runs on the same root (a running build's newest blobs are not tagged yet), or use
/// `unusedFor` to spare recent items.
public struct StorageManager: Sendable {
    public let root: String
    public let content: ContentStore
    public let images: ImageStore

    public init(root: String) throws {
        self.root = root
        content = try ContentStore(root: root)
        images = try ImageStore(root: root, content: content)
    }

    /// Every item of the root, sorted by kind then least recently used first.
    public func report() throws -> [StorageItem] {
        try inventory().items
    }

    public func prune(_ policy: PrunePolicy, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> PruneResult {
        let inv = try inventory()
        var total = inv.items.reduce(0) { $0 + $1.size }
        var references = inv.recordBlobs
        let blobItems = Dictionary(inv.items.filter { $0.kind == .cacheBlob }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var candidates = inv.items.filter { item in
            switch item.kind {
            case .imageBlob, .temporary: return false
            case .cacheMount: return policy.all
            case .cacheBlob: return (references[item.name] ?? 0) == 0
            case .cacheRecord, .snapshot: return true
            }
        }
        candidates.sort { ($0.lastUsed, $0.path) < ($1.lastUsed, $1.path) }
        var removed: [StorageItem] = []
        var removedPaths = Set<String>()
        func remove(_ item: StorageItem) throws {
            guard removedPaths.insert(item.path).inserted else { return }
            switch item.kind {
            case .cacheBlob:
                guard let digest = try? Digest(parsing: item.name) else { return }
                _ = try content.delete(digest)
            case .snapshot:
                _ = unlink(item.path + ".complete")
                AtomicFile.removeTree(item.path)
            default:
                AtomicFile.removeTree(item.path)
            }
            removed.append(item)
            total -= item.size
        }
        for item in candidates {
            if let keep = policy.keepStorage, total <= keep { break }
            if let age = policy.unusedFor, item.lastUsed > now - age { continue }
            try remove(item)
            if item.kind == .cacheRecord {
                for blob in inv.recordLayer[item.name] ?? [] {
                    references[blob, default: 1] -= 1
                    if references[blob] == 0, let blobItem = blobItems[blob] { try remove(blobItem) }
                }
            }
        }
        // Writers' temp files left by killed builds (a live writer touches its file as it writes).
        _ = try? content.cleanIngest(olderThan: .seconds(3600))
        return PruneResult(removed: removed, remaining: total)
    }

    // MARK: - Inventory

    struct Inventory {
        var items: [StorageItem] = []
        /// Blob digest → number of cache records whose layer it is.
        var recordBlobs: [String: Int] = [:]
        /// Record key → its layer blob digests.
        var recordLayer: [String: [String]] = [:]
    }

    func inventory() throws -> Inventory {
        var inv = Inventory()
        // Blobs the tags need, and which tag needs them.
        var neededBy: [String: String] = [:]
        for record in try images.list() {
            let blobs = (try? OCIArchiveExporter.reachableBlobs(from: [record.manifest], content: content)) ?? []
            for (digest, _) in blobs where neededBy[digest.description] == nil {
                neededBy[digest.description] = record.reference.familiar
            }
        }
        // Cache records.
        let recordsDirectory = root + "/cache/records"
        for name in Self.entries(recordsDirectory) where name.hasSuffix(".json") {
            let path = recordsDirectory + "/" + name
            let key = String(name.dropLast(5))
            let st = Self.stat(path)
            var reason = "step cache (no layer)"
            if let data = FileManager.default.contents(atPath: path) {
                // A corrupt record is listed (and pruned) like any other; a build names it as an error.
                if let record = try? JSONDecoder().decode(CacheRecord.self, from: data) {
                    for layer in record.layers {
                        inv.recordBlobs[layer.digest.description, default: 0] += 1
                        inv.recordLayer[key, default: []].append(layer.digest.description)
                        reason = "step cache, layer \(layer.digest.description.prefix(19))…"
                    }
                } else {
                    reason = "step cache (corrupt record)"
                }
            }
            inv.items.append(StorageItem(kind: .cacheRecord, name: key, path: path, size: st?.size ?? 0,
                                         lastUsed: st?.mtime ?? 0, reason: reason))
        }
        // Blobs.
        for digest in try content.list() {
            let path = content.path(for: digest)
            let st = Self.stat(path)
            let key = digest.description
            if let tag = neededBy[key] {
                inv.items.append(StorageItem(kind: .imageBlob, name: key, path: path, size: st?.size ?? 0,
                                             lastUsed: st?.mtime ?? 0, reason: "needed by \(tag)"))
            } else {
                let n = inv.recordBlobs[key] ?? 0
                inv.items.append(StorageItem(kind: .cacheBlob, name: key, path: path, size: st?.size ?? 0,
                                             lastUsed: st?.mtime ?? 0,
                                             reason: n > 0 ? "layer of \(n) cache record\(n == 1 ? "" : "s")" : "unreferenced"))
            }
        }
        // Unpacked layers.
        let snapshots = root + "/snapshots"
        for name in Self.entries(snapshots) {
            // A layer's own (`<diff ID hex>`), or a split step's layers together (`group-<count>-<hex>`, see
            // `adopt`).
            let isGroup = name.hasPrefix("group-")
            let hex = isGroup ? (name.split(separator: "-").last ?? "") : Substring(name)
            guard hex.count == 64 && hex.allSatisfy(\.isHexDigit) else { continue }
            let path = snapshots + "/" + name
            let (size, _) = Self.treeSize(path)
            let used = Self.stat(path + ".complete")?.mtime ?? Self.stat(path)?.mtime ?? 0
            inv.items.append(StorageItem(kind: .snapshot, name: isGroup ? name : "sha256:" + name, path: path, size: size,
                                         lastUsed: used,
                                         reason: isGroup ? "unpacked layers of one split step (re-created from their blobs when needed)"
                                                         : "unpacked layer (re-created from its blob when needed)"))
        }
        // Cache mounts.
        let mounts = root + "/cache-mounts"
        for name in Self.entries(mounts) {
            let path = mounts + "/" + name
            let (size, newest) = Self.treeSize(path)
            inv.items.append(StorageItem(kind: .cacheMount, name: name, path: path, size: size, lastUsed: newest,
                                         reason: "RUN --mount=type=cache (kept unless --all)"))
        }
        // Scratch.
        for directory in ["tmp", "ingest"] {
            let path = root + "/" + directory
            let (size, newest) = Self.treeSize(path)
            if size > 0 {
                inv.items.append(StorageItem(kind: .temporary, name: directory, path: path, size: size, lastUsed: newest,
                                             reason: "scratch of running or interrupted builds"))
            }
        }
        let order = Dictionary(uniqueKeysWithValues: StorageItem.Kind.allCases.enumerated().map { ($1, $0) })
        inv.items.sort { (order[$0.kind] ?? 0, $0.lastUsed, $0.name) < (order[$1.kind] ?? 0, $1.lastUsed, $1.name) }
        return inv
    }

    static func entries(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func stat(_ path: String) -> (size: Int64, mtime: Int64)? {
        var st = Glibc.stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (Int64(st.st_size), Int64(st.st_mtim.tv_sec))
    }

    /// Apparent size of a tree (symlinks not followed, hard links counted once) and its newest mtime.
    static func treeSize(_ path: String) -> (Int64, Int64) {
        var total: Int64 = 0
        var newest: Int64 = 0
        var seen = Set<UInt64>()
        var pending = [path]
        while let current = pending.popLast() {
            var st = Glibc.stat()
            guard lstat(current, &st) == 0 else { continue }
            newest = max(newest, Int64(st.st_mtim.tv_sec))
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for name in entries(current) { pending.append(current + "/" + name) }
            } else if st.st_nlink <= 1 || seen.insert(UInt64(st.st_ino)).inserted {
                total += Int64(st.st_size)
            }
        }
        return (total, newest)
    }
}
