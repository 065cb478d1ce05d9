/// A heredoc opener found on an instruction line: `<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`.
struct HeredocOpener: Equatable {
    var name: String
    var expand: Bool
    var chomp: Bool
    var fileDescriptor: Int

    struct Failure: Error {
        var message: String
    }

    /// The openers on a logical line, in order. The line is split into words by the shell lexer in raw
    /// mode (escape `\` whatever the file's escape token, quotes and escapes kept, no expansion); a line
    /// the lexer cannot split has no heredocs.
    static func openers(inLine line: String) throws(Failure) -> [HeredocOpener] {
        let lexer = ShellLexer(escapeToken: "\\", options: [.rawQuotes, .rawEscapes, .skipUnsetEnv])
        guard let words = try? lexer.processWords(line, environment: ShellEnvironment(entries: [])) else {
            return []
        }
        var out: [HeredocOpener] = []
        for word in words {
            if let opener = try parse(word: word) { out.append(opener) }
        }
        return out
    }

    /// One word against `^(\d*)<<(-?)\s*([^<]*)$`; nil when it is not an opener.
    static func parse(word: String) throws(Failure) -> HeredocOpener? {
        let bytes = Array(word.utf8)
        var i = 0
        while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
        let digits = bytes[0..<i]
        guard i + 1 < bytes.count, bytes[i] == 0x3C, bytes[i + 1] == 0x3C else { return nil }
        i += 2
        var chomp = false
        if i < bytes.count && bytes[i] == 0x2D {
            chomp = true
            i += 1
        }
        while i < bytes.count && [0x09, 0x0A, 0x0C, 0x0D, 0x20].contains(bytes[i]) { i += 1 }
        let namePart = bytes[i...]
        guard !namePart.isEmpty, !namePart.contains(0x3C) else { return nil }
        let text = String(decoding: namePart, as: UTF8.self)

        let plain = ShellLexer(escapeToken: "\\", options: [.skipUnsetEnv])
        let raw = ShellLexer(escapeToken: "\\", options: [.rawQuotes, .skipUnsetEnv])
        let names: [String]
        let quoted: String
        do {
            names = try plain.processWords(text, environment: ShellEnvironment(entries: []))
            quoted = try raw.processWord(text, environment: ShellEnvironment(entries: []))
        } catch {
            throw Failure(message: error.description)
        }
        guard names.count == 1, let name = names.first else { return nil }
        func quotes(_ s: String) -> Int { s.utf8.filter { $0 == 0x22 || $0 == 0x27 }.count }
        let fd: Int
        if digits.isEmpty {
            fd = 0
        } else {
            guard let parsed = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
            fd = parsed
        }
        return HeredocOpener(name: name, expand: quotes(name) == quotes(quoted), chomp: chomp, fileDescriptor: fd)
    }
}
