import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CSys
import SwiftBuildOCI

extension SnapshotStore {
    /// Takes a directory that already holds a step's files in overlay form (the upper directory of the step)
    /// as the snapshot of the layers the step produced, instead of extracting their blobs again. One layer: that
    /// layer's snapshot. Several (a step cut by `split-layers`): one snapshot of the whole run of layers
    /// (`groupPath`), which `unpackedGroup` finds when the same run of layers is stacked again; each layer alone
    /// is still extracted from its blob when needed.
    /// The directory is moved (it must be on the same file system); if the snapshot exists already, the
    /// directory is removed instead. Returns the snapshot path.
    public func adopt(directory source: String, diffIDs: [Digest]) throws(SnapshotError) -> String {
        guard let first = diffIDs.first, diffIDs.count <= Self.maximumGroup else {
            throw .system(operation: "adopt (\(diffIDs.count) layers)", path: source, errno: EINVAL)
        }
        let final = diffIDs.count == 1 ? path(diffID: first) : groupPath(diffIDs)
        if Self.isComplete(final) {
            try Self.removeTree(source)
            return final
        }
        let lockPath = final + ".lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw .system(operation: "open", path: lockPath, errno: errno) }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 {
            if errno != EINTR { throw .system(operation: "flock", path: lockPath, errno: errno) }
        }
        if Self.isComplete(final) {
            try Self.removeTree(source)
            return final
        }
        try Self.removeTree(final)
        let fd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = swiftbuild_syncfs(fd)
            close(fd)
        }
        guard rename(source, final) == 0 else { throw .system(operation: "rename", path: final, errno: errno) }
        try Self.writeMarker(final + ".complete")
        if diffIDs.count > 1 {
            let name = Self.groupName(diffIDs)
            groupNames.withLock { _ = $0?.insert(name) }
        }
        return final
    }

    /// Where the snapshot of a run of layers (bottom first) is kept: `snapshots/group-<count>-<hex>`, named by
    /// their number and the SHA-256 of their diff IDs in order, so no layer's own snapshot is ever mistaken for it.
    public func groupPath(_ diffIDs: [Digest]) -> String { directory + "/" + Self.groupName(diffIDs) }

    private static func groupName(_ diffIDs: [Digest]) -> String {
        let hasher = SHA256Hasher()
        Array(diffIDs.map(\.description).joined(separator: "\n").utf8).withUnsafeBytes { hasher.update($0) }
        return "group-\(diffIDs.count)-" + hasher.finalize().encoded
    }

    /// The complete snapshot of exactly this run of layers (bottom first), if a step that produced them left one.
    public func unpackedGroup(_ diffIDs: [Digest]) -> String? {
        guard diffIDs.count > 1 else { return nil }
        let name = Self.groupName(diffIDs)
        guard knownGroups().contains(name) else { return nil }
        let path = directory + "/" + name
        return Self.isComplete(path) ? path : nil
    }

    /// The lengths of the runs of layers that have a group snapshot, so a stack is searched for those only
    /// (none: no search at all).
    public func groupLengths() -> Set<Int> {
        Set(knownGroups().compactMap { name in name.split(separator: "-").dropFirst().first.flatMap { Int($0) } })
    }

    /// The group snapshot names, read from the directory once.
    private func knownGroups() -> Set<String> {
        groupNames.withLock { known in
            if let known { return known }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix("group-") && !$0.contains(".") }
            known = Set(names)
            return Set(names)
        }
    }

    /// Runs of layers longer than this are not looked for as groups (a step cut into more layers is stacked
    /// layer by layer).
    public static let maximumGroup = 64
}
