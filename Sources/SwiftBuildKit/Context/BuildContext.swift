#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildDockerfile

/// A local build context: a directory and the patterns that decide which of its entries the build sees.
///
/// The walk reproduces BuildKit's context transfer (fsutil, testdata/conformance/dockerignore/FORMAT.md 4.2):
/// depth-first, entries of a directory in ascending byte order of their names, a directory before its
/// contents, symbolic links not followed; excluded files are left out, excluded directories are skipped or,
/// when exceptions may re-include something below them, walked and sent only before their first kept entry.
public struct BuildContext: Sendable {
    /// The context directory.
    public let directory: String
    public let filter: ContextFilter

    /// - Parameters:
    ///   - directory: the context root (a symbolic link to a directory is followed).
    ///   - includePatterns: if not empty, only entries these match are sent.
    ///   - excludePatterns: entries these match are left out (the `.dockerignore` patterns, in `IgnoreFile`
    ///     form).
    /// - Throws: `BuildContextError.patterns` when a list is rejected.
    public init(directory: String, includePatterns: [String] = [], excludePatterns: [String] = []) throws(BuildContextError) {
        self.directory = directory
        do {
            filter = try ContextFilter(includePatterns: includePatterns, excludePatterns: excludePatterns)
        } catch {
            throw .patterns(error, source: "\(directory): include/exclude patterns", path: nil)
        }
    }

    /// Calls `body` with every kept entry, in walk order.
    /// - Throws: `BuildContextError` for an unreadable tree or a pattern that fails to match; errors of `body`
    ///   are passed through as `any Error`.
    public func walk(_ body: (ContextEntry) throws -> Void) throws {
        let root = try DirectoryHandle.open(path: directory)
        var pending: [ContextEntry?] = []  // directories waiting to be sent (nil: already sent)
        var path: [UInt8] = []
        try walkDirectory(root, names: try root.sortedNames(), path: &path, parent: .root, pending: &pending, body)
    }

    /// All kept entries, in walk order.
    public func entries() throws -> [ContextEntry] {
        var out: [ContextEntry] = []
        try walk { out.append($0) }
        return out
    }

    private func walkDirectory(_ dir: DirectoryHandle, names: [[UInt8]], path: inout [UInt8],
                               parent: ContextFilter.ParentState, pending: inout [ContextEntry?],
                               _ body: (ContextEntry) throws -> Void) throws {
        let base = path.count
        defer { path.removeSubrange(base...) }
        for name in names {
            path.removeSubrange(base...)
            if base > 0 { path.append(UInt8(ascii: "/")) }
            path.append(contentsOf: name)
            let display = { [directory, path] in directory + "/" + String(decoding: path, as: UTF8.self) }
            guard let st = try dir.statChild(name, displayPath: display()) else { continue }
            let kind = Self.kind(of: st.st_mode)
            let isDirectory = kind == .directory
            let verdict: ContextFilter.Verdict
            do {
                verdict = try filter.evaluate(path: path, isDirectory: isDirectory, parent: parent)
            } catch {
                throw BuildContextError.patterns(error, source: "\(directory): include/exclude patterns",
                                                 path: String(decoding: path, as: UTF8.self))
            }
            let state: ContextFilter.ParentState
            let send: Bool
            switch verdict {
            case .skip: continue
            case .keep(let s): state = s; send = true
            case .hold(let s): state = s; send = false
            }
            var entry = ContextEntry(path: String(decoding: path, as: UTF8.self), pathBytes: path, kind: kind,
                                     permissions: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid,
                                     size: Int64(st.st_size), modificationSeconds: Int64(st.st_mtim.tv_sec),
                                     modificationNanoseconds: Int64(st.st_mtim.tv_nsec), device: UInt64(st.st_dev),
                                     inode: UInt64(st.st_ino), linkCount: UInt64(st.st_nlink),
                                     rdev: UInt64(st.st_rdev))
            if kind == .symlink {
                entry.linkTarget = String(decoding: try dir.readLink(name, displayPath: display()), as: UTF8.self)
            }
            if send {
                for k in pending.indices {
                    if let p = pending[k] {
                        try body(p)
                        pending[k] = nil
                    }
                }
                try body(entry)
            }
            if isDirectory {
                let child: DirectoryHandle
                let childNames: [[UInt8]]
                do {
                    child = try dir.openChild(name, displayPath: display())
                    childNames = try child.sortedNames()
                } catch {
                    // Like fsutil: a directory removed during the walk has nothing to send, and a permission
                    // error is ignored for a directory that is itself not sent.
                    if case .system(_, _, let code) = error {
                        if code == ENOENT || code == ENOTDIR { continue }
                        if !send && (code == EACCES || code == EPERM) { continue }
                    }
                    throw error
                }
                pending.append(send ? nil : entry)
                try walkDirectory(child, names: childNames, path: &path, parent: state, pending: &pending, body)
                pending.removeLast()
            }
        }
    }

    /// Whether opening `path` (relative to the context) through the filter finds an entry: it exists (as seen
    /// by `lstat`) and the patterns admit it by the `matchesOrParentMatches` rule (fsutil's `Open`).
    public func admits(_ path: String) throws(BuildContextError) -> Bool {
        do {
            guard try filter.admits(path: path) else { return false }
        } catch {
            throw .patterns(error, source: "\(directory): include/exclude patterns", path: path)
        }
        var st = stat()
        if lstat(directory + "/" + path, &st) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return false }
            throw .system(operation: "lstat", path: directory + "/" + path, errno: code)
        }
        return true
    }

    static func kind(of mode: mode_t) -> ContextEntry.Kind {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        case S_IFCHR: return .characterDevice
        case S_IFBLK: return .blockDevice
        default: return .file
        }
    }
}
