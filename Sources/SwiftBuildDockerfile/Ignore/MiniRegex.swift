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
    /// One instruction of the compiled program.
    struct Op: Sendable {
        enum Code: UInt8, Sendable {
            case rune, anyNotNL, cls, split, jump, assert, match
        }
        var code: Code
        /// rune value, class index, first split/jump target, or assertion raw value
        var a: Int32
        /// second split target
        var b: Int32
    }

    enum Assertion: Int32, Sendable {
        case beginText, endText, wordBoundary, notWordBoundary
    }

    let ops: [Op]
    let classes: [CharClass]
    /// The first instruction asserts the start of text, so a search only needs to start at offset 0.
    let anchoredStart: Bool

    init(_ source: String) throws(MiniRegexError) {
        var parser = Parser(runes: GoText.runes(Array(source.utf8)))
        let node = try parser.parseAll().simplified()
        var compiler = Compiler()
        compiler.emit(node)
        compiler.append(Op(code: .match, a: 0, b: 0))
        ops = compiler.ops
        classes = compiler.classes
        if let first = ops.first, first.code == .assert, first.a == Assertion.beginText.rawValue {
            anchoredStart = true
        } else {
            anchoredStart = false
        }
    }

    /// A character class: a rune matches when one item matches, XOR `negated`.
    struct CharClass: Sendable, Equatable {
        enum Item: Sendable, Equatable {
            case range(UInt32, UInt32)
            /// Matches runes outside every range (a negated named or Perl class inside a class).
            case notRanges([ClosedRange<UInt32>])
            case category(UnicodeCategory, negated: Bool)
        }
        var items: [Item] = []
        var negated = false
        /// Membership of the 128 ASCII runes, filled by `finalize()`.
        var asciiLow: UInt64 = 0
        var asciiHigh: UInt64 = 0

        mutating func finalize() {
            asciiLow = 0
            asciiHigh = 0
            for r in UInt32(0)..<128 where slowContains(r) {
                if r < 64 { asciiLow |= 1 << UInt64(r) } else { asciiHigh |= 1 << UInt64(r - 64) }
            }
        }

        @inline(__always)
        func contains(_ r: UInt32) -> Bool {
            if r < 64 { return asciiLow & (1 << UInt64(r)) != 0 }
            if r < 128 { return asciiHigh & (1 << UInt64(r - 64)) != 0 }
            return slowContains(r)
        }

        func slowContains(_ r: UInt32) -> Bool {
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
        run(GoText.runes(text), boundaries: [])
    }

    /// Whether the expression matches somewhere in `text`, or in one of the prefixes `text[..<k]` for the rune
    /// offsets `k` in `boundaries` (ascending) taken as whole texts — in one pass over `text`.
    func matchesTextOrPrefix(runes: [UInt32], boundaries: [Int]) -> Bool {
        run(runes, boundaries: boundaries)
    }

    private func run(_ runes: [UInt32], boundaries: [Int]) -> Bool {
        ops.withUnsafeBufferPointer { prog in
            VM(prog: prog, classes: classes, runes: runes).search(anchoredStart: anchoredStart, boundaries: boundaries)
        }
    }

    /// The Pike VM for one search.
    private struct VM {
        let prog: UnsafeBufferPointer<Op>
        let classes: [CharClass]
        let runes: [UInt32]

        init(prog: UnsafeBufferPointer<Op>, classes: [CharClass], runes: [UInt32]) {
            self.prog = prog
            self.classes = classes
            self.runes = runes
        }

        func search(anchoredStart: Bool, boundaries: [Int]) -> Bool {
            var clist = SparseSet(capacity: prog.count)
            var nlist = SparseSet(capacity: prog.count)
            var probe = SparseSet(capacity: boundaries.isEmpty ? 0 : prog.count)
            var stack: [Int32] = []
            // The instructions each list was started from (to re-evaluate a position as the end of text).
            var cseeds: [Int32] = []
            var nseeds: [Int32] = []
            let n = runes.count
            var nextBoundary = 0
            var pos = 0
            while true {
                if pos == 0 || !anchoredStart {
                    cseeds.append(0)
                    if addThread(&clist, &stack, 0, pos, endAt: nil) { return true }
                }
                // A prefix ending here, taken as a whole text: redo the closure with "end of text" here.
                while nextBoundary < boundaries.count && boundaries[nextBoundary] < pos { nextBoundary += 1 }
                if nextBoundary < boundaries.count && boundaries[nextBoundary] == pos && pos < n {
                    probe.removeAll()
                    for seed in cseeds where addThread(&probe, &stack, seed, pos, endAt: pos) { return true }
                }
                if clist.count == 0 { return false }
                guard pos < n else { return false }
                let r = runes[pos]
                for k in 0..<clist.count {
                    let pc = clist.dense[k]
                    let op = prog[Int(pc)]
                    let hit: Bool
                    switch op.code {
                    case .rune: hit = UInt32(bitPattern: op.a) == r
                    case .anyNotNL: hit = r != 0x0A
                    case .cls: hit = classes[Int(op.a)].contains(r)
                    case .split, .jump, .assert, .match: hit = false
                    }
                    if hit {
                        nseeds.append(pc + 1)
                        if addThread(&nlist, &stack, pc + 1, pos + 1, endAt: nil) { return true }
                    }
                }
                swap(&clist, &nlist)
                swap(&cseeds, &nseeds)
                nlist.removeAll()
                nseeds.removeAll(keepingCapacity: true)
                pos += 1
            }
        }

        /// Adds `start` and what it reaches without consuming input at rune offset `pos`; true if that reaches
        /// the match instruction. `endAt`: treat the text as ending at that offset.
        @inline(__always)
        func addThread(_ list: inout SparseSet, _ stack: inout [Int32], _ start: Int32, _ pos: Int, endAt: Int?) -> Bool {
            stack.removeAll(keepingCapacity: true)
            stack.append(start)
            while let pc = stack.popLast() {
                if list.contains(pc) { continue }
                list.insert(pc)
                let op = prog[Int(pc)]
                switch op.code {
                case .jump:
                    stack.append(op.a)
                case .split:
                    stack.append(op.b)
                    stack.append(op.a)
                case .assert:
                    if holds(op.a, pos, endAt: endAt) { stack.append(pc + 1) }
                case .match:
                    return true
                case .rune, .anyNotNL, .cls:
                    break
                }
            }
            return false
        }

        @inline(__always)
        private func isWord(_ r: UInt32) -> Bool {
            (r >= 0x30 && r <= 0x39) || (r >= 0x41 && r <= 0x5A) || (r >= 0x61 && r <= 0x7A) || r == 0x5F
        }

        private func holds(_ raw: Int32, _ pos: Int, endAt: Int?) -> Bool {
            let end = endAt ?? runes.count
            switch Assertion(rawValue: raw) {
            case .beginText: return pos == 0
            case .endText: return pos == end
            case .wordBoundary, .notWordBoundary:
                let before = pos > 0 && isWord(runes[pos - 1])
                let after = pos < end && isWord(runes[pos])
                return (before != after) == (raw == Assertion.wordBoundary.rawValue)
            case .none: return false
            }
        }
    }

    /// A set of small integers with O(1) insert, lookup and clear (Briggs & Torczon).
    struct SparseSet {
        var dense: [Int32]
        var sparse: [Int32]
        var count = 0
        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }
        @inline(__always)
        func contains(_ v: Int32) -> Bool {
            let i = Int(sparse[Int(v)])
            return i < count && dense[i] == v
        }
        @inline(__always)
        mutating func insert(_ v: Int32) {
            sparse[Int(v)] = Int32(count)
            dense[count] = v
            count += 1
        }
        mutating func removeAll() { count = 0 }
    }
}
