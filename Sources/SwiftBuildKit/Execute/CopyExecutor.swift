import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildDockerfile
import SwiftBuildOCI

/// Runs one COPY or ADD: writes the selected sources into `rootfs` (the step's merged view; the lead mounts it
/// with `Overlay` and turns the upper directory into the layer with `OverlayDiff`).
///
/// Destination rules (BuildKit's fsutil copy, `prepareTargetDir`):
/// - The destination is resolved inside the rootfs, following symlinks with the rootfs as `/` (an image's
///   `/app -> /srv/app` sends files to `<rootfs>/srv/app`; `../../..` never leaves the rootfs).
/// - Several sources need a destination ending in `/` (Docker's error text otherwise).
/// - A destination ending in `/` is created as a directory (mode 0755, owner from `--chown` else root).
/// - A file source goes *into* the destination when that is an existing directory (or ends in `/`),
///   else it *is* the destination path; missing parents are created (0755).
///   `COPY a.txt /new` → `/new` (a file); `COPY a.txt /new/` → `/new/a.txt`; `COPY a.txt /etc` → `/etc/a.txt`.
/// - A directory source copies its *contents* into the destination, which is created if missing (0755 and
///   the `--chown` owner, not the source directory's mode) and keeps its owner and mode if it exists.
///   `COPY src /app` with `src/x` → `/app/x`. Directories below it take the source's metadata, also when they
///   already exist (`COPY src /` with `src/etc` 0700 makes `/etc` 0700: BuildKit overwrites all but the top). A directory over an existing non-directory
///   (a file or a symlink) fails with `cannot copy to non-directory: …`, as in BuildKit.
/// - `--parents`: each match keeps its path relative to the root (or to a `/./` pivot):
///   `COPY --parents a/b/c.txt ./x/./y/z /dst/` → `/dst/a/b/c.txt`, `/dst/y/z`. Parents made this way take
///   the metadata of the source directories they stand for (owner rules and `--chmod` included), as BuildKit
///   copies them with include patterns; parents that already exist are left alone.
/// - Ownership: `--chown` applies to every copied node and every directory the copy creates; without it,
///   files from the context are root:root and files from a stage or image keep their owners.
/// - `--chmod` (octal or symbolic, `X` counts a directory as executable) applies to every copied file and
///   directory, not to the created destination or parents. Symlinks are copied as links.
/// - Modification times and extended attributes are kept; hard links inside one copied tree stay linked.
/// - Heredocs are files (0644, mtime now) named after the heredoc.
/// ADD: a local source that is a tar archive (plain, gzip, bzip2, xz or zstd, detected from its content) is
/// extracted into the destination directory (owners from the archive unless `--chown`); a URL (http/https) is
/// downloaded to `<dest>/<last URL path component>` (`__unnamed__` when there is none) (or to the destination when it does not end in `/` and is
/// not a directory) with mode 0600 and the mtime of `Last-Modified`, verified against `--checksum`, never
/// extracted. Git URLs fail with "git sources are not supported yet".
public struct CopyExecutor: Sendable {
    public let source: CopySourceRoot
    public let rootfs: String
    /// A directory for downloads, heredoc files and archive staging (removed entries are cleaned up).
    public let scratch: String

    public init(source: CopySourceRoot, rootfs: String, scratch: String) {
        self.source = source
        self.rootfs = rootfs
        self.scratch = scratch
    }

    public func run(_ request: CopyRequest) async throws(CopyError) {
        let instruction = request.isAdd ? "ADD" : "COPY"
        let destinationIsDirectory = request.destination.hasSuffix("/") || request.destination.hasSuffix("/.")
            || RootedPath.clean(request.destination).isEmpty || request.parents
        if request.sources.count > 1 && !destinationIsDirectory {
            throw .destinationNotDirectory(instruction: instruction)
        }
        if request.checksum != nil {
            if !request.isAdd { throw .checksumNotAllowed("COPY") }
            if request.sources.count != 1 { throw .checksumNotAllowed("multiple sources") }
            guard case .url(let url) = request.sources[0], !Self.isGit(url) else { throw .checksumNotAllowed("non-HTTP sources") }
        }
        for case .url(let url) in request.sources {
            if Self.isGit(url) { throw request.isAdd ? .gitNotSupported(url) : .gitRefInCopy(url) }
            if !request.isAdd { throw .urlNotAllowedInCopy(url) }
        }

        let selection = try CopySelection(root: source, excludes: request.excludes)
        let destination = RootedPath.clean(request.destination)
        let owner: (uid: UInt32, gid: UInt32)?
        if let o = request.owner {
            owner = (o.uid, o.gid)
        } else if case .context = source {
            owner = (0, 0)
        } else {
            owner = nil
        }
        let createdOwner = request.owner.map { ($0.uid, $0.gid) } ?? (0, 0)
        let chmod = request.chmod
        let copier = NodeCopier(owner: owner, permissions: chmod.map { c in { mode, isDir in c.apply(to: mode, isDirectory: isDir) } })
        let tree = RootfsWriter(rootfs: rootfs, createdOwner: createdOwner)
        // The sources first: a destination directory is made only when something is copied into it (a
        // wildcard that matches nothing copies nothing and creates nothing, as in BuildKit).
        var matches: [[CopySelection.Match]] = []
        for case .path(let pattern) in request.sources { matches.append(try selection.matches(pattern)) }
        let copiesSomething = matches.contains { !$0.isEmpty } || request.sources.contains {
            if case .path = $0 { return false }
            return true
        }
        if destinationIsDirectory && copiesSomething { _ = try tree.ensureDirectory(destination) }

        var pathIndex = 0
        for item in request.sources {
            if Task.isCancelled { throw .cancelled }
            switch item {
            case .path:
                defer { pathIndex += 1 }
                for match in matches[pathIndex] where !selection.skips(match.stat) {
                    let isDir = match.stat.st_mode & S_IFMT == S_IFDIR
                    let host = RootedPath.host(match.resolved, in: selection.directory)
                    if request.isAdd, !isDir, let archive = try extractedArchive(host) {
                        defer { try? FileTree.remove(archive) }
                        let target = try tree.ensureDirectory(destination)
                        let staged = try CopySelection(root: .directory(archive), excludes: [])
                        let stagedMatch = CopySelection.Match(path: "", resolved: "", parentsPath: "", stat: match.stat,
                                                              contextState: .root)
                        let archiveCopier = NodeCopier(owner: request.owner.map { ($0.uid, $0.gid) })
                        try tree.copyContents(of: stagedMatch, from: staged, into: target, copier: archiveCopier)
                        continue
                    }
                    let base = match.path.split(separator: "/").last.map(String.init) ?? ""
                    if request.parents {
                        let target = destination.isEmpty ? match.parentsPath : destination + "/" + match.parentsPath
                        try tree.makeParents(of: match, from: selection, below: destination, copier: copier)
                        if isDir {
                            try tree.copyContents(of: match, from: selection, into: try tree.ensureDirectory(target), copier: copier)
                        } else {
                            var parts = target.split(separator: "/").map(String.init)
                            let name = parts.popLast() ?? base
                            let parent = try tree.ensureDirectory(parts.joined(separator: "/"))
                            try tree.copyFile(host: host, st: match.stat, to: .init(directory: parent, name: name), copier: copier)
                        }
                        continue
                    }
                    if isDir {
                        try tree.copyContents(of: match, from: selection, into: try tree.ensureDirectory(destination), copier: copier)
                    } else {
                        let target = try tree.fileTarget(destination, name: base, forceDirectory: destinationIsDirectory)
                        try tree.copyFile(host: host, st: match.stat, to: target, copier: copier)
                    }
                }
            case .heredoc(let name, let contents):
                let file = try writeScratchFile(contents, mode: 0o644, mtime: nil)
                defer { unlink(file) }
                var st = stat()
                guard lstat(file, &st) == 0 else { throw .system(operation: "lstat", path: file, errno: errno) }
                let target = try tree.fileTarget(destination, name: name, forceDirectory: destinationIsDirectory)
                try tree.copyFile(host: file, st: st, to: target, copier: copier)
            case .url(let url):
                let (file, name) = try await download(url, checksum: request.checksum)
                defer { unlink(file) }
                var st = stat()
                guard lstat(file, &st) == 0 else { throw .system(operation: "lstat", path: file, errno: errno) }
                let target = try tree.fileTarget(destination, name: name, forceDirectory: destinationIsDirectory)
                try tree.copyFile(host: file, st: st, to: target, copier: copier)
            }
        }
    }

    static func isGit(_ url: String) -> Bool {
        if url.hasPrefix("git@") || url.hasPrefix("git://") || url.hasPrefix("ssh://") { return true }
        let withoutFragment = url.split(separator: "#", maxSplits: 1).first.map(String.init) ?? url
        return (url.hasPrefix("http://") || url.hasPrefix("https://")) && withoutFragment.hasSuffix(".git")
    }

    // MARK: - Scratch files

    private func writeScratchFile(_ bytes: [UInt8], mode: mode_t, mtime: Date?) throws(CopyError) -> String {
        let path = scratch + "/copy-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(operation: "create", path: path, errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let w = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
            if w < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "write", path: path, errno: errno)
            }
            offset += w
        }
        _ = fchmod(fd, mode)
        if let mtime {
            let seconds = mtime.timeIntervalSince1970.rounded(.down)
            let t = timespec(tv_sec: Int(seconds), tv_nsec: 0)
            var times = [t, t]
            _ = futimens(fd, &times)
        }
        return path
    }

    /// Extracts `path` into a staging directory when it is a tar archive; nil when it is not one.
    private func extractedArchive(_ path: String) throws(CopyError) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_size > 0 else { return nil }
        do {
            let reader = try ArchiveReader()
            try reader.open(path: path)
            guard try reader.nextEntry() != nil else { return nil }
        } catch {
            return nil
        }
        let staging = scratch + "/add-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard mkdir(staging, 0o755) == 0 else { throw .system(operation: "mkdir", path: staging, errno: errno) }
        do {
            try LayerExtractor(options: .init(applyWhiteouts: false)).extract(archiveAt: path, into: staging)
        } catch {
            try? FileTree.remove(staging)
            throw .archive(path: path, message: "\(error)")
        }
        return staging
    }

    // MARK: - Downloads

    /// An HTTP date (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the epoch.
    static func httpDate(_ text: String) -> Int? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { Int($0.timeIntervalSince1970) }
    }

    /// Streams the download into a scratch file through the registry client's transport (memory stays bounded),
    /// hashing it as it arrives for `--checksum`; the file gets the `Last-Modified` time, as Docker does.
    private func download(_ url: String, checksum: Digest?) async throws(CopyError) -> (path: String, name: String) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .download(url: url, message: "unsupported URL")
        }
        let path = scratch + "/download-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(operation: "open", path: path, errno: errno) }
        let hasher = SHA256Hasher()
        let response: HTTPResponse
        do {
            response = try CurlTransport().send(HTTPRequest(method: "GET", url: url), body: .none) { status, chunk in
                guard (200..<300).contains(status) else { return }
                hasher.update(chunk)
                var offset = 0
                while offset < chunk.count {
                    let n = write(fd, chunk.baseAddress.map { $0 + offset }, chunk.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw CopyError.system(operation: "write", path: path, errno: errno) }
                    offset += n
                }
            }
        } catch {
            close(fd)
            unlink(path)
            if let failure = error.sinkFailure as? CopyError { throw failure }
            throw .download(url: url, message: error.message)
        }
        close(fd)
        guard response.isSuccess else {
            unlink(path)
            throw .download(url: url, message: "invalid response status \(response.status)")
        }
        if let checksum {
            let actual = hasher.finalize()
            if actual != checksum {
                unlink(path)
                throw .checksumMismatch(url: url, expected: checksum, actual: actual)
            }
        }
        if let modified = response.header("Last-Modified"), let seconds = Self.httpDate(modified) {
            var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, path, &times, 0)
        }
        // BuildKit's name for a URL whose path has no last component.
        let name = parsed.path.split(separator: "/").last.map(String.init) ?? "__unnamed__"
        return (path, name)
    }
}
