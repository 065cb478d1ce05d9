/// Exec form detection: is the argument text one complete JSON array, and are all its elements strings?
///
/// Follows Go's `encoding/json` as BuildKit uses it: strict RFC 8259 syntax, nesting limited to 10,000
/// levels, invalid UTF-8 and lone surrogates in strings decoded as U+FFFD. Iterative, so deep nesting
/// cannot exhaust the stack.
enum JSONArrayParser {
    enum Result: Equatable {
        case strings([String])
        case notJSON
        case notAllStrings
    }

    static let maxDepth = 10_000

    static func parse(_ input: ArraySlice<UInt8>) -> Result {
        let text = GoText.trimLeadingSpace(input)
        guard text.first == 0x5B else { return .notJSON }
        var scanner = Scanner(bytes: text, index: text.startIndex)
        var values: [String] = []
        var allStrings = true

        scanner.skipSpace()
        guard scanner.consume(0x5B) else { return .notJSON }
        scanner.skipSpace()
        if !scanner.consume(0x5D) {
            while true {
                scanner.skipSpace()
                if scanner.peek == 0x22 {
                    guard let s = scanner.string() else { return .notJSON }
                    values.append(s)
                } else {
                    guard scanner.skipValue(depth: 1) else { return .notJSON }
                    allStrings = false
                }
                scanner.skipSpace()
                if scanner.consume(0x2C) { continue }
                if scanner.consume(0x5D) { break }
                return .notJSON
            }
        }
        scanner.skipSpace()
        guard scanner.index == text.endIndex else { return .notJSON }
        return allStrings ? .strings(values) : .notAllStrings
    }

    struct Scanner {
        let bytes: ArraySlice<UInt8>
        var index: Int

        var peek: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

        mutating func consume(_ b: UInt8) -> Bool {
            guard peek == b else { return false }
            index += 1
            return true
        }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            for b in word.utf8 {
                guard consume(b) else { return false }
            }
            return true
        }

        /// Validates one value of any kind without building it. `depth` counts the enclosing containers.
        mutating func skipValue(depth: Int) -> Bool {
            // Explicit stack of open containers: true = object, false = array.
            var stack: [Bool] = []
            func tooDeep() -> Bool { depth + stack.count > JSONArrayParser.maxDepth }
            while true {
                skipSpace()
                guard let b = peek else { return false }
                switch b {
                case 0x5B:  // [
                    index += 1
                    stack.append(false)
                    if tooDeep() { return false }
                    skipSpace()
                    if consume(0x5D) { stack.removeLast(); break }
                    continue
                case 0x7B:  // {
                    index += 1
                    stack.append(true)
                    if tooDeep() { return false }
                    skipSpace()
                    if consume(0x7D) { stack.removeLast(); break }
                    guard peek == 0x22, string() != nil else { return false }
                    skipSpace()
                    guard consume(0x3A) else { return false }
                    continue
                case 0x22:
                    guard string() != nil else { return false }
                case 0x74: guard literal("true") else { return false }
                case 0x66: guard literal("false") else { return false }
                case 0x6E: guard literal("null") else { return false }
                default:
                    guard number() else { return false }
                }
                // A value ended: close containers or move to the next element.
                while true {
                    guard let isObject = stack.last else { return true }
                    skipSpace()
                    if consume(0x2C) {
                        if isObject {
                            skipSpace()
                            guard peek == 0x22, string() != nil else { return false }
                            skipSpace()
                            guard consume(0x3A) else { return false }
                        }
                        break
                    }
                    guard consume(isObject ? 0x7D : 0x5D) else { return false }
                    stack.removeLast()
                }
            }
        }

        mutating func number() -> Bool {
            func digits() -> Int {
                var n = 0
                while let b = peek, b >= 0x30 && b <= 0x39 { index += 1; n += 1 }
                return n
            }
            _ = consume(0x2D)
            if consume(0x30) {
            } else if let b = peek, b >= 0x31 && b <= 0x39 {
                _ = digits()
            } else {
                return false
            }
            if consume(0x2E) { guard digits() > 0 else { return false } }
            if peek == 0x65 || peek == 0x45 {
                index += 1
                if peek == 0x2B || peek == 0x2D { index += 1 }
                guard digits() > 0 else { return false }
            }
            return true
        }

        /// Decodes a string starting at the opening quote.
        mutating func string() -> String? {
            guard consume(0x22) else { return nil }
            var out = String.UnicodeScalarView()
            while true {
                guard let b = peek else { return nil }
                if b == 0x22 { index += 1; return String(out) }
                if b < 0x20 { return nil }
                if b == 0x5C {
                    index += 1
                    guard let e = peek else { return nil }
                    index += 1
                    switch e {
                    case 0x22: out.append("\"")
                    case 0x5C: out.append("\\")
                    case 0x2F: out.append("/")
                    case 0x62: out.append("\u{08}")
                    case 0x66: out.append("\u{0C}")
                    case 0x6E: out.append("\n")
                    case 0x72: out.append("\r")
                    case 0x74: out.append("\t")
                    case 0x75:
                        guard let u = hex4() else { return nil }
                        if u >= 0xD800 && u < 0xDC00 {
                            // A high surrogate pairs only with an immediately following low one.
                            let save = index
                            if consume(0x5C), consume(0x75), let low = hex4(), low >= 0xDC00 && low < 0xE000 {
                                let v = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                            } else {
                                index = save
                                out.append("\u{FFFD}")
                            }
                        } else {
                            out.append(Unicode.Scalar(u) ?? "\u{FFFD}")
                        }
                    default:
                        return nil
                    }
                    continue
                }
                let (s, w) = GoText.decodeRune(bytes, at: index)
                out.append(s ?? "\u{FFFD}")
                index += w
            }
        }

        mutating func hex4() -> UInt32? {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let b = peek else { return nil }
                let d: UInt32
                switch b {
                case 0x30...0x39: d = UInt32(b - 0x30)
                case 0x61...0x66: d = UInt32(b - 0x61 + 10)
                case 0x41...0x46: d = UInt32(b - 0x41 + 10)
                default: return nil
                }
                v = v << 4 | d
                index += 1
            }
            return v
        }
    }
}
