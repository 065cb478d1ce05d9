/// The `--name[=value]` flags of one instruction, checked against the flags that instruction accepts,
/// with BuildKit's rules and messages (`unknown flag: foo`, `missing a value on flag: from`, …).
struct BuilderFlags {
    enum Kind {
        case bool
        case string
        /// May repeat: every occurrence is kept.
        case strings
    }

    struct Failure: Error {
        var message: String
    }

    private var bools: [String: Bool] = [:]
    private var strings: [String: String] = [:]
    private var lists: [String: [String]] = [:]

    init(_ raw: [String], allowed: [String: Kind]) throws(Failure) {
        var seen: Set<String> = []
        for flag in raw {
            guard flag.hasPrefix("--") else { throw Failure(message: "arg should start with -- : \(flag)") }
            if flag == "--" { return }
            var name = String(flag.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let kind = allowed[name] else {
                throw Failure(message: "unknown flag: \(name)" + Self.suggestion(for: name, among: allowed.keys))
            }
            if seen.contains(name) && kind != .strings {
                throw Failure(message: "duplicate flag specified: \(name)")
            }
            seen.insert(name)
            switch kind {
            case .bool:
                if let value, value.isEmpty { throw Failure(message: "missing a value on flag: \(name)") }
                switch (value ?? "").lowercased() {
                case "true", "": bools[name] = true
                case "false": bools[name] = false
                default: throw Failure(message: "expecting boolean value for flag \(name), not: \(value ?? "")")
                }
            case .string:
                guard let value else { throw Failure(message: "missing a value on flag: \(name)") }
                strings[name] = value
            case .strings:
                guard let value else { throw Failure(message: "missing a value on flag: \(name)") }
                lists[name, default: []].append(value)
            }
        }
    }

    func bool(_ name: String) -> Bool? { bools[name] }
    func string(_ name: String) -> String? { strings[name] }
    func list(_ name: String) -> [String] { lists[name] ?? [] }

    /// ` (did you mean X?)` for a near miss, as BuildKit suggests.
    static func suggestion(for name: String, among candidates: Dictionary<String, Kind>.Keys) -> String {
        let best = candidates.map { ($0, editDistance(name.lowercased(), $0)) }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let (candidate, distance) = best, distance <= 2, distance < name.count else { return "" }
        return " (did you mean \(candidate)?)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
