import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

/// swiftbuild against BuildKit: every case in `testdata/differential` was built by BuildKit (dockerd's), and its
/// file tree and config recorded by `scripts/differential/describe.py` in `expected.json`. Here swiftbuild
/// builds the same Dockerfile and context, the same script describes the result, and the two must be equal.
/// Bases come from `testdata/differential/bases`, built by swiftbuild; cases that name `registry_bases`
/// pull them from a real registry into an empty store during the build, as a fresh CI runner does.
/// See scripts/differential/README.md for the format and for how the expectations are recorded.
@Suite(.serialized) struct DifferentialTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let corpus = repository + "/testdata/differential"
    static let describeScript = repository + "/scripts/differential/describe.py"

    /// One recorded build.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var directory: String
        var testDescription: String { name }
    }

    static var cases: [Case] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: corpus + "/cases")) ?? []
        return names.sorted().map { Case(name: $0, directory: corpus + "/cases/" + $0) }
    }

    /// What `case.json` says.
    struct Settings: Decodable {
        var description: String
        var local_bases: [String]?
        var registry_bases: [String]?
        var base: String?
        var target: String?
        var build_args: [String: String]?
        var expect_error: String?
        var note: String?
        /// Where the recording (BuildKit 0.8, dockerd 20.10's) differs from current BuildKit, which swiftbuild
        /// follows: why, and what current BuildKit does. The comparison is then a known issue, shown as such.
        var current_buildkit: String?
    }

    @Test func theCorpusIsThere() {
        // The issue asks for at least 80 cases; an empty or missing corpus must not pass quietly.
        #expect(Self.cases.count >= 80, "testdata/differential/cases has \(Self.cases.count) cases")
    }

    @Test(arguments: ["busybox", "envbase", "fsbase", "metabase", "onbuildbase", "userbase"])
    func base(_ name: String) async throws {
        let bases = try await Bases.shared.ready()
        let expected = Self.corpus + "/bases/" + name + "/expected.json"
        try Self.compare(archive: bases.archive(name), base: name == "busybox" ? nil : bases.archive("busybox"),
                         expected: expected, label: "base " + name)
    }

    @Test(arguments: cases)
    func matchesBuildKit(_ testCase: Case) async throws {
        let settings = try JSONDecoder().decode(Settings.self,
            from: try Data(contentsOf: URL(fileURLWithPath: testCase.directory + "/case.json")))
        if let reason = settings.current_buildkit {
            await withKnownIssue("recorded with BuildKit 0.8; current BuildKit differs: \(reason)") {
                try await build(testCase, settings)
            }
        } else {
            try await build(testCase, settings)
        }
    }

    func build(_ testCase: Case, _ settings: Settings) async throws {
        let bases = try await Bases.shared.ready()
        if FileManager.default.fileExists(atPath: testCase.directory + "/prepare.sh") {
            try runTool("/bin/bash", ["-c", "cd \"$1\" && bash ./prepare.sh >/dev/null", "prepare", testCase.directory])
        }
        let scratch = try TemporaryDirectory(prefix: "swiftbuild-differential")
        // A case whose bases come from the registry starts from an empty store; its local bases are pulled
        // and tagged under their local names first.
        let registryBases = settings.registry_bases ?? []
        let root = registryBases.isEmpty ? bases.root : scratch.path + "/root"
        if !registryBases.isEmpty {
            let content = try ContentStore(root: root)
            let images = try ImageStore(root: root, content: content)
            for local in settings.local_bases ?? [] {
                let remote = try ImageReference(parsing: bases.registry.host + "/diff-\(local):latest")
                let pulled = try ImagePuller(images: images, options: RegistryOptions()).pull(remote)
                try images.tag(try ImageReference(parsing: "localhost/diff-\(local):latest"), manifest: pulled)
            }
        }

        var request = BuildRequest(contextDirectory: testCase.directory + "/context",
                                   dockerfilePath: testCase.directory + "/Dockerfile")
        request.target = settings.target
        request.buildArguments = settings.build_args ?? [:]
        if !registryBases.isEmpty { request.buildArguments["REGISTRY"] = bases.registry.host }
        let output = scratch.path + "/image.tar"
        request.outputs = [.oci(destination: output, tar: true)]
        let builder = try Builder(root: root)
        let result: Result<BuildResult, any Error>
        do { result = .success(try await builder.build(request)) } catch { result = .failure(error) }

        if let expectedError = settings.expect_error {
            // BuildKit refuses this build; so must swiftbuild (its words may differ).
            if case .success = result {
                Issue.record("\(testCase.name): built, but BuildKit fails with \"\(expectedError)\"")
            }
            return
        }
        guard case .success = result else {
            if case .failure(let error) = result { Issue.record("\(testCase.name): the build failed: \(error)") }
            return
        }
        try Self.compare(archive: output, base: try settings.base.map { try bases.archive($0) },
                         expected: testCase.directory + "/expected.json", label: testCase.name)
    }

    /// Describes `archive` (less `base`) and compares it with the recorded description; a difference fails
    /// with describe.py's diff (- BuildKit, + swiftbuild).
    static func compare(archive: String, base: String?, expected: String, label: String) throws {
        let described = try runTool("/usr/bin/python3", [describeScript, archive] + (base.map { ["--base", $0] } ?? []))
        let recorded = try String(contentsOfFile: expected, encoding: .utf8)
        if described != recorded {
            let actual = archive + ".json"
            try Data(described.utf8).write(to: URL(fileURLWithPath: actual))
            let diff = try runProcess("/usr/bin/python3", [describeScript, "--diff", expected, actual])
            Issue.record("\(label) differs from BuildKit (- BuildKit, + swiftbuild):\n\(diff.text)")
        }
    }
}

/// The bases every case builds on, built once per test run: in one store (`root`), exported as OCI archives
/// (for describe.py's `--base`), and pushed to a registry for the cases that pull them.
actor Bases {
    static let shared = Bases()

    struct Ready: Sendable {
        let root: String
        let archives: String
        let registry: TestRegistry

        func archive(_ name: String) throws -> String {
            let path = archives + "/" + name + ".tar"
            guard FileManager.default.fileExists(atPath: path) else { throw TestFailure("no base \(name) in testdata/differential/bases") }
            return path
        }
    }

    private var made: Task<Ready, any Error>?

    func ready() async throws -> Ready {
        if let made { return try await made.value }
        let task = Task { try await Self.make() }
        made = task
        return try await task.value
    }

    /// Kept for the whole test run (the process exit removes nothing: the directory is in the system temp dir).
    private static let directory = try? TemporaryDirectory(prefix: "swiftbuild-differential-bases")

    private static func make() async throws -> Ready {
        guard let directory else { throw TestFailure("cannot make a temporary directory for the bases") }
        let corpus = DifferentialTests.corpus + "/bases"
        let root = directory.path + "/root"
        let archives = try directory.sub("archives")
        let registry = try TestRegistry()
        registry.stopAtExit()
        let builder = try Builder(root: root)
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted { a, b in
            a == "busybox" ? b != "busybox" : (b == "busybox" ? false : a < b)
        }
        for name in names {
            let folder = corpus + "/" + name
            if FileManager.default.fileExists(atPath: folder + "/prepare.sh") {
                try runTool("/bin/bash", ["-c", "cd \"$1\" && bash ./prepare.sh >/dev/null", "prepare", folder])
            }
            let tag = "localhost/diff-\(name):latest"
            var request = BuildRequest(contextDirectory: folder, dockerfilePath: folder + "/Dockerfile", tags: [tag])
            request.outputs = [.oci(destination: archives + "/" + name + ".tar", tar: true)]
            _ = try await builder.build(request)
            let local = try ImageReference(parsing: tag)
            let remote = try ImageReference(parsing: registry.host + "/diff-\(name):latest")
            _ = try ImagePusher(images: builder.images, options: RegistryOptions()) { _ in }.push(local, to: remote)
        }
        return Ready(root: root, archives: archives, registry: registry)
    }
}
