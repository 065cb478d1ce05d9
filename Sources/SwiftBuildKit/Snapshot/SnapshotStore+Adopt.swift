#if canImport(Glibc)
import Glibc
#endif
import CSys
import SwiftBuildOCI

extension SnapshotStore {
    /// Takes a directory that already holds a layer's files in overlay form (the upper directory of the step
    /// that produced the layer) as that layer's snapshot, instead of extracting the blob again.
    /// The directory is moved (it must be on the same file system); if the snapshot exists already, the
    /// directory is removed instead. Returns the snapshot path.
    public func adopt(directory source: String, diffID: Digest) throws(SnapshotError) -> String {
        let final = path(diffID: diffID)
        if isUnpacked(diffID: diffID) {
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
        if isUnpacked(diffID: diffID) {
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
        return final
    }
}
