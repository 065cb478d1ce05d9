import Foundation
import Testing
import TestSupport
@testable import SwiftBuildDockerfile

@Suite("PatternMatcher") struct PatternMatcherTests {
    private func excluded(_ patterns: [String], _ path: String) throws -> Bool {
        try PatternMatcher(patterns: patterns).matchesOrParentMatches(path)
    }

    @Test("classification of patterns", arguments: [
        ("foo/bar", IgnorePattern.Kind.exact), ("foo/**", .prefix), ("**/foo", .suffix), ("**", .suffix),
        ("*.go", .regexp), ("a\\*b", .regexp), ("a[bc]", .regexp), ("a(b)c", .exact),
    ])
    func kinds(_ pattern: String, _ kind: IgnorePattern.Kind) throws {
        #expect(try PatternMatcher(patterns: [pattern]).patterns.first?.kind == kind)
    }

    @Test func wholePathIsMatched() throws {
        #expect(try excluded(["b"], "b"))
        #expect(try !excluded(["b"], "a/b"))              // no basename-anywhere rule
        #expect(try excluded(["a"], "a/b/c"))             // ancestors count
        #expect(try !excluded(["*.md"], "docs/x.md"))     // '*' stops at '/'
        #expect(try excluded(["**/*.md"], "docs/x.md"))
        #expect(try excluded(["**/foo"], "foo"))
        #expect(try !excluded(["**/foo"], "afoo"))
        #expect(try excluded(["**file"], "dir/myfile"))
        #expect(try !excluded(["abc/**"], "abc"))
        #expect(try excluded(["docs/"], "docs"))           // trailing '/' is cleaned away
    }

    @Test func exceptionsApplyInOrder() throws {
        #expect(try !excluded(["*.go", "!keep.go"], "keep.go"))
        #expect(try excluded(["!keep.go", "*.go"], "keep.go"))
        #expect(try excluded(["a", "!a/b", "a/b/c"], "a/b/c"))
        #expect(try !excluded(["a", "!a/b", "a/b/c"], "a/b/d"))
    }

    @Test func goRegexQuirksAreKept() throws {
        // '^' outside a class is a regex anchor when the pattern also has a wildcard.
        #expect(try !excluded(["a^b*"], "a^bc"))
        #expect(try excluded(["a^b"], "a^b"))
        #expect(try excluded(["^a*"], "abc"))
        // A negated class can match '/'.
        #expect(try excluded(["a[^x]b"], "a/b"))
        // "\b" is a word boundary, not a literal 'b'.
        #expect(try !excluded(["foo\\bar"], "foobar"))
        #expect(try !excluded(["foo\\bar"], "foo\\bar"))
        // '.' of "**" does not match a newline, '[^/]' of "*" does.
        #expect(try !excluded(["**/*.txt"], "a\nb/c.txt"))
        #expect(try excluded(["**/*.txt"], "a\nb.txt"))
        // Literal comparisons are byte-wise: no Unicode canonical equivalence.
        #expect(try !excluded(["caf\u{E9}"], "cafe\u{301}"))
        #expect(try excluded(["caf\u{E9}"], "caf\u{E9}"))
    }

    @Test func illegalPatternsAreRejected() {
        #expect(throws: PatternError.illegalExclusion(index: 0)) { try PatternMatcher(patterns: ["!"]) }
        for bad in ["[", "a[", "[^", "[]a]", "[-]", "[x-]", "[a-b-c]", "a\\"] {
            #expect(throws: PatternError.self, "\(bad)") { try PatternMatcher(patterns: [bad]) }
        }
    }

    @Test func patternsThatOnlyFailWhenMatching() throws {
        // Accepted by the filepath.Match check, rejected by the regular expression: every match fails.
        for bad in ["[Local-Only]/", "a\\pa*", "x\\\u{E9}"] {
            let pm = try PatternMatcher(patterns: [bad])
            #expect(throws: PatternError.self, "\(bad)") { try pm.matchesOrParentMatches("x") }
            #expect(throws: PatternError.self, "\(bad) again") { try pm.matchesOrParentMatches("x") }
        }
        // An exception is not consulted while nothing is excluded, so its error does not show.
        let pm = try PatternMatcher(patterns: ["!a\\pa*"])
        #expect(try !pm.matchesOrParentMatches("x"))
    }

    @Test func pathologicalPatternsFinishFast() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let deep = String(repeating: "**/", count: 300) + "x"
        let longPath = String(repeating: "ab/", count: 700) + "y"
        let pm = try PatternMatcher(patterns: [deep, String(repeating: "a*", count: 300) + "b"])
        #expect(try !pm.matchesOrParentMatches(longPath))
        #expect(try PatternMatcher(patterns: [deep]).matchesOrParentMatches(String(repeating: "ab/", count: 700) + "x"))
        let stars = try PatternMatcher(patterns: [String(repeating: "*", count: 5000) + "?[a-z]"])
        #expect(try !stars.matchesOrParentMatches(String(repeating: "a", count: 3000) + "/"))
        #expect(clock.now - start < .seconds(20))
    }

    private func trimmedEnds(_ text: String) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\n" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(text[first...last])
    }

    @Test func randomPatternsNeverCrash() throws {
        var rng = SplitMix(seed: 1)
        let atoms = ["a", "/", "*", "**", "?", "[", "]", "^", "-", "\\", "!", ".", "(", ")", "{", "$", "|", "é",
                     "\\b", "\\p", "\\Q", "\\x", "[:", ":]", " ", "\n", "[^", "\u{FEFF}", "\0"]
        var compiled = 0, matched = 0
        for _ in 0..<1500 {
            // Ends trimmed as the matcher trims them, so that "!" + pattern negates exactly the same pattern.
            let raw: String = (0..<rng.next(8)).map { _ in atoms[rng.next(atoms.count)] }.joined()
            let pattern = trimmedEnds(raw)
            let path = (0..<rng.next(8)).map { _ in atoms[rng.next(atoms.count)] }.joined()
            // A pattern followed by its own negation excludes nothing: whatever the first matches, the second
            // matches too and re-includes it (the last matching pattern decides).
            if let pm = try? PatternMatcher(patterns: [pattern, "!" + pattern]) {
                compiled += 1
                // (A pattern that fails to compile throws when used; that is allowed, a match is not.)
                #expect((try? pm.matchesOrParentMatches(path)) != true, "\(pattern) then !\(pattern) on \(path)")
                #expect((try? pm.matchesUsingParentResults(path, parent: .empty))?.0 != true,
                        "\(pattern) then !\(pattern) on \(path)")
                _ = try? pm.legacyMatches(path)
                if let alone = try? PatternMatcher(patterns: [pattern]), (try? alone.matchesOrParentMatches(path)) == true {
                    matched += 1
                }
            }
            _ = try? FilepathMatch.match(pattern: pattern, name: path)
            _ = IgnoreFile.readAll(Array((pattern + "\n" + path).utf8))
        }
        // The inputs reach the matcher: many patterns compile, and some of them match.
        #expect(compiled > 500)
        #expect(matched > 10)
    }

    @Test func walkRuleDiffersFromParentRule() throws {
        // FORMAT.md 4.2, context_walk/28: "foo/bar" then "!foo".
        let pm = try PatternMatcher(patterns: ["foo/bar", "!foo"])
        let (fooExcluded, fooInfo) = try pm.matchesUsingParentResults("foo", parent: .empty)
        #expect(!fooExcluded)
        let (barExcluded, _) = try pm.matchesUsingParentResults("foo/bar", parent: fooInfo)
        #expect(barExcluded)
        #expect(try !pm.matchesOrParentMatches("foo/bar"))
    }

    @Test func goPathClean() {
        let cases = [("", "."), ("a//b", "a/b"), ("./a/", "a"), ("a/../..", ".."), ("/..", "/"), ("../a/./b/..", "../a"),
                     ("/a/b/../../../c", "/c"), ("a/b/../../..", ".."), ("//", "/"), ("./", ".")]
        for (input, want) in cases { #expect(GoText.clean(input) == want, "\(input)") }
    }
}

@Suite("IgnoreFile") struct IgnoreFileTests {
    @Test func readAllRules() {
        let text = "\u{FEFF}# comment\r\n  # not a comment\r\n\n!  /abs//x/./y/\n/\n../up\n./\n!\n\t docs/ \t\n*.md\r"
        #expect(IgnoreFile.readAll(Array(text.utf8)) ==
                ["# not a comment", "!abs/x/y", "/", "../up", ".", "!", "docs", "*.md"])
    }

    @Test func bomOnlyOnFirstLine() {
        #expect(IgnoreFile.readAll(Array("a\n\u{FEFF}b".utf8)) == ["a", "\u{FEFF}b"])
        #expect(IgnoreFile.readAll(Array("\u{FEFF}#x\nb".utf8)) == ["b"])
    }

    @Test func overlongLinesFailLikeBuildKit() throws {
        let ok = [UInt8](repeating: UInt8(ascii: "a"), count: IgnoreFile.maxLineLength)
        #expect(try IgnoreFile.readAllChecked(ok + [10]).count == 1)
        let long = ok + [UInt8(ascii: "a")]
        #expect(throws: IgnoreFileError.lineTooLong(line: 2, limit: IgnoreFile.maxLineLength)) {
            try IgnoreFile.readAllChecked(Array("x\n".utf8) + long)
        }
        #expect(IgnoreFile.readAll(long).count == 1)
    }
}

/// A tiny deterministic generator for the random tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(bound, 1)))
    }
}

@Test func onePassAncestorMatchingAgreesWithPerAncestorMatching() throws {
    var rng = SplitMix(seed: 7)
    let patternAtoms = ["a", "b", "/", "*", "**", "?", "[ab]", "[^a]", "\\b", "$", ".", "^", "**/", "a/**"]
    let pathAtoms = ["a", "b", "/", ".", "ab/", "/a", "x", "\n", "é"]
    var checked = 0
    for _ in 0..<3000 {
        let pattern = (0..<(1 + rng.next(6))).map { _ in patternAtoms[rng.next(patternAtoms.count)] }.joined()
        let path = (0..<rng.next(9)).map { _ in pathAtoms[rng.next(pathAtoms.count)] }.joined()
        guard let pm = try? PatternMatcher(patterns: [pattern]), let p = pm.patterns.first else { continue }
        let file = Array(path.utf8)
        let parents = PatternMatcher.parentPrefixes(file)
        let fast = try? p.matchesPathOrAncestor(file, parents: parents)
        var slow: Bool? = nil
        if let m = try? p.matches(bytes: file) {
            slow = m || parents.contains { (try? p.matches(bytes: $0)) == true }
        }
        #expect(fast == slow, "\(pattern.debugDescription) on \(path.debugDescription)")
        checked += 1
    }
    #expect(checked > 1000)
}
