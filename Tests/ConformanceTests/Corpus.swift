import Foundation
import Testing
import TestSupport

/// A JSON value that can travel between tests (Foundation's `Any` cannot).
enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(foundation value: Any) {
        switch value {
        case is NSNull: self = .null
        // JSONSerialization gives NSNumber for both; a Boolean one has the Objective-C type code "c".
        case let n as NSNumber where String(cString: n.objCType) == "c": self = .bool(n.boolValue)
        case let n as NSNumber: self = .number(n.doubleValue)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSON.init(foundation:)))
        case let o as [String: Any]: self = .object(o.mapValues(JSON.init(foundation:)))
        default: self = .null
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var int: Int? { if case .number(let n) = self { return Int(n) }; return nil }
    var array: [JSON]? { if case .array(let a) = self { return a }; return nil }
    var object: [String: JSON]? { if case .object(let o) = self { return o }; return nil }
    var strings: [String]? { array?.compactMap(\.string) }
    var isNull: Bool { if case .null = self { return true }; return false }
}

/// Where the conformance corpus lives: `testdata/conformance` at the package root.
enum Corpus {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("testdata/conformance")

    /// Every `*.json` file anywhere under the corpus, sorted, as (relative path, parsed object).
    static func jsonFiles() -> [(String, JSON)] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var files: [(String, JSON)] = []
        for case let url as URL in walker where url.pathExtension == "json" {
            let rel = String(url.path.dropFirst(root.path.count + 1))
            guard let data = try? Data(contentsOf: url),
                  let any = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
                files.append((rel, .null))  // reported as a failing case below
                continue
            }
            files.append((rel, JSON(foundation: any)))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// One test argument per case of every JSON file (and per `build_cases` entry).
    static let jsonCases: [JSONCase] = {
        var out: [JSONCase] = []
        for (file, doc) in jsonFiles() {
            guard let kind = doc["kind"]?.string, let cases = doc["cases"]?.array else {
                out.append(JSONCase(file: file, kind: "<unreadable>", id: file, value: .null, section: "cases"))
                continue
            }
            for c in cases {
                out.append(JSONCase(file: file, kind: kind, id: c["id"]?.string ?? "<no id>", value: c, section: "cases"))
            }
            for c in doc["build_cases"]?.array ?? [] {
                out.append(JSONCase(file: file, kind: kind, id: c["id"]?.string ?? "<no id>", value: c, section: "build_cases"))
            }
        }
        return out
    }()

    /// Every case folder under `parser/testfiles*/` (`testfiles-negative` and any other `testfiles…` group).
    static let parserFolders: [ParserFolderCase] = {
        let parserDir = root.appendingPathComponent("parser")
        let fm = FileManager.default
        var out: [ParserFolderCase] = []
        for group in ((try? fm.contentsOfDirectory(atPath: parserDir.path)) ?? []).sorted() where group.hasPrefix("testfiles") {
            let dir = parserDir.appendingPathComponent(group)
            for name in ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                out.append(ParserFolderCase(group: group, name: name, directory: dir.appendingPathComponent(name),
                                            negative: group.hasSuffix("-negative")))
            }
        }
        return out
    }()
}

struct JSONCase: Sendable, CustomTestStringConvertible {
    let file: String
    let kind: String
    let id: String
    let value: JSON
    let section: String
    var testDescription: String { "\(id) [\(kind)]" }
}

struct ParserFolderCase: Sendable, CustomTestStringConvertible {
    let group: String
    let name: String
    let directory: URL
    let negative: Bool
    var testDescription: String { "\(group)/\(name)" }
}
