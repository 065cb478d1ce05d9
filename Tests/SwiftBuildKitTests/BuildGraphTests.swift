import Foundation
import Testing
import TestSupport
import SwiftBuildDockerfile
import SwiftBuildOCI
@testable import SwiftBuildKit

private func graph(_ text: String, target: String? = nil, args: [String: String] = [:]) throws -> BuildGraph {
    let def = try BuildDefinition(parsing: text)
    let resolver = StageResolver(definition: def, buildArguments: args,
                                 buildPlatform: BuildPlatform(os: "linux", architecture: "amd64"))
    return try BuildGraph(definition: def, target: target, resolver: resolver)
}

@Suite struct BuildGraphTests {
    let multiStage = """
        FROM busybox AS base
        RUN echo base
        FROM base AS build
        RUN echo build
        FROM busybox AS docs
        RUN false
        FROM scratch AS tools
        COPY --from=busybox /bin/busybox /busybox
        FROM scratch
        COPY --from=build /out /out
        RUN --mount=from=tools,target=/t true
        """

    @Test func prunesToTheTargetAndOrdersDependenciesFirst() throws {
        let g = try graph(multiStage)
        #expect(g.nodes.map(\.stage.stage.index) == [0, 1, 3, 4])
        #expect(g.target == 4)
        #expect(g.node(4)?.dependencies == [1, 3])
        #expect(g.node(1)?.base == .stage(0))
        #expect(g.node(0)?.base == .image("busybox"))
        #expect(g.node(3)?.base == .scratch)
        #expect(g.node(3)?.imageInputs == ["busybox"])
        #expect(g.node(2) == nil, "the unused 'docs' stage is not built")
        #expect(try graph(multiStage, target: "build").nodes.map(\.stage.stage.index) == [0, 1])
        #expect(try graph(multiStage, target: "DOCS").nodes.map(\.stage.stage.index) == [2])
    }

    @Test func aBrokenUnusedStageDoesNotFailTheBuild() throws {
        let text = "FROM scratch AS broken\nWORKDIR ${MISSING:?is required}\nFROM scratch\nCOPY a /a\n"
        #expect(try graph(text).nodes.count == 1)
        #expect(throws: DockerfileError.self) { try graph(text, target: "broken") }
    }

    @Test func stageIndicesAndArgsInFrom() throws {
        let g = try graph("ARG BASE=scratch\nFROM ${BASE}\nFROM scratch\nCOPY --from=0 /x /x\n")
        #expect(g.node(1)?.dependencies == [0])
        #expect(g.node(0)?.base == .scratch)
        #expect(try graph("ARG BASE=scratch\nFROM ${BASE}\n", args: ["BASE": "alpine:3"]).node(0)?.base == .image("alpine:3"))
    }

    @Test func unknownTargetIsAnError() {
        #expect(throws: DockerfileError.self) { try graph("FROM scratch\n", target: "nope") }
    }
}

@Suite struct CacheTests {
    @Test func keysAreStableAndSensitiveToEveryPart() {
        let a = CacheKey([.init(name: "parent", value: "x"), .init(name: "instruction", value: "RUN a")])
        let b = CacheKey([.init(name: "parent", value: "x"), .init(name: "instruction", value: "RUN a")])
        let c = CacheKey([.init(name: "parent", value: "x"), .init(name: "instruction", value: "RUN b")])
        let d = CacheKey([.init(name: "parent", value: "xinstruction"), .init(name: "", value: "RUN a")])
        #expect(a == b && a.digest == b.digest)
        #expect(a.digest != c.digest)
        #expect(a.digest != d.digest, "parts are length-prefixed")
        #expect(CacheKey.canonical(.workdir("/a")) == #"{"workdir":{"_0":"/a"}}"#)
    }

    @Test func recordsRoundTripAndMissWithoutTheirBlob() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let content = try ContentStore(root: root)
        let cache = try CacheStore(root: root, content: content)
        let key = CacheKey([.init(name: "k", value: "1")])
        #expect(try cache.lookup(key) == nil)
        let empty = CacheRecord(layer: nil, created: "2026-01-01T00:00:00Z")
        try cache.store(empty, for: key)
        #expect(try cache.lookup(key) == empty)

        let blob = try content.ingest(bytes: Array("layer".utf8))
        let withLayer = CacheRecord(layer: .init(digest: blob.digest, diffID: blob.digest,
                                                 size: blob.size, mediaType: .ociLayer),
                                    created: "2026-01-01T00:00:00Z")
        let key2 = CacheKey([.init(name: "k", value: "2")])
        try cache.store(withLayer, for: key2)
        #expect(try cache.lookup(key2) == withLayer)
        try content.delete(blob.digest)
        #expect(try cache.lookup(key2) == nil, "a record whose layer is gone is a miss")
        // No temp files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.directory).allSatisfy { $0.hasSuffix(".json") })
    }

    @Test func aDamagedRecordIsAnErrorThatNamesIt() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let content = try ContentStore(root: root)
        let cache = try CacheStore(root: root, content: content)
        let key = CacheKey([.init(name: "k", value: "bad")])
        let file = cache.directory + "/" + key.digest.encoded + ".json"
        for text in [#"{"created":"x","layer":{"digest":"sha256:nothex","diffID":"sha256:00","size":1,"mediaType":"application/vnd.oci.image.layer.v1.tar"}}"#,
                     #"{"created":"x","layer":{"digest":"sha256:\#(String(repeating: "a", count: 64))","diffID":"sha256:\#(String(repeating: "a", count: 64))","size":1,"mediaType":"text/plain"}}"#,
                     "{truncated"] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            #expect {
                _ = try cache.lookup(key)
            } throws: { error in
                "\(error)".contains(file) && "\(error)".contains("corrupt")
            }
        }
    }
}

@Suite struct BuildRequestParsingTests {
    @Test func outputs() throws {
        #expect(try BuildOutput.parse("type=oci,dest=out.tar") == .oci(destination: "out.tar", tar: true))
        #expect(try BuildOutput.parse("type=oci,dest=dir,tar=false") == .oci(destination: "dir", tar: false))
        #expect(try BuildOutput.parse("type=docker,dest=img.tar") == .docker(destination: "img.tar"))
        #expect(try BuildOutput.parse("./rootfs") == .local(destination: "./rootfs"))
        #expect(try BuildOutput.parse("type=tar,dest=-") == .tar(destination: "-"))
        #expect(throws: BuildRequestError.self) { try BuildOutput.parse("type=registry,dest=x") }
        #expect(throws: BuildRequestError.self) { try BuildOutput.parse("type=oci") }
    }

    @Test func secrets() throws {
        #expect(try SecretSource.parse("id=tok,src=/run/tok") == ("tok", .file("/run/tok")))
        #expect(try SecretSource.parse("id=tok,env=TOKEN") == ("tok", .environment("TOKEN")))
        #expect(try SecretSource.parse("id=TOKEN") == ("TOKEN", .environment("TOKEN")))
        #expect(throws: BuildRequestError.self) { try SecretSource.parse("src=/x") }
    }
}
