/// Byte-level text helpers that reproduce the Go standard library functions BuildKit's pattern code relies on
/// (`utf8.DecodeRune`, `strings.TrimSpace`, `path/filepath.Clean`, `filepath.Dir`). They work on UTF-8 bytes,
/// because Go strings are bytes and Swift `String` comparison would apply Unicode canonical equivalence.
enum GoText {
    /// The rune Go substitutes for an invalid UTF-8 sequence.
    static let runeError: UInt32 = 0xFFFD

    /// Decodes the rune starting at `i` the way Go's `utf8.DecodeRune` does: an invalid or truncated sequence,
    /// an overlong form, a surrogate or a value above U+10FFFF yields (U+FFFD, 1). `i` must be a valid index.
    @inline(__always)
    static func decodeRune(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> (rune: UInt32, width: Int) {
        let n = s.count
        let b0 = s[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> UInt8? {
            guard k < n else { return nil }
            let b = s[k]
            return (b >= lo && b <= hi) ? b : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let b1 = cont(i + 1) else { return (runeError, 1) }
            return (UInt32(b0 & 0x1F) << 6 | UInt32(b1 & 0x3F), 2)
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard let b1 = cont(i + 1, lo, hi), let b2 = cont(i + 2) else { return (runeError, 1) }
            return (UInt32(b0 & 0x0F) << 12 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F), 3)
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard let b1 = cont(i + 1, lo, hi), let b2 = cont(i + 2), let b3 = cont(i + 3) else {
                return (runeError, 1)
            }
            return (UInt32(b0 & 0x07) << 18 | UInt32(b1 & 0x3F) << 12 | UInt32(b2 & 0x3F) << 6 | UInt32(b3 & 0x3F), 4)
        default:
            return (runeError, 1)
        }
    }

    /// All runes of `bytes`, decoded like Go's `for _, r := range s`.
    static func runes(_ bytes: [UInt8]) -> [UInt32] {
        bytes.withUnsafeBufferPointer { buf in
            var out: [UInt32] = []
            out.reserveCapacity(buf.count)
            var i = 0
            while i < buf.count {
                let (r, w) = decodeRune(buf, at: i)
                out.append(r)
                i += w
            }
            return out
        }
    }

    /// The runes of `bytes` and the byte offset where each starts.
    static func runesWithOffsets(_ bytes: [UInt8]) -> ([UInt32], [Int]) {
        bytes.withUnsafeBufferPointer { buf in
            var runes: [UInt32] = []
            var offsets: [Int] = []
            runes.reserveCapacity(buf.count)
            offsets.reserveCapacity(buf.count)
            var i = 0
            while i < buf.count {
                let (r, w) = decodeRune(buf, at: i)
                runes.append(r)
                offsets.append(i)
                i += w
            }
            return (runes, offsets)
        }
    }

    /// Go's `unicode.IsSpace` (the Unicode White_Space property).
    static func isSpace(_ r: UInt32) -> Bool {
        switch r {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Go's `strings.TrimSpace` on a string (Swift strings are always valid UTF-8).
    static func trimSpace(_ s: Substring) -> Substring {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0.value) }) else { return s[s.endIndex...] }
        guard let last = scalars.lastIndex(where: { !isSpace($0.value) }) else { return s[s.endIndex...] }
        return Substring(scalars[first...last])
    }

    /// Go's `path.Clean` (and `filepath.Clean` on Unix) on UTF-8 bytes: collapses repeated `/`, removes `.`
    /// elements, resolves `..` against preceding elements, drops a trailing `/`; `..` at the start of a
    /// relative path is kept and `/..` becomes `/`. The empty path becomes `.`.
    static func clean(_ path: [UInt8]) -> [UInt8] {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let n = path.count
        if n == 0 { return [dot] }
        let rooted = path[0] == slash
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var r = 0
        var dotdot = 0  // out[..<dotdot] can't be backtracked over
        if rooted {
            out.append(slash)
            r = 1
            dotdot = 1
        }
        while r < n {
            if path[r] == slash {
                r += 1
            } else if path[r] == dot && (r + 1 == n || path[r + 1] == slash) {
                r += 1
            } else if path[r] == dot && r + 1 < n && path[r + 1] == dot && (r + 2 == n || path[r + 2] == slash) {
                r += 2
                if out.count > dotdot {
                    // Backtrack to the previous slash (or to the start).
                    var w = out.count - 1
                    while w > dotdot && out[w] != slash { w -= 1 }
                    out.removeSubrange(w...)
                } else if !rooted {
                    if !out.isEmpty { out.append(slash) }
                    out.append(dot)
                    out.append(dot)
                    dotdot = out.count
                }
            } else {
                if (rooted && out.count != 1) || (!rooted && !out.isEmpty) { out.append(slash) }
                while r < n && path[r] != slash {
                    out.append(path[r])
                    r += 1
                }
            }
        }
        if out.isEmpty { return [dot] }
        return out
    }

    static func clean(_ path: String) -> String {
        String(decoding: clean(Array(path.utf8)), as: UTF8.self)
    }

    /// Go's `filepath.Dir` on Unix: everything before the last `/`, cleaned.
    static func dir(_ path: [UInt8]) -> [UInt8] {
        var i = path.count - 1
        while i >= 0 && path[i] != UInt8(ascii: "/") { i -= 1 }
        return clean(Array(path[..<(i + 1)]))
    }
}
