extension MiniRegex {
    // MARK: - Syntax tree

    indirect enum Node: Equatable {
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

        /// The same language with redundant repetitions removed: `x*x*` is `x*`, and `(.*/)?(.*/)?` (from a run
        /// of `**/`) is `(.*/)?`. This keeps programs from long runs of `*` or `**/` small.
        func simplified() -> Node {
            switch self {
            case .concat(let items):
                var out: [Node] = []
                for item in items.map({ $0.simplified() }) {
                    if let last = out.last, last == item, item.isIdempotent { continue }
                    out.append(item)
                }
                return out.count == 1 ? out[0] : .concat(out)
            case .alternate(let branches): return .alternate(branches.map { $0.simplified() })
            case .star(let x): return .star(x.simplified())
            case .plus(let x): return .plus(x.simplified())
            case .quest(let x): return .quest(x.simplified())
            case .empty, .literal, .anyNotNL, .cls, .assert: return self
            }
        }

        /// L·L = L for this node's language L.
        private var isIdempotent: Bool {
            switch self {
            case .star: return true
            case .quest(.concat(let parts)):
                // (.*c)? where '.' matches c: ε ∪ .*c, closed under concatenation.
                guard parts.count == 2, parts[0] == .star(.anyNotNL), case .literal(let c) = parts[1] else { return false }
                return c != 0x0A
            default: return false
            }
        }
    }

    // MARK: - Parser (Go regexp/syntax rules with the Perl flags)

    struct Parser {
        let runes: [UInt32]
        var i = 0
        var depth = 0
        /// Group nesting limit (translated patterns never nest groups; this only bounds recursion).
        static let maxDepth = 100

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
}
