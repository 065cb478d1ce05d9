/// A small regular-expression engine for the expressions BuildKit's pattern matcher builds from a pattern
/// (Go RE2 syntax with Go's `regexp.Compile` flags: `^`/`$` anchor the whole text, `.` excludes `\n`,
/// negated classes include `\n`).
///
/// The pattern-to-regex translation copies parts of the pattern verbatim (character classes, `^`, `\x`
/// escapes), so the parser accepts the RE2 constructs that can reach it that way and rejects the rest the way
/// RE2 does: literals, `.`, `^`, `$`, groups, `|`, `*` `+` `?` (optionally lazy), classes with ranges,
/// `[:name:]`, `\d\s\w` (and negations), `\pX`/`\p{Cat}` for general categories, `\A \z \b \B`, `\Q…\E`,
/// octal, `\x` and C escapes. Matching is a Pike VM: linear in text × program size, no backtracking, so no
/// input can make it hang. The program holds no mutable state and is safe to share.
struct MiniRegex: Sendable {
    let program: [Inst]
    /// The first instruction asserts the start of text, so a search only needs to start at offset 0.
    let anchoredStart: Bool

    init(_ source: String) throws(MiniRegexError) {
        var parser = Parser(runes: GoText.runes(Array(source.utf8)))
        let node = try parser.parseAll()
        var compiler = Compiler()
        compiler.emit(node)
        compiler.program.append(.match)
        program = compiler.program
        if case .assert(.beginText) = program.first { anchoredStart = true } else { anchoredStart = false }
    }

    // MARK: - Program

    enum Assertion: Sendable {
        case beginText, endText, wordBoundary, notWordBoundary
    }

    enum Inst: Sendable {
        case rune(UInt32)
        case anyNotNL
        case cls(CharClass)
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    /// A character class: a rune matches when one item matches, XOR `negated`.
    struct CharClass: Sendable {
        enum Item: Sendable {
            case range(UInt32, UInt32)
            /// Matches runes outside every range (a negated named or Perl class inside a class).
            case notRanges([ClosedRange<UInt32>])
            case category(UnicodeCategory, negated: Bool)
        }
        var items: [Item] = []
        var negated = false

        func contains(_ r: UInt32) -> Bool {
            var hit = false
            for item in items {
                switch item {
                case .range(let lo, let hi):
                    hit = lo <= r && r <= hi
                case .notRanges(let ranges):
                    hit = !ranges.contains { $0.contains(r) }
                case .category(let cat, let neg):
                    hit = cat.contains(r) != neg
                }
                if hit { break }
            }
            return hit != negated
        }
    }

    // MARK: - Matching

    /// Whether the expression matches somewhere in `text` (Go's `Regexp.Match`), decoding UTF-8 like Go.
    func matches(_ text: [UInt8]) -> Bool {
        let runes = GoText.runes(text)
        let m = program.count
        var clist = SparseSet(capacity: m)
        var nlist = SparseSet(capacity: m)
        var stack: [Int] = []
        let n = runes.count
        var pos = 0
        while true {
            if pos == 0 || !anchoredStart {
                addThread(&clist, 0, pos, runes, &stack)
            }
            if clist.count == 0 { return false }
            let r: UInt32? = pos < n ? runes[pos] : nil
            for k in 0..<clist.count {
                let pc = clist.dense[k]
                switch program[pc] {
                case .match:
                    return true
                case .rune(let c):
                    if let r, r == c { addThread(&nlist, pc + 1, pos + 1, runes, &stack) }
                case .anyNotNL:
                    if let r, r != 0x0A { addThread(&nlist, pc + 1, pos + 1, runes, &stack) }
                case .cls(let cc):
                    if let r, cc.contains(r) { addThread(&nlist, pc + 1, pos + 1, runes, &stack) }
                case .split, .jump, .assert:
                    break  // only consuming and match instructions are kept in the lists
                }
            }
            if pos >= n { return false }
            swap(&clist, &nlist)
            nlist.removeAll()
            pos += 1
        }
    }

    /// Adds `pc` and everything reachable from it without consuming input at rune offset `pos`.
    private func addThread(_ list: inout SparseSet, _ start: Int, _ pos: Int, _ runes: [UInt32], _ stack: inout [Int]) {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            if list.contains(pc) { continue }
            list.insert(pc)
            switch program[pc] {
            case .jump(let t):
                stack.append(t)
            case .split(let a, let b):
                stack.append(b)
                stack.append(a)
            case .assert(let a):
                if Self.holds(a, pos, runes) { stack.append(pc + 1) }
            case .rune, .anyNotNL, .cls, .match:
                break
            }
        }
    }

    private static func isWord(_ r: UInt32) -> Bool {
        (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5A) || (r >= 0x61 && r <= 0x7A) || r == 0x5F
    }

    private static func holds(_ a: Assertion, _ pos: Int, _ runes: [UInt32]) -> Bool {
        switch a {
        case .beginText: return pos == 0
        case .endText: return pos == runes.count
        case .wordBoundary, .notWordBoundary:
            let before = pos > 0 && isWord(runes[pos - 1])
            let after = pos < runes.count && isWord(runes[pos])
            return (before != after) == (a == .wordBoundary)
        }
    }

    /// A set of small integers with O(1) insert, lookup and clear (Briggs & Torczon).
    struct SparseSet {
        var dense: [Int]
        var sparse: [Int]
        var count = 0
        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }
        func contains(_ v: Int) -> Bool {
            let i = sparse[v]
            return i < count && dense[i] == v
        }
        mutating func insert(_ v: Int) {
            sparse[v] = count
            dense[count] = v
            count += 1
        }
        mutating func removeAll() { count = 0 }
    }

    // MARK: - Syntax tree

    indirect enum Node {
        case empty
        case literal(UInt32)
        case anyNotNL
        case cls(CharClass)
        case assert(Assertion)
        case concat([Node])
        case alternate([Node])
        case star(Node)
        case plus(Node)
        case quest(Node)
    }

    // MARK: - Parser (Go regexp/syntax rules with the Perl flags)

    struct Parser {
        let runes: [UInt32]
        var i = 0
        var depth = 0
        static let maxDepth = 1000

        init(runes: [UInt32]) { self.runes = runes }

        private func peek(_ k: Int = 0) -> UInt32? { i + k < runes.count ? runes[i + k] : nil }

        private func text(from start: Int) -> String {
            var s = String.UnicodeScalarView()
            for r in runes[start..<min(i, runes.count)] { s.append(Unicode.Scalar(r) ?? "\u{FFFD}") }
            return String(s)
        }

        mutating func parseAll() throws(MiniRegexError) -> Node {
            let node = try parseAlternation()
            if i < runes.count {
                // Only an unmatched ')' stops the top level early.
                throw MiniRegexError(code: .unexpectedParen, expression: text(from: 0))
            }
            return node
        }

        private mutating func parseAlternation() throws(MiniRegexError) -> Node {
            var branches: [Node] = [try parseConcat()]
            while peek() == 0x7C /* | */ {
                i += 1
                branches.append(try parseConcat())
            }
            return branches.count == 1 ? branches[0] : .alternate(branches)
        }

        private mutating func parseConcat() throws(MiniRegexError) -> Node {
            var items: [Node] = []
            var lastWasRepeat = false
            while let c = peek() {
                switch c {
                case 0x7C, 0x29:  // | )
                    return items.isEmpty ? .empty : (items.count == 1 ? items[0] : .concat(items))
                case 0x2A, 0x2B, 0x3F:  // * + ?
                    let start = i
                    i += 1
                    if peek() == 0x3F { i += 1 }  // lazy form; same language
                    if lastWasRepeat {
                        throw MiniRegexError(code: .invalidNestedRepeat, expression: text(from: start))
                    }
                    guard let sub = items.popLast() else {
                        throw MiniRegexError(code: .missingRepeatArgument, expression: text(from: start))
                    }
                    items.append(c == 0x2A ? .star(sub) : c == 0x2B ? .plus(sub) : .quest(sub))
                    lastWasRepeat = true
                    continue
                case 0x28:  // (
                    if peek(1) == 0x3F {
                        let start = i
                        i += 2
                        throw MiniRegexError(code: .unsupported, expression: text(from: start))
                    }
                    let start = i
                    i += 1
                    depth += 1
                    if depth > Self.maxDepth { throw MiniRegexError(code: .nestingDepth, expression: "") }
                    let inner = try parseAlternation()
                    guard peek() == 0x29 else {
                        throw MiniRegexError(code: .missingParen, expression: text(from: start))
                    }
                    i += 1
                    depth -= 1
                    items.append(inner)
                case 0x5E:  // ^
                    i += 1
                    items.append(.assert(.beginText))
                case 0x24:  // $
                    i += 1
                    items.append(.assert(.endText))
                case 0x2E:  // .
                    i += 1
                    items.append(.anyNotNL)
                case 0x5B:  // [
                    items.append(.cls(try parseClass()))
                case 0x5C:  // backslash
                    try parseTopEscape(into: &items)
                default:
                    i += 1
                    items.append(.literal(c))
                }
                lastWasRepeat = false
            }
            return items.isEmpty ? .empty : (items.count == 1 ? items[0] : .concat(items))
        }

        private mutating func parseTopEscape(into items: inout [Node]) throws(MiniRegexError) {
            let start = i
            if let c = peek(1) {
                switch c {
                case 0x41: i += 2; items.append(.assert(.beginText)); return        // \A
                case 0x7A: i += 2; items.append(.assert(.endText)); return          // \z
                case 0x62: i += 2; items.append(.assert(.wordBoundary)); return     // \b
                case 0x42: i += 2; items.append(.assert(.notWordBoundary)); return  // \B
                case 0x43:                                                          // \C
                    i += 2
                    throw MiniRegexError(code: .invalidEscape, expression: text(from: start))
                case 0x51:                                                          // \Q ... \E
                    i += 2
                    while i < runes.count {
                        if runes[i] == 0x5C && peek(1) == 0x45 { i += 2; return }
                        items.append(.literal(runes[i]))
                        i += 1
                    }
                    return
                default:
                    break
                }
            }
            var cls = CharClass()
            if try parseUnicodeClass(into: &cls) || parsePerlClass(into: &cls) {
                items.append(.cls(cls))
                return
            }
            items.append(.literal(try parseEscape()))
        }

        /// `\d \D \s \S \w \W` at the current position.
        private mutating func parsePerlClass(into cls: inout CharClass) -> Bool {
            guard peek() == 0x5C, let c = peek(1) else { return false }
            let ranges: [ClosedRange<UInt32>]
            switch c {
            case 0x64, 0x44: ranges = [0x30...0x39]
            case 0x73, 0x53: ranges = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]
            case 0x77, 0x57: ranges = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
            default: return false
            }
            i += 2
            Self.append(ranges, negated: c < 0x60, to: &cls)
            return true
        }

        private static func append(_ ranges: [ClosedRange<UInt32>], negated: Bool, to cls: inout CharClass) {
            if negated {
                cls.items.append(.notRanges(ranges))
            } else {
                for r in ranges { cls.items.append(.range(r.lowerBound, r.upperBound)) }
            }
        }

        /// `\pX`, `\p{Name}`, `\PX`, `\p{^Name}` at the current position; false if not a `\p`/`\P` escape.
        private mutating func parseUnicodeClass(into cls: inout CharClass) throws(MiniRegexError) -> Bool {
            guard peek() == 0x5C, let pc = peek(1), pc == 0x70 || pc == 0x50 else { return false }
            let start = i
            var negated = pc == 0x50
            i += 2
            var name: [UInt32]
            if let c = peek(), c == 0x7B {
                guard let close = runes[i...].firstIndex(of: 0x7D) else {
                    i = runes.count
                    throw MiniRegexError(code: .invalidCharRange, expression: text(from: start))
                }
                name = Array(runes[(i + 1)..<close])
                i = close + 1
            } else if let c = peek() {
                name = [c]
                i += 1
            } else {
                name = []
            }
            if name.first == 0x5E {
                negated.toggle()
                name.removeFirst()
            }
            var nameString = String.UnicodeScalarView()
            for r in name { nameString.append(Unicode.Scalar(r) ?? "\u{FFFD}") }
            guard let cat = UnicodeCategory(name: String(nameString)) else {
                throw MiniRegexError(code: .invalidCharRange, expression: text(from: start))
            }
            cls.items.append(.category(cat, negated: negated))
            return true
        }

        /// A single-character escape (`\` at the current position).
        private mutating func parseEscape() throws(MiniRegexError) -> UInt32 {
            let start = i
            i += 1
            guard let c = peek() else { throw MiniRegexError(code: .trailingBackslash, expression: "") }
            i += 1
            func isOctal(_ r: UInt32?) -> Bool { if let r { return r >= 0x30 && r <= 0x37 }; return false }
            func unhex(_ r: UInt32?) -> UInt32? {
                guard let r else { return nil }
                switch r {
                case 0x30...0x39: return r - 0x30
                case 0x41...0x46: return r - 0x41 + 10
                case 0x61...0x66: return r - 0x61 + 10
                default: return nil
                }
            }
            switch c {
            case 0x31...0x37 where isOctal(peek()), 0x30:
                var r = c - 0x30
                for _ in 1..<3 {
                    guard isOctal(peek()), let d = peek() else { break }
                    r = r * 8 + (d - 0x30)
                    i += 1
                }
                return r
            case 0x78:  // x
                if peek() == 0x7B {
                    i += 1
                    var r: UInt32 = 0
                    var digits = 0
                    while true {
                        guard let d = peek() else { break }
                        i += 1
                        if d == 0x7D {
                            if digits > 0 { return r }
                            break
                        }
                        guard let v = unhex(d) else { break }
                        r = r * 16 + v
                        digits += 1
                        if r > 0x10FFFF { break }
                    }
                } else if let x = unhex(peek()) {
                    i += 1
                    if let y = unhex(peek()) {
                        i += 1
                        return x * 16 + y
                    }
                    if peek() != nil { i += 1 }
                } else if peek() != nil {
                    i += 1
                    if peek() != nil { i += 1 }
                }
            case 0x61: return 0x07
            case 0x66: return 0x0C
            case 0x6E: return 0x0A
            case 0x72: return 0x0D
            case 0x74: return 0x09
            case 0x76: return 0x0B
            default:
                let isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                if c < 0x80 && !isAlnum { return c }
            }
            throw MiniRegexError(code: .invalidEscape, expression: text(from: start))
        }

        /// `[...]` at the current position.
        private mutating func parseClass() throws(MiniRegexError) -> CharClass {
            let start = i
            i += 1
            var cls = CharClass()
            if peek() == 0x5E { cls.negated = true; i += 1 }
            var first = true
            while peek() != 0x5D || first {  // ] (allowed as the first character)
                first = false
                if peek() == 0x5B && peek(1) == 0x3A, i + 2 < runes.count {  // [:name:]
                    if let (ranges, negated, end) = try namedClass(at: i) {
                        Self.append(ranges, negated: negated, to: &cls)
                        i = end
                        continue
                    }
                }
                if try parseUnicodeClass(into: &cls) { continue }
                if parsePerlClass(into: &cls) { continue }
                let rangeStart = i
                let lo = try parseClassChar(classStart: start)
                var hi = lo
                if peek() == 0x2D, let next = peek(1), next != 0x5D {  // a-b (but "a-]" is a and -)
                    i += 1
                    hi = try parseClassChar(classStart: start)
                    if hi < lo { throw MiniRegexError(code: .invalidCharRange, expression: text(from: rangeStart)) }
                }
                cls.items.append(.range(lo, hi))
            }
            i += 1  // ]
            return cls
        }

        private mutating func parseClassChar(classStart: Int) throws(MiniRegexError) -> UInt32 {
            guard let c = peek() else {
                throw MiniRegexError(code: .missingBracket, expression: text(from: classStart))
            }
            if c == 0x5C { return try parseEscape() }
            i += 1
            return c
        }

        /// A POSIX class `[:name:]` / `[:^name:]` starting at `at`; nil when no `:]` follows.
        private func namedClass(at start: Int) throws(MiniRegexError) -> ([ClosedRange<UInt32>], Bool, Int)? {
            var k = start + 2
            while k + 1 < runes.count && !(runes[k] == 0x3A && runes[k + 1] == 0x5D) { k += 1 }
            guard k + 1 < runes.count else { return nil }
            let end = k + 2
            var name = String.UnicodeScalarView()
            for r in runes[(start + 2)..<k] { name.append(Unicode.Scalar(r) ?? "\u{FFFD}") }
            var n = String(name)
            var negated = false
            if n.hasPrefix("^") { negated = true; n.removeFirst() }
            let ranges: [ClosedRange<UInt32>]
            switch n {
            case "alnum": ranges = [0x30...0x39, 0x41...0x5A, 0x61...0x7A]
            case "alpha": ranges = [0x41...0x5A, 0x61...0x7A]
            case "ascii": ranges = [0x00...0x7F]
            case "blank": ranges = [0x09...0x09, 0x20...0x20]
            case "cntrl": ranges = [0x00...0x1F, 0x7F...0x7F]
            case "digit": ranges = [0x30...0x39]
            case "graph": ranges = [0x21...0x7E]
            case "lower": ranges = [0x61...0x7A]
            case "print": ranges = [0x20...0x7E]
            case "punct": ranges = [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]
            case "space": ranges = [0x09...0x0D, 0x20...0x20]
            case "upper": ranges = [0x41...0x5A]
            case "word": ranges = [0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F]
            case "xdigit": ranges = [0x30...0x39, 0x41...0x46, 0x61...0x66]
            default:
                var full = String.UnicodeScalarView()
                for r in runes[start..<end] { full.append(Unicode.Scalar(r) ?? "\u{FFFD}") }
                throw MiniRegexError(code: .invalidCharRange, expression: String(full))
            }
            return (ranges, negated, end)
        }
    }

    // MARK: - Compiler (Thompson construction)

    struct Compiler {
        var program: [Inst] = []

        mutating func emit(_ node: Node) {
            switch node {
            case .empty:
                break
            case .literal(let c):
                program.append(.rune(c))
            case .anyNotNL:
                program.append(.anyNotNL)
            case .cls(let cc):
                program.append(.cls(cc))
            case .assert(let a):
                program.append(.assert(a))
            case .concat(let items):
                for item in items { emit(item) }
            case .alternate(let branches):
                var jumps: [Int] = []
                for (k, branch) in branches.enumerated() {
                    if k < branches.count - 1 {
                        let split = program.count
                        program.append(.split(split + 1, -1))
                        emit(branch)
                        jumps.append(program.count)
                        program.append(.jump(-1))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        emit(branch)
                    }
                }
                for j in jumps { program[j] = .jump(program.count) }
            case .star(let sub):
                let split = program.count
                program.append(.split(split + 1, -1))
                emit(sub)
                program.append(.jump(split))
                program[split] = .split(split + 1, program.count)
            case .plus(let sub):
                let start = program.count
                emit(sub)
                program.append(.split(start, program.count + 1))
            case .quest(let sub):
                let split = program.count
                program.append(.split(split + 1, -1))
                emit(sub)
                program[split] = .split(split + 1, program.count)
            }
        }
    }
}

/// A Unicode general category (or group of categories) usable in `\p{…}`, as in Go's `unicode.Categories`.
enum UnicodeCategory: Sendable {
    case any
    case group(Character)            // "L", "M", "N", "P", "S", "Z", "C" (C = Cc, Cf, Co, Cs)
    case exact(Unicode.GeneralCategory)

    init?(name: String) {
        if name == "Any" { self = .any; return }
        if name.count == 1, let ch = name.first, "LMNPSZC".contains(ch) { self = .group(ch); return }
        let table: [String: Unicode.GeneralCategory] = [
            "Lu": .uppercaseLetter, "Ll": .lowercaseLetter, "Lt": .titlecaseLetter, "Lm": .modifierLetter,
            "Lo": .otherLetter, "Mn": .nonspacingMark, "Mc": .spacingMark, "Me": .enclosingMark,
            "Nd": .decimalNumber, "Nl": .letterNumber, "No": .otherNumber, "Pc": .connectorPunctuation,
            "Pd": .dashPunctuation, "Ps": .openPunctuation, "Pe": .closePunctuation, "Pi": .initialPunctuation,
            "Pf": .finalPunctuation, "Po": .otherPunctuation, "Sm": .mathSymbol, "Sc": .currencySymbol,
            "Sk": .modifierSymbol, "So": .otherSymbol, "Zs": .spaceSeparator, "Zl": .lineSeparator,
            "Zp": .paragraphSeparator, "Cc": .control, "Cf": .format, "Cs": .surrogate, "Co": .privateUse,
        ]
        guard let cat = table[name] else { return nil }
        self = .exact(cat)
    }

    func contains(_ r: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(r) else {
            // Only surrogate code points are not scalars; they never come out of UTF-8 decoding.
            if case .exact(.surrogate) = self { return true }
            if case .group("C") = self { return true }
            if case .any = self { return true }
            return false
        }
        let cat = scalar.properties.generalCategory
        switch self {
        case .any:
            return true
        case .exact(let c):
            return cat == c
        case .group(let g):
            switch cat {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return g == "L"
            case .nonspacingMark, .spacingMark, .enclosingMark: return g == "M"
            case .decimalNumber, .letterNumber, .otherNumber: return g == "N"
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation: return g == "P"
            case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: return g == "S"
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return g == "Z"
            case .control, .format, .surrogate, .privateUse: return g == "C"
            case .unassigned: return false
            @unknown default: return false
            }
        }
    }
}

/// Why an expression was rejected, with Go's error code names and the offending text.
struct MiniRegexError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        case invalidCharRange = "invalid character class range"
        case invalidEscape = "invalid escape sequence"
        case invalidNestedRepeat = "invalid nested repetition operator"
        case missingBracket = "missing closing ]"
        case missingParen = "missing closing )"
        case missingRepeatArgument = "missing argument to repetition operator"
        case trailingBackslash = "trailing backslash at end of expression"
        case unexpectedParen = "unexpected )"
        case nestingDepth = "expression nests too deeply"
        case unsupported = "unsupported syntax"
    }
    var code: Code
    var expression: String
    var description: String { expression.isEmpty ? code.rawValue : "\(code.rawValue): `\(expression)`" }
}
