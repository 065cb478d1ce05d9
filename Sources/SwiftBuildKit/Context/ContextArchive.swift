#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive

/// A build context given as a tar stream (`swiftbuild build - < context.tar`, as `docker build -`): the tar
/// (plain, gzip, zstd, xz or bzip2) is unpacked safely into a new directory, which then is the context
/// directory. `.wh.` names are ordinary files here, devices are refused, and owners are not restored.
public enum ContextArchive {
    /// Unpacks the tar read from `fileDescriptor` (left open) into a new directory under `scratch`, returned;
    /// the caller removes it after the build.
    public static func unpack(fileDescriptor: Int32, scratch: String) throws -> String {
        try mkdirs(scratch)
        var template = Array((scratch + "/context-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BuildError("cannot create a directory for the context under \(scratch): \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        let options = LayerExtractor.Options(preserveOwners: false, allowDevices: false, applyWhiteouts: false)
        do {
            _ = try LayerExtractor(options: options).extract(fileDescriptor: fileDescriptor, into: directory)
        } catch {
            throw BuildError("reading the build context from standard input (a tar): \(error)")
        }
        return directory
    }

    private static func mkdirs(_ path: String) throws {
        var current = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw BuildError("cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
    }
}
