/// Go's `path/filepath.Match` on Unix, which BuildKit's pattern matcher uses to reject malformed patterns.
///
/// Pattern syntax: `*` (any run of non-`/` characters), `?` (one non-`/` character), `[` `[^]` class of
/// characters or ranges `lo-hi` `]`, and `\c` (the character `c`). The whole pattern is checked for syntax
/// errors even after the name stopped matching, so `match(pattern:name:)` with any name is a validity check.
public enum FilepathMatch {
    /// Whether `name` matches the shell pattern `pattern` as a whole.
    /// - Throws: `FilepathMatchError.badPattern` for a malformed pattern (Go's `filepath.ErrBadPattern`).
    public static func match(pattern: String, name: String) throws(FilepathMatchError) -> Bool {
        let p = Array(pattern.utf8), s = Array(name.utf8)
        return try p.withUnsafeBufferPointer { pb throws(FilepathMatchError) -> Bool in
            try s.withUnsafeBufferPointer { sb throws(FilepathMatchError) -> Bool in
                try match(pattern: pb, name: sb)
            }
        }
    }

    private static let slash = UInt8(ascii: "/")
    private static let star = UInt8(ascii: "*")
    private static let backslash = UInt8(ascii: "\\")

    static func match(pattern: UnsafeBufferPointer<UInt8>, name: UnsafeBufferPointer<UInt8>) throws(FilepathMatchError) -> Bool {
        var pat = 0          // start of the unread pattern
        var nm = 0           // start of the unread name
        let pEnd = pattern.count, nEnd = name.count
        patternLoop: while pat < pEnd {
            let (isStar, chunkStart, chunkEnd) = scanChunk(pattern, from: pat)
            pat = chunkEnd
            if isStar && chunkStart == chunkEnd {
                // A trailing star matches the rest of the name unless it holds a '/'.
                var k = nm
                while k < nEnd { if name[k] == slash { return false }; k += 1 }
                return true
            }
            let first = try matchChunk(pattern, chunkStart, chunkEnd, name, nm)
            if let rest = first, rest == nEnd || pat < pEnd {
                nm = rest
                continue
            }
            if isStar {
                var i = nm
                while i < nEnd && name[i] != slash {
                    if let rest = try matchChunk(pattern, chunkStart, chunkEnd, name, i + 1) {
                        if pat == pEnd && rest < nEnd { i += 1; continue }
                        nm = rest
                        continue patternLoop
                    }
                    i += 1
                }
            }
            // No match: still report a syntax error anywhere in the rest of the pattern.
            while pat < pEnd {
                let (_, cs, ce) = scanChunk(pattern, from: pat)
                pat = ce
                _ = try matchChunk(pattern, cs, ce, name, nEnd)
            }
            return false
        }
        return nm == nEnd
    }

    /// Splits off leading stars and the chunk up to the next star outside a class.
    private static func scanChunk(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> (Bool, Int, Int) {
        var i = start
        var isStar = false
        while i < p.count && p[i] == star { i += 1; isStar = true }
        let chunkStart = i
        var inRange = false
        while i < p.count {
            switch p[i] {
            case backslash:
                if i + 1 < p.count { i += 1 }
            case UInt8(ascii: "["):
                inRange = true
            case UInt8(ascii: "]"):
                inRange = false
            case star:
                if !inRange { return (isStar, chunkStart, i) }
            default:
                break
            }
            i += 1
        }
        return (isStar, chunkStart, i)
    }

    /// Matches one chunk at the start of `name[from...]`; returns where the name continues, or nil.
    /// After a mismatch the chunk is still read to the end, to report syntax errors.
    private static func matchChunk(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
                                   _ s: UnsafeBufferPointer<UInt8>, _ from: Int) throws(FilepathMatchError) -> Int? {
        var c = start
        var si = from
        var failed = false
        while c < end {
            if !failed && si >= s.count { failed = true }
            switch p[c] {
            case UInt8(ascii: "["):
                var r: UInt32 = 0
                if !failed {
                    let (rr, w) = GoText.decodeRune(s, at: si)
                    r = rr
                    si += w
                }
                c += 1
                var negated = false
                if c < end && p[c] == UInt8(ascii: "^") { negated = true; c += 1 }
                var matched = false
                var nrange = 0
                while true {
                    if c < end && p[c] == UInt8(ascii: "]") && nrange > 0 { c += 1; break }
                    let lo = try getEsc(p, &c, end)
                    var hi = lo
                    if p[c] == UInt8(ascii: "-") {
                        c += 1
                        hi = try getEsc(p, &c, end)
                    }
                    if lo <= r && r <= hi { matched = true }
                    nrange += 1
                }
                if matched == negated { failed = true }
            case UInt8(ascii: "?"):
                if !failed {
                    if s[si] == slash { failed = true }
                    si += GoText.decodeRune(s, at: si).width
                }
                c += 1
            case backslash:
                c += 1
                if c >= end { throw .badPattern }
                if !failed {
                    if p[c] != s[si] { failed = true }
                    si += 1
                }
                c += 1
            default:
                if !failed {
                    if p[c] != s[si] { failed = true }
                    si += 1
                }
                c += 1
            }
        }
        return failed ? nil : si
    }

    /// One possibly escaped character of a class; it must be followed by more pattern text.
    private static func getEsc(_ p: UnsafeBufferPointer<UInt8>, _ c: inout Int, _ end: Int) throws(FilepathMatchError) -> UInt32 {
        if c >= end || p[c] == UInt8(ascii: "-") || p[c] == UInt8(ascii: "]") { throw .badPattern }
        if p[c] == backslash {
            c += 1
            if c >= end { throw .badPattern }
        }
        // Decode within the chunk only.
        let chunk = UnsafeBufferPointer(rebasing: p[c..<end])
        let (r, w) = GoText.decodeRune(chunk, at: 0)
        if r == GoText.runeError && w == 1 { throw .badPattern }
        c += w
        if c >= end { throw .badPattern }
        return r
    }
}

/// The error of `FilepathMatch.match`: the pattern is malformed (Go's `filepath.ErrBadPattern`).
public enum FilepathMatchError: Error, Equatable, Sendable, CustomStringConvertible {
    case badPattern
    public var description: String { "syntax error in pattern" }
}
