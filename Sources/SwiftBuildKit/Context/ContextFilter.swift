import SwiftBuildDockerfile

/// The include/exclude rules BuildKit's context transfer (fsutil's filter) applies while walking a build
/// context (testdata/conformance/dockerignore/FORMAT.md section 4.2). Pure logic: the walk feeds it one path
/// at a time, parents before children.
public struct ContextFilter: Sendable {
    /// Kept entries must match these (none given: everything is a candidate).
    public let include: PatternMatcher?
    /// Entries matching these are left out (the `.dockerignore` patterns).
    public let exclude: PatternMatcher?
    /// Every include pattern is literal (after dropping a trailing `/*` or `/**`).
    let onlyPrefixIncludes: Bool
    /// Every exclude exception is literal (after dropping a trailing `/*` or `/**`).
    let onlyPrefixExcludeExceptions: Bool

    /// - Throws: `PatternError` when either list is rejected (e.g. a lone `!`).
    public init(includePatterns: [String] = [], excludePatterns: [String] = []) throws(PatternError) {
        include = includePatterns.isEmpty ? nil : try PatternMatcher(patterns: includePatterns)
        exclude = excludePatterns.isEmpty ? nil : try PatternMatcher(patterns: excludePatterns)
        onlyPrefixIncludes = (include?.patterns ?? []).allSatisfy { $0.isException || Self.isLiteral($0) }
        onlyPrefixExcludeExceptions = (exclude?.patterns ?? []).allSatisfy { !$0.isException || Self.isLiteral($0) }
    }

    /// The pattern without a trailing `/**` or `/*`, as bytes.
    static func withoutTrailingGlob(_ p: IgnorePattern) -> [UInt8] {
        var b = Array(p.text.utf8)
        if b.count >= 3 && b.suffix(3).elementsEqual("/**".utf8) {
            b.removeLast(3)
        }
        if b.count >= 2 && b.suffix(2).elementsEqual("/*".utf8) {
            b.removeLast(2)
        }
        return b
    }

    static func isLiteral(_ p: IgnorePattern) -> Bool {
        !withoutTrailingGlob(p).contains { c in
            c == UInt8(ascii: "*") || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]")
                || c == UInt8(ascii: "^") || c == UInt8(ascii: "\\")
        }
    }

    /// Whether some pattern of `patterns` (of the given exception-ness) names a path below `dir`.
    static func namesPathBelow(_ dir: [UInt8], in patterns: [IgnorePattern], exceptions: Bool) -> Bool {
        var dirSlash = dir
        dirSlash.append(UInt8(ascii: "/"))
        for p in patterns where p.isException == exceptions {
            var s = withoutTrailingGlob(p)
            s.append(UInt8(ascii: "/"))
            if s.starts(with: dirSlash) { return true }
        }
        return false
    }

    /// Per-directory state handed from a directory to its children.
    public struct ParentState: Sendable {
        var include: PatternMatcher.MatchInfo
        var exclude: PatternMatcher.MatchInfo
        /// Information for top-level entries.
        public static let root = ParentState(include: .empty, exclude: .empty)
    }

    /// What to do with one walked entry.
    public enum Verdict: Sendable {
        /// Send the entry (after any not-yet-sent ancestors). For a directory, walk its contents with `state`.
        case keep(state: ParentState)
        /// Do not send the entry now; for a directory, walk its contents with `state` and send the directory
        /// only before its first kept descendant.
        case hold(state: ParentState)
        /// Do not send the entry; for a directory, do not look inside.
        case skip
    }

    /// Decides about `path` (relative, `/`-separated bytes) given its parent directory's state.
    /// - Throws: `PatternError` when a consulted pattern cannot be matched.
    /// No patterns at all: every path is kept (`evaluate` always says `.keep(.root)`).
    public var isEmpty: Bool { include == nil && exclude == nil }

    public func evaluate(path: [UInt8], isDirectory: Bool, parent: ParentState) throws(PatternError) -> Verdict {
        var held = false
        var state = ParentState.root
        if let include {
            let (m, info) = try include.matchesUsingParentResults(bytes: path, parent: parent.include)
            state.include = info
            if !m {
                if isDirectory && onlyPrefixIncludes && !Self.namesPathBelow(path, in: include.patterns, exceptions: false) {
                    return .skip
                }
                held = true
            }
        }
        if let exclude {
            let (m, info) = try exclude.matchesUsingParentResults(bytes: path, parent: parent.exclude)
            state.exclude = info
            if m {
                if isDirectory && onlyPrefixExcludeExceptions {
                    if !exclude.hasExceptions { return .skip }
                    if !Self.namesPathBelow(path, in: exclude.patterns, exceptions: true) { return .skip }
                }
                held = true
            }
        }
        if held && !isDirectory { return .skip }
        return held ? .hold(state: state) : .keep(state: state)
    }

    /// Whether opening `path` directly through the filter finds it (fsutil's `Open`): the include list must
    /// match it or an ancestor, and the exclude list must not (`matchesOrParentMatches` rule, not the walk rule).
    public func admits(path: String) throws(PatternError) -> Bool {
        if let include, try !include.matchesOrParentMatches(path) { return false }
        if let exclude, try exclude.matchesOrParentMatches(path) { return false }
        return true
    }
}
