/// Byte-level text helpers that reproduce the Go standard library functions BuildKit's pattern code relies on
/// (`utf8.DecodeRune`, `strings.TrimSpace`, `path/filepath.Clean`, `filepath.Dir`). They work on UTF-8 bytes,
/// because Go strings are bytes and Swift `String` comparison would apply Unicode canonical equivalence.
extension GoText {
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
