/// `--chmod` of COPY and ADD: an octal mode (`0755`) or symbolic clauses (`u+x,go-w`).
public enum Chmod: Sendable, Equatable, Encodable {
    case octal(UInt32)
    case symbolic([Clause])

    public struct Clause: Sendable, Equatable, Encodable {
        /// Bits of `u`, `g`, `o` (or all for `a` or none written).
        public var who: Who
        public var operation: Operation
        public var permissions: Permissions
    }

    public struct Who: OptionSet, Sendable, Equatable, Encodable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let user = Who(rawValue: 1)
        public static let group = Who(rawValue: 2)
        public static let other = Who(rawValue: 4)
        public static let all: Who = [.user, .group, .other]
    }

    public enum Operation: String, Sendable, Equatable, Encodable {
        case add = "+", remove = "-", set = "="
    }

    public struct Permissions: OptionSet, Sendable, Equatable, Encodable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let read = Permissions(rawValue: 1)
        public static let write = Permissions(rawValue: 2)
        public static let execute = Permissions(rawValue: 4)
        /// `X`: execute only for directories or files already executable by someone.
        public static let conditionalExecute = Permissions(rawValue: 8)
        public static let setID = Permissions(rawValue: 16)
        public static let sticky = Permissions(rawValue: 32)
    }

    struct Failure: Error {
        var message: String
    }

    static func parse(_ text: String) throws(Failure) -> Chmod {
        if let first = text.first, first.isASCII, first.isNumber {
            guard text.allSatisfy({ $0 >= "0" && $0 <= "7" }), let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
                throw Failure(message: "invalid chmod parameter: '\(text)'. it should be octal string and between 0 and 07777")
            }
            return .octal(mode)
        }
        var clauses: [Clause] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var who: Who = []
            var rest = Substring(part)
            while let c = rest.first, "ugoa".contains(c) {
                switch c {
                case "u": who.insert(.user)
                case "g": who.insert(.group)
                case "o": who.insert(.other)
                default: who = .all
                }
                rest = rest.dropFirst()
            }
            guard let opChar = rest.first, let op = Operation(rawValue: String(opChar)) else {
                throw Failure(message: "invalid chmod parameter: '\(text)'. it should be octal string or symbolic mode like u+x,g-w")
            }
            rest = rest.dropFirst()
            var perms: Permissions = []
            for c in rest {
                switch c {
                case "r": perms.insert(.read)
                case "w": perms.insert(.write)
                case "x": perms.insert(.execute)
                case "X": perms.insert(.conditionalExecute)
                case "s": perms.insert(.setID)
                case "t": perms.insert(.sticky)
                default:
                    throw Failure(message: "invalid chmod parameter: '\(text)'. unknown permission '\(c)'")
                }
            }
            clauses.append(Clause(who: who.isEmpty ? .all : who, operation: op, permissions: perms))
        }
        return .symbolic(clauses)
    }

    /// The mode this gives a file whose mode was `mode` (a directory if `isDirectory`).
    public func apply(to mode: UInt32, isDirectory: Bool) -> UInt32 {
        switch self {
        case .octal(let m):
            return m
        case .symbolic(let clauses):
            var result = mode & 0o7777
            for clause in clauses {
                var bits: UInt32 = 0
                let p = clause.permissions
                let executeAllowed = p.contains(.execute)
                    || (p.contains(.conditionalExecute) && (isDirectory || mode & 0o111 != 0))
                for (who, shift) in [(Who.user, UInt32(6)), (.group, 3), (.other, 0)] where clause.who.contains(who) {
                    if p.contains(.read) { bits |= 0o4 << shift }
                    if p.contains(.write) { bits |= 0o2 << shift }
                    if executeAllowed { bits |= 0o1 << shift }
                }
                if p.contains(.setID) {
                    if clause.who.contains(.user) { bits |= 0o4000 }
                    if clause.who.contains(.group) { bits |= 0o2000 }
                }
                if p.contains(.sticky) { bits |= 0o1000 }
                switch clause.operation {
                case .add: result |= bits
                case .remove: result &= ~bits
                case .set:
                    var mask: UInt32 = 0
                    if clause.who.contains(.user) { mask |= 0o4700 }
                    if clause.who.contains(.group) { mask |= 0o2070 }
                    if clause.who.contains(.other) { mask |= 0o1007 }
                    result = (result & ~mask) | bits
                }
            }
            return result
        }
    }
}

/// Go's `time.ParseDuration`, for HEALTHCHECK intervals: `30s`, `1m30s`, `1.5h`, `100ms`.
enum GoDuration {
    /// Nanoseconds, or nil if the text is not a duration.
    static func parse(_ text: String) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6),
                                         ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var total: Double = 0
        while !s.isEmpty {
            let number = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unitText = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            s = s.dropFirst(unitText.count)
            total += value * unit.1
            guard total < 9.2e18 else { return nil }
        }
        return Int64(negative ? -total : total)
    }
}
