import Foundation
import Testing
import TestSupport
import SwiftBuildDockerfile

/// The upstream line tables `shell/envVarTest` and `shell/wordsTest`, read at test time (shell/FORMAT.md
/// sections 2 and 3): every test line is one test argument, so editing the files adds or changes cases.
enum ShellWordTables {
    struct Line: Sendable, CustomTestStringConvertible {
        var file: String
        var number: Int
        /// `A`, `U` or `W` for envVarTest; empty for wordsTest.
        var platform: String
        var input: String
        /// The expected text (envVarTest) or words (wordsTest); `["error"]` means the call must fail.
        var expected: [String]
        /// `ENV` entries in force (wordsTest).
        var environment: [String]
        /// Why the line could not be read, if it could not.
        var problem: String?

        var testDescription: String { "\(file):\(number) \(input)" }
    }

    static func read(_ name: String) -> [Substring] {
        let url = Corpus.root.appendingPathComponent("shell").appendingPathComponent(name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Test lines of envVarTest for every platform (W lines included, so that they can be counted).
    static let allEnvVarLines: [Line] = {
        var out: [Line] = []
        let lines = read("envVarTest")
        if lines.isEmpty {
            out.append(Line(file: "envVarTest", number: 0, platform: "", input: "", expected: [], environment: [],
                            problem: "envVarTest is missing or unreadable under \(Corpus.root.path)"))
        }
        for (offset, raw) in lines.enumerated() {
            if raw.hasPrefix("#") { continue }
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            var entry = Line(file: "envVarTest", number: offset + 1, platform: "", input: line, expected: [],
                             environment: [])
            if fields.count != 3 {
                entry.problem = "expected 3 fields separated by '|', found \(fields.count)"
            } else if !["A", "U", "W"].contains(fields[0]) {
                entry.problem = "unknown platform tag '\(fields[0])'"
            } else {
                entry.platform = fields[0]
                entry.input = fields[1]
                entry.expected = [fields[2]]
            }
            out.append(entry)
        }
        return out
    }()

    /// The envVarTest lines that apply on this platform (Linux: `A` and `U`).
    static var envVarLines: [Line] { allEnvVarLines.filter { $0.platform != "W" } }

    static let wordsLines: [Line] = {
        var out: [Line] = []
        let lines = read("wordsTest")
        if lines.isEmpty {
            out.append(Line(file: "wordsTest", number: 0, platform: "", input: "", expected: [], environment: [],
                            problem: "wordsTest is missing or unreadable under \(Corpus.root.path)"))
        }
        var environment: [String] = []
        for (offset, raw) in lines.enumerated() {
            if raw.hasPrefix("#") { continue }
            if raw.hasPrefix("ENV ") {
                // Leading spaces go, trailing spaces are part of the value.
                environment.append(String(raw.dropFirst(3).drop { $0 == " " }))
                continue
            }
            if raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
            var entry = Line(file: "wordsTest", number: offset + 1, platform: "", input: String(raw), expected: [],
                             environment: environment)
            let parts = raw.split(separator: "|", omittingEmptySubsequences: false)
            if parts.count != 2 {
                entry.problem = "expected exactly one '|'"
            } else {
                entry.input = parts[0].trimmingCharacters(in: .whitespacesAndNewlines)
                entry.expected = parts[1].drop { $0 == " " }.split(separator: ",", omittingEmptySubsequences: false)
                    .map(String.init)
            }
            out.append(entry)
        }
        return out
    }()

    /// The environment of every envVarTest line.
    static let envVarEnvironment = ShellEnvironment(entries: ["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="])
}

@Test("envVarTest line", arguments: ShellWordTables.envVarLines)
func envVarTestLine(_ line: ShellWordTables.Line) {
    if let problem = line.problem {
        Issue.record("\(line.file):\(line.number): \(problem)")
        return
    }
    let expected = line.expected.first ?? ""
    do throws(ShellLexerError) {
        let result = try ShellLexer().processWord(line.input, environment: ShellWordTables.envVarEnvironment)
        #expect(expected != "error", "\(line.input.debugDescription) gave \(result.debugDescription), expected an error")
        if expected != "error" { #expect(result == expected, "\(line.input.debugDescription)") }
    } catch {
        #expect(expected == "error", "\(line.input.debugDescription): unexpected \(error)")
    }
}

@Test("wordsTest line", arguments: ShellWordTables.wordsLines)
func wordsTestLine(_ line: ShellWordTables.Line) {
    if let problem = line.problem {
        Issue.record("\(line.file):\(line.number): \(problem)")
        return
    }
    let environment = ShellEnvironment(entries: line.environment)
    do throws(ShellLexerError) {
        let words = try ShellLexer().processWords(line.input, environment: environment)
        #expect(line.expected != ["error"], "\(line.input.debugDescription) gave \(words), expected an error")
        if line.expected != ["error"] { #expect(words == line.expected, "\(line.input.debugDescription)") }
    } catch {
        #expect(line.expected == ["error"], "\(line.input.debugDescription): unexpected \(error)")
    }
}

@Test("the shell line tables are read in full") func shellWordTablesAreRead() {
    let lines = ShellWordTables.allEnvVarLines
    let tags = Dictionary(grouping: lines, by: \.platform).mapValues(\.count)
    // Counts at the recorded commit: 230 lines (226 A, 2 U, 2 W); W lines are for Windows and are not run here.
    #expect(lines.count >= 230)
    #expect((tags["A"] ?? 0) >= 226)
    #expect((tags["U"] ?? 0) >= 2)
    #expect((tags["W"] ?? 0) >= 2)
    #expect(lines.allSatisfy { $0.problem == nil })
    #expect(ShellWordTables.wordsLines.count >= 24)
    #expect(ShellWordTables.wordsLines.allSatisfy { $0.problem == nil })
    // The ENV lines accumulate, and trailing spaces of a value are kept.
    #expect(ShellWordTables.wordsLines.last?.environment.contains("trailing=ab c   ") == true)
}
