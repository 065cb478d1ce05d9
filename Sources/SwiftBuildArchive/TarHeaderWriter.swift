/// The kind of a tar entry, as its POSIX ustar type flag.
enum TarEntryType: UInt8 {
    case regular = 0x30       // '0'
    case hardlink = 0x31      // '1'
    case symlink = 0x32       // '2'
    case characterDevice = 0x33
    case blockDevice = 0x34
    case directory = 0x35
    case fifo = 0x36
    case paxHeader = 0x78     // 'x': PAX extended header for the next entry
}

/// The metadata of one entry that goes into its header. Names and xattrs are passed separately as borrowed bytes.
struct TarEntryMetadata {
    var type: TarEntryType
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var mtime: Int64
    /// Written (as a PAX `mtime` record) only when non-zero.
    var mtimeNanoseconds: Int
    var deviceMajor: UInt32 = 0
    var deviceMinor: UInt32 = 0
}

/// Encodes POSIX.1-2001 (pax) headers: a ustar header, preceded by a PAX extended header when a field does not fit.
///
/// Determinism (what makes the same tree give the same bytes): user and group names are empty, ids are numeric,
/// there is no atime or ctime, the PAX header's own name and fields are fixed, PAX records are in a fixed order
/// (path, linkpath, size, uid, gid, mtime, device numbers, then xattrs sorted by name).
/// Buffers are allocated once and reused for every entry.
final class TarHeaderWriter {
    private var block = [UInt8](repeating: 0, count: 512)
    private var pax: [UInt8] = []

    init() { pax.reserveCapacity(4096) }

    /// Largest value an octal field of `width` bytes holds (width - 1 digits and a NUL).
    private static func octalLimit(_ width: Int) -> UInt64 { (1 << (3 * UInt64(width - 1))) - 1 }

    private static func needsPax(_ name: UnsafeRawBufferPointer) -> Bool {
        if name.count > 100 { return true }
        for b in name where b >= 0x80 || b == 0 { return true }
        return false
    }

    /// Writes the header (and PAX header if needed) of one entry. `xattrs` are (name, value) pairs sorted by name.
    func write(_ meta: TarEntryMetadata, path: UnsafeRawBufferPointer, linkTarget: UnsafeRawBufferPointer?,
               xattrs: XattrList?, to stream: TarStream) throws {
        pax.removeAll(keepingCapacity: true)
        if Self.needsPax(path) { appendRecord("path", path) }
        if let linkTarget, Self.needsPax(linkTarget) { appendRecord("linkpath", linkTarget) }
        if meta.size < 0 || UInt64(meta.size) > Self.octalLimit(12) { appendRecord("size", decimal: meta.size) }
        if UInt64(meta.uid) > Self.octalLimit(8) { appendRecord("uid", decimal: Int64(meta.uid)) }
        if UInt64(meta.gid) > Self.octalLimit(8) { appendRecord("gid", decimal: Int64(meta.gid)) }
        if meta.mtimeNanoseconds != 0 || meta.mtime < 0 || UInt64(meta.mtime) > Self.octalLimit(12) {
            appendMtimeRecord(meta.mtime, meta.mtimeNanoseconds)
        }
        if UInt64(meta.deviceMajor) > Self.octalLimit(8) {
            appendRecord("SCHILY.devmajor", decimal: Int64(meta.deviceMajor))
        }
        if UInt64(meta.deviceMinor) > Self.octalLimit(8) {
            appendRecord("SCHILY.devminor", decimal: Int64(meta.deviceMinor))
        }
        if let xattrs { xattrs.forEachSorted { name, value in appendRecord(prefix: "SCHILY.xattr.", name, value) } }

        if !pax.isEmpty {
            let paxMeta = TarEntryMetadata(type: .paxHeader, mode: 0o644, uid: 0, gid: 0, size: Int64(pax.count),
                                           mtime: 0, mtimeNanoseconds: 0)
            let name: StaticString = "././@PaxHeader"
            try encodeBlock(paxMeta, name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
                            link: nil, to: stream)
            try pax.withUnsafeBytes { try stream.append($0) }
            try stream.appendZeros(Self.padding(pax.count))
        }
        try encodeBlock(meta, name: path, link: linkTarget, to: stream)
    }

    /// Zero bytes that follow `size` bytes of content to fill the last 512-byte block.
    static func padding(_ size: Int) -> Int { (512 - size % 512) % 512 }
    static func padding(_ size: Int64) -> Int { Int((512 - size % 512) % 512) }

    private func encodeBlock(_ meta: TarEntryMetadata, name: UnsafeRawBufferPointer, link: UnsafeRawBufferPointer?,
                             to stream: TarStream) throws {
        try block.withUnsafeMutableBytes { h in
            h.initializeMemory(as: UInt8.self, repeating: 0)
            Self.copyField(h, 0, 100, name)
            Self.octal(h, 100, 8, UInt64(meta.mode & 0o7777))
            Self.octal(h, 108, 8, min(UInt64(meta.uid), Self.octalLimit(8)))
            Self.octal(h, 116, 8, min(UInt64(meta.gid), Self.octalLimit(8)))
            let size = meta.size < 0 ? 0 : min(UInt64(meta.size), Self.octalLimit(12))
            Self.octal(h, 124, 12, size)
            let mtime = meta.mtime < 0 ? 0 : min(UInt64(meta.mtime), Self.octalLimit(12))
            Self.octal(h, 136, 12, mtime)
            h[156] = meta.type.rawValue
            if let link { Self.copyField(h, 157, 100, link) }
            // magic "ustar\0", version "00"
            h[257] = 0x75; h[258] = 0x73; h[259] = 0x74; h[260] = 0x61; h[261] = 0x72; h[262] = 0
            h[263] = 0x30; h[264] = 0x30
            if meta.type == .characterDevice || meta.type == .blockDevice {
                Self.octal(h, 329, 8, min(UInt64(meta.deviceMajor), Self.octalLimit(8)))
                Self.octal(h, 337, 8, min(UInt64(meta.deviceMinor), Self.octalLimit(8)))
            }
            // The checksum is computed with its own field as eight spaces.
            for i in 148..<156 { h[i] = 0x20 }
            var sum: UInt64 = 0
            for b in h { sum &+= UInt64(b) }
            Self.octal(h, 148, 7, sum)   // six digits, NUL, and the space left from above
            try stream.append(UnsafeRawBufferPointer(h))
        }
    }

    /// Copies at most `width` bytes; a longer name has a PAX record, so the ustar field only holds its start.
    private static func copyField(_ h: UnsafeMutableRawBufferPointer, _ offset: Int, _ width: Int,
                                  _ bytes: UnsafeRawBufferPointer) {
        let n = min(width, bytes.count)
        for i in 0..<n { h[offset + i] = bytes[i] }
    }

    /// `width - 1` zero-padded octal digits followed by NUL.
    private static func octal(_ h: UnsafeMutableRawBufferPointer, _ offset: Int, _ width: Int, _ value: UInt64) {
        var v = value
        var i = offset + width - 2
        while i >= offset {
            h[i] = UInt8(0x30 + (v & 7))
            v >>= 3
            i -= 1
        }
        h[offset + width - 1] = 0
    }

    // MARK: PAX records: "<length> <key>=<value>\n", where length counts the whole record including itself.

    private func appendRecord(_ key: StaticString, _ value: UnsafeRawBufferPointer) {
        appendRecord(prefix: key, UnsafeRawBufferPointer(start: nil, count: 0), value)
    }

    private func appendRecord(prefix: StaticString, _ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let body = prefix.utf8CodeUnitCount + name.count + 1 + value.count + 1   // key, '=', value, '\n'
        var length = body + 2                                                    // at least one digit and ' '
        while Self.decimalDigits(length) + 1 + body != length { length = Self.decimalDigits(length) + 1 + body }
        appendDecimal(Int64(length))
        pax.append(0x20)
        pax.append(contentsOf: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        pax.append(contentsOf: name)
        pax.append(0x3d)
        pax.append(contentsOf: value)
        pax.append(0x0a)
    }

    private func appendRecord(_ key: StaticString, decimal value: Int64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // room for 24 ASCII bytes, on the stack
        let count = withUnsafeMutableBytes(of: &digits) { Self.formatDecimal(value, into: $0) }
        withUnsafeBytes(of: &digits) { appendRecord(key, UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    private func appendMtimeRecord(_ seconds: Int64, _ nanoseconds: Int) {
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)   // 32 bytes
        let count = withUnsafeMutableBytes(of: &text) { buf -> Int in
            var n = Self.formatDecimal(seconds, into: buf)
            if nanoseconds != 0 {
                buf[n] = 0x2e   // '.'
                var ns = nanoseconds
                for i in stride(from: n + 9, to: n, by: -1) {
                    buf[i] = UInt8(0x30 + ns % 10)
                    ns /= 10
                }
                n += 10
            }
            return n
        }
        withUnsafeBytes(of: &text) { appendRecord("mtime", UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    private func appendDecimal(_ value: Int64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { Self.formatDecimal(value, into: $0) }
        withUnsafeBytes(of: &digits) { pax.append(contentsOf: $0[0..<count]) }
    }

    private static func decimalDigits(_ value: Int) -> Int {
        var n = 1
        var v = value
        while v >= 10 { v /= 10; n += 1 }
        return n
    }

    /// Writes `value` in decimal at the start of `buf` (at least 21 bytes) and returns the length.
    private static func formatDecimal(_ value: Int64, into buf: UnsafeMutableRawBufferPointer) -> Int {
        var magnitude = value.magnitude
        var n = 0
        if value < 0 { buf[0] = 0x2d; n = 1 }
        let start = n
        repeat {
            buf[n] = UInt8(0x30 + magnitude % 10)
            magnitude /= 10
            n += 1
        } while magnitude > 0
        var i = start, j = n - 1
        while i < j { buf.swapAt(i, j); i += 1; j -= 1 }
        return n
    }
}
