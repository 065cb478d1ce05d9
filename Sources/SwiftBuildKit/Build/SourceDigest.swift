import Foundation
import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// The content identity of what a COPY or ADD selects from the build context: SHA-256 over each selected
/// entry's path, type, mode, owner, link target and content (never its mtime), in walk order.
enum SourceDigest {
    static func compute(context: BuildContext, sources: [String], excludes: [String],
                        index: ContentHashIndex? = nil) throws -> Digest {
        let selection = try CopySelection(root: .context(context), excludes: excludes)
        var record = Record()
        for source in sources {
            record.text("source " + source)
            let matches: [CopySelection.Match]
            do { matches = try selection.matches(source) } catch {
                // A missing source is reported when the step runs; the key only needs to differ.
                record.text("missing")
                continue
            }
            for match in matches {
                try record.entry(host: RootedPath.host(match.resolved, in: context.directory), relative: match.resolved,
                                 st: match.stat, index: index)
                if match.stat.st_mode & S_IFMT == S_IFDIR {
                    try selection.walk(match, enter: { entry in
                        try record.entry(host: entry.host, relative: match.resolved + "/" + entry.relative,
                                         st: entry.stat, index: index)
                        return true
                    }, leave: { _ in })
                }
            }
        }
        return record.hasher.finalize()
    }

    /// Binary records straight into the hasher: no per-entry string formatting.
    struct Record {
        let hasher = SHA256Hasher()
        private var buffer: [UInt8] = []

        init() { buffer.reserveCapacity(512) }

        mutating func text(_ s: String) {
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: s.utf8)
            buffer.append(0)
            hasher.update(buffer)
        }

        mutating func entry(host: String, relative: String, st: stat, index: ContentHashIndex?) throws {
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: relative.utf8)
            buffer.append(0)
            for v in [UInt32(st.st_mode), st.st_uid, st.st_gid] {
                withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }
            }
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK {
                buffer.append(contentsOf: ((try? FileManager.default.destinationOfSymbolicLink(atPath: host)) ?? "").utf8)
                buffer.append(0)
            } else if type == S_IFREG {
                buffer.append(contentsOf: try index?.hash(of: host, relative: relative, stat: st)
                                          ?? ContentHashIndex.hashFile(host))
            }
            hasher.update(buffer)
        }
    }
}
