import Foundation
import Testing
import TestSupport

/// Every JSON vector under testdata/conformance becomes one test case, dispatched on its `kind`.
/// An unknown kind fails: nothing is skipped silently.
@Test("conformance vector", arguments: Corpus.jsonCases)
func conformanceVector(_ c: JSONCase) throws {
    switch c.kind {
    // parser/
    case "parse_words", "line_numbers", "warnings", "scanner_errors", "heredoc_extract", "heredoc_word",
         "heredocs_from_line", "heredoc_chomp", "json_arrays", "name_val", "directives", "observed_dumps":
        try ParserConformance.run(c)
    // shell/
    case "process_word_with_matches", "process_word", "shell_pattern_to_regex", "reverse", "env_lookup":
        try ShellConformance.run(c)
    // dockerignore/
    case "readall", "matches", "filepath_match", "compile", "matcher_misc", "context_walk":
        try IgnoreConformance.run(c)
    default:
        Issue.record("\(c.id): unknown conformance kind '\(c.kind)' in \(c.file)")
    }
}

@Test("the corpus is discovered") func corpusIsDiscovered() {
    #expect(Corpus.jsonCases.count >= 314)  // 332 vectors when heredoc_extract children count singly
    #expect(Corpus.parserFolders.filter { !$0.negative }.count >= 22)
    #expect(Corpus.parserFolders.filter(\.negative).count >= 3)
}
