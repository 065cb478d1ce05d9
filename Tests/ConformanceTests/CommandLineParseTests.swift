import Foundation
import Testing
import TestSupport

/// The `swiftbuild` executable built next to the test bundle.
enum BuiltExecutable {
    /// Runs swiftbuild with `arguments`; returns exit status, standard output and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, out: Data, err: Data) {
        let result = try runProcess(SwiftBuildExecutable.path, arguments)
        return (result.status, Data(result.stdout), Data(result.stderr))
    }
}

/// `swiftbuild parse` is the conformance interface: its output must equal every `result` file byte for byte,
/// and every negative case must exit non-zero with a located error.
@Test("swiftbuild parse", arguments: Corpus.parserFolders)
func commandLineParse(_ c: ParserFolderCase) throws {
    let dockerfile = c.directory.appendingPathComponent("Dockerfile").path
    let result = try BuiltExecutable.run(["parse", "-f", dockerfile])
    if c.negative {
        #expect(result.status != 0, "\(c.testDescription) must fail")
        #expect(String(decoding: result.err, as: UTF8.self).contains("error: "), "\(c.testDescription)")
        return
    }
    #expect(result.status == 0, "\(c.testDescription): \(String(decoding: result.err, as: UTF8.self))")
    let expected = try Data(contentsOf: c.directory.appendingPathComponent("result"))
    #expect(result.out == expected, "\(c.testDescription)")
}

@Test func versionAndHelpWork() throws {
    let version = try BuiltExecutable.run(["--version"])
    #expect(version.status == 0)
    #expect(!String(decoding: version.out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    let help = try BuiltExecutable.run(["--help"])
    #expect(help.status == 0)
    let text = String(decoding: help.out, as: UTF8.self)
    #expect(text.contains("build (default)") && text.contains("parse"))
}

@Test func buildIsTheDefaultSubcommand() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-default-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try Data("FROM scratch\nCOPY --form=x a b\n".utf8).write(to: dir.appendingPathComponent("Dockerfile"))
    // Without "build": the flags reach the build command, which reports the Dockerfile error with its location.
    let r = try BuiltExecutable.run(["-f", dir.appendingPathComponent("Dockerfile").path, dir.path])
    #expect(r.status != 0)
    #expect(String(decoding: r.err, as: UTF8.self).contains("Dockerfile:2:1: unknown flag: form"))
}

/// Every example under Dockerfiles/ parses and validates.
@Test func examplesAreValid() throws {
    let root = Corpus.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Dockerfiles")
    let examples = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("Dockerfile").path) }
    #expect(!examples.isEmpty)
    for name in examples {
        let file = root.appendingPathComponent(name).appendingPathComponent("Dockerfile")
        let r = try BuiltExecutable.run(["parse", "-f", file.path])
        #expect(r.status == 0, "\(name): \(String(decoding: r.err, as: UTF8.self))")
    }
}
