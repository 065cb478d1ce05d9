import Testing
import TestSupport
@testable import SwiftBuildDockerfile

/// 100,000 mutated Dockerfiles through the parser and the typed-instruction layer: any crash fails the
/// whole test run, and no single input may take long (a hang or quadratic blow-up shows here).
@Test func parserSurvivesMutatedInputs() {
    let corpus = Seeds.dockerfiles()
    #expect(corpus.count > 50)
    let tokens = ["\\\n", "`\n", "\\", "\n", "\r\n", "<<EOF\n", "<<-'E O'\n", "EOF\n", "\t", "\"", "'", "[", "]",
                  "[\"a\",", "{", "}", "$", "${A:-", "#", "# escape=`\n", "# syntax=x\n", "--mount=type=cache,target=/x ",
                  "--", "=", "ONBUILD ", "RUN ", "COPY ", "FROM a AS b\n", "ENV ", "\u{FEFF}", "\u{00A0}", "\u{FFFD}", "\u{0}"]
    var parsed = 0
    var typed = 0
    let result = fuzz(count: 100_000, seed: 0x5EED_D0C4, corpus: corpus, tokens: tokens) { input in
        guard let file = try? DockerfileParser().parse(bytes: input) else { return }
        parsed += 1
        _ = file.dump
        guard let def = try? BuildDefinition(file) else { return }
        typed += 1
        let resolver = StageResolver(definition: def, buildArguments: ["A": "1"],
                                     buildPlatform: BuildPlatform(os: "linux", architecture: "amd64"))
        for stage in def.stages { _ = try? resolver.resolve(stage) }
    }
    #expect(parsed > 10_000, "mutations should still parse often enough to reach the instruction layer")
    #expect(typed > 1_000)
    #expect(result.slowest < .seconds(1), "slowest input: \(String(decoding: result.slowestInput.prefix(200), as: UTF8.self))")
    print("parser fuzz: 100000 inputs, \(parsed) parsed, \(typed) typed, total \(result.total), slowest \(result.slowest)")
}
