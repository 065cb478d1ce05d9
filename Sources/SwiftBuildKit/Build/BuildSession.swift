import Foundation
import Synchronization
import SwiftBuildOCI

/// What the runs of one build share: one run per target platform, all at once. The cache imported from
/// `--cache-from` (read once), the records and cache mounts the runs use (exported together by `--cache-to`),
/// the context checksums, and a claim on each step key, so that a step that two platforms build alike (a
/// `FROM --platform=$BUILDPLATFORM` stage, say) runs once and the other run takes its record.
final class BuildSession: Sendable {
    /// Content checksums of what COPY/ADD select, backed by the persistent stat index.
    let checksums: ContextChecksum
    /// Records imported by `--cache-from`, by key, with where each came from.
    let imported: [String: (record: CacheRecord, location: CacheLocation)]
    /// Cache-mount contents a `--cache-from` holds, by mount id: unpacked into a mount the first time a step
    /// uses it on this machine.
    let importedMounts: [String: (layer: CacheRecord.Layer, location: CacheLocation)]
    /// The cache-mount directories the build used, by id (for `--cache-to …,cache-mounts=true`).
    let usedCacheMounts = Mutex<[String: String]>([:])
    /// Every record the build used or produced (for `--cache-to`), by key.
    let usedRecords = Mutex<[String: CacheRecord]>([:])
    /// Records the build itself produced, by key: reused by another platform's run even with `--no-cache`, as
    /// BuildKit builds a vertex that two platforms share once.
    let produced = Mutex<[String: CacheRecord]>([:])
    /// Layers of imported records that hit, not fetched yet (by layer digest): fetched only when a step
    /// unpacks them, the image is written, or the cache is exported.
    let pendingLayers = Mutex<[Digest: (layer: CacheRecord.Layer, location: CacheLocation)]>([:])
    /// COPY steps written straight from the context into their layers.
    let streamedCopies = Atomic<Int>(0)
    /// What was said once per build (`once`).
    let notes = Mutex<Set<String>>([])
    /// Step keys being computed by some run, and who waits for each.
    private let claims = Mutex<[Digest: [CheckedContinuation<Void, Never>]]>([:])

    init(builder: Builder, request: BuildRequest, events: @escaping @Sendable (BuildEvent) -> Void) throws {
        checksums = try ContextChecksum(root: builder.root)
        var imported: [String: (record: CacheRecord, location: CacheLocation)] = [:]
        var importedMounts: [String: (layer: CacheRecord.Layer, location: CacheLocation)] = [:]
        let exchange = CacheExchange(content: builder.content, registry: request.registry)
        for location in request.cacheFrom {
            guard let contents = try exchange.load(location) else {
                switch location {
                case .local(let directory): events(.warning("cache import from \(directory): no cache there (no index.json); ignored"))
                case .registry(let name): events(.warning("cache import from \(name): not found; ignored"))
                }
                continue
            }
            for (key, record) in contents.records where imported[key] == nil {
                imported[key] = (record, location)
            }
            for (id, layer) in contents.mounts where importedMounts[id] == nil {
                importedMounts[id] = (layer, location)
            }
        }
        self.imported = imported
        self.importedMounts = importedMounts
    }

    /// Runs `body` holding the claim on `key`: another run that reaches the same key meanwhile waits until
    /// the body is done (and then finds its record). Claims are never nested, so they cannot deadlock.
    func withClaim<T>(_ key: Digest, _ body: () async throws -> T) async throws -> T {
        while true {
            let claimed = claims.withLock { claims -> Bool in
                guard claims[key] != nil else {
                    claims[key] = []
                    return true
                }
                return false
            }
            if claimed { break }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let released = claims.withLock { claims -> Bool in
                    guard claims[key] != nil else { return true }
                    claims[key]?.append(continuation)
                    return false
                }
                if released { continuation.resume() }
            }
        }
        defer {
            let waiters = claims.withLock { $0.removeValue(forKey: key) } ?? []
            for waiter in waiters { waiter.resume() }
        }
        return try await body()
    }
}

extension BuildSession {
    /// Sends `event` the first time `key` is seen in this build (a sandbox note said once, not once per step).
    func once(_ key: String, _ send: () -> Void) {
        if notes.withLock({ $0.insert(key).inserted }) { send() }
    }
}
