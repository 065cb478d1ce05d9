/// Collects the output of one scan: the whole expanded text, and (when asked) the same text split into words.
///
/// Splitting follows BuildKit rather than POSIX: unquoted whitespace of the literal text and of `$` expansions
/// ends a word; quoted text and escaped characters never do; a word is only kept when it has at least one
/// character (`a "" b` gives `a`, `b`).
struct ShellWordAccumulator {
    private(set) var text = UTF8Text()
    private let collectsWords: Bool
    private var words: [String] = []
    private var word = UTF8Text()
    private var inWord = false

    init(collectsWords: Bool) {
        self.collectsWords = collectsWords
    }

    /// A character that is part of the current word whatever it is (escaped, or part of `<<` and its blanks).
    mutating func appendLiteral(_ scalar: Unicode.Scalar) {
        text.append(scalar)
        guard collectsWords else { return }
        word.append(scalar)
        inWord = true
    }

    /// An unquoted character of the text: whitespace ends the current word.
    mutating func appendSplitting(_ scalar: Unicode.Scalar) {
        text.append(scalar)
        guard collectsWords else { return }
        split(scalar)
    }

    /// The value of a `$` expansion: split like unquoted text.
    mutating func appendExpansion(_ value: String) {
        text.append(value)
        guard collectsWords else { return }
        for scalar in value.unicodeScalars { split(scalar) }
    }

    /// The content of a quoted string: never split, and it marks the word as started even when empty.
    mutating func appendQuoted(_ value: String) {
        text.append(value)
        guard collectsWords else { return }
        word.append(value)
        inWord = true
    }

    /// The words, the last one included.
    mutating func finishWords() -> [String] {
        if !word.isEmpty {
            words.append(word.string)
            word.removeAll()
            inWord = false
        }
        return words
    }

    private mutating func split(_ scalar: Unicode.Scalar) {
        if scalar.isGoSpace {
            if inWord && !word.isEmpty {
                words.append(word.string)
                word.removeAll()
                inWord = false
            }
        } else {
            word.append(scalar)
            inWord = true
        }
    }
}
