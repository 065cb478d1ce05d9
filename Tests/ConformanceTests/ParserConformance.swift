import Foundation
import Testing
import TestSupport
@testable import SwiftBuildDockerfile

/// Every folder under parser/testfiles*/: positive cases must dump to `result` byte for byte,
/// negative ones (`testfiles-negative`) must fail to parse.
@Test("parser golden folder", arguments: Corpus.parserFolders)
func parserGoldenFolder(_ c: ParserFolderCase) throws {
    let input = try [UInt8](Data(contentsOf: c.directory.appendingPathComponent("Dockerfile")))
    if c.negative {
        #expect(throws: DockerfileError.self, "\(c.testDescription) must not parse") {
            try DockerfileParser().parse(bytes: input)
        }
        return
    }
    let expected = try [UInt8](Data(contentsOf: c.directory.appendingPathComponent("result")))
    let parsed = try DockerfileParser().parse(bytes: input)
    let dump = Array((parsed.dump + "\n").utf8)
    #expect(dump == expected, "\(c.testDescription): dump differs:\n\(parsed.dump)")
}

enum ParserConformance {
    static func run(_ c: JSONCase) throws {
        let v = c.value
        switch c.kind {
        case "parse_words":
            let escape = v["escape_token"]?.string?.utf8.first ?? 0x5C
            let words = LineParser(escape: escape).words(Array((v["input"]?.string ?? "").utf8)[...])
            #expect(words == v["expect"]?.strings, "\(c.id)")
        case "name_val":
            try nameVal(c)
        case "json_arrays":
            let result = JSONArrayParser.parse(Array((v["input"]?.string ?? "").utf8)[...])
            switch v["expect"]?["result"]?.string {
            case "strings": #expect(result == .strings(v["expect"]?["values"]?.strings ?? ["<missing>"]), "\(c.id)")
            case "error_not_string_array": #expect(result == .notAllStrings, "\(c.id)")
            case let other: Issue.record("\(c.id): unknown expectation \(String(describing: other))")
            }
        case "heredoc_chomp":
            #expect(Heredoc.chomped(v["input"]?.string ?? "") == v["expect"]?.string, "\(c.id)")
        case "heredoc_word":
            try heredocWord(c)
        case "heredocs_from_line":
            let names = try HeredocOpener.openers(inLine: v["line"]?.string ?? "").map(\.name)
            #expect(names == v["expect"]?["names"]?.strings, "\(c.id)")
        case "directives":
            try directives(c)
        case "line_numbers":
            let parsed = try DockerfileParser().parse(bytes: input(of: c))
            let e = v["expect"]
            #expect(parsed.range?.start.line == e?["root_start_line"]?.int, "\(c.id) root start")
            #expect(parsed.range?.end.line == e?["root_end_line"]?.int, "\(c.id) root end")
            #expect(parsed.instructions.count == e?["children_count"]?.int, "\(c.id) count")
            #expect(lines(parsed) == e?["children_lines"]?.array?.map { $0.array?.compactMap(\.int) ?? [] }, "\(c.id)")
        case "warnings":
            let parsed = try DockerfileParser().parse(bytes: input(of: c))
            let e = v["expect"]
            #expect(parsed.warnings.count == e?["warnings_count"]?.int, "\(c.id) count")
            for (i, w) in (e?["warnings"]?.array ?? []).enumerated() where i < parsed.warnings.count {
                for s in w["short_contains"]?.strings ?? [] {
                    #expect(parsed.warnings[i].short.contains(s), "\(c.id) warning \(i): \(parsed.warnings[i].short)")
                }
                for s in w["detail0_contains"]?.strings ?? [] {
                    #expect(parsed.warnings[i].detail.first?.contains(s) == true, "\(c.id) warning \(i) detail")
                }
            }
            for (i, o) in (v["observed"]?.array ?? []).enumerated() where i < parsed.warnings.count {
                let w = parsed.warnings[i]
                #expect(w.short == o["short"]?.string, "\(c.id) observed short")
                #expect(w.detail == o["detail"]?.strings, "\(c.id) observed detail")
                #expect(w.url == o["url"]?.string, "\(c.id) observed url")
                #expect(w.range.start.line == o["location_start_line"]?.int, "\(c.id) observed line")
                #expect(w.range.end.line == o["location_end_line"]?.int, "\(c.id) observed end line")
            }
        case "scanner_errors":
            try expectError(c, message: v["expect"]?["error_message"]?.string)
        case "heredoc_extract":
            try heredocExtract(c)
        case "observed_dumps":
            try observedDump(c)
        default:
            Issue.record("\(c.id): parser kind '\(c.kind)' has no handler")
        }
    }

    /// The Dockerfile bytes of a case: `dockerfile`, `dockerfile_parts` or `dockerfile_hex`.
    static func input(of c: JSONCase) throws -> [UInt8] {
        if let text = c.value["dockerfile"]?.string { return Array(text.utf8) }
        if let parts = c.value["dockerfile_parts"]?.array {
            var out: [UInt8] = []
            for p in parts {
                if let t = p["text"]?.string { out += Array(t.utf8) }
                if let r = p["repeat"]?.string, let n = p["count"]?.int {
                    let unit = Array(r.utf8)
                    for _ in 0..<n { out += unit }
                }
            }
            return out
        }
        if let hex = c.value["dockerfile_hex"]?.string {
            var out: [UInt8] = []
            var it = hex.utf8.makeIterator()
            while let a = it.next(), let b = it.next() {
                guard let byte = UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16) else { break }
                out.append(byte)
            }
            return out
        }
        Issue.record("\(c.id): no Dockerfile input")
        return []
    }

    static func lines(_ d: Dockerfile) -> [[Int]] {
        d.instructions.map { [$0.range.start.line, $0.range.end.line] }
    }

    static func expectError(_ c: JSONCase, message: String?) throws {
        let bytes = try input(of: c)
        do {
            let parsed = try DockerfileParser().parse(bytes: bytes)
            Issue.record("\(c.id): parsed, expected an error; dump: \(parsed.dump.prefix(200))")
        } catch {
            if let message { #expect(error.message == message, "\(c.id)") }
        }
    }

    static func nameVal(_ c: JSONCase) throws {
        let v = c.value
        let instruction = v["instruction"]?.string ?? ""
        let text = instruction + " " + (v["input"]?.string ?? "")
        let e = v["expect"]
        if e?["error"]?.bool == true {
            #expect(throws: DockerfileError.self, "\(c.id)") { try DockerfileParser().parse(text) }
            if let message = e?["error_message"]?.string {
                do { _ = try DockerfileParser().parse(text) } catch { #expect(error.message == message, "\(c.id)") }
            }
            return
        }
        let parsed = try DockerfileParser().parse(text)
        if let nodes = e?["nodes"]?.strings { #expect(parsed.instructions.first?.arguments == nodes, "\(c.id)") }
        if let dump = e?["dump"]?.string { #expect(parsed.dump == dump, "\(c.id)") }
    }

    static func heredocWord(_ c: JSONCase) throws {
        let v = c.value
        let word = v["input"]?.string ?? ""
        switch v["expect"]?["result"]?.string {
        case "heredoc":
            let h = try HeredocOpener.parse(word: word)
            #expect(h?.name == v["expect"]?["name"]?.string, "\(c.id)")
            if let o = v["observed"], let h {
                #expect(h.expand == o["expand"]?.bool, "\(c.id) expand")
                #expect(h.chomp == o["chomp"]?.bool, "\(c.id) chomp")
                #expect(h.fileDescriptor == o["file_descriptor"]?.int, "\(c.id) fd")
            }
        case "none":
            #expect(try HeredocOpener.parse(word: word) == nil, "\(c.id)")
        case "error":
            #expect(throws: HeredocOpener.Failure.self, "\(c.id)") { try HeredocOpener.parse(word: word) }
        case let other:
            Issue.record("\(c.id): unknown expectation \(String(describing: other))")
        }
    }

    static func directives(_ c: JSONCase) throws {
        let v = c.value
        let bytes = Array((v["input"]?.string ?? "").utf8)
        let e = v["expect"]
        switch v["function"]?.string {
        case "DirectiveParser.ParseAll":
            if e?["error"]?.bool == true {
                #expect(throws: DockerfileError.self, "\(c.id)") { try ParserDirectives.parseAll(bytes) }
                return
            }
            let found = try ParserDirectives.parseAll(bytes)
            let expected = e?["directives"]?.array?.map { [$0["name"]?.string ?? "", $0["value"]?.string ?? ""] }
            #expect(found.map { [$0.name.rawValue, $0.value] } == expected, "\(c.id)")
        case "DetectSyntax", "ParseDirective":
            let match: ParserDirectives.Match?
            if v["function"]?.string == "DetectSyntax" {
                match = ParserDirectives.detectSyntax(bytes)
            } else {
                guard let name = ParserDirective.Name(rawValue: v["key"]?.string ?? "") else {
                    Issue.record("\(c.id): unknown key"); return
                }
                match = ParserDirectives.find(name, in: bytes)
            }
            #expect((match != nil) == e?["ok"]?.bool, "\(c.id) ok")
            if let ref = e?["ref"]?.string { #expect((match?.reference ?? "") == ref, "\(c.id) ref") }
            if let cmdline = e?["cmdline"]?.string { #expect((match?.value ?? "") == cmdline, "\(c.id) cmdline") }
            if let line = e?["start_line"]?.int { #expect(match?.line == line, "\(c.id) start line") }
            if let line = e?["end_line"]?.int { #expect(match?.line == line, "\(c.id) end line") }
        case let other:
            Issue.record("\(c.id): unknown function \(String(describing: other))")
        }
    }

    static func heredocJSON(_ h: Heredoc) -> [String: JSON] {
        ["name": .string(h.name), "content": .string(h.content), "expand": .bool(h.expand),
         "chomp": .bool(h.chomp), "file_descriptor": .number(Double(h.fileDescriptor))]
    }

    static func heredocExtract(_ c: JSONCase) throws {
        let v = c.value
        if v["expect"]?["error"]?.bool == true {
            try expectError(c, message: v["expect"]?["error_message"]?.string)
            return
        }
        let parsed = try DockerfileParser().parse(bytes: input(of: c))
        for child in v["children"]?.array ?? [] {
            let id = child["id"]?.string ?? c.id
            guard let index = child["index"]?.int, index < parsed.instructions.count else {
                Issue.record("\(id): no instruction at index \(String(describing: child["index"]))"); continue
            }
            let node = parsed.instructions[index]
            if let start = child["instruction"]?.string { #expect(node.original.hasPrefix(start), "\(id): \(node.original)") }
            let expected = child["heredocs"]?.array?.compactMap(\.object) ?? []
            #expect(node.heredocs.map(heredocJSON) == expected, "\(id)")
        }
        if let dump = v["observed_dump"]?.string { #expect(parsed.dump == dump, "\(c.id) dump") }
    }

    static func observedDump(_ c: JSONCase) throws {
        let e = c.value["expect"]
        if e?["error"]?.bool == true {
            try expectError(c, message: e?["error_message"]?.string)
            return
        }
        let parsed = try DockerfileParser().parse(bytes: input(of: c))
        if let dump = e?["dump"]?.string { #expect(parsed.dump == dump, "\(c.id)") }
        if let l = e?["children_lines"]?.array {
            #expect(lines(parsed) == l.map { $0.array?.compactMap(\.int) ?? [] }, "\(c.id) lines")
        }
        if let escape = e?["escape_token"]?.string {
            #expect(String(parsed.escapeToken) == escape, "\(c.id) escape")
        }
        if let warnings = e?["warnings"]?.array {
            #expect(parsed.warnings.map(\.short) == warnings.compactMap(\.string), "\(c.id) warnings")
        }
        for entry in e?["heredocs"]?.array ?? [] {
            guard let child = entry["child"]?.int, child < parsed.instructions.count else {
                Issue.record("\(c.id): heredoc child out of range"); continue
            }
            let expected = entry["heredocs"]?.array?.compactMap(\.object) ?? []
            #expect(parsed.instructions[child].heredocs.map(heredocJSON) == expected, "\(c.id) heredocs of \(child)")
        }
    }
}
