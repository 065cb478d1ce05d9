/// One cleaned `.dockerignore` pattern and how it is matched against a context-relative path.
///
/// The rules follow moby/patternmatcher as used by BuildKit (see testdata/conformance/dockerignore/FORMAT.md
/// section 3.2): a pattern without wildcards is an exact comparison, `lit**` a prefix test, `**lit` a suffix
/// test, and anything else is translated into a regular expression that must match the whole path.
public struct IgnorePattern: Sendable, Hashable {
    /// How the pattern is compared with a path.
    public enum Kind: String, Sendable, Hashable {
        /// The path equals the pattern.
        case exact
        /// The pattern is `literal**`: the path starts with `literal`.
        case prefix
        /// The pattern starts with `**` and has no other wildcard: the path ends with the rest.
        case suffix
        /// Anything else: the translated regular expression (see `regexSource`) matches the path.
        case regexp
    }

    /// The cleaned pattern text, without a leading `!`.
    public let text: String
    /// The pattern started with `!`: a match re-includes what earlier patterns excluded.
    public let isException: Bool
    /// Position of the pattern in the list given to `PatternMatcher` (after dropping empty ones).
    public let index: Int
    public let kind: Kind
    /// For `.regexp` patterns: the anchored Go-syntax regular expression the pattern is translated to.
    public let regexSource: String?

    let bytes: [UInt8]
    /// Compiled expression, or why it failed to compile (then every match attempt fails).
    let compiled: Compiled

    enum Compiled: Sendable {
        case none
        case regex(MiniRegex)
        case invalid(MiniRegexError)
    }

    /// - Parameters:
    ///   - text: the pattern after cleaning and without `!`; it must already have passed the syntax check.
    init(text: String, isException: Bool, index: Int) {
        self.text = text
        self.isException = isException
        self.index = index
        self.bytes = Array(text.utf8)
        let (kind, source) = Self.translate(text)
        self.kind = kind
        if kind == .regexp {
            self.regexSource = source
            do {
                compiled = .regex(try MiniRegex(source))
            } catch {
                compiled = .invalid(error)
            }
        } else {
            self.regexSource = nil
            compiled = .none
        }
    }

    public static func == (a: IgnorePattern, b: IgnorePattern) -> Bool {
        a.text == b.text && a.isException == b.isException && a.index == b.index
    }
    public func hash(into h: inout Hasher) {
        h.combine(text)
        h.combine(isException)
        h.combine(index)
    }

    /// The pattern text as written in a list (`!` put back for exceptions).
    public var patternString: String { isException ? "!" + text : text }

    /// Whether this single pattern matches `path` exactly as written (no parent-directory rule).
    /// - Throws: `PatternError.syntax` when the pattern's regular expression is malformed.
    public func matches(_ path: String) throws(PatternError) -> Bool {
        try matches(bytes: Array(path.utf8))
    }

    /// `matches` on the UTF-8 bytes of a path.
    public func matches(bytes path: [UInt8]) throws(PatternError) -> Bool {
        switch kind {
        case .exact:
            return path == bytes
        case .prefix:
            let lit = bytes.dropLast(2)
            return path.count >= lit.count && path.starts(with: lit)
        case .suffix:
            let suffix = bytes.dropFirst(2)
            if suffix.first == UInt8(ascii: "/") && path.elementsEqual(suffix.dropFirst()) { return true }
            return path.count >= suffix.count && path.suffix(suffix.count).elementsEqual(suffix)
        case .regexp:
            switch compiled {
            case .regex(let re):
                return re.matches(path)
            case .invalid(let err):
                throw PatternError.syntax(pattern: patternString, index: index, reason: err.description)
            case .none:
                return false
            }
        }
    }

    /// Whether the pattern matches `file` or one of `parents` (its ancestor directories, top down), as
    /// patternmatcher's parent rule does. Errors come only from matching `file` itself; on the ancestors a
    /// failure counts as no match. A regular expression is run once over `file` when the ancestors are
    /// prefixes of it, instead of once per ancestor.
    func matchesPathOrAncestor(_ file: [UInt8], parents: [[UInt8]]) throws(PatternError) -> Bool {
        if case .regexp = kind, case .regex(let re) = compiled, !parents.isEmpty {
            let (runes, offsets) = GoText.runesWithOffsets(file)
            var boundaries: [Int] = []
            var runeIndex = 0
            var usable = true
            for p in parents {
                let len = p.count
                guard len < file.count, file[len] == UInt8(ascii: "/"), file.starts(with: p) else {
                    usable = false
                    break
                }
                while runeIndex < offsets.count && offsets[runeIndex] < len { runeIndex += 1 }
                guard runeIndex < offsets.count, offsets[runeIndex] == len else { usable = false; break }
                boundaries.append(runeIndex)
            }
            if usable { return re.matchesTextOrPrefix(runes: runes, boundaries: boundaries) }
        }
        if try matches(bytes: file) { return true }
        for p in parents where (try? matches(bytes: p)) == true { return true }
        return false
    }

    /// Translates a cleaned pattern the way patternmatcher does: classifies it and builds the regular
    /// expression text (`^…$`, `*` → `[^/]*`, `?` → `[^/]`, `**/` → `(.*/)?`, trailing `**` → `.*`,
    /// `. + ( ) | { } $` escaped, `\c` kept as the regex escape `\c`, `[` `]` `^` and all else copied).
    static func translate(_ pattern: String) -> (Kind, String) {
        var runes = Array(pattern.unicodeScalars)
        // Go's text/scanner, which reads the pattern, skips a byte order mark at the very start.
        if runes.first == "\u{FEFF}" { runes.removeFirst() }
        var re = "^"
        var kind = Kind.exact
        var k = 0
        var iteration = 0
        while k < runes.count {
            let ch = runes[k]
            k += 1
            defer { iteration += 1 }
            switch ch {
            case "*":
                if k < runes.count && runes[k] == "*" {
                    k += 1
                    if k < runes.count && runes[k] == "/" { k += 1 }  // "**/" is the same as "**"
                    if k == runes.count {
                        if kind == .exact {
                            kind = .prefix
                        } else {
                            re += ".*"
                            kind = .regexp
                        }
                    } else {
                        re += "(.*/)?"
                        kind = .regexp
                    }
                    if iteration == 0 { kind = .suffix }
                } else {
                    re += "[^/]*"
                    kind = .regexp
                }
            case "?":
                re += "[^/]"
                kind = .regexp
            case ".", "+", "(", ")", "|", "{", "}", "$":
                re += "\\"
                re.unicodeScalars.append(ch)
            case "\\":
                if k < runes.count {
                    re += "\\"
                    re.unicodeScalars.append(runes[k])
                    k += 1
                    kind = .regexp
                } else {
                    re += "\\"
                }
            case "[", "]":
                re.unicodeScalars.append(ch)
                kind = .regexp
            default:
                re.unicodeScalars.append(ch)
            }
        }
        if kind != .regexp { re = "" }
        re += "$"
        return (kind, re)
    }
}
