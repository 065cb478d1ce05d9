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
        let hasher = SHA256Hasher()
        func add(_ text: String) { hasher.update(Array((text + "\u{0}").utf8)) }
        for source in sources {
            add("source " + source)
            let matches: [CopySelection.Match]
            do { matches = try selection.matches(source) } catch {
                // A missing source is reported when the step runs; the key only needs to differ.
                add("missing")
                continue
            }
            for match in matches {
                try describe(host: RootedPath.host(match.resolved, in: context.directory), relative: match.resolved,
                             st: match.stat, index: index, add)
                if match.stat.st_mode & S_IFMT == S_IFDIR {
                    try selection.walk(match, enter: { entry in
                        try describe(host: entry.host, relative: match.resolved + "/" + entry.relative, st: entry.stat,
                                     index: index, add)
                        return true
                    }, leave: { _ in })
                }
            }
        }
        return hasher.finalize()
    }

    static func describe(host: String, relative: String, st: stat, index: ContentHashIndex?,
                         _ add: (String) -> Void) throws {
        let type = st.st_mode & S_IFMT
        add("\(relative) \(String(type, radix: 8)) \(String(st.st_mode & 0o7777, radix: 8)) \(st.st_uid):\(st.st_gid)")
        if type == S_IFLNK {
            add("-> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: host)) ?? ""))
        } else if type == S_IFREG {
            let hash = try index?.hash(of: host, relative: relative, stat: st) ?? ContentHashIndex.hashFile(host)
            add(hash.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
    }
}
