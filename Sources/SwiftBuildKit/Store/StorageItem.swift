import SwiftBuildOCI

/// One thing the swiftbuild root holds, with what it costs on disk and why it is kept.
public struct StorageItem: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A blob a tagged image needs: never pruned.
        case imageBlob = "image blob"
        /// A step cache record (`cache/records`); pruning it makes that step run again.
        case cacheRecord = "cache record"
        /// A layer blob or other blob no tag needs, kept only for the step cache or left over.
        case cacheBlob = "cache blob"
        /// An unpacked layer (`snapshots/`), re-created from its blob when needed.
        case snapshot
        /// A `RUN --mount=type=cache` directory (`cache-mounts/`); pruned only with `--all`.
        case cacheMount = "cache mount"
        /// Per-build scratch (`tmp/`, `ingest/`).
        case temporary
    }

    public var kind: Kind
    /// The blob digest, record key, diff ID or cache mount id.
    public var name: String
    public var path: String
    /// Bytes on disk (apparent sizes of the files).
    public var size: Int64
    /// Seconds since the epoch this item was last used (file mtime, refreshed on cache hits).
    public var lastUsed: Int64
    /// Why it is kept, e.g. `needed by localhost/app:1.0`, `layer of 2 cache records`.
    public var reason: String

    public init(kind: Kind, name: String, path: String, size: Int64, lastUsed: Int64, reason: String) {
        self.kind = kind
        self.name = name
        self.path = path
        self.size = size
        self.lastUsed = lastUsed
        self.reason = reason
    }
}

/// What `prune` removed.
public struct PruneResult: Sendable {
    public var removed: [StorageItem]
    public var reclaimed: Int64 { removed.reduce(0) { $0 + $1.size } }
    /// Bytes the root holds afterwards.
    public var remaining: Int64
}

/// The rules of one prune, as `swiftbuild prune` flags give them.
public struct PrunePolicy: Sendable {
    /// Also remove cache mounts.
    public var all: Bool
    /// Stop once the root holds at most this many bytes (least recently used first).
    public var keepStorage: Int64?
    /// Only items unused for at least this many seconds (`--filter until=DURATION`).
    public var unusedFor: Int64?

    public init(all: Bool = false, keepStorage: Int64? = nil, unusedFor: Int64? = nil) {
        self.all = all
        self.keepStorage = keepStorage
        self.unusedFor = unusedFor
    }
}
