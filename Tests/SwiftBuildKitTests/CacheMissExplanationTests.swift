import Foundation
import Synchronization
import Testing
import TestSupport
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// Every step that misses says why, against the last build of the same step; a step that hits says nothing.
@Suite(.serialized) struct CacheMissExplanationTests {
    static func misses(_ h: BuildHarness) -> [String: CacheMissExplanation] {
        var planned: [Int: String] = [:]
        for case .stepPlanned(let s) in h.events { planned[s.id] = s.text }
        var out: [String: CacheMissExplanation] = [:]
        for case .stepCacheMiss(let id, let explanation) in h.events { out[planned[id] ?? "?"] = explanation }
        return out
    }

    @Test func filesAddedChangedAndRemovedAreNamed() async throws {
        let h = try BuildHarness()
        for i in 0..<14 { try h.write("app/m\(i).py", "print(\(i))\n") }
        let dockerfile = "FROM localhost/busybox\nCOPY app /app\nCOPY Dockerfile /Dockerfile\n"
        _ = try await h.build(dockerfile)
        #expect(Self.misses(h)["COPY app /app"]?.reason == "no earlier build of this step")
        _ = try await h.build(dockerfile)
        #expect(Self.misses(h).isEmpty, "a build that hits says nothing")

        try h.write("app/m1.py", "print('changed')\n")
        try h.write("app/new.py", "new\n")
        try FileManager.default.removeItem(atPath: h.context + "/app/m2.py")
        _ = try await h.build(dockerfile)
        let copy = try #require(Self.misses(h)["COPY app /app"])
        #expect(copy.reason == "files changed: app/m1.py, -app/m2.py, +app/new.py")
        #expect(copy.parts.map(\.name) == ["file app/m1.py", "file app/m2.py", "file app/new.py"])
        let removed = try #require(copy.parts.first { $0.name == "file app/m2.py" })
        #expect(!removed.before.isEmpty && removed.after.isEmpty)
        #expect(Self.misses(h)["COPY Dockerfile /Dockerfile"]?.reason == "an earlier step changed")

        // More than the limit: ten named, the rest counted; --explain's details name them all.
        for i in 0..<14 where i != 2 { try h.write("app/m\(i).py", "print(\(i * 2))\n") }
        _ = try await h.build(dockerfile)
        let many = try #require(Self.misses(h)["COPY app /app"])
        // 12 changed (m0 was rewritten with the same content; m2 is gone).
        #expect(many.reason.hasSuffix("(and 2 more)"), "\(many.reason)")
        #expect(many.parts.last == .init(name: "files", before: "", after: "2 more"))
        #expect(many.details.count == 12)

        _ = try await h.build(dockerfile) { $0.noCache = true }
        #expect(Self.misses(h)["COPY app /app"]?.reason == "the cache was not used (--no-cache)")

        // Another Dockerfile name over the same steps: it hits everything, and still remembers them, so its
        // next miss is explained.
        try h.write("Other.Dockerfile", dockerfile)
        let other = { try await h.build(dockerfile) { $0.dockerfilePath = h.context + "/Other.Dockerfile" } }
        _ = try await other()
        #expect(Self.misses(h).isEmpty)
        try h.write("app/m3.py", "print('other')\n")
        _ = try await other()
        #expect(Self.misses(h)["COPY app /app"]?.reason == "files changed: app/m3.py")
        // Back to the content the first Dockerfile last built: the other one hits the first one's records, and
        // that hit is its last build of the step, so the next change is explained against it.
        try h.write("app/m3.py", "print(6)\n")
        _ = try await other()
        #expect(Self.misses(h).isEmpty)
        try h.write("app/m4.py", "print('four')\n")
        _ = try await other()
        #expect(Self.misses(h)["COPY app /app"]?.reason == "files changed: app/m4.py")
    }

    @Test func aChangedBaseImageAndInstructionAreNamed() async throws {
        let h = try BuildHarness()
        try h.write("base.txt", "one\n")
        try h.write("x.txt", "x\n")
        // The base has a Dockerfile of its own (its history is its own).
        try h.write("base.Dockerfile", "FROM localhost/busybox\nCOPY base.txt /base.txt\n")
        let buildBase = { try await h.build("", tags: ["localhost/base:1"]) { $0.dockerfilePath = h.context + "/base.Dockerfile" } }
        _ = try await buildBase()
        let app = "FROM localhost/base:1\nCOPY x.txt /x.txt\n"
        _ = try await h.build(app)
        try h.write("base.txt", "two\n")
        _ = try await buildBase()
        _ = try await h.build(app)
        let copy = try #require(Self.misses(h)["COPY x.txt /x.txt"])
        #expect(copy.reason == "the base image changed")
        let base = try #require(copy.parts.first { $0.name == "base" })
        #expect(base.before.hasPrefix("localhost/base:1@sha256:") && base.after.hasPrefix("localhost/base:1@sha256:"))
        #expect(base.before != base.after)

        // The same position with another instruction.
        _ = try await h.build("FROM localhost/base:1\nCOPY base.txt /x.txt\n")
        let other = try #require(Self.misses(h)["COPY base.txt /x.txt"])
        #expect(other.reason.hasPrefix("the instruction changed"), "\(other.reason)")
        #expect(other.parts.first == .init(name: "instruction", before: "COPY x.txt /x.txt", after: "COPY base.txt /x.txt"))
    }

    @Test(.enabled(if: getuid() == 0, "RUN needs root"))
    func changedBuildArgumentsAreNamedAndSecretOnesHidden() async throws {
        let h = try BuildHarness()
        let dockerfile = "FROM localhost/busybox\nARG VERSION=1\nARG NPM_TOKEN\nRUN echo $VERSION > /v\n"
        _ = try await h.build(dockerfile) { $0.buildArguments = ["NPM_TOKEN": "npm_first_value"] }
        _ = try await h.build(dockerfile) { $0.buildArguments = ["VERSION": "2", "NPM_TOKEN": "npm_second_value"] }
        let run = try #require(Self.misses(h)["RUN echo $VERSION > /v"])
        #expect(run.reason == "ARG NPM_TOKEN, VERSION changed", "\(run.reason)")
        #expect(run.parts.contains(.init(name: "ARG VERSION", before: "1", after: "2")))
        let token = try #require(run.parts.first { $0.name == "ARG NPM_TOKEN" })
        #expect(token.before.hasPrefix("(hidden") && token.after.hasPrefix("(hidden") && token.before != token.after)
        let explain = h.root + "/cache/explain"
        let stored = (FileManager.default.subpaths(atPath: explain) ?? [])
            .map { String(decoding: FileManager.default.contents(atPath: explain + "/" + $0) ?? Data(), as: UTF8.self) }
            .joined()
        #expect(stored.contains("ARG VERSION") || stored.contains("VERSION=2"), "the history was written")
        #expect(!stored.contains("npm_second_value") && !stored.contains("npm_first_value"), "secret values are not stored")
    }

    @Test(.enabled(if: getuid() == 0, "RUN needs root"))
    func changedEnvironmentAndMountsAreNamed() async throws {
        let h = try BuildHarness()
        try h.write("data/x.txt", "one\n")
        func dockerfile(_ mode: String) -> String {
            "FROM localhost/busybox\nENV MODE=\(mode)\nRUN --mount=type=bind,source=data,target=/data cat /data/x.txt > /y\n"
        }
        let run = "RUN --mount=type=bind,source=data,target=/data cat /data/x.txt > /y"
        _ = try await h.build(dockerfile("a"))
        _ = try await h.build(dockerfile("b"))
        let env = try #require(Self.misses(h)[run])
        #expect(env.reason == "ENV MODE changed", "\(env.reason)")
        #expect(env.parts == [.init(name: "ENV MODE", before: "a", after: "b")])
        try h.write("data/x.txt", "two\n")
        _ = try await h.build(dockerfile("b"))
        let mount = try #require(Self.misses(h)[run])
        #expect(mount.reason == "mount[0] changed", "\(mount.reason)")
        #expect(mount.parts.map(\.name) == ["mount[0]"])
    }

    /// The JSON progress event: `{"event": "cache_miss", "step", "reason", "parts": [{"name", "before", "after"}]}`.
    @Test func jsonEventSchema() throws {
        let lines = Mutex<[String]>([])
        let renderer = ProgressRenderer(mode: .json) { text in lines.withLock { $0.append(text) } }
        renderer.handle(.stepCacheMiss(id: 3, explanation: .init(
            reason: "ARG V changed", parts: [.init(name: "ARG V", before: "1", after: "2")], details: [])))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines.withLock { $0 }.joined().utf8)) as? [String: Any])
        #expect(object["event"] as? String == "cache_miss")
        #expect(object["step"] as? Int == 3)
        #expect(object["reason"] as? String == "ARG V changed")
        #expect((object["parts"] as? [[String: String]]) == [["name": "ARG V", "before": "1", "after": "2"]])
        let plain = Mutex<[String]>([])
        let renderer2 = ProgressRenderer(mode: .plain) { text in plain.withLock { $0.append(text) } }
        renderer2.handle(.stepCacheMiss(id: 3, explanation: .init(reason: "ARG V changed", parts: [], details: [])))
        #expect(plain.withLock { $0 } == ["#3 MISS ARG V changed\n"])
    }
}
