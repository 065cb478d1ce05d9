import CSys
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Everything a test compares about one file system object.
struct NodeInfo: Equatable, CustomStringConvertible {
    var type: String
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var mtime: Int
    var content: [UInt8]?
    var link: String?
    var rdev: UInt64
    var xattrs: [String: [UInt8]]
    var inode: UInt64

    var description: String {
        "\(type) mode=\(String(mode, radix: 8)) \(uid):\(gid) size=\(size) mtime=\(mtime) link=\(link ?? "-") xattrs=\(xattrs.keys.sorted())"
    }

    /// Equal apart from the inode (which only matters for hardlink grouping).
    func sameContent(_ other: NodeInfo, compareMtime: Bool = true) -> Bool {
        var a = self, b = other
        a.inode = 0; b.inode = 0
        if !compareMtime { a.mtime = 0; b.mtime = 0 }
        return a == b
    }
}

/// A map from relative path to what is there, walking without following symlinks.
func snapshot(_ root: String, includeRoot: Bool = false) throws -> [String: NodeInfo] {
    var result: [String: NodeInfo] = [:]
    func visit(_ rel: String) throws {
        let full = rel.isEmpty ? root : root + "/" + rel
        var st = stat()
        guard lstat(full, &st) == 0 else { throw POSIXError(.ENOENT) }
        let fmt = st.st_mode & Glibc.S_IFMT
        var info = NodeInfo(type: "?", mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid,
                            size: 0, mtime: st.st_mtim.tv_sec, content: nil, link: nil, rdev: 0,
                            xattrs: [:], inode: UInt64(st.st_ino))
        switch fmt {
        case Glibc.S_IFREG:
            info.type = "file"
            info.size = Int64(st.st_size)
            info.content = Array(try Data(contentsOf: URL(fileURLWithPath: full)))
        case Glibc.S_IFDIR: info.type = "dir"
        case Glibc.S_IFLNK:
            info.type = "symlink"
            info.link = try FileManager.default.destinationOfSymbolicLink(atPath: full)
        case Glibc.S_IFCHR: info.type = "chr"; info.rdev = UInt64(st.st_rdev)
        case Glibc.S_IFBLK: info.type = "blk"; info.rdev = UInt64(st.st_rdev)
        case Glibc.S_IFIFO: info.type = "fifo"
        default: info.type = "other"
        }
        if fmt == Glibc.S_IFREG || fmt == Glibc.S_IFDIR {
            info.xattrs = userXattrs(full)
        }
        if !rel.isEmpty || includeRoot { result[rel.isEmpty ? "." : rel] = info }
        if fmt == Glibc.S_IFDIR {
            for name in try FileManager.default.contentsOfDirectory(atPath: full).sorted() {
                try visit(rel.isEmpty ? name : rel + "/" + name)
            }
        }
    }
    try visit("")
    return result
}

func userXattrs(_ path: String) -> [String: [UInt8]] {
    var names = [CChar](repeating: 0, count: 4096)
    let n = llistxattr(path, &names, names.count)
    guard n > 0 else { return [:] }
    var result: [String: [UInt8]] = [:]
    for raw in names[0..<n].split(separator: 0) {
        let name = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard name.hasPrefix("user.") else { continue }
        var value = [UInt8](repeating: 0, count: 4096)
        let m = lgetxattr(path, name, &value, value.count)
        if m >= 0 { result[name] = Array(value[0..<m]) }
    }
    return result
}
