import SwiftBuildArchive
import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Removes, after a run, the mount-point stubs the child created (directories and empty files it reported), so the
/// layer holds only what the command wrote. With an overlay root the stubs live in the upper directory, together
/// with the parent directories overlayfs copied up to hold them: a copied-up parent is removed too when it is
/// empty, not opaque, and has the mode and owner of the lower directory it came from.
/// Every path is resolved beneath the upper (or root) directory without following symbolic links.
struct SandboxStubCleaner {
    let base: String
    let lowers: [String]

    init(root: SandboxSpec.RootFilesystem) {
        switch root {
        case .overlay(let lower, let upper, _):
            base = upper
            lowers = lower
        case .directory(let path):
            base = path
            lowers = []
        }
    }

    func remove(stubs: [String]) {
        guard !stubs.isEmpty else { return }
        let baseFD = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard baseFD >= 0 else { return }
        defer { close(baseFD) }
        let stubSet = Set(stubs)
        for stub in stubs.reversed() { removeIfStub(baseFD, relative(stub), copiedUp: false) }
        guard !lowers.isEmpty else { return }
        var parents = Set<String>()
        for stub in stubs {
            var path = stub
            while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                path = String(path[..<slash])
                if !stubSet.contains(path) { parents.insert(path) }
            }
        }
        let deepestFirst = parents.sorted { $0.split(separator: "/").count > $1.split(separator: "/").count }
        for parent in deepestFirst { removeIfStub(baseFD, relative(parent), copiedUp: true) }
    }

    private func relative(_ path: String) -> String {
        String(SandboxPath.clean(path).dropFirst())
    }

    /// A stub is an empty directory or an empty regular file; a copied-up parent must also match its lower.
    private func removeIfStub(_ baseFD: Int32, _ path: String, copiedUp: Bool) {
        guard !path.isEmpty else { return }
        let (parentPath, name) = split(path)
        guard let parentFD = Self.openBeneath(baseFD, parentPath) else { return }
        defer { close(parentFD) }
        var st = stat()
        guard fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR {
            if copiedUp {
                guard !isOpaque(parentFD, name), let lower = lowerStat(path), (lower.st_mode & S_IFMT) == S_IFDIR,
                      lower.st_mode == st.st_mode, lower.st_uid == st.st_uid, lower.st_gid == st.st_gid else { return }
            }
            unlinkat(parentFD, name, AT_REMOVEDIR)  // fails, as it should, when the command wrote inside
        } else if type == S_IFREG && st.st_size == 0 && !copiedUp {
            unlinkat(parentFD, name, 0)
        }
    }

    private func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    private func isOpaque(_ parentFD: Int32, _ name: String) -> Bool {
        let fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var value: [UInt8] = [0, 0]
        let n = fgetxattr(fd, OverlayAttributes.opaque, &value, value.count)
        return n > 0
    }

    /// The entry `path` in the topmost lower directory that has it (nil when absent or whited out).
    private func lowerStat(_ path: String) -> stat? {
        for lower in lowers {
            let fd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            let (parentPath, name) = split(path)
            guard let parentFD = Self.openBeneath(fd, parentPath) else { continue }
            defer { close(parentFD) }
            var st = stat()
            guard fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 { return nil }  // overlay whiteout
            return st
        }
        return nil
    }

    /// Opens the directory `path` (relative, may be empty) beneath `dirFD`, refusing any symbolic link.
    static func openBeneath(_ dirFD: Int32, _ path: String) -> Int32? {
        var how = open_how()
        how.flags = UInt64(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        how.resolve = UInt64(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
        let fd = swiftbuild_openat2(dirFD, path.isEmpty ? "." : path, &how, MemoryLayout<open_how>.size)
        return fd >= 0 ? Int32(truncatingIfNeeded: fd) : nil
    }
}
