import Testing
import TestSupport
@testable import SwiftBuildDockerfile

/// Parses one instruction after a FROM line, returning it or the error's formatted text.
private func typed(_ line: String) throws -> Instruction {
    let def = try BuildDefinition(parsing: "FROM scratch\n" + line + "\n")
    return try #require(def.stages.first?.instructions.first).instruction
}

private func error(_ text: String) -> String? {
    do {
        _ = try BuildDefinition(parsing: text)
        return nil
    } catch {
        return error.description
    }
}

@Suite struct InstructionParserTests {
    @Test func fromForms() throws {
        let def = try BuildDefinition(parsing: "FROM --platform=linux/arm64 golang:1.22 AS Build\nFROM build\nFROM 0\n")
        #expect(def.stages.count == 3)
        #expect(def.stages[0].from == .init(base: "golang:1.22", stageName: "Build", platform: "linux/arm64"))
        #expect(def.stages[0].name == "build")
        #expect(def.stage(named: "BUILD")?.index == 0)
        #expect(def.stage(named: "0", before: 2)?.index == 0)
        #expect(def.stage(named: "golang") == nil)
        #expect(try def.target(nil).index == 2)
        #expect(try def.target("build").index == 0)
    }

    @Test(arguments: [
        ("FROM a b\n", "Dockerfile:1:1: FROM requires either one or three arguments"),
        ("FROM a is b\n", "Dockerfile:1:1: when using FROM with three arguments, the second argument must be \"AS\""),
        ("FROM a AS 1x\n", "Dockerfile:1:1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols"),
        ("FROM a AS x\nFROM b AS X\n", "Dockerfile:2:1: duplicate stage name \"x\""),
        ("RUN true\n", "Dockerfile:1:1: no build stage in current context"),
        ("FROM a\n  FOO bar\n", "Dockerfile:2:3: unknown instruction: FOO"),
        ("FROM a\nCOPY --form=x a b\n", "Dockerfile:2:1: unknown flag: form (did you mean from?)"),
        ("FROM a\nCOPY --from a b\n", "Dockerfile:2:1: missing a value on flag: from"),
        ("FROM a\nCOPY --link=maybe a b\n", "Dockerfile:2:1: expecting boolean value for flag link, not: maybe"),
        ("FROM a\nCOPY --from=x --from=y a b\n", "Dockerfile:2:1: duplicate flag specified: from"),
        ("FROM a\nCOPY onlyone\n", "Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined."),
        ("FROM a\nADD --chmod=999 a b\n", "Dockerfile:2:1: invalid chmod parameter: '999'. it should be octal string and between 0 and 07777"),
        ("FROM a\nRUN --mount=type=nfs,target=/x true\n", "Dockerfile:2:1: unsupported mount type \"nfs\""),
        ("FROM a\nRUN --mount=type=cache,tagret=/x true\n", "Dockerfile:2:1: unexpected key 'tagret' in 'tagret=/x'"),
        ("FROM a\nRUN --mount=type=cache true\n", "Dockerfile:2:1: mount type=cache requires a target"),
        ("FROM a\nRUN --network=bridge true\n", "Dockerfile:2:1: unsupported network mode \"bridge\""),
        ("FROM a\nRUN --security=privileged true\n", "Dockerfile:2:1: unsupported security mode \"privileged\""),
        ("FROM a\nUSER\n", "Dockerfile:2:1: USER requires exactly one argument"),
        ("FROM a\nWORKDIR\n", "Dockerfile:2:1: WORKDIR requires exactly one argument"),
        ("FROM a\nSHELL sh -c\n", "Dockerfile:2:1: SHELL requires the arguments to be in JSON form"),
        ("FROM a\nONBUILD ONBUILD RUN x\n", "Dockerfile:2:1: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM a\nONBUILD FROM x\n", "Dockerfile:2:1: FROM isn't allowed as an ONBUILD trigger"),
        ("FROM a\nHEALTHCHECK BOGUS x\n", "Dockerfile:2:1: Unknown type \"BOGUS\" in HEALTHCHECK (try CMD)"),
        ("FROM a\nHEALTHCHECK NONE x\n", "Dockerfile:2:1: HEALTHCHECK NONE takes no arguments"),
        ("FROM a\nHEALTHCHECK --interval=1us CMD true\n", "Dockerfile:2:1: Interval \"interval\" cannot be less than 1ms"),
        ("FROM a\nHEALTHCHECK --retries=-1 CMD true\n", "Dockerfile:2:1: --retries cannot be negative (-1)"),
        ("FROM a\nARG =x\n", "Dockerfile:2:1: ARG names can not be blank"),
        ("FROM a\nVOLUME [\"\"]\n", "Dockerfile:2:1: VOLUME specified can not be an empty string"),
        ("FROM a\nEXPOSE\n", "Dockerfile:2:1: EXPOSE requires at least one argument"),
    ])
    func errorsNameTheLineAndTheProblem(text: String, message: String) {
        #expect(error(text) == message)
    }

    @Test func runMountsAndModes() throws {
        let i = try typed("RUN --mount=type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=1 --mount=type=secret,id=tok --mount=type=ssh --network=none --security=insecure pip install x")
        guard case .run(let run) = i else { Issue.record("not RUN"); return }
        #expect(run.command == .shell("pip install x"))
        #expect(run.network == .none)
        #expect(run.security == .insecure)
        #expect(run.mounts.count == 3)
        #expect(run.mounts[0].kind == .cache && run.mounts[0].sharing == .locked && run.mounts[0].mode == 0o700)
        #expect(run.mounts[0].uid == 1 && !run.mounts[0].readOnly && run.mounts[0].id == "/root/.cache")
        #expect(run.mounts[1].kind == .secret && run.mounts[1].target == "/run/secrets/tok")
        #expect(run.mounts[2].kind == .ssh && run.mounts[2].id == "default" && run.mounts[2].target == "/run/buildkit/ssh_agent.0")
        guard case .run(let bind) = try typed("RUN --mount=from=build,source=/out,target=/in,rw [\"ls\", \"/in\"]") else {
            Issue.record("not RUN"); return
        }
        #expect(bind.command == .exec(["ls", "/in"]))
        #expect(bind.mounts == [Mount(kind: .bind, target: "/in", source: "/out", from: "build", readOnly: false, id: nil,
                                      sharing: .shared, mode: nil, uid: nil, gid: nil, required: false, size: nil, env: nil)])
    }

    @Test func copyAndAddFlags() throws {
        guard case .copy(let c) = try typed("COPY --from=build --chown=1:2 --chmod=u+x,go-w --link --parents --exclude=*.md --exclude=tmp a b /dst/") else {
            Issue.record("not COPY"); return
        }
        #expect(c.from == "build" && c.parents)
        #expect(c.transfer.sources == ["a", "b"] && c.transfer.destination == "/dst/")
        #expect(c.transfer.chown == "1:2" && c.transfer.link && c.transfer.excludes == ["*.md", "tmp"])
        #expect(c.transfer.chmod?.apply(to: 0o644, isDirectory: false) == 0o744)
        guard case .add(let a) = try typed("ADD --checksum=sha256:abc --keep-git-dir --unpack=false https://x/y.tgz /z") else {
            Issue.record("not ADD"); return
        }
        #expect(a.checksum == "sha256:abc" && a.keepGitDir && a.unpack == false)
        #expect(a.transfer.sources == ["https://x/y.tgz"])
        guard case .copy(let h) = try typed("COPY <<EOF /etc/motd\nhello\nEOF") else { Issue.record("not COPY"); return }
        #expect(h.transfer.heredocs.first?.content == "hello\n")
    }

    @Test func chmodForms() throws {
        #expect(try Chmod.parse("0755") == .octal(0o755))
        #expect(try Chmod.parse("4755") == .octal(0o4755))
        #expect(try Chmod.parse("a=r").apply(to: 0o777, isDirectory: false) == 0o444)
        #expect(try Chmod.parse("+X").apply(to: 0o644, isDirectory: true) == 0o755)
        #expect(try Chmod.parse("+X").apply(to: 0o644, isDirectory: false) == 0o644)
        #expect(try Chmod.parse("u+s,o-rwx").apply(to: 0o755, isDirectory: false) == 0o4750)
        #expect(throws: Chmod.Failure.self) { try Chmod.parse("u+q") }
        #expect(throws: Chmod.Failure.self) { try Chmod.parse("10000") }
        #expect(throws: Chmod.Failure.self) { try Chmod.parse("u") }
    }

    @Test func healthcheckAndOnbuild() throws {
        #expect(try typed("HEALTHCHECK NONE") == .healthcheck(.none))
        #expect(try typed("HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 CMD curl -f http://x/")
                == .healthcheck(.check(.init(test: ["CMD-SHELL", "curl -f http://x/"], interval: 30_000_000_000,
                                             timeout: 90_000_000_000, startPeriod: 5_000_000_000,
                                             startInterval: 500_000_000, retries: 3))))
        #expect(try typed("HEALTHCHECK CMD [\"/bin/check\", \"-q\"]")
                == .healthcheck(.check(.init(test: ["CMD", "/bin/check", "-q"], interval: nil, timeout: nil,
                                             startPeriod: nil, startInterval: nil, retries: nil))))
        guard case .onbuild(let o) = try typed("ONBUILD COPY --from=x a /b") else { Issue.record("not ONBUILD"); return }
        #expect(o.expression == "COPY --from=x a /b")
        guard case .copy(let c) = o.trigger else { Issue.record("trigger not COPY"); return }
        #expect(c.from == "x")
    }

    @Test func envLabelArgForms() throws {
        #expect(try typed("ENV A=1 B=\"two words\"") == .env([.init(key: "A", value: "1"), .init(key: "B", value: "\"two words\"")]))
        #expect(try typed("ENV PATH /usr/bin:/bin") == .env([.init(key: "PATH", value: "/usr/bin:/bin")]))
        #expect(try typed("LABEL a=b") == .label([.init(key: "a", value: "b")]))
        #expect(try typed("ARG A B=2") == .arg([.init(name: "A", defaultValue: nil), .init(name: "B", defaultValue: "2")]))
        #expect(try typed("STOPSIGNAL SIGTERM") == .stopSignal("SIGTERM"))
        #expect(try typed("EXPOSE 80/tcp 53/udp") == .expose(["80/tcp", "53/udp"]))
        #expect(try typed("VOLUME /a /b") == .volume(["/a", "/b"]))
        #expect(try typed("SHELL [\"/bin/bash\", \"-c\"]") == .shell(["/bin/bash", "-c"]))
        #expect(try typed("CMD [\"a\"]") == .cmd(.exec(["a"])))
        #expect(try typed("ENTRYPOINT run me") == .entrypoint(.shell("run me")))
    }

    @Test func globalArgsGoBeforeTheFirstFrom() throws {
        let def = try BuildDefinition(parsing: "ARG BASE=alpine\nARG TAG\nFROM $BASE:$TAG\nARG TAG\n")
        #expect(def.globalArgs.count == 2)
        #expect(def.stages[0].instructions.count == 1)
    }
}
