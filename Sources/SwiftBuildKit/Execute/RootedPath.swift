#if canImport(Glibc)
import Glibc
#endif

/// Resolves a path inside a root directory the way a chroot would: symlinks are followed, but an absolute
/// target restarts at the root and `..` stops at the root, so the result never leaves it (like securejoin).
///
/// Example: in a rootfs where `/etc/app -> ../../../../tmp` and `/lib -> /usr/lib`, `"/etc/app/x"` resolves to
/// `<root>/tmp/x` and `"/lib/a"` to `<root>/usr/lib/a`. Missing components are kept as they are.
enum RootedPath {
    struct Failure: Error, Equatable {
        var path: String
        var errno: Int32
    }

    /// The resolved path relative to the root, `/`-separated, without leading `/` ("" is the root itself).
    /// - Parameter followFinal: follow a symlink in the last component too.
    static func resolve(_ path: String, in root: String, followFinal: Bool = true) throws(Failure) -> String {
        var pending: [Substring] = path.split(separator: "/", omittingEmptySubsequences: true).reversed()
        var resolved: [Substring] = []
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let candidate = resolved + [component]
            let host = root + "/" + candidate.joined(separator: "/")
            if pending.isEmpty && !followFinal {
                resolved = candidate
                break
            }
            var st = stat()
            guard lstat(host, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else {
                resolved = candidate
                continue
            }
            links += 1
            if links > 255 { throw Failure(path: path, errno: ELOOP) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(host, &buffer, buffer.count - 1)
            guard n >= 0 else { throw Failure(path: host, errno: errno) }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed())
        }
        return resolved.joined(separator: "/")
    }

    /// `root` joined with `relative`.
    static func host(_ relative: String, in root: String) -> String {
        relative.isEmpty ? root : root + "/" + relative
    }

    /// Cleans a path like Go's `path.Clean` applied below `/`, keeping it relative: `"../a/./b/"` → `"a/b"`.
    static func clean(_ path: String) -> String {
        var out: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == ".." { _ = out.popLast(); continue }
            out.append(c)
        }
        return out.joined(separator: "/")
    }
}
