/// Byte- and rune-level text helpers that reproduce Go's semantics, which BuildKit's parser is written against.
/// Dockerfiles are parsed as bytes: invalid UTF-8 must survive untouched until the dump prints it as `\xHH`.
enum GoText {
    /// The rune Go substitutes for an invalid UTF-8 sequence.
    static let runeError: UInt32 = 0xFFFD

    /// Decodes the rune starting at `i` the way Go's `utf8.DecodeRune` does: an invalid or truncated sequence,
    /// an overlong form, a surrogate or a value above U+10FFFF yields (U+FFFD, 1), so every bad byte is reported
    /// on its own. `i` must be a valid index.
    @inlinable @inline(__always)
    static func decodeRune<C: RandomAccessCollection>(_ s: C, at i: Int) -> (rune: UInt32, width: Int)
        where C.Element == UInt8, C.Index == Int
    {
        let end = s.endIndex
        let b0 = s[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> UInt8? {
            guard k < end else { return nil }
            let b = s[k]
            return (b >= lo && b <= hi) ? b : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let b1 = cont(i + 1) else { return (0xFFFD, 1) }
            return (UInt32(b0 & 0x1F) << 6 | UInt32(b1 & 0x3F), 2)
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let b1 = cont(i + 1, lo, hi), let b2 = cont(i + 2) else { return (0xFFFD, 1) }
            return (UInt32(b0 & 0x0F) << 12 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F), 3)
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let b1 = cont(i + 1, lo, hi), let b2 = cont(i + 2), let b3 = cont(i + 3) else { return (0xFFFD, 1) }
            return (UInt32(b0 & 0x07) << 18 | UInt32(b1 & 0x3F) << 12 | UInt32(b2 & 0x3F) << 6 | UInt32(b3 & 0x3F), 4)
        default:
            return (0xFFFD, 1)
        }
    }

    /// `decodeRune` with invalid bytes as nil (a real U+FFFD in the text stays a scalar).
    @inline(__always)
    static func decodeRune(_ bytes: ArraySlice<UInt8>, at i: Int) -> (scalar: Unicode.Scalar?, width: Int) {
        let (rune, width) = decodeRune(bytes, at: i) as (rune: UInt32, width: Int)
        if rune == runeError && width == 1 { return (nil, 1) }
        return (Unicode.Scalar(rune), width)
    }

    /// Go's `unicode.IsSpace`.
    @inline(__always)
    static func isSpace(_ s: Unicode.Scalar) -> Bool { isSpace(s.value) }

    /// Go's `unicode.IsSpace` on a rune value.
    @inline(__always)
    static func isSpace(_ r: UInt32) -> Bool {
        switch r {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `unicode.IsSpace(rune(b))` for one byte taken as a code point (BuildKit's byte-wise scanners).
    @inline(__always)
    static func isSpaceByte(_ b: UInt8) -> Bool {
        (b >= 0x09 && b <= 0x0D) || b == 0x20 || b == 0x85 || b == 0xA0
    }

    /// The regexp class `[\t\v\f\r ]`.
    @inline(__always)
    static func isASCIISpace(_ b: UInt8) -> Bool {
        b == 0x09 || b == 0x0B || b == 0x0C || b == 0x0D || b == 0x20
    }

    /// Index of the first byte after leading Unicode whitespace.
    static func leadingSpaceEnd(_ bytes: ArraySlice<UInt8>) -> Int {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let (s, w) = decodeRune(bytes, at: i)
            guard let s, isSpace(s) else { break }
            i += w
        }
        return i
    }

    /// Go's `strings.TrimLeftFunc(s, unicode.IsSpace)`.
    static func trimLeadingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        bytes[leadingSpaceEnd(bytes)...]
    }

    /// Go's `strings.TrimRightFunc(s, unicode.IsSpace)`: walks back over whole runes only.
    static func trimTrailingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = bytes.endIndex
        while end > bytes.startIndex {
            let b = bytes[end - 1]
            if b < 0x80 {
                if isSpaceByte(b) { end -= 1; continue }
                break
            }
            // Find the start of the last rune (at most 4 bytes back).
            var start = end - 1
            while start > bytes.startIndex, end - start < 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
            let (s, w) = decodeRune(bytes, at: start)
            if let s, start + w == end, isSpace(s) { end = start; continue }
            break
        }
        return bytes[bytes.startIndex..<end]
    }

    /// Go's `strings.TrimSpace`.
    static func trimSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        trimTrailingSpace(trimLeadingSpace(bytes))
    }

    /// Go's `strings.ToLower`: ASCII fast path; otherwise rune by rune with the simple case mapping,
    /// and every invalid byte becomes U+FFFD.
    static func lowercased(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        }
        var out = String.UnicodeScalarView()
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let (s, w) = decodeRune(bytes, at: i)
            i += w
            guard let s else { out.append("\u{FFFD}"); continue }
            out.append(simpleLowercase(s))
        }
        return String(out)
    }

    /// Unicode's simple (one-to-one) lowercase mapping, as Go's `unicode.ToLower`.
    static func simpleLowercase(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.value < 0x80 {
            return s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(UInt8(s.value + 0x20)) : s
        }
        if s.value == 0x130 { return "i" }  // the only unconditional one-to-many full mapping
        let full = s.properties.lowercaseMapping.unicodeScalars
        if full.count == 1, let first = full.first { return first }
        return s
    }

    /// Appends `scalar` as UTF-8.
    @inline(__always)
    static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        let v = scalar.value
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Decodes bytes to a String the way Go's `string(rune)` loop does: each invalid byte becomes U+FFFD.
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        var out = String.UnicodeScalarView()
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let (s, w) = decodeRune(bytes, at: i)
            out.append(s ?? "\u{FFFD}")
            i += w
        }
        return String(out)
    }

    /// `strconv.Quote` over raw bytes: printable runes as they are, invalid bytes as `\xHH`.
    static func quote(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(0x22)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let (scalar, w) = decodeRune(bytes, at: i)
            defer { i += w }
            guard let s = scalar else {
                out.append(contentsOf: [0x5C, 0x78, hex[Int(bytes[i] >> 4)], hex[Int(bytes[i] & 0xF)]])
                continue
            }
            switch s {
            case "\"": out.append(contentsOf: [0x5C, 0x22]); continue
            case "\\": out.append(contentsOf: [0x5C, 0x5C]); continue
            default: break
            }
            if isPrintable(s) {
                out.append(contentsOf: bytes[i..<(i + w)])
                continue
            }
            switch s.value {
            case 0x07: out.append(contentsOf: [0x5C, 0x61])
            case 0x08: out.append(contentsOf: [0x5C, 0x62])
            case 0x0C: out.append(contentsOf: [0x5C, 0x66])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0x0B: out.append(contentsOf: [0x5C, 0x76])
            case let v where v < 0x20 || v == 0x7F:
                out.append(contentsOf: [0x5C, 0x78, hex[Int(v >> 4)], hex[Int(v & 0xF)]])
            case let v where v < 0x10000:
                out.append(contentsOf: [0x5C, 0x75])
                for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
            case let v:
                out.append(contentsOf: [0x5C, 0x55])
                for shift in stride(from: 28, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
            }
        }
        out.append(0x22)
    }

    /// Go's `strconv.IsPrint`.
    static func isPrintable(_ s: Unicode.Scalar) -> Bool { s.isGoPrintable }
}
