import Foundation
import Testing
import TestSupport
import SwiftBuildDockerfile

/// Checks the JSON vectors of `testdata/conformance/shell` (see its FORMAT.md) against ``ShellLexer``.
enum ShellConformance {
    static func run(_ c: JSONCase) throws {
        switch c.kind {
        case "process_word_with_matches": processWordWithMatches(c)
        case "process_word": processWord(c)
        case "shell_pattern_to_regex": shellPattern(c)
        case "reverse": reverse(c)
        case "env_lookup": envLookup(c)
        default: Issue.record("\(c.id): kind '\(c.kind)' is not a shell kind")
        }
    }

    // MARK: - process_word_with_matches

    static func processWordWithMatches(_ c: JSONCase) {
        guard let input = c.value["input"]?.string, let expect = c.value["expect"],
              let expectsError = expect["error"]?.bool else {
            Issue.record("\(c.id): malformed case")
            return
        }
        var values: [String: String] = [:]
        for (name, value) in c.value["envs"]?.object ?? [:] {
            guard let text = value.string else {
                Issue.record("\(c.id): env value of \(name) is not a string")
                return
            }
            values[name] = text
        }
        let environment = ShellEnvironment(values)
        let outcome = Result { () throws(ShellLexerError) -> ShellExpansion in
            try ShellLexer().processWordWithMatches(input, environment: environment)
        }
        switch outcome {
        case .success(let expansion):
            #expect(!expectsError, "\(c.id): expected an error, got \(expansion.result.debugDescription)")
            guard !expectsError else { return }
            if let result = expect["result"]?.string {
                #expect(expansion.result == result, "\(c.id)")
            } else {
                Issue.record("\(c.id): no expected result")
            }
            if let matched = expect["matched"]?.strings {
                #expect(expansion.matched == Set(matched), "\(c.id): matched")
            }
            if let unmatched = expect["unmatched"]?.strings {
                #expect(expansion.unmatched == Set(unmatched), "\(c.id): unmatched")
            }
            if let observed = c.value["observed"]?["result"]?.string {
                #expect(expansion.result == observed, "\(c.id): observed result")
            }
        case .failure(let error):
            #expect(expectsError, "\(c.id): unexpected error \(error)")
            if let observed = c.value["observed"]?["error"]?.string {
                #expect(error.message == observed, "\(c.id): error text")
            }
            if let names = c.value["upstream_unmatched_unchecked"]?.strings {
                // Informational upstream; our lookups before the failure must still have been recorded.
                let expansion = try? ShellLexer(options: .skipUnsetEnv).processWordWithMatches(input, environment: environment)
                if let expansion { #expect(Set(names).isSubset(of: expansion.unmatched), "\(c.id): unmatched") }
            }
        }
    }

    // MARK: - process_word

    static func processWord(_ c: JSONCase) {
        guard let input = c.value["input"]?.string, let entries = c.value["env"]?.strings,
              let expect = c.value["expect"], let expectsError = expect["error"]?.bool else {
            Issue.record("\(c.id): malformed case")
            return
        }
        let environment = ShellEnvironment(entries: entries)
        do throws(ShellLexerError) {
            let result = try ShellLexer().processWord(input, environment: environment)
            #expect(!expectsError, "\(c.id): expected an error, got \(result.debugDescription)")
            if let expected = expect["result"]?.string { #expect(result == expected, "\(c.id)") }
            if let observed = c.value["observed"]?["result"]?.string { #expect(result == observed, "\(c.id): observed") }
        } catch {
            #expect(expectsError, "\(c.id): unexpected error \(error)")
            if let part = expect["error_contains"]?.string {
                #expect(error.message.contains(part), "\(c.id): \(error.message) lacks \(part)")
            }
            if let observed = c.value["observed"]?["error"]?.string {
                #expect(error.message == observed, "\(c.id): error text")
            }
        }
    }

    // MARK: - shell_pattern_to_regex

    /// The pattern helper is checked three ways: the parsed elements rendered in Go's regex syntax must equal the
    /// expected regex; a text built from the pattern must match it in full; and an invalid pattern must make the
    /// expander fail in all three pattern operators.
    static func shellPattern(_ c: JSONCase) {
        guard let text = c.value["pattern"]?.string, let greedy = c.value["greedy"]?.bool,
              let anchored = c.value["anchored"]?.bool, let expectsError = c.value["expect"]?["error"]?.bool else {
            Issue.record("\(c.id): malformed case")
            return
        }
        let environment = ShellEnvironment(["V": "value", "P": text])
        let lexer = ShellLexer()
        guard !expectsError else {
            #expect(throws: ShellPattern.InvalidEscape.self, "\(c.id)") { try ShellPattern(text) }
            for word in ["${V#$P}", "${V%%$P}", "${V//$P/x}"] {
                do {
                    let result = try lexer.processWord(word, environment: environment)
                    Issue.record("\(c.id): \(word) gave \(result.debugDescription), expected an invalid pattern error")
                } catch {
                    guard case .invalidPattern = error.kind else {
                        Issue.record("\(c.id): \(word): wrong error \(error)")
                        continue
                    }
                }
            }
            return
        }
        let pattern: ShellPattern
        do {
            pattern = try ShellPattern(text)
        } catch {
            Issue.record("\(c.id): \(error.detail)")
            return
        }
        if let regex = c.value["expect"]?["regex"]?.string {
            #expect(goRegex(pattern, greedy: greedy, anchored: anchored) == regex, "\(c.id)")
        }
        // A text the pattern must match in full ('*' stands for "ab", '?' for "x").
        var sample: [Unicode.Scalar] = []
        for element in pattern.elements {
            switch element {
            case .literal(let scalar): sample.append(scalar)
            case .anyCharacter: sample.append("x")
            case .anyRun: sample.append(contentsOf: ["a", "b"])
            }
        }
        let match = pattern.firstMatch(in: sample, from: 0, anchored: anchored, greedy: greedy)
        if greedy {
            #expect(match == 0..<sample.count, "\(c.id)")
            let value = String(String.UnicodeScalarView(sample))
            let removed = try? lexer.processWord("${V##$P}", environment: ShellEnvironment(["V": value, "P": text]))
            #expect(removed == "", "\(c.id): ${V##pattern} on \(value.debugDescription)")
        } else {
            #expect(match?.lowerBound == 0, "\(c.id)")
        }
        // Changing a literal character makes it fail (so escaped metacharacters are not wildcards).
        if let index = pattern.elements.firstIndex(where: { if case .literal = $0 { true } else { false } }) {
            var mutated: [Unicode.Scalar] = []
            for (position, element) in pattern.elements.enumerated() {
                switch element {
                case .literal(let scalar): mutated.append(position == index ? (scalar == "Z" ? "Y" : "Z") : scalar)
                case .anyCharacter: mutated.append("x")
                case .anyRun: break
                }
            }
            if !pattern.elements.contains(.anyRun) {
                #expect(pattern.firstMatch(in: mutated, from: 0, anchored: true, greedy: greedy) == nil, "\(c.id)")
            }
        }
    }

    /// The Go regular expression BuildKit builds for a pattern, rendered from our parsed elements.
    static func goRegex(_ pattern: ShellPattern, greedy: Bool, anchored: Bool) -> String {
        var out = anchored ? "^" : ""
        for element in pattern.elements {
            switch element {
            case .anyRun: out += greedy ? ".*" : ".*?"
            case .anyCharacter: out += "."
            case .literal(let scalar):
                if "[]{}.+()|^$*?\\".unicodeScalars.contains(scalar) { out += "\\" }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: - reverse

    static func reverse(_ c: JSONCase) {
        guard let function = c.value["function"]?.string, let input = c.value["input"]?.string,
              let expected = c.value["expect"]?.string else {
            Issue.record("\(c.id): malformed case")
            return
        }
        switch function {
        case "reverseString": #expect(ShellPattern.reversedText(input) == expected, "\(c.id)")
        case "reversePattern": #expect(ShellPattern.reversedPattern(input) == expected, "\(c.id)")
        default: Issue.record("\(c.id): unknown function \(function)")
        }
    }

    // MARK: - env_lookup

    static func envLookup(_ c: JSONCase) {
        guard let entries = c.value["env"]?.strings, let lookups = c.value["lookups"]?.array else {
            Issue.record("\(c.id): malformed case")
            return
        }
        let environment = ShellEnvironment(entries: entries)
        for lookup in lookups {
            guard let name = lookup["name"]?.string, let value = lookup["expect_value"]?.string else {
                Issue.record("\(c.id): malformed lookup")
                continue
            }
            #expect((environment.lookup(name) ?? "") == value, "\(c.id): \(name)")
        }
        for observed in c.value["observed"]?.array ?? [] {
            guard let name = observed["name"]?.string, let value = observed["value"]?.string,
                  let found = observed["found"]?.bool else {
                Issue.record("\(c.id): malformed observation")
                continue
            }
            #expect(environment.lookup(name) == (found ? value : nil), "\(c.id): \(name)")
            // The expander sees the same: the name is matched exactly when it is set.
            let expansion = try? ShellLexer().processWordWithMatches("${\(name)}", environment: environment)
            #expect(expansion?.matched.contains(name) == found, "\(c.id): \(name) matched")
            #expect(expansion?.result == value, "\(c.id): ${\(name)}")
        }
    }
}
