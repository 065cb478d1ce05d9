import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildDockerfile

/// Which files of a source root a COPY/ADD source selects, shared by the copy itself and `ContextChecksum`
/// so the cache key covers exactly what is copied.
///
/// Rules implemented (BuildKit's `dockerfile2llb` + fsutil copy):
/// - A source is cleaned inside the root: `/a`, `a`, `./a` and `../../a` all name `<root>/a`.
/// - Wildcards (`*`, `?`, `[…]`, `\` escapes; Go `filepath.Match` per path component, so `*` never crosses a
///   `/`) are expanded against the root, entries sorted by name. A pattern matching nothing copies nothing
///   (BuildKit allows empty wildcards); a plain path that does not exist is `"/path": not found`.
/// - The matched path itself is followed if it is a symlink (inside the root: `COPY link /x` copies what
///   `link` points to, resolved with the root as `/`); symlinks below a copied directory are copied as links.
/// - `.dockerignore` (context sources): an ignored match is not found; ignored entries below are left out.
/// - `--exclude`: patterns matched against each entry's path relative to the copied source directory
///   (`COPY --exclude=*.txt dir /d` leaves out `dir/a.txt`), and against a wildcard match's path relative to
///   the root (`COPY --exclude=*.txt * /d/` leaves out `a.txt`).
struct CopySelection {
    let root: CopySourceRoot
    let excludeFilter: ContextFilter?

    init(root: CopySourceRoot, excludes: [String]) throws(CopyError) {
        self.root = root
        if excludes.isEmpty {
            excludeFilter = nil
        } else {
            do { excludeFilter = try ContextFilter(excludePatterns: excludes) } catch {
                throw .invalidExcludePattern(excludes.joined(separator: " "), message: "\(error)")
            }
        }
    }

    var directory: String { root.directory }

    var isContext: Bool {
        if case .context = root { return true }
        return false
    }

    /// Whether a node is left out of copies: fifos, sockets and devices of the build context, which BuildKit's
    /// context transfer does not send (from a stage or an image they are copied).
    func skips(_ st: stat) -> Bool { isContext && Self.isSpecial(st) }

    /// A fifo, socket or device.
    static func isSpecial(_ st: stat) -> Bool {
        switch st.st_mode & S_IFMT {
        case S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK: return true
        default: return false
        }
    }

    struct Match {
        /// The matched path relative to the root as the pattern named it (symlinks not resolved).
        var path: String
        /// `path` with every symlink followed inside the root.
        var resolved: String
        /// The part of `path` that `--parents` keeps (after a `/./` pivot, else all of it).
        var parentsPath: String
        var stat: stat
        var contextState: ContextFilter.ParentState
    }

    static func hasWildcard(_ s: String) -> Bool { s.contains { "*?[\\".contains($0) } }

    /// The matches of one source, in order.
    func matches(_ source: String) throws(CopyError) -> [Match] {
        var pivotPrefix = ""
        if let range = source.range(of: "/./", options: .backwards) {
            pivotPrefix = RootedPath.clean(String(source[..<range.lowerBound]))
        }
        let cleaned = RootedPath.clean(source)
        let paths: [String]
        let wildcard = Self.hasWildcard(cleaned)
        if wildcard {
            paths = try glob(cleaned.split(separator: "/").map(String.init))
        } else {
            paths = [cleaned]
        }
        var out: [Match] = []
        for path in paths {
            let resolved: String
            do { resolved = try RootedPath.resolve(path, in: directory) } catch {
                throw .system(operation: "resolve", path: "/" + path, errno: error.errno)
            }
            var st = stat()
            guard lstat(RootedPath.host(resolved, in: directory), &st) == 0 else {
                if wildcard { continue }  // a dangling link matched by a wildcard
                throw .notFound("/" + cleaned)
            }
            guard let state = try contextState(resolved, isDirectory: st.st_mode & S_IFMT == S_IFDIR) else {
                if wildcard { continue }
                throw .notFound("/" + cleaned)
            }
            if wildcard, try isExcluded(path, isDirectory: st.st_mode & S_IFMT == S_IFDIR) { continue }
            var parentsPath = path
            if !pivotPrefix.isEmpty, path.hasPrefix(pivotPrefix + "/") {
                parentsPath = String(path.dropFirst(pivotPrefix.count + 1))
            }
            out.append(Match(path: path, resolved: resolved, parentsPath: parentsPath, stat: st, contextState: state))
        }
        return out
    }

    /// Expands a pattern component by component; directories are listed through symlinks inside the root.
    private func glob(_ components: [String]) throws(CopyError) -> [String] {
        var current = [""]
        for component in components {
            var next: [String] = []
            for base in current {
                let child = { (name: String) in base.isEmpty ? name : base + "/" + name }
                guard Self.hasWildcard(component) else {
                    next.append(child(component))
                    continue
                }
                let resolved: String
                do { resolved = try RootedPath.resolve(base, in: directory) } catch { continue }
                let host = RootedPath.host(resolved, in: directory)
                let fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                defer { close(fd) }
                let names: [[UInt8]]
                do { names = try FileTree.names(fd, path: host) } catch { throw CopyError(error) }
                for nameBytes in names {
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    let matched: Bool
                    do { matched = try FilepathMatch.match(pattern: component, name: name) } catch {
                        throw .notFound("/" + components.joined(separator: "/"))
                    }
                    if matched { next.append(child(name)) }
                }
            }
            current = next
        }
        return current
    }

    /// The `.dockerignore` state of `relative` (walked from the root), or nil when it is not visible.
    func contextState(_ relative: String, isDirectory: Bool) throws(CopyError) -> ContextFilter.ParentState? {
        guard case .context(let context) = root else { return .root }
        var state = ContextFilter.ParentState.root
        if relative.isEmpty { return state }
        let parts = relative.split(separator: "/")
        for i in parts.indices {
            let prefix = parts[...i].joined(separator: "/")
            let last = i == parts.count - 1
            let verdict: ContextFilter.Verdict
            do { verdict = try context.filter.evaluate(path: Array(prefix.utf8), isDirectory: last ? isDirectory : true, parent: state) } catch {
                throw .invalidExcludePattern(".dockerignore", message: "\(error)")
            }
            switch verdict {
            case .skip: return nil
            case .keep(let s): state = s
            case .hold(let s):
                // A held file is never sent; a held directory is visible (its kept contents are sent).
                if last && !isDirectory { return nil }
                state = s
            }
        }
        return state
    }

    private func isExcluded(_ relative: String, isDirectory: Bool) throws(CopyError) -> Bool {
        guard let excludeFilter else { return false }
        do { return try !excludeFilter.admits(path: relative) } catch {
            throw .invalidExcludePattern(relative, message: "\(error)")
        }
    }

    /// One entry below a copied directory.
    struct Entry {
        /// Relative to the copied source directory.
        var relative: String
        var host: String
        var stat: stat
        /// A directory sent only for its kept contents (excluded itself, but with exceptions below).
        var held: Bool
    }

    /// Walks what is selected below the directory `match` (not the directory itself), depth first in name
    /// order; `leave` is called after a directory's contents.
    func walk(_ match: Match, enter: (Entry) throws -> Bool, leave: (Entry) throws -> Void) throws {
        let host = RootedPath.host(match.resolved, in: directory)
        try walkDirectory(host: host, relative: "", contextPath: match.resolved, contextState: match.contextState,
                          excludeState: .root, enter: enter, leave: leave)
    }

    /// `opened`: the directory's descriptor when the caller already holds its parent (opened relative to it,
    /// which saves the kernel a full path lookup per directory).
    private func walkDirectory(host: String, relative: String, contextPath: String,
                               contextState: ContextFilter.ParentState, excludeState: ContextFilter.ParentState,
                               opened: Int32? = nil,
                               enter: (Entry) throws -> Bool, leave: (Entry) throws -> Void) throws {
        let fd = opened ?? open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw CopyError.system(operation: "open", path: host, errno: errno) }
        let names: [[UInt8]]
        defer { close(fd) }
        names = try FileTree.names(fd, path: host)
        for nameBytes in names {
            guard let child = try child(fd, nameBytes, host: host, relative: relative, contextPath: contextPath,
                                        contextState: contextState, excludeState: excludeState) else { continue }
            let entry = child.entry
            guard try enter(entry), entry.stat.st_mode & S_IFMT == S_IFDIR else { continue }
            let childFD = openat(fd, FileTree.cString(nameBytes), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard childFD >= 0 else { throw CopyError.system(operation: "open", path: entry.host, errno: errno) }
            try walkDirectory(host: entry.host, relative: entry.relative, contextPath: child.contextPath,
                              contextState: child.contextState, excludeState: child.excludeState, opened: childFD,
                              enter: enter, leave: leave)
            try leave(entry)
        }
    }

    /// One name of a directory being walked: its entry (nil when it is gone or filtered out) and what its own
    /// children are evaluated against.
    private func child(_ fd: Int32, _ nameBytes: [UInt8], host: String, relative: String, contextPath: String,
                       contextState: ContextFilter.ParentState, excludeState: ContextFilter.ParentState) throws
        -> (entry: Entry, contextPath: String, contextState: ContextFilter.ParentState,
            excludeState: ContextFilter.ParentState)? {
        let name = String(decoding: nameBytes, as: UTF8.self)
        let childHost = host + "/" + name
        let childRel = relative.isEmpty ? name : relative + "/" + name
        // The path the `.dockerignore` rules see, only when there are rules.
        var filter: ContextFilter?
        if case .context(let context) = root, !context.filter.isEmpty { filter = context.filter }
        let childContext = filter == nil ? "" : contextPath.isEmpty ? name : contextPath + "/" + name
        var st = stat()
        // The name NUL-terminated on the stack: no allocation per entry.
        let found = withUnsafeTemporaryAllocation(of: CChar.self, capacity: nameBytes.count + 1) { buffer in
            for (i, byte) in nameBytes.enumerated() { buffer[i] = CChar(bitPattern: byte) }
            buffer[nameBytes.count] = 0
            return fstatat(fd, buffer.baseAddress!, &st, AT_SYMLINK_NOFOLLOW) == 0
        }
        guard found else {
            if errno == ENOENT { return nil }
            throw CopyError.system(operation: "lstat", path: childHost, errno: errno)
        }
        let isDir = st.st_mode & S_IFMT == S_IFDIR
        var held = false
        var nextContext = ContextFilter.ParentState.root
        if let filter {
            switch try filter.evaluate(path: Array(childContext.utf8), isDirectory: isDir, parent: contextState) {
            case .skip: return nil
            case .keep(let s): nextContext = s
            case .hold(let s): nextContext = s; held = true
            }
        }
        var nextExclude = ContextFilter.ParentState.root
        if let excludeFilter {
            switch try excludeFilter.evaluate(path: Array(childRel.utf8), isDirectory: isDir, parent: excludeState) {
            case .skip: return nil
            case .keep(let s): nextExclude = s
            case .hold(let s): nextExclude = s; held = true
            }
        }
        return (Entry(relative: childRel, host: childHost, stat: st, held: held), childContext, nextContext, nextExclude)
    }

    /// Every entry `walk` would enter below `match` (entering every directory), in the same order, with the
    /// directories read by `threads` threads at once, one directory each: for checksums, which need the order
    /// of the entries, not the order they were read in.
    func collect(_ match: Match, threads: Int) throws -> [Entry] {
        try collect(match, threads: threads) { $0 }
    }

    /// `collect`, with each entry turned into a `T` by `transform` on the thread that read it (so the work per
    /// entry is spread over the threads too); the results come back in walk order.
    func collect<T: Sendable>(_ match: Match, threads: Int, transform: @Sendable (Entry) throws -> T) throws -> [T] {
        var out: [T] = []
        try collect(match, threads: threads, transform: transform) { out.append($0) }
        return out
    }

    /// `collect`, handing each result to `consume` in walk order on the calling thread once every directory
    /// has been read (no array of all the results is built).
    func collect<T: Sendable>(_ match: Match, threads: Int, transform: @Sendable (Entry) throws -> T,
                              consume: (T) throws -> Void) throws {
        let queue = Mutex(CollectQueue())
        let listings = Mutex<[Int: CollectListing<T>]>([:])
        queue.withLock {
            $0.jobs.append(CollectJob(id: 0, host: RootedPath.host(match.resolved, in: directory), relative: "",
                               contextPath: match.resolved, contextState: match.contextState, excludeState: .root))
            $0.pending = 1
        }
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { _ in
            while true {
                let next: CollectJob?? = queue.withLock { state in
                    if state.failure != nil || state.pending == 0 { return .some(nil) }  // done
                    return state.jobs.popLast().map { .some($0) } ?? nil                  // a job, or wait
                }
                guard let job = next else { usleep(50); continue }
                guard let job else { return }
                var listing = CollectListing<T>()
                var children: [CollectJob] = []
                do {
                    let fd = open(job.host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard fd >= 0 else { throw CopyError.system(operation: "open", path: job.host, errno: errno) }
                    defer { close(fd) }
                    for nameBytes in try FileTree.names(fd, path: job.host) {
                        guard let child = try child(fd, nameBytes, host: job.host, relative: job.relative,
                                                    contextPath: job.contextPath, contextState: job.contextState,
                                                    excludeState: job.excludeState) else { continue }
                        listing.items.append(try transform(child.entry))
                        if child.entry.stat.st_mode & S_IFMT == S_IFDIR {
                            let id = queue.withLock { state in defer { state.nextID += 1 }; return state.nextID }
                            children.append(CollectJob(id: id, host: child.entry.host, relative: child.entry.relative,
                                                contextPath: child.contextPath, contextState: child.contextState,
                                                excludeState: child.excludeState))
                            listing.children.append(id)
                        } else {
                            listing.children.append(nil)
                        }
                    }
                } catch {
                    queue.withLock { if $0.failure == nil { $0.failure = error } }
                }
                listings.withLock { $0[job.id] = listing }
                queue.withLock { state in
                    state.jobs += children.reversed()
                    state.pending += children.count - 1
                }
            }
        }
        if let failure = queue.withLock({ $0.failure }) { throw failure }
        let all = listings.withLock { $0 }
        func flatten(_ id: Int) throws {
            guard let listing = all[id] else { return }
            for (item, child) in zip(listing.items, listing.children) {
                try consume(item)
                if let child { try flatten(child) }
            }
        }
        try flatten(0)
    }
}

/// A directory `CopySelection.collect` has still to read.
private struct CollectJob: Sendable {
    var id: Int
    var host: String
    var relative: String
    var contextPath: String
    var contextState: ContextFilter.ParentState
    var excludeState: ContextFilter.ParentState
}

/// A directory's results and, for each subdirectory among its entries, the job that lists it.
private struct CollectListing<T: Sendable>: Sendable {
    var items: [T] = []
    var children: [Int?] = []
}

private struct CollectQueue {
    var jobs: [CollectJob] = []
    var pending = 0
    var nextID = 1
    var failure: (any Error)?
}
