import Foundation
import TestSupport
import Glibc
import CSys
import SwiftBuildOCI
@testable import SwiftBuildArchive

/// Collects the blob in memory.
final class MemorySink: LayerSink {
    var bytes: [UInt8] = []
    func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
}

/// Builds file trees with exact modes, owners and times.
struct TreeBuilder {
    let root: String

    func dir(_ rel: String, mode: mode_t = 0o755) throws {
        let p = root + "/" + rel
        guard mkdir(p, mode) == 0 || errno == EEXIST else { throw TestFailure("mkdir \(p): \(errno)") }
        chmod(p, mode)
    }

    func file(_ rel: String, _ content: [UInt8], mode: mode_t = 0o644) throws {
        let p = root + "/" + rel
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw TestFailure("open \(p): \(errno)") }
        defer { close(fd) }
        var off = 0
        try content.withUnsafeBytes { b in
            while off < b.count {
                let n = write(fd, b.baseAddress! + off, b.count - off)
                guard n > 0 else { throw TestFailure("write \(p)") }
                off += n
            }
        }
        fchmod(fd, mode)
    }

    func file(_ rel: String, _ text: String, mode: mode_t = 0o644) throws { try file(rel, Array(text.utf8), mode: mode) }

    func symlink(_ rel: String, to target: String) throws {
        guard Glibc.symlink(target, root + "/" + rel) == 0 else { throw TestFailure("symlink \(rel): \(errno)") }
    }

    func hardlink(_ rel: String, to existing: String) throws {
        guard link(root + "/" + existing, root + "/" + rel) == 0 else { throw TestFailure("link \(rel): \(errno)") }
    }

    func fifo(_ rel: String) throws {
        guard mkfifo(root + "/" + rel, 0o600) == 0 else { throw TestFailure("mkfifo \(rel): \(errno)") }
        chmod(root + "/" + rel, 0o600)
    }

    func setXattr(_ rel: String, _ name: String, _ value: [UInt8]) -> Bool {
        value.withUnsafeBytes { lsetxattr(root + "/" + rel, name, $0.baseAddress, $0.count, 0) } == 0
    }

    func chown(_ rel: String, _ uid: uid_t, _ gid: gid_t) { _ = lchown(root + "/" + rel, uid, gid) }

    /// Sets mtime (and atime) without following symlinks.
    func times(_ rel: String, mtime: Int, nsec: Int = 0, atime: Int = 1_000_000) {
        var ts = [timespec(tv_sec: atime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: nsec)]
        _ = utimensat(AT_FDCWD, root + "/" + rel, &ts, AT_SYMLINK_NOFOLLOW)
    }
}

func sha256(_ bytes: [UInt8]) -> Digest { SHA256Hasher.digest(bytes) }

/// Deterministic pseudo-random bytes (xorshift), incompressible.
func randomBytes(_ count: Int, seed: UInt64 = 0x9E3779B97F4A7C15) -> [UInt8] {
    var x = seed
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { b in
        var i = 0
        while i + 8 <= count {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            b.storeBytes(of: x, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count { x ^= x << 13; x ^= x >> 7; x ^= x << 17; b[i] = UInt8(truncatingIfNeeded: x); i += 1 }
    }
    return out
}

/// Text-like compressible bytes.
func textBytes(_ count: Int) -> [UInt8] {
    let words = ["layer", "image", "build", "cache", "tar", "gzip", "swift", "digest", "blob", "manifest", "\n"]
    var out: [UInt8] = []
    out.reserveCapacity(count + 16)
    var i = 0
    while out.count < count {
        out.append(contentsOf: words[(i * 7 + i / 3) % words.count].utf8)
        out.append(0x20)
        i += 1
    }
    return Array(out[0..<count])
}

/// A header of our tar stream, parsed by a minimal reader, to check exact fields.
struct ParsedEntry {
    var name: String
    var type: UInt8
    var mode: Int
    var uid: Int
    var gid: Int
    var size: Int
    var mtime: Int
    var linkname: String
    var uname: String
    var gname: String
    var pax: [String: [UInt8]]
    var content: [UInt8]
}

func parseTar(_ tar: [UInt8]) throws -> [ParsedEntry] {
    func field(_ h: ArraySlice<UInt8>, _ o: Int, _ n: Int) -> [UInt8] {
        let s = h[(h.startIndex + o)..<(h.startIndex + o + n)]
        return Array(s.prefix { $0 != 0 })
    }
    func octal(_ b: [UInt8]) -> Int { b.reduce(0) { $1 >= 0x30 && $1 <= 0x37 ? $0 * 8 + Int($1 - 0x30) : $0 } }
    var entries: [ParsedEntry] = []
    var pos = 0
    var pending: [String: [UInt8]] = [:]
    while pos + 512 <= tar.count {
        let h = tar[pos..<(pos + 512)]
        if h.allSatisfy({ $0 == 0 }) { break }
        var sum = 0
        for (i, b) in h.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(b) }
        guard sum == octal(field(h, 148, 8)) else { throw TestFailure("bad checksum at \(pos)") }
        let size = octal(field(h, 124, 12))
        let type = h[h.startIndex + 156]
        let body = Array(tar[(pos + 512)..<(pos + 512 + size)])
        pos += 512 + (size + 511) / 512 * 512
        if type == 0x78 {
            var i = 0
            while i < body.count {
                guard let sp = body[i...].firstIndex(of: 0x20) else { throw TestFailure("bad pax") }
                let len = Int(String(decoding: body[i..<sp], as: UTF8.self)) ?? 0
                let rec = body[(sp + 1)..<(i + len - 1)]
                guard let eq = rec.firstIndex(of: 0x3d), body[i + len - 1] == 0x0a else { throw TestFailure("bad pax record") }
                pending[String(decoding: rec[..<eq], as: UTF8.self)] = Array(rec[(eq + 1)...])
                i += len
            }
            continue
        }
        var e = ParsedEntry(name: String(decoding: field(h, 0, 100), as: UTF8.self), type: type,
                            mode: octal(field(h, 100, 8)), uid: octal(field(h, 108, 8)), gid: octal(field(h, 116, 8)),
                            size: size, mtime: octal(field(h, 136, 12)),
                            linkname: String(decoding: field(h, 157, 100), as: UTF8.self),
                            uname: String(decoding: field(h, 265, 32), as: UTF8.self),
                            gname: String(decoding: field(h, 297, 32), as: UTF8.self), pax: pending, content: body)
        if let p = pending["path"] { e.name = String(decoding: p, as: UTF8.self) }
        if let p = pending["linkpath"] { e.linkname = String(decoding: p, as: UTF8.self) }
        pending = [:]
        entries.append(e)
    }
    return entries
}

extension LayerWriter {
    /// The writer with a small chunk size, to cross many chunk boundaries with little data.
    func withChunkSize(_ size: Int) -> LayerWriter {
        var w = self
        w.chunkSize = size
        return w
    }
}

/// Decompresses a blob with the system tool for its compression.
func decompress(_ blob: [UInt8], _ compression: LayerCompression) throws -> [UInt8] {
    switch compression {
    case .gzip: return try run("gzip", ["-dc"], stdin: blob)
    case .zstd: return try run("zstd", ["-dc"], stdin: blob)
    case .uncompressed: return blob
    }
}
