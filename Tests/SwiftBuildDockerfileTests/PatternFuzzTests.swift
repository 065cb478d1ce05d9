import Testing
import TestSupport
@testable import SwiftBuildDockerfile

/// 100,000 mutated .dockerignore files and paths through IgnoreFile and PatternMatcher.
@Test func ignorePatternsSurviveMutatedInputs() {
    var corpus = Seeds.strings(forKeys: ["pattern", "patterns", "input", "path", "name", "exclude_patterns", "include_patterns"])
    corpus += ["**/*.go", "!vendor/**", "[a-z]*\\*", "a/**/b?", "/abs/./../x", "[^x]", "\\"].map { Array($0.utf8) }
    let tokens = ["*", "**", "**/", "?", "[", "]", "[^", "-", "\\", "!", "/", "./", "../", "\n", "#", " ", "é", "^", "$"]
    let paths = ["a", "a/b", "a/b/c.go", "vendor/x/y", ".git/HEAD", "dir/sub/file.txt", "é/ü", "a*b"]
    var compiled = 0
    var i = 0
    let result = fuzz(count: 100_000, seed: 0xD0C4_1611, corpus: corpus, tokens: tokens) { input in
        i += 1
        var patterns = IgnoreFile.readAll(input)
        if patterns.isEmpty { patterns = [String(decoding: input, as: UTF8.self)] }
        guard let matcher = try? PatternMatcher(patterns: patterns) else { return }
        compiled += 1
        let path = paths[i % paths.count]
        _ = try? matcher.matchesOrParentMatches(path)
        _ = try? matcher.matchesOrParentMatches(String(decoding: input.prefix(64), as: UTF8.self))
    }
    #expect(compiled > 10_000)
    #expect(result.slowest < .seconds(1), "slowest input: \(String(decoding: result.slowestInput.prefix(200), as: UTF8.self))")
    print("pattern fuzz: 100000 inputs, \(compiled) compiled, total \(result.total), slowest \(result.slowest)")
}
