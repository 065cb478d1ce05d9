import Testing
import TestSupport
@testable import SwiftBuildDockerfile

/// 100,000 mutated words through the shell lexer, in every mode the frontend uses.
@Test func lexerSurvivesMutatedInputs() {
    var corpus = Seeds.strings(forKeys: ["input", "line", "pattern"])
    corpus += ["${A:-x}", "${A/b/c}", "${A//*/$B}", "${A#\\*}", "${A%%?}", "\"$A\" '$B' \\$C", "<<EOF x"].map { Array($0.utf8) }
    let tokens = ["$", "${", "}", "${A", ":-", ":+", ":?", "#", "##", "%", "%%", "/", "//", "\\", "`", "'", "\"",
                  "*", "?", "<<", " ", "\t", "\u{00A0}", "é", "A", "${A:-${B:-${C}}}"]
    let env = ShellEnvironment(entries: ["A=alpha beta", "B=*", "C=", "PWD=/home"])
    let lexers = [
        ShellLexer(),
        ShellLexer(escapeToken: "`"),
        ShellLexer(escapeToken: "\\", options: [.rawQuotes, .rawEscapes, .skipUnsetEnv]),
        ShellLexer(escapeToken: "\\", options: [.skipProcessQuotes]),
    ]
    var succeeded = 0
    var i = 0
    let result = fuzz(count: 100_000, seed: 0x1E4E_5EED, corpus: corpus, tokens: tokens) { input in
        let text = String(decoding: input, as: UTF8.self)
        let lexer = lexers[i % lexers.count]
        i += 1
        if (try? lexer.processWordWithMatches(text, environment: env)) != nil { succeeded += 1 }
        _ = try? lexer.processWords(text, environment: env)
    }
    #expect(succeeded > 10_000)
    #expect(result.slowest < .seconds(1), "slowest input: \(String(decoding: result.slowestInput.prefix(200), as: UTF8.self))")
    print("lexer fuzz: 100000 inputs, \(succeeded) expanded, total \(result.total), slowest \(result.slowest)")
}
