#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// Small file-system helpers for the image store, loader and exporter: files appear whole (temp file, fsync,
/// rename, fsync of the directory) or not at all, so a kill -9 or a concurrent writer never leaves half a file.
enum AtomicFile {
    /// A temp name next to `path`, unique to this call.
    static func temporaryName(for path: String) -> String {
        var rng = SystemRandomNumberGenerator()
        return path + ".tmp-" + String(rng.next() as UInt64, radix: 16) + "-\(getpid())"
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(ImageStoreError) {
        let temp = temporaryName(for: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system(call: "open", path: temp, errno: errno) }
        do throws(ImageStoreError) {
            try writeAll(fd, bytes, path: temp)
            guard fsync(fd) == 0 else { throw ImageStoreError.system(call: "fsync", path: temp, errno: errno) }
            _ = close(fd)
            guard rename(temp, path) == 0 else { throw ImageStoreError.system(call: "rename", path: path, errno: errno) }
        } catch {
            _ = close(fd)
            _ = unlink(temp)
            throw error
        }
        try syncDirectory(of: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(ImageStoreError) {
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure != 0 { throw .system(call: "write", path: path, errno: failure) }
    }

    static func syncDirectory(of path: String) throws(ImageStoreError) {
        let dir = parent(of: path)
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: dir, errno: errno) }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw .system(call: "fsync", path: dir, errno: errno) }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Creates the directory and its missing parents.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(ImageStoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", path: current, errno: errno)
            }
        }
    }

    /// The whole file, or nil if it does not exist.
    static func read(_ path: String, limit: Int = 64 << 20) throws(ImageStoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .system(call: "open", path: path, errno: errno)
        }
        defer { _ = close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
            if result.count > limit { throw .system(call: "read", path: path, errno: EFBIG) }
        }
        return result
    }

    /// Names in a directory, without `.` and `..`.
    static func entries(_ path: String) throws(ImageStoreError) -> [String] {
        guard let names = DirectoryListing.names(path) else { throw .system(call: "opendir", path: path, errno: errno) }
        return names
    }

    /// Removes a tree (no symlinks followed). Errors are ignored: used for cleanup of scratch directories.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in (try? entries(path)) ?? [] { removeTree(path + "/" + name) }
            _ = rmdir(path)
        } else {
            _ = unlink(path)
        }
    }

    /// A new private directory under `parent` (created if missing).
    static func makeTemporaryDirectory(in parent: String, prefix: String) throws(ImageStoreError) -> String {
        try makeDirectories(parent)
        var template = Array((parent + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw .system(call: "mkdtemp", path: parent, errno: errno) }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
