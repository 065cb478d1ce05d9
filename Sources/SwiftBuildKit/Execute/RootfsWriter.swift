#if canImport(Glibc)
import Glibc
#endif

/// Writes copied nodes into a rootfs: destinations are resolved inside it (`RootedPath`), below a resolved
/// destination nothing is followed, and directories the copy creates get mode 0755 and `createdOwner`.
struct RootfsWriter {
    let rootfs: String
    let createdOwner: (uid: UInt32, gid: UInt32)

    /// A file's place: an existing directory (relative, symlinks resolved) and the name in it.
    struct FileTarget {
        var directory: String
        var name: String
    }

    func resolve(_ path: String) throws(CopyError) -> String {
        do { return try RootedPath.resolve(path, in: rootfs) } catch {
            throw .system(operation: "resolve", path: "/" + path, errno: error.errno)
        }
    }

    func isDirectory(_ path: String) -> Bool {
        guard let resolved = try? resolve(path) else { return false }
        var st = stat()
        return stat(RootedPath.host(resolved, in: rootfs), &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// Creates the directory `path` and its missing parents (like `mkdir -p`, through symlinks inside the
    /// rootfs); returns its resolved relative path.
    func ensureDirectory(_ path: String) throws(CopyError) -> String {
        let resolved = try resolve(path)
        var prefix = ""
        for component in resolved.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            let host = rootfs + "/" + prefix
            var st = stat()
            if lstat(host, &st) == 0 {
                if st.st_mode & S_IFMT == S_IFDIR { continue }
                throw .cannotCopyToNonDirectory("/" + prefix)
            }
            guard mkdir(host, 0o755) == 0 else { throw .system(operation: "mkdir", path: "/" + prefix, errno: errno) }
            guard lchown(host, createdOwner.uid, createdOwner.gid) == 0, chmod(host, 0o755) == 0 else {
                throw .system(operation: "chown", path: "/" + prefix, errno: errno)
            }
        }
        return resolved
    }

    /// Where a single file named `name` goes for `destination`: into it when it is (or must be) a directory,
    /// else at the destination itself (resolved like BuildKit, following a final symlink inside the rootfs).
    func fileTarget(_ destination: String, name: String, forceDirectory: Bool) throws(CopyError) -> FileTarget {
        if forceDirectory || isDirectory(destination) {
            return FileTarget(directory: try ensureDirectory(destination), name: name)
        }
        let resolved = try resolve(destination)
        var parts = resolved.split(separator: "/").map(String.init)
        guard let last = parts.popLast() else { return FileTarget(directory: "", name: name) }
        return FileTarget(directory: try ensureDirectory(parts.joined(separator: "/")), name: last)
    }

    /// `--parents`: creates the directories of `match.parentsPath` below `destination` (all but the last
    /// component) that are missing, each with the metadata of the source directory it stands for.
    func makeParents(of match: CopySelection.Match, from selection: CopySelection, below destination: String,
                     copier: NodeCopier) throws(CopyError) {
        var components = match.parentsPath.split(separator: "/").map(String.init)
        guard components.count > 1 else { return }
        components.removeLast()
        // The source directory standing for the first component: the match path minus the parents path.
        let sourceBase = String(match.path.dropLast(match.parentsPath.count))
        var relative = ""
        for component in components {
            relative = relative.isEmpty ? component : relative + "/" + component
            let target = destination.isEmpty ? relative : destination + "/" + relative
            if isDirectory(target) { continue }
            let resolved = try ensureDirectory(target)
            let sourceHost = RootedPath.host(RootedPath.clean(sourceBase + relative), in: selection.directory)
            let source = open(sourceHost, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard source >= 0 else { continue }
            defer { close(source) }
            let made = open(RootedPath.host(resolved, in: rootfs), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard made >= 0 else { throw .system(operation: "open", path: "/" + resolved, errno: errno) }
            defer { close(made) }
            var st = stat()
            guard fstat(source, &st) == 0 else { continue }
            do { try copier.setMetadata(fd: made, st: st, path: "/" + resolved, sourceFD: source) } catch {
                throw CopyError(error)
            }
        }
    }

    /// Copies the non-directory at `host` to `target` (replacing a file or symlink there, never following it).
    func copyFile(host: String, st: stat, to target: FileTarget, copier: NodeCopier) throws(CopyError) {
        let dirHost = RootedPath.host(target.directory, in: rootfs)
        let fd = open(dirHost, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open", path: "/" + target.directory, errno: errno) }
        defer { close(fd) }
        let name = FileTree.cString(Array(target.name.utf8))
        let display = "/" + (target.directory.isEmpty ? target.name : target.directory + "/" + target.name)
        var existing = stat()
        if fstatat(fd, name, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_mode & S_IFMT == S_IFDIR {
            throw .cannotReplaceDirectory(display)
        }
        do {
            try copier.copyLeaf(source: AT_FDCWD, name: FileTree.cString(Array(host.utf8)), st: st, target: fd,
                                targetName: name, path: display)
        } catch {
            throw CopyError(error)
        }
    }

    /// Copies what `selection` selects below the directory `match` into the existing directory `directory`
    /// (resolved, relative). The destination directory keeps its owner and mode (it gets the source's times);
    /// every directory below
    /// it, created or already there, takes the source directory's metadata (fsutil's copy overwrites target
    /// metadata for everything but the top).
    func copyContents(of match: CopySelection.Match, from selection: CopySelection, into directory: String,
                      copier: NodeCopier) throws(CopyError) {
        let top = open(RootedPath.host(directory, in: rootfs), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { throw .system(operation: "open", path: "/" + directory, errno: errno) }
        var stack: [(fd: Int32, created: Bool)] = [(top, false)]
        defer { for item in stack { close(item.fd) } }
        let display = { (relative: String) in "/" + (directory.isEmpty ? relative : directory + "/" + relative) }
        do {
            try selection.walk(match, enter: { entry in
                if Task.isCancelled { throw CopyError.cancelled }
                if selection.skips(entry.stat) { return false }
                let parent = stack[stack.count - 1].fd
                let name = FileTree.cString(Array((entry.relative.split(separator: "/").last.map(String.init) ?? "").utf8))
                var existing = stat()
                let exists = fstatat(parent, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
                let existingIsDir = exists && existing.st_mode & S_IFMT == S_IFDIR
                if entry.stat.st_mode & S_IFMT == S_IFDIR {
                    if exists && !existingIsDir { throw CopyError.cannotCopyToNonDirectory(display(entry.relative)) }
                    if !exists {
                        guard mkdirat(parent, name, 0o700) == 0 else {
                            throw CopyError.system(operation: "mkdir", path: display(entry.relative), errno: errno)
                        }
                    }
                    let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard fd >= 0 else { throw CopyError.system(operation: "open", path: display(entry.relative), errno: errno) }
                    stack.append((fd, !exists))
                    return true
                }
                if existingIsDir { throw CopyError.cannotReplaceDirectory(display(entry.relative)) }
                try copier.copyLeaf(source: AT_FDCWD, name: FileTree.cString(Array(entry.host.utf8)), st: entry.stat,
                                    target: parent, targetName: name, path: display(entry.relative))
                return false
            }, leave: { entry in
                guard let (fd, created) = stack.popLast() else { return }
                defer { close(fd) }
                let parent = stack[stack.count - 1].fd
                let name = FileTree.cString(Array((entry.relative.split(separator: "/").last.map(String.init) ?? "").utf8))
                if created, entry.held, (try? FileTree.names(fd, path: entry.host))?.isEmpty == true {
                    _ = unlinkat(parent, name, AT_REMOVEDIR)  // excluded itself, and nothing below was kept
                    return
                }
                let source = open(entry.host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                defer { if source >= 0 { close(source) } }
                try copier.setMetadata(fd: fd, st: entry.stat, path: display(entry.relative), sourceFD: source >= 0 ? source : nil)
            })
            // Like fsutil: the top directory keeps its owner and mode but takes the source directory's times.
            var times = [match.stat.st_atim, match.stat.st_mtim]
            _ = futimens(top, &times)
        } catch let error as CopyError {
            throw error
        } catch let error as SnapshotError {
            throw CopyError(error)
        } catch {
            throw .failed(operation: "copy", path: display(""), cause: error)
        }
    }
}

extension CopyError {
    init(_ error: SnapshotError) {
        switch error {
        case .system(let operation, let path, let code): self = .system(operation: operation, path: path, errno: code)
        default: self = .failed(operation: "snapshot", path: "", cause: error)
        }
    }
}
