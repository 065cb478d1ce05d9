import Foundation
import Testing
import TestSupport
@testable import SwiftBuildDockerfile

private let amd64 = BuildPlatform(os: "linux", architecture: "amd64")

private func resolve(_ text: String, args: [String: String] = [:], target: String? = nil,
                     baseEnv: [Instruction.KeyValue] = []) throws -> ResolvedStage {
    let def = try BuildDefinition(parsing: text)
    let resolver = StageResolver(definition: def, buildArguments: args, buildPlatform: amd64,
                                 targetPlatform: BuildPlatform(os: "linux", architecture: "arm64", variant: "v8"))
    return try resolver.resolve(try def.target(target), baseEnvironment: baseEnv)
}

@Suite struct StageResolverTests {
    @Test func fromUsesGlobalArgsAndBuildArgs() throws {
        let text = "ARG PY=3.12\nARG BASE=python:${PY}-slim\nFROM ${BASE} AS app\n"
        #expect(try resolve(text).base == "python:3.12-slim")
        #expect(try resolve(text, args: ["PY": "3.11"]).base == "python:3.11-slim")
        #expect(try resolve(text, args: ["BASE": "debian"]).base == "debian")
        // Platform ARGs are predefined in the global scope.
        #expect(try resolve("FROM --platform=$BUILDPLATFORM img:$TARGETARCH\n").platform == "linux/amd64")
        #expect(try resolve("FROM img:$TARGETARCH$TARGETVARIANT\n").base == "img:arm64v8")
        // A FROM that expands to nothing is an error at its line.
        #expect(throws: DockerfileError.self) { try resolve("ARG NOTHING\nFROM $NOTHING\n") }
    }

    @Test func globalArgsReachAStageOnlyWhenRedeclared() throws {
        let text = """
            ARG VERSION=1.0
            FROM scratch
            LABEL before=$VERSION
            ARG VERSION
            LABEL after=$VERSION
            """
        let steps = try resolve(text).steps
        #expect(steps[0].instruction == .label([.init(key: "before", value: "")]))
        #expect(steps[2].instruction == .label([.init(key: "after", value: "1.0")]))
        #expect(try resolve(text, args: ["VERSION": "2"]).steps[2].instruction == .label([.init(key: "after", value: "2")]))
    }

    @Test func envOverridesArgAndExpandsInOrder() throws {
        let text = """
            FROM scratch
            ARG A=from-arg
            ENV A=from-env B=${A}-b
            WORKDIR /srv/$A
            ENV C="quoted value" D='single $A' E=\\$A
            COPY --chown=${A}:0 src/$A /dst/${B}/
            USER ${UNSET:-nobody}
            RUN echo $A
            EXPOSE ${PORT:-8080}/tcp
            """
        let steps = try resolve(text).steps
        #expect(steps[1].instruction == .env([.init(key: "A", value: "from-env"), .init(key: "B", value: "from-arg-b")]))
        #expect(steps[2].instruction == .workdir("/srv/from-env"))
        #expect(steps[3].instruction == .env([.init(key: "C", value: "quoted value"), .init(key: "D", value: "single $A"),
                                              .init(key: "E", value: "$A")]))
        guard case .copy(let c) = steps[4].instruction else { Issue.record("not COPY"); return }
        #expect(c.transfer.chown == "from-env:0" && c.transfer.sources == ["src/from-env"]
                && c.transfer.destination == "/dst/from-arg-b/")
        #expect(steps[5].instruction == .user("nobody"))
        // RUN is not expanded by the frontend: the shell does it, with ARG values in its environment.
        #expect(steps[6].instruction == .run(.init(command: .shell("echo $A"), mounts: [], network: .default,
                                                   security: .sandbox, heredocs: [])))
        #expect(steps[6].arguments == [.init(key: "A", value: "from-arg")])
        #expect(steps[7].instruction == .expose(["8080/tcp"]))
        #expect(steps.last?.environment.map(\.key) == ["A", "B", "C", "D", "E"])
    }

    @Test func baseImageEnvironmentIsVisible() throws {
        let steps = try resolve("FROM img\nENV PATH=/opt/bin:$PATH\n",
                                baseEnv: [.init(key: "PATH", value: "/usr/bin")]).steps
        #expect(steps[0].instruction == .env([.init(key: "PATH", value: "/opt/bin:/usr/bin")]))
        #expect(steps[0].environment == [.init(key: "PATH", value: "/opt/bin:/usr/bin")])
    }

    @Test func predefinedPlatformArgsNeedDeclarationInsideAStage() throws {
        let steps = try resolve("FROM scratch\nLABEL a=$TARGETOS\nARG TARGETOS TARGETPLATFORM\nLABEL b=$TARGETOS c=$TARGETPLATFORM\n").steps
        #expect(steps[0].instruction == .label([.init(key: "a", value: "")]))
        #expect(steps[2].instruction == .label([.init(key: "b", value: "linux"), .init(key: "c", value: "linux/arm64/v8")]))
    }

    @Test func mountOptionsAreExpanded() throws {
        let steps = try resolve("FROM scratch\nARG CACHE=/root/.cache\nRUN --mount=type=cache,target=$CACHE/pip pip install x\n").steps
        guard case .run(let run) = steps[1].instruction else { Issue.record("not RUN"); return }
        #expect(run.mounts.first?.target == "/root/.cache/pip")
    }

    @Test func expansionErrorsAreLocated() throws {
        do {
            _ = try resolve("FROM scratch\nARG REQUIRED\nWORKDIR ${REQUIRED:?must be set}\n")
            Issue.record("expected an error")
        } catch let error as DockerfileError {
            #expect(error.range?.start.line == 3)
            #expect(error.message.contains("REQUIRED: must be set"), "\(error.message)")
        }
    }

    @Test func theExampleResolves() throws {
        let text = try String(contentsOfFile: Seeds.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Dockerfiles/ml-train/Dockerfile").path, encoding: .utf8)
        let stage = try resolve(text)
        #expect(stage.base == "localhost/busybox:latest")
        #expect(stage.steps.contains { $0.instruction == .label([
            .init(key: "org.opencontainers.image.title", value: "ml-train"),
            .init(key: "org.opencontainers.image.description", value: "linear regression trained with busybox awk")]) })
    }
}
