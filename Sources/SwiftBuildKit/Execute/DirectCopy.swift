import CSys
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildDockerfile

/// A COPY from the build context written straight into its layer: the layer's entries name the context files
/// themselves, so the tar writer reads each file once and nothing is written anywhere first (no copy in a
/// snapshot). The builder uses it for a step whose file system no later step of the build reads, and only when
/// the copy adds and never replaces: every path it writes is new in the parent tree, and no path on the way to
/// the destination is a symbolic link. Then the layer is the one `CopyExecutor` would produce in an overlay
/// (same entries, owners, modes, times and extended attributes, checked by DirectCopyTests); anything else
/// (`nil`) goes the materialised way.
struct DirectCopy {
    let request: CopyRequest
    let selection: CopySelection
    /// The parent's unpacked layers, top first (overlay lower form: whiteouts are 0/0 devices, opaque
    /// directories carry `trusted.overlay.opaque=y`).
    let lowers: [String]
    /// `--chown`, else root (context files).
    let owner: (uid: UInt32, gid: UInt32)
    let now: timespec

    typealias Metadata = LayerEntry.EntryMetadata

    /// The layer's entries, and their tar size as the walk saw it (so the layer split need not stat them again).
    struct Plan {
        var entries: [LayerEntry] = []
        var sizes = LayerSplit.Sizes()
    }

    /// The layer's entries, or nil when the copy must be materialised.
    func plan() throws(CopyError) -> Plan? {
        guard !request.isAdd, !request.parents, request.checksum == nil else { return nil }
        var patterns: [String] = []
        for source in request.sources {
            guard case .path(let pattern) = source else { return nil }
            patterns.append(pattern)
        }
        let destinationIsDirectory = request.destination.hasSuffix("/") || request.destination.hasSuffix("/.")
            || RootedPath.clean(request.destination).isEmpty
        if patterns.count > 1 && !destinationIsDirectory { return nil }  // CopyExecutor's error
        var matches: [CopySelection.Match] = []
        for pattern in patterns {
            matches += try selection.matches(pattern).filter { !selection.skips($0.stat) }
        }
        if matches.isEmpty { return Plan() }  // a wildcard that matched nothing: an empty layer

        let tree = LowerTree(lowers: lowers)
        let destination = RootedPath.clean(request.destination)
        let components = destination.split(separator: "/").map(String.init)
        // The existing directories on the way (top first), up to where the parent tree ends.
        var existing: [(path: String, node: LowerTree.Directory)] = []
        var prefix = ""
        for component in components {
            prefix = prefix.isEmpty ? component : prefix + "/" + component
            switch tree.lookup(prefix) {
            case .directory(let directory): existing.append((prefix, directory))
            case .missing: break
            case .other: return nil  // a symlink, a file: resolution or replacement, materialised
            }
            if existing.count < prefix.split(separator: "/").count { break }
        }
        let destinationExists = existing.count == components.count
        if destinationExists {
            // Only into an empty directory: nothing the copy writes can exist already.
            let root = destination.isEmpty ? LowerTree.Directory(stat: stat(), hosts: lowers) : existing.last!.node
            if tree.hasVisibleChildren(root) { return nil }
        }
        let intoDirectory = destinationIsDirectory || destinationExists || matches.contains { $0.isDirectory }

        // The entries in the order they were found, and where each target path is (a directory added twice
        // keeps its last entry; a file may not meet anything else).
        var out: [LayerEntry] = []
        var sizes = LayerSplit.Sizes()
        var positions: [String: (index: Int, isDirectory: Bool)] = [:]
        func add(_ path: String, _ entry: LayerEntry, isDirectory: Bool, size: Int64 = 0) -> Bool {
            if let known = positions[path] {
                guard isDirectory, known.isDirectory else { return false }
                out[known.index] = entry
                return true
            }
            positions[path] = (out.count, isDirectory)
            out.append(entry)
            sizes.add(fileSize: size)
            return true
        }
        func directoryEntry(_ path: String) -> LayerEntry? {
            positions[path].flatMap { $0.isDirectory ? out[$0.index] : nil }
        }
        let nowMetadata = { (uid: UInt32, gid: UInt32, permissions: UInt32) in
            Metadata(uid: uid, gid: gid, permissions: permissions, mtime: Int64(now.tv_sec), mtimeNanoseconds: now.tv_nsec)
        }
        // The directory everything goes into (or, for one file to a new path, that path's parent).
        let container = intoDirectory ? components : Array(components.dropLast())
        // Existing directories are copied up with their metadata; the deepest one gains a child (mtime now).
        let existingOnTheWay = existing.prefix(container.count)
        for (index, item) in existingOnTheWay.enumerated() {
            var metadata = Metadata(item.node.stat)
            if index == existingOnTheWay.count - 1 { metadata.setTime(now) }
            _ = add(item.path, .copy(item.path, source: item.node.hosts[0], metadata: metadata), isDirectory: true)
        }
        // Missing directories are created 0755 with the `--chown` owner (root by default).
        var path = existingOnTheWay.last?.path ?? ""
        for component in container.dropFirst(existingOnTheWay.count) {
            path = path.isEmpty ? component : path + "/" + component
            _ = add(path, .directory(path, metadata: nowMetadata(owner.uid, owner.gid, 0o755)), isDirectory: true)
        }
        let top = container.joined(separator: "/")
        func join(_ base: String, _ name: String) -> String { base.isEmpty ? name : base + "/" + name }

        for match in matches {
            let host = RootedPath.host(match.resolved, in: selection.directory)
            if match.isDirectory {
                // The contents go into the container, which takes the source directory's times (as fsutil does).
                if !top.isEmpty, let entry = directoryEntry(top) {
                    _ = add(top, entry.withTime(match.stat.st_mtim), isDirectory: true)
                }
                // Directories read on every core; each entry becomes its layer entry as the walk hands it over
                // in walk order (no list of the walk's entries is kept).
                // The layer entries are made on the walking threads, so the walk's own entries (with their full
                // stat) are never all held at once.
                var collision = false
                let (skipsSpecial, chmod, ids) = (selection.isContext, request.chmod, owner)
                do {
                    try selection.collect(match, threads: ProcessInfo.processInfo.activeProcessorCount) { entry -> (String, LayerEntry, Bool, Int64)? in
                        if skipsSpecial && CopySelection.isSpecial(entry.stat) { return nil }
                        let target = top.isEmpty ? entry.relative : top + "/" + entry.relative
                        let metadata = Self.metadata(entry.stat, chmod: chmod, owner: ids)
                        return (target, .copy(target, source: entry.host, metadata: metadata),
                                entry.stat.st_mode & S_IFMT == S_IFDIR, Self.fileSize(entry.stat))
                    } consume: { planned in
                        guard !collision, let (target, entry, isDirectory, size) = planned else { return }
                        if !add(target, entry, isDirectory: isDirectory, size: size) { collision = true }
                    }
                } catch let error as CopyError {
                    throw error
                } catch {
                    throw .failed(operation: "walk", path: host, cause: error)
                }
                if collision { return nil }
            } else {
                let target = intoDirectory ? join(top, match.path.split(separator: "/").last.map(String.init) ?? "")
                                           : destination
                guard !target.isEmpty, add(target, .copy(target, source: host, metadata: metadata(match.stat)), isDirectory: false,
                                           size: Self.fileSize(match.stat))
                else { return nil }
            }
        }
        return Plan(entries: out, sizes: sizes)
    }

    /// The bytes a node's content takes in the tar (regular files only).
    private static func fileSize(_ st: stat) -> Int64 {
        st.st_mode & S_IFMT == S_IFREG ? Int64(st.st_size) : 0
    }

    /// What a copied node gets: the owner, `--chmod` (not for symlinks), and its own modification time.
    private func metadata(_ st: stat) -> Metadata {
        Self.metadata(st, chmod: request.chmod, owner: owner)
    }

    private static func metadata(_ st: stat, chmod: Chmod?, owner: (uid: UInt32, gid: UInt32)) -> Metadata {
        var permissions = UInt32(st.st_mode & 0o7777)
        if st.st_mode & S_IFMT != S_IFLNK, let chmod {
            permissions = chmod.apply(to: permissions, isDirectory: st.st_mode & S_IFMT == S_IFDIR)
        }
        return Metadata(uid: owner.uid, gid: owner.gid, permissions: permissions, mtime: Int64(st.st_mtim.tv_sec),
                        mtimeNanoseconds: st.st_mtim.tv_nsec)
    }
}

extension CopySelection.Match {
    var isDirectory: Bool { stat.st_mode & S_IFMT == S_IFDIR }
}

extension LayerEntry.EntryMetadata {
    init(_ st: stat) {
        self.init(uid: st.st_uid, gid: st.st_gid, permissions: UInt32(st.st_mode & 0o7777),
                  mtime: Int64(st.st_mtim.tv_sec), mtimeNanoseconds: st.st_mtim.tv_nsec)
    }

    mutating func setTime(_ time: timespec) {
        mtime = Int64(time.tv_sec)
        mtimeNanoseconds = time.tv_nsec
    }
}

extension LayerEntry {
    /// The same entry with another modification time.
    func withTime(_ time: timespec) -> LayerEntry {
        switch self {
        case .copy(let path, let source, var metadata):
            metadata.setTime(time)
            return .copy(path, source: source, metadata: metadata)
        case .directory(let path, var metadata):
            metadata.setTime(time)
            return .directory(path, metadata: metadata)
        default:
            return self
        }
    }
}

/// Lookups in a stack of unpacked layers as overlayfs sees it (top first): whiteouts hide, opaque directories
/// hide what is below them, a non-directory hides everything below it.
struct LowerTree {
    let lowers: [String]

    struct Directory {
        /// The top-most occurrence's metadata.
        var stat: stat
        /// The directory in every layer where it is visible, top first.
        var hosts: [String]
    }

    enum Node {
        case missing
        case directory(Directory)
        case other(stat)
    }

    func lookup(_ relative: String) -> Node {
        var visible = lowers
        var prefix = ""
        var node = Node.missing
        for component in relative.split(separator: "/") {
            prefix += "/" + component
            var found: Node = .missing
            var hosts: [String] = []
            layers: for lower in visible {
                let host = lower + prefix
                var st = stat()
                guard lstat(host, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFCHR where st.st_rdev == 0:
                    break layers  // a whiteout: deleted here and below
                case S_IFDIR:
                    if case .missing = found { found = .directory(Directory(stat: st, hosts: [])) }
                    hosts.append(host)
                    if Self.isOpaque(host) { break layers }
                default:
                    if case .missing = found { found = .other(st) }
                    break layers
                }
            }
            guard case .directory(var directory) = found else { return found }
            directory.hosts = hosts
            node = .directory(directory)
            visible = hosts.map { String($0.dropLast(prefix.count)) }
        }
        return node
    }

    /// Whether the directory has anything in any layer where it is visible (whiteouts aside).
    func hasVisibleChildren(_ directory: Directory) -> Bool {
        for host in directory.hosts {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: host) else { continue }
            for name in names {
                var st = stat()
                guard lstat(host + "/" + name, &st) == 0 else { return true }
                if st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 { continue }
                return true
            }
        }
        return false
    }

    static func isOpaque(_ host: String) -> Bool {
        let fd = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var value = [UInt8](repeating: 0, count: 4)
        return fgetxattr(fd, OverlayAttributes.opaque, &value, value.count) == 1 && value[0] == UInt8(ascii: "y")
    }
}
