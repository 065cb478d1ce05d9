/// The glob of `${NAME#pattern}`, `${NAME%pattern}` and `${NAME/pattern/replacement}`.
///
/// `*` matches any run of characters, `?` one character (neither matches a newline, as in BuildKit, whose patterns
/// become Go regular expressions where `.` stops at `\n`); `\*`, `\?` and `\\` are literal; `\}` and `\/` stand for
/// `}` and `/`. Any other escape is an error. There are no `[...]` classes. The pattern's escape character is always
/// `\`, whatever the Dockerfile's escape token is.
///
/// Matching follows leftmost-first rules (a Perl-style regex engine's choice) and is done by a simulation of the
/// pattern's automaton, so it takes time proportional to (text length) × (pattern length) and never backtracks.
package struct ShellPattern: Sendable, Equatable {
    package enum Element: Sendable, Equatable {
        case literal(Unicode.Scalar)
        /// `?`: one character other than a newline.
        case anyCharacter
        /// `*`: any run of characters without a newline.
        case anyRun
    }

    /// A backslash followed by something it cannot escape.
    package struct InvalidEscape: Error, Equatable, Sendable {
        /// The character after the backslash; `nil` when the pattern ends with the backslash.
        package var escaped: Unicode.Scalar?

        /// BuildKit's wording (a missing character is shown as U+FFFD, as Go prints end of input).
        package var detail: String {
            var text = "invalid escape '\\"
            text.unicodeScalars.append(escaped ?? "\u{FFFD}")
            return text + "'"
        }
    }

    /// The pattern's elements, in order.
    package let elements: [Element]
    /// The elements with each run of consecutive `*` merged into one, which matches the same texts in the same
    /// order of preference; matching runs on these.
    private let steps: [Element]
    /// The pattern's characters when it has no wildcard; such patterns are matched by direct comparison.
    private let literal: [Unicode.Scalar]?

    package init(_ text: String) throws(InvalidEscape) {
        var elements: [Element] = []
        var iterator = text.unicodeScalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            switch scalar {
            case "*":
                elements.append(.anyRun)
            case "?":
                elements.append(.anyCharacter)
            case "\\":
                // `\}` and `\/` protect a character of the `${...}` syntax; the backslash is not part of the pattern.
                if pending == "}" || pending == "/" { continue }
                guard let escaped = pending, escaped == "*" || escaped == "?" || escaped == "\\" else {
                    throw InvalidEscape(escaped: pending)
                }
                pending = iterator.next()
                elements.append(.literal(escaped))
            default:
                elements.append(.literal(scalar))
            }
        }
        self.elements = elements
        var steps: [Element] = []
        for element in elements where !(element == .anyRun && steps.last == .anyRun) {
            steps.append(element)
        }
        self.steps = steps
        var literal: [Unicode.Scalar]? = []
        for element in elements {
            guard case .literal(let scalar) = element else {
                literal = nil
                break
            }
            literal?.append(scalar)
        }
        self.literal = literal
    }

    /// The leftmost match starting at `start` or later (only at `start` when `anchored`). Among matches starting
    /// at the same place, `greedy` prefers the longest and non-greedy the shortest.
    package func firstMatch(in text: [Unicode.Scalar], from start: Int, anchored: Bool, greedy: Bool) -> Range<Int>? {
        guard start >= 0, start <= text.count else { return nil }
        if let literal {
            return firstOccurrence(of: literal, in: text, from: start, anchored: anchored)
        }
        let accept = steps.count
        var current = ThreadList(states: accept + 1)
        var next = ThreadList(states: accept + 1)
        var found: Range<Int>?
        var position = start
        while true {
            if found == nil && (!anchored || position == start) {
                add(state: 0, start: position, to: &current, greedy: greedy)
            }
            if current.threads.isEmpty { break }
            next.clear()
            let scalar: Unicode.Scalar? = position < text.count ? text[position] : nil
            for thread in current.threads {
                if thread.state == accept {
                    // Every thread after this one has lower priority: cut them off.
                    found = thread.start..<position
                    break
                }
                guard let scalar else { continue }
                switch steps[thread.state] {
                case .literal(let expected):
                    if scalar == expected { add(state: thread.state + 1, start: thread.start, to: &next, greedy: greedy) }
                case .anyCharacter:
                    if scalar != "\n" { add(state: thread.state + 1, start: thread.start, to: &next, greedy: greedy) }
                case .anyRun:
                    if scalar != "\n" { add(state: thread.state, start: thread.start, to: &next, greedy: greedy) }
                }
            }
            if position >= text.count { break }
            swap(&current, &next)
            position += 1
        }
        return found
    }

    private func firstOccurrence(of literal: [Unicode.Scalar], in text: [Unicode.Scalar], from start: Int,
                                 anchored: Bool) -> Range<Int>? {
        guard text.count - start >= literal.count else { return nil }
        let last = anchored ? start : text.count - literal.count
        var position = start
        while position <= last {
            var length = 0
            while length < literal.count && text[position + length] == literal[length] { length += 1 }
            if length == literal.count { return position..<(position + length) }
            position += 1
        }
        return nil
    }

    /// Adds the thread for `state` and the states reachable from it without reading a character, in priority order.
    private func add(state: Int, start: Int, to list: inout ThreadList, greedy: Bool) {
        if state < steps.count, steps[state] == .anyRun {
            guard list.claim(state) else { return }
            // The state after a `*` is never another `*` (they are merged), so one more step ends the closure.
            if greedy {
                list.threads.append(Thread(state: state, start: start))
                if list.claim(state + 1) { list.threads.append(Thread(state: state + 1, start: start)) }
            } else {
                if list.claim(state + 1) { list.threads.append(Thread(state: state + 1, start: start)) }
                list.threads.append(Thread(state: state, start: start))
            }
        } else if list.claim(state) {
            list.threads.append(Thread(state: state, start: start))
        }
    }

    private struct Thread {
        var state: Int
        var start: Int
    }

    /// Threads in priority order, at most one per state.
    private struct ThreadList {
        var threads: [Thread] = []
        private var stamp: [Int]
        private var generation = 1

        init(states: Int) {
            stamp = Array(repeating: 0, count: states)
            threads.reserveCapacity(states)
        }

        mutating func clear() {
            threads.removeAll(keepingCapacity: true)
            generation += 1
        }

        /// Marks `state` as present; false when it already was.
        mutating func claim(_ state: Int) -> Bool {
            guard state >= 0, state < stamp.count, stamp[state] != generation else { return false }
            stamp[state] = generation
            return true
        }
    }
}

extension ShellPattern {
    /// The text reversed by Unicode scalar (BuildKit's `reverseString`).
    package static func reversedText(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: text.unicodeScalars.reversed())
        return String(out)
    }

    /// The pattern text reversed, each escape pair (`\` and the character after it) kept in its order, so that a
    /// suffix can be matched as a prefix of the reversed value (BuildKit's `reversePattern`). A lone backslash at
    /// the end stays a single token.
    package static func reversedPattern(_ pattern: String) -> String {
        var tokens: [[Unicode.Scalar]] = []
        var iterator = pattern.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            if scalar == "\\", let escaped = iterator.next() {
                tokens.append([scalar, escaped])
            } else {
                tokens.append([scalar])
            }
        }
        var out = String.UnicodeScalarView()
        for token in tokens.reversed() { out.append(contentsOf: token) }
        return String(out)
    }
}
