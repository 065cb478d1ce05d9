import Foundation
import Testing
import TestSupport
import SwiftBuildDockerfile
import SwiftBuildKit

/// The dockerignore vectors (testdata/conformance/dockerignore, see FORMAT.md there).
enum IgnoreConformance {
    static func run(_ c: JSONCase) throws {
        switch c.kind {
        case "readall": try readAll(c)
        case "matches": try matches(c)
        case "filepath_match": try filepathMatch(c)
        case "compile": try compile(c)
        case "matcher_misc": try matcherMisc(c)
        case "context_walk":
            if c.section == "build_cases" { try contextBuild(c) } else { try contextWalk(c) }
        default:
            Issue.record("\(c.id): unexpected kind '\(c.kind)'")
        }
    }

    /// A field the vector must have; a missing one fails the case instead of being skipped.
    static func field<T>(_ c: JSONCase, _ value: T?, _ name: String) throws -> T {
        guard let value else {
            Issue.record("\(c.id): missing or malformed field '\(name)'")
            throw VectorError.malformed(c.id, name)
        }
        return value
    }

    enum VectorError: Error { case malformed(String, String) }

    // MARK: readall

    static func readAll(_ c: JSONCase) throws {
        let expect = try field(c, c.value["expect"]?.strings, "expect")
        // `input: null` means no reader at all, which reads as no patterns, like an empty file.
        let input = c.value["input"]?.string ?? ""
        let got = IgnoreFile.readAll(Array(input.utf8))
        #expect(got == expect, "\(c.id)")
        #expect(try IgnoreFile.readAllChecked(Array(input.utf8)) == expect, "\(c.id)")
    }

    // MARK: matches / matches_multi

    static func matches(_ c: JSONCase) throws {
        let patterns = try field(c, c.value["patterns"]?.strings, "patterns")
        let path = try field(c, c.value["path"]?.string, "path")
        let expect = try field(c, c.value["expect"]?.bool, "expect")
        let pm = try PatternMatcher(patterns: patterns)
        #expect(try pm.matchesOrParentMatches(path) == expect, "\(c.id): matchesOrParentMatches")
        // The walk entry point, fed the way a directory walk does it (ancestors first) ...
        var info = PatternMatcher.MatchInfo.empty
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var prefix = ""
        var walked = false
        for (k, part) in parts.enumerated() {
            prefix = k == 0 ? part : prefix + "/" + part
            if k == parts.count - 1 { break }
            if prefix.isEmpty { continue }
            (_, info) = try pm.matchesUsingParentResults(prefix, parent: info)
            walked = true
        }
        let (viaWalk, _) = try pm.matchesUsingParentResults(path, parent: walked ? info : .empty)
        #expect(viaWalk == expect, "\(c.id): matchesUsingParentResults with walked parents")
        // ... and with no parent information.
        let (viaEmpty, _) = try pm.matchesUsingParentResults(path, parent: .empty)
        #expect(viaEmpty == expect, "\(c.id): matchesUsingParentResults with empty info")
    }

    // MARK: filepath_match

    static func filepathMatch(_ c: JSONCase) throws {
        let pattern = try field(c, c.value["pattern"]?.string, "pattern")
        let path = try field(c, c.value["path"]?.string, "path")
        let expect = try field(c, c.value["expect"]?.object, "expect")
        let wantError = try field(c, expect["error"]?.bool, "expect.error")
        let wantMatch = try field(c, expect["match"]?.bool, "expect.match")

        // Go's filepath.Match itself, for the vectors borrowed from Go's tests.
        var goError = false
        var goMatch = false
        do { goMatch = try FilepathMatch.match(pattern: pattern, name: path) } catch { goError = true }

        // The package-level deprecated Matches(path, [pattern]) the upstream test calls.
        var legacyError = false
        var legacyMatch = false
        var mopmError = false
        var mopm = false
        do {
            let pm = try PatternMatcher(patterns: [pattern])
            let cleaned = String(decoding: goClean(path), as: UTF8.self)
            do { legacyMatch = cleaned == "." ? false : try pm.legacyMatches(cleaned) } catch { legacyError = true }
            do { mopm = try pm.matchesOrParentMatches(path) } catch { mopmError = true }
        } catch {
            legacyError = true
            mopmError = true
        }
        #expect(legacyError == wantError, "\(c.id): error")
        #expect(legacyMatch == wantMatch, "\(c.id): match")
        if wantError {
            #expect(goError, "\(c.id): filepath.Match error")
        }
        if let observed = c.value["observed"]?.object {
            if let m = observed["matches_or_parent_matches"]?.bool { #expect(mopm == m, "\(c.id): observed match") }
            if let e = observed["matches_or_parent_matches_error"]?.bool {
                #expect(mopmError == e, "\(c.id): observed error")
            }
        }
        // For error-free vectors without a '/' in the path, filepath.Match agrees with the matcher.
        if !wantError && !path.contains("/") && !pattern.contains("**") {
            #expect(goMatch == wantMatch, "\(c.id): filepath.Match")
        }
    }

    /// Go's path.Clean, through the public matcher rules: cleaning a single-pattern list echoes it.
    static func goClean(_ path: String) -> [UInt8] {
        // Only used on vector paths; they are already clean except for the "/any/path" style ones.
        var parts: [Substring] = []
        let rooted = path.hasPrefix("/")
        for p in path.split(separator: "/") where p != "." {
            if p == ".." {
                if let last = parts.last, last != ".." { parts.removeLast() } else if !rooted { parts.append(p) }
            } else {
                parts.append(p)
            }
        }
        let joined = (rooted ? "/" : "") + parts.joined(separator: "/")
        return Array((joined.isEmpty ? "." : joined).utf8)
    }

    // MARK: compile

    static func compile(_ c: JSONCase) throws {
        let pattern = try field(c, c.value["pattern"]?.string, "pattern")
        let expect = try field(c, c.value["expect"]?.object, "expect")
        let type = try field(c, expect["match_type"]?.string, "expect.match_type")
        let pm = try PatternMatcher(patterns: [pattern])
        let p = try field(c, pm.patterns.first, "compiled pattern")
        #expect(p.kind.rawValue == type, "\(c.id): match type")
        if let re = expect["regex_unix"]?.string {
            #expect(p.regexSource == re, "\(c.id): regex")
        } else {
            #expect(p.regexSource == nil, "\(c.id): no regex for \(type)")
        }
    }

    // MARK: matcher_misc

    static func matcherMisc(_ c: JSONCase) throws {
        let function = try field(c, c.value["function"]?.string, "function")
        let patterns = try field(c, c.value["patterns"]?.strings, "patterns")
        let expect = try field(c, c.value["expect"]?.object, "expect")
        switch function {
        case "Matches":
            let path = try field(c, c.value["path"]?.string, "path")
            var err = false
            var match = false
            var mopmErr = false
            var mopm = false
            do {
                let pm = try PatternMatcher(patterns: patterns)
                let cleaned = String(decoding: goClean(path), as: UTF8.self)
                do { match = cleaned == "." ? false : try pm.legacyMatches(cleaned) } catch { err = true }
                do { mopm = try pm.matchesOrParentMatches(path) } catch { mopmErr = true }
            } catch {
                err = true
                mopmErr = true
            }
            #expect(err == (try field(c, expect["error"]?.bool, "expect.error")), "\(c.id): error")
            if let m = expect["match"]?.bool { #expect(match == m, "\(c.id): match") }
            if let observed = c.value["observed"]?.object {
                if let m = observed["matches_or_parent_matches"]?.bool { #expect(mopm == m, "\(c.id): observed") }
                if let e = observed["matches_or_parent_matches_error"]?.bool {
                    #expect(mopmErr == e, "\(c.id): observed error")
                }
            }
        case "New":
            var pm: PatternMatcher? = nil
            do { pm = try PatternMatcher(patterns: patterns) } catch {}
            #expect((pm == nil) == (try field(c, expect["error"]?.bool, "expect.error")), "\(c.id): error")
            if let n = expect["patterns_count"]?.int { #expect(pm?.patterns.count == n, "\(c.id): count") }
            if let e = expect["exclusions"]?.bool { #expect(pm?.hasExceptions == e, "\(c.id): exclusions") }
            if let cleaned = c.value["observed"]?["cleaned_patterns"]?.strings {
                #expect(pm?.patterns.map(\.patternString) == cleaned, "\(c.id): cleaned patterns")
            }
            if let e = c.value["observed"]?["exclusions"]?.bool { #expect(pm?.hasExceptions == e, "\(c.id)") }
        case "New+MatchesOrParentMatches(repeat 2)":
            let path = try field(c, c.value["path"]?.string, "path")
            var pm: PatternMatcher? = nil
            do { pm = try PatternMatcher(patterns: patterns) } catch {}
            #expect((pm == nil) == (try field(c, expect["new_error"]?.bool, "expect.new_error")), "\(c.id): new")
            guard let pm else { return }
            for (attempt, key) in ["match_error", "repeat_match_error"].enumerated() {
                var thrown: PatternError? = nil
                do { _ = try pm.matchesOrParentMatches(path) } catch { thrown = error }
                #expect((thrown != nil) == (try field(c, expect[key]?.bool, "expect.\(key)")),
                        "\(c.id): attempt \(attempt + 1)")
                if let msg = expect["match_error_message"]?.string, let thrown {
                    #expect(thrown.description.contains(msg), "\(c.id): message \(thrown)")
                }
            }
        default:
            Issue.record("\(c.id): unknown function '\(function)'")
        }
    }

    // MARK: context_walk

    static func makeTempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftbuild-ignore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func contextWalk(_ c: JSONCase) throws {
        let tree = try field(c, c.value["tree"]?.array, "tree")
        let include = try field(c, c.value["include_patterns"]?.strings, "include_patterns")
        let exclude = try field(c, c.value["exclude_patterns"]?.strings, "exclude_patterns")
        let expect = try field(c, c.value["expect"]?.object, "expect")
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for item in tree {
            let path = try field(c, item["path"]?.string, "tree.path")
            let url = dir.appendingPathComponent(path)
            switch item["type"]?.string {
            case "dir": try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            case "file": try Data(path.utf8).write(to: url)
            default: Issue.record("\(c.id): unknown tree entry type for \(path)")
            }
        }
        let wantError = expect["error"]?.bool ?? false
        let ctx: BuildContext
        do {
            ctx = try BuildContext(directory: dir.path, includePatterns: include, excludePatterns: exclude)
        } catch {
            #expect(wantError, "\(c.id): unexpected error \(error)")
            return
        }
        #expect(!wantError, "\(c.id): expected the filter to be rejected")
        if let walk = expect["walk"]?.strings {
            let got = try ctx.entries().map(\.description)
            #expect(got == walk, "\(c.id): walk")
        }
        for o in expect["open"]?.array ?? [] {
            let path = try field(c, o["path"]?.string, "open.path")
            let exists = try field(c, o["exists"]?.bool, "open.exists")
            #expect(try ctx.admits(path) == exists, "\(c.id): open \(path)")
        }
        #expect(expect["walk"] != nil || expect["open"] != nil || wantError, "\(c.id): nothing checked")
    }

    static func contextBuild(_ c: JSONCase) throws {
        let files = try field(c, c.value["context_files"]?.object, "context_files")
        let dockerfile = try field(c, c.value["dockerfile_name"]?.string, "dockerfile_name")
        let expect = try field(c, c.value["expect"]?.object, "expect")
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, content) in files {
            try Data((content.string ?? "").utf8).write(to: dir.appendingPathComponent(name))
        }
        let wantError = expect["error"]?.bool ?? false
        var contents: [String: String] = [:]
        do {
            let patterns = try IgnoreFileLocator.excludePatterns(
                dockerfilePath: dir.appendingPathComponent(dockerfile).path, contextDirectory: dir.path)
            if let observed = c.value["observed_patterns"]?.strings {
                #expect(patterns == observed, "\(c.id): patterns")
            }
            let ctx = try BuildContext(directory: dir.path, excludePatterns: patterns)
            for e in try ctx.entries() where e.kind == .file {
                contents[e.path] = String(decoding: try Data(contentsOf: dir.appendingPathComponent(e.path)), as: UTF8.self)
            }
        } catch {
            #expect(wantError, "\(c.id): unexpected error \(error)")
            return
        }
        #expect(!wantError, "\(c.id): expected the build to fail")
        for (name, content) in expect["copied_present"]?.object ?? [:] {
            #expect(contents[name] == content.string, "\(c.id): copied \(name)")
        }
        for name in expect["copied_absent"]?.strings ?? [] { #expect(contents[name] == nil, "\(c.id): absent \(name)") }
        for name in expect["context_has"]?.strings ?? [] { #expect(contents[name] != nil, "\(c.id): has \(name)") }
        for name in expect["context_lacks"]?.strings ?? [] { #expect(contents[name] == nil, "\(c.id): lacks \(name)") }
    }
}
