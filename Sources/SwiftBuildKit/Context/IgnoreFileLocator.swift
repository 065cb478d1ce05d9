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

    /// The ignore file that applies (the first candidate that exists), or nil.
    public static func locate(dockerfilePath: String, contextDirectory: String) throws(BuildContextError) -> String? {
        for path in candidates(dockerfilePath: dockerfilePath, contextDirectory: contextDirectory) {
            if try readFile(path) != nil { return path }
        }
        return nil
    }

    /// The exclude patterns for a build: the `IgnoreFile` reading of the file that applies, or none.
    /// - Throws: `BuildContextError` if the file exists but cannot be read or has an over-long line.
    public static func excludePatterns(dockerfilePath: String, contextDirectory: String) throws(BuildContextError) -> [String] {
        for path in candidates(dockerfilePath: dockerfilePath, contextDirectory: contextDirectory) {
            guard let bytes = try readFile(path) else { continue }
            do {
                return try IgnoreFile.readAllChecked(bytes)
            } catch {
                throw .ignoreFile(path: path, error)
            }
        }
        return []
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
