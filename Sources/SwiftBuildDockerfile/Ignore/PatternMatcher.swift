/// An ordered list of `.dockerignore` patterns, matched the way BuildKit's `moby/patternmatcher` does.
///
/// Patterns apply in order: a normal pattern that matches marks the path excluded, a later `!` exception that
/// matches re-includes it, and so on (testdata/conformance/dockerignore/FORMAT.md section 3).
public struct PatternMatcher: Sendable {
    /// The kept patterns (empty ones dropped), in order.
    public let patterns: [IgnorePattern]
    /// Whether any pattern is a `!` exception.
    public let hasExceptions: Bool

    /// Builds a matcher. Each pattern is trimmed of surrounding whitespace (empty ones are dropped), cleaned as a
    /// path, split into `!` + rest, and checked with Go's `filepath.Match` syntax rules.
    /// - Throws: `PatternError.illegalExclusion` for a lone `!`, `PatternError.syntax` for a malformed pattern.
    public init(patterns: [String]) throws(PatternError) {
        var kept: [IgnorePattern] = []
        var exceptions = false
        for (position, raw) in patterns.enumerated() {
            let trimmed = GoText.trimSpace(Substring(raw))
            if trimmed.isEmpty { continue }
            var text = GoText.clean(String(trimmed))
            var isException = false
            if text.hasPrefix("!") {
                if text.utf8.count == 1 { throw .illegalExclusion(index: position) }
                isException = true
                exceptions = true
                text = String(text.dropFirst())
            }
            do {
                _ = try FilepathMatch.match(pattern: text, name: ".")
            } catch {
                throw .syntax(pattern: isException ? "!" + text : text, index: position,
                              reason: "malformed character class or escape")
            }
            kept.append(IgnorePattern(text: text, isException: isException, index: kept.count))
        }
        self.patterns = kept
        self.hasExceptions = exceptions
    }

    /// Whether `path` (relative, `/`-separated) is excluded: each consulted pattern is tried on the path and on
    /// each of its ancestor directories (patternmatcher's `MatchesOrParentMatches`). An exception is consulted
    /// only while the path is excluded, a normal pattern only while it is not.
    /// - Throws: `PatternError.syntax` when a consulted pattern cannot be matched.
    public func matchesOrParentMatches(_ path: String) throws(PatternError) -> Bool {
        try matchesOrParentMatches(bytes: Array(path.utf8))
    }

    /// `matchesOrParentMatches` on the UTF-8 bytes of a path.
    public func matchesOrParentMatches(bytes file: [UInt8]) throws(PatternError) -> Bool {
        var matched = false
        let parents = Self.parentPrefixes(file)
        for pattern in patterns where pattern.isException == matched {
            if try pattern.matchesPathOrAncestor(file, parents: parents) { matched = !pattern.isException }
        }
        return matched
    }

    /// The ancestor directories of `file` from the top down: `filepath.Dir(file)` split at `/` and re-joined
    /// one element at a time (none when the directory is `.`).
    static func parentPrefixes(_ file: [UInt8]) -> [[UInt8]] {
        let dir = GoText.dir(file)
        if dir == [UInt8(ascii: ".")] { return [] }
        var out: [[UInt8]] = []
        var k = 0
        while k <= dir.count {
            if k == dir.count || dir[k] == UInt8(ascii: "/") { out.append(Array(dir[..<k])) }
            k += 1
        }
        return out
    }

    /// Per-pattern results for a directory, handed to its children during a walk.
    public struct MatchInfo: Sendable, Equatable {
        var parentMatched: [Bool]
        /// No information (a top-level path, or a caller that did not walk the parents).
        public static let empty = MatchInfo(parentMatched: [])
    }

    /// The walk rule (patternmatcher's `MatchesUsingParentResults`, FORMAT.md 4.2): a pattern that matched the
    /// parent directory matches this path too; a pattern not consulted at the parent is compared with the full
    /// path only. With `.empty` parent information, ancestors are tried as in `matchesOrParentMatches`.
    /// - Returns: whether the path is excluded, and the information to pass to its children.
    public func matchesUsingParentResults(_ path: String, parent: MatchInfo) throws(PatternError) -> (Bool, MatchInfo) {
        try matchesUsingParentResults(bytes: Array(path.utf8), parent: parent)
    }

    /// `matchesUsingParentResults` on the UTF-8 bytes of a path.
    public func matchesUsingParentResults(bytes file: [UInt8], parent: MatchInfo) throws(PatternError) -> (Bool, MatchInfo) {
        let parentMatched = parent.parentMatched
        let haveParent = !parentMatched.isEmpty && parentMatched.count == patterns.count
        var info = [Bool](repeating: false, count: patterns.count)
        var matched = false
        var parents: [[UInt8]]? = nil
        for (i, pattern) in patterns.enumerated() {
            var match = haveParent ? parentMatched[i] : false
            if !match {
                if pattern.isException != matched { continue }
                if haveParent {
                    match = try pattern.matches(bytes: file)
                } else {
                    if parents == nil { parents = Self.parentPrefixes(file) }
                    match = try pattern.matchesPathOrAncestor(file, parents: parents ?? [])
                }
            }
            info[i] = match
            if match { matched = !pattern.isException }
        }
        return (matched, MatchInfo(parentMatched: info))
    }

    /// The deprecated patternmatcher `Matches`: like `matchesOrParentMatches`, but only the ancestor whose depth
    /// equals the pattern's number of path elements is tried.
    public func legacyMatches(_ path: String) throws(PatternError) -> Bool {
        let file = Array(path.utf8)
        let dir = GoText.dir(file)
        let dirParts = dir.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var matched = false
        for pattern in patterns where pattern.isException == matched {
            var match = try pattern.matches(bytes: file)
            if !match && dir != [UInt8(ascii: ".")] {
                let depth = pattern.bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).count
                if depth <= dirParts.count {
                    let joined = Array(dirParts[..<depth].joined(separator: [UInt8(ascii: "/")]))
                    match = (try? pattern.matches(bytes: joined)) == true
                }
            }
            if match { matched = !pattern.isException }
        }
        return matched
    }
}
