import Testing
import TestSupport
import SwiftBuildDockerfile

private let home = ShellEnvironment(entries: ["PWD=/home", "V=*x", "X=a b"])

@Test("backtick escape token", arguments: [
    ("he`$PWD", "he$PWD"),
    ("he$PWD", "he/home"),
    ("a\\b", "a\\b"),                 // the backslash is an ordinary character
    ("hello`", "hello"),              // a trailing escape token is dropped
    ("a``b", "a`b"),
    ("\"a`\"b\"", "a\"b"),            // escapes `"` inside double quotes
    ("\"a``b\"", "a`b"),
    ("\"a`tb\"", "a`tb"),             // stays before other characters
    ("\"a\\tb\"", "a\\tb"),
    ("'a`b'", "a`b"),                 // nothing is escaped in single quotes
    ("${V#\\*}", "x"),                // patterns always use `\` as their escape
])
func backtickEscape(_ input: String, _ expected: String) throws {
    let lexer = ShellLexer(escapeToken: "`")
    #expect(try lexer.processWord(input, environment: home) == expected)
}

@Test func backtickEscapeInWords() throws {
    let lexer = ShellLexer(escapeToken: "`")
    #expect(try lexer.processWords("a` b c\\ d $X", environment: home) == ["a b", "c\\", "d", "a", "b"])
    #expect(throws: ShellLexerError.self) { try lexer.processWord("\"abc`\"", environment: home) }
}

@Test func rawModeKeepsHeredocOpenersTogether() throws {
    // The parser's heredoc search: escape `\`, quotes and escapes kept, unset variables left as written.
    let lexer = ShellLexer(options: [.rawQuotes, .rawEscapes, .skipUnsetEnv])
    let words = try lexer.processWords(#"RUN <<  EOF 3<<-"E F" cat 'a b' \$X $Y ${Z:-w} <<- EOF"#,
                                       environment: ShellEnvironment())
    #expect(words == ["RUN", "<<  EOF", "3<<-\"E F\"", "cat", "'a b'", "\\$X", "$Y", "${Z:-w}", "<<-", "EOF"])
    #expect(try lexer.processWords("a <<\t\r b", environment: ShellEnvironment()) == ["a", "<<\t\r b"])
    #expect(throws: ShellLexerError.self) { try lexer.processWords("RUN <<'EOF", environment: ShellEnvironment()) }
}

@Test func skipUnsetEnvReproducesReferences() throws {
    let lexer = ShellLexer(options: .skipUnsetEnv)
    let env = ShellEnvironment(entries: ["A=1"])
    #expect(try lexer.processWord("$N ${N} ${N:-$A} ${N#x*} ${N//a/$A} $A", environment: env)
        == "$N ${N} ${N:-1} ${N#x*} ${N/a/1} 1")
}

@Test func patternOperators() throws {
    let env = ShellEnvironment(entries: ["V=a/b/c", "NL=a\nb", "P=\n*", "T=foo"])
    let lexer = ShellLexer()
    #expect(try lexer.processWord("${V#*/}|${V##*/}|${V%/*}|${V%%/*}", environment: env) == "b/c|c|a/b|a")
    #expect(try lexer.processWord("${V/?\\//X}|${V//\\//-}", environment: env) == "Xb/c|a-b-c")
    // `*` and `?` never match a newline.
    #expect(try lexer.processWord("${NL#*b}", environment: env) == "a\nb")
    #expect(try lexer.processWord("${NL%$P}", environment: env) == "a")
    // Replace-all reads `$0` as the whole match and drops other references; single replace is literal.
    #expect(try lexer.processWord("${T//o/'[$0$1$$]'}", environment: env) == "f[o$][o$]")
    #expect(try lexer.processWord("${T/o/'[$0]'}", environment: env) == "f[$0]o")
    #expect(throws: ShellLexerError.self) { try lexer.processWord("${T//}", environment: env) }  // no second '/'
}

@Test func errorsCarryBuildKitText() {
    let env = ShellEnvironment(entries: ["E="])
    func message(_ word: String) -> String? {
        do {
            _ = try ShellLexer().processWord(word, environment: env)
            return nil
        } catch {
            return error.message
        }
    }
    #expect(message("${E:?}") == #"failed to process "${E:?}": E: is not allowed to be empty"#)
    #expect(message("a\n${E") == #"failed to process "a\n${E": syntax error: missing '}'"#)
    #expect(message("${E//}") == #"failed to process "${E//}": syntax error: missing '/' in ${}"#)
    #expect(message("${E#\\x}") == #"failed to process "${E#\\x}": invalid pattern (\x) in substitution: invalid escape '\x'"#)
    #expect(message("'abc") == #"failed to process "'abc": unexpected end of statement while looking for matching single-quote"#)
    #expect(message("${E:=1}") == #"failed to process "${E:=1}": unsupported modifier (:=) in substitution"#)
}

@Test func environmentKeepsOrderAndLastValue() {
    var env = ShellEnvironment(entries: ["B=1", "A", "B=2=3", "C=x"])
    #expect(env.names == ["B", "A", "C"])
    #expect(env.lookup("B") == "2=3")
    #expect(env.lookup("A") == "")
    #expect(env.lookup("Z") == nil)
    env.set("A", to: "v")
    env.remove("C")
    #expect(env.entries == ["B=2=3", "A=v"])
}

/// About 1 MB of text and values; a quadratic step anywhere would take minutes here. Only correctness is asserted.
@Test func megabyteInputsStayLinear() throws {
    let lexer = ShellLexer()
    let chunk = #"ab\ $X "q $X" 'l i' ${Y:-d} "#
    let expectedChunk = "ab a b q a b l i d "
    let count = 1_048_576 / chunk.utf8.count
    let input = String(repeating: chunk, count: count)
    let env = ShellEnvironment(entries: ["X=a b"])
    #expect(try lexer.processWord(input, environment: env) == String(repeating: expectedChunk, count: count))
    let words = try lexer.processWords(input, environment: env)
    #expect(words.count == count * 5)
    #expect(words.prefix(6) == ["ab a", "b", "q a b", "l i", "d", "ab a"])

    let big = String(repeating: "abcabcabc/", count: 100_000)
    let values = ShellEnvironment(entries: ["B=" + big, "P=*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*/"])
    #expect(try lexer.processWord("${B//a/}", environment: values) == String(repeating: "bcbcbc/", count: 100_000))
    #expect(try lexer.processWord("${B%%/*}", environment: values) == "abcabcabc")
    #expect(try lexer.processWord("${B##*/}", environment: values) == "")
    #expect(try lexer.processWord("${B#$P}", environment: values) == String(big.dropFirst(70)))  // 20 a's end in the 7th "/"
    #expect(try lexer.processWord("${B/c\\/a/-}", environment: values).utf8.count == big.utf8.count - 2)
}

@Test func deepNestingFailsInsteadOfExhaustingTheStack() throws {
    let lexer = ShellLexer()
    let env = ShellEnvironment()
    let allowed = ShellLexer.maximumNesting
    let fits = String(repeating: "${A:-", count: allowed) + "x" + String(repeating: "}", count: allowed)
    #expect(try lexer.processWord(fits, environment: env) == "x")
    let hostile = String(repeating: "${A:-\"", count: 100_000)
    #expect {
        try lexer.processWord(hostile, environment: env)
    } throws: { error in
        (error as? ShellLexerError)?.kind == .nestingTooDeep(limit: allowed)
    }
}

@Test func unicodeNamesAndWhitespace() throws {
    let env = ShellEnvironment(entries: ["변수=값", "S=a\u{00A0}b\u{3000}c\u{0085}d", "n٣=3"])
    let lexer = ShellLexer()
    #expect(try lexer.processWord("$변수!${변수}", environment: env) == "값!값")
    #expect(try lexer.processWord("$n٣", environment: env) == "3")  // digits of any script continue a name
    #expect(try lexer.processWords("$S \"$S\"", environment: env) == ["a", "b", "c", "d", "a\u{00A0}b\u{3000}c\u{0085}d"])
    let expansion = try lexer.processWordWithMatches("$변수 $없음 ${없음:-$변수}", environment: env)
    #expect(expansion == ShellExpansion(result: "값  값", matched: ["변수"], unmatched: ["없음"]))
}

@Test func errorTextQuotesTheWordLikeGo() {
    do {
        _ = try ShellLexer().processWord("\t\"x\u{1}\u{00A0}é\u{1F600}", environment: ShellEnvironment())
        Issue.record("expected an error")
    } catch {
        #expect(error.kind == .unterminatedDoubleQuote)
        #expect(error.message == #"failed to process "\t\"x\x01\u00a0é😀": unexpected end of statement while looking for matching double-quote"#)
    }
}
