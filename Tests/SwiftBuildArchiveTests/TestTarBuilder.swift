/// A tiny test-only tar writer (ustar headers, with a pax header when a name is too long for ustar),
/// for building hostile layers byte by byte. It writes exactly what it is told, lies included.
struct TestTarBuilder {
    enum Kind: UInt8 {
        case file = 0x30  // '0'
        case hardlink = 0x31  // '1'
        case symlink = 0x32  // '2'
        case charDevice = 0x33  // '3'
        case blockDevice = 0x34  // '4'
        case directory = 0x35  // '5'
        case fifo = 0x36  // '6'
    }

    private(set) var bytes: [UInt8] = []

    mutating func file(_ path: String, _ content: String = "", mode: Int = 0o644) {
        entry(path, .file, mode: mode, data: Array(content.utf8))
    }

    mutating func directory(_ path: String, mode: Int = 0o755) {
        entry(path, .directory, mode: mode)
    }

    mutating func symlink(_ path: String, to target: String) {
        entry(path, .symlink, mode: 0o777, link: target)
    }

    mutating func hardlink(_ path: String, to target: String) {
        entry(path, .hardlink, mode: 0o644, link: target)
    }

    /// A regular file whose header declares `declaredSize` bytes but is followed by only `actual` bytes and the
    /// end of the stream.
    mutating func truncatedFile(_ path: String, declaredSize: Int, actual: Int) {
        header(path, .file, mode: 0o644, size: declaredSize, link: "", major: 0, minor: 0)
        bytes.append(contentsOf: [UInt8](repeating: 0x41, count: actual))
    }

    mutating func entry(_ path: String, _ kind: Kind, mode: Int, data: [UInt8] = [], link: String = "",
                        major: Int = 0, minor: Int = 0, xattrs: [(String, String)] = []) {
        header(path, kind, mode: mode, size: data.count, link: link, major: major, minor: minor, xattrs: xattrs)
        bytes.append(contentsOf: data)
        pad()
    }

    /// The archive with its two zero end blocks.
    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    private mutating func pad() {
        let r = bytes.count % 512
        if r != 0 { bytes.append(contentsOf: [UInt8](repeating: 0, count: 512 - r)) }
    }

    private mutating func header(_ path: String, _ kind: Kind, mode: Int, size: Int, link: String,
                                 major: Int, minor: Int, xattrs: [(String, String)] = []) {
        let name = Array(path.utf8)
        let linkBytes = Array(link.utf8)
        if name.count > 100 || linkBytes.count > 100 || !xattrs.isEmpty {
            var records: [UInt8] = []
            for (key, value) in xattrs { records += Self.paxRecord("SCHILY.xattr." + key, Array(value.utf8)) }
            if name.count > 100 { records += Self.paxRecord("path", name) }
            if linkBytes.count > 100 { records += Self.paxRecord("linkpath", linkBytes) }
            block(name: Array("PaxHeaders/x".utf8), typeflag: 0x78, mode: 0o644, size: records.count,
                  link: [], major: 0, minor: 0)
            bytes.append(contentsOf: records)
            pad()
        }
        block(name: Array(name.prefix(100)), typeflag: kind.rawValue, mode: mode, size: size,
              link: Array(linkBytes.prefix(100)), major: major, minor: minor)
    }

    private static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        // "<len> key=value\n", where len counts its own digits.
        let body = Array(" \(key)=".utf8) + value + [0x0a]
        var length = body.count + 1
        while String(length).utf8.count + body.count != length { length += 1 }
        return Array(String(length).utf8) + body
    }

    private mutating func block(name: [UInt8], typeflag: UInt8, mode: Int, size: Int, link: [UInt8],
                                major: Int, minor: Int) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int) {
            for (i, b) in value.enumerated() { h[offset + i] = b }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(1_700_000_000, width: 12), at: 136)
        h[156] = typeflag
        put(link, at: 157)
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(octal(major, width: 8), at: 329)
        put(octal(minor, width: 8), at: 337)
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [0x20], at: 148)
        bytes.append(contentsOf: h)
    }
}
