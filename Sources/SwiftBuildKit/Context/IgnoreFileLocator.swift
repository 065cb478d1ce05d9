#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildDockerfile

/// Which `.dockerignore` a build uses (testdata/conformance/dockerignore/FORMAT.md 4.1): `<Dockerfile>.dockerignore`
/// next to the Dockerfile wins over `.dockerignore` at the context root; only one file is read; a missing file
/// means no patterns.
public enum IgnoreFileLocator {
    /// The candidates in the order BuildKit tries them.
    public static func candidates(dockerfilePath: String, contextDirectory: String) -> [String] {
        [dockerfilePath + ".dockerignore", contextDirectory + "/.dockerignore"]
    }

    /// The ignore file that applies and its bytes, or nil. Like BuildKit, a `<Dockerfile>.dockerignore` that
    /// cannot be read for any reason counts as absent, while an existing but unreadable context `.dockerignore`
    /// is an error.
    public static func load(dockerfilePath: String, contextDirectory: String) throws(BuildContextError) -> (path: String, bytes: [UInt8])? {
        let paths = candidates(dockerfilePath: dockerfilePath, contextDirectory: contextDirectory)
        if let bytes = try? readFile(paths[0]) { return (paths[0], bytes) }
        if let bytes = try readFile(paths[1]) { return (paths[1], bytes) }
        return nil
    }

    /// The path of the ignore file that applies, or nil.
    public static func locate(dockerfilePath: String, contextDirectory: String) throws(BuildContextError) -> String? {
        try load(dockerfilePath: dockerfilePath, contextDirectory: contextDirectory)?.path
    }

    /// The exclude patterns for a build: the `IgnoreFile` reading of the file that applies, or none.
    /// - Throws: `BuildContextError` if the context's file exists but cannot be read, or a line is too long.
    public static func excludePatterns(dockerfilePath: String, contextDirectory: String) throws(BuildContextError) -> [String] {
        guard let (path, bytes) = try load(dockerfilePath: dockerfilePath, contextDirectory: contextDirectory) else {
            return []
        }
        do {
            return try IgnoreFile.readAllChecked(bytes)
        } catch {
            throw .ignoreFile(path: path, error)
        }
    }

    /// The bytes of the file at `path`, or nil if it does not exist.
    static func readFile(_ path: String) throws(BuildContextError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw .system(operation: "open", path: path, errno: code)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .system(operation: "read", path: path, errno: code)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[..<n])
        }
    }
}
