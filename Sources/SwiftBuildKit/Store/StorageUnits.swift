/// Parsing and printing of the sizes and durations `du` and `prune` take, as Docker spells them.
public enum StorageUnits {
    /// `512`, `10k`, `1.5GB`, `200MiB`: binary multiples (1k = 1024), as `--keep-storage` in buildx. Nil if invalid.
    public static func parseSize(_ text: String) -> Int64? {
        let trimmed = text.trimmingSpaces.lowercased()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        var unit = String(trimmed.dropFirst(number.count)).trimmingSpaces
        guard let value = Double(number), value >= 0 else { return nil }
        if unit.hasSuffix("ib") { unit.removeLast(2) } else if unit.hasSuffix("b") { unit.removeLast() }
        let shifts: [String: Double] = ["": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776]
        guard let multiplier = shifts[unit] else { return nil }
        let bytes = value * multiplier
        guard bytes < 9e18 else { return nil }
        return Int64(bytes)
    }

    /// Go-style durations with days: `90s`, `30m`, `24h`, `1h30m`, `7d`. Nil if invalid.
    public static func parseDuration(_ text: String) -> Int64? {
        var total: Int64 = 0
        var digits = ""
        var sawUnit = false
        for c in text.trimmingSpaces {
            if c.isNumber {
                digits.append(c)
                continue
            }
            guard let n = Int64(digits) else { return nil }
            switch c {
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            case "d": total += n * 86400
            default: return nil
            }
            digits = ""
            sawUnit = true
        }
        guard digits.isEmpty, sawUnit else { return nil }
        return total
    }

    /// Docker's human sizes: `4.26MB` (powers of 1000, three significant digits).
    public static func format(bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes)B" }
        let rounded = value >= 100 ? (value).rounded() : value >= 10 ? (value * 10).rounded() / 10 : (value * 100).rounded() / 100
        var text = String(rounded)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text + units[unit]
    }

    /// `3 seconds ago`, `2 hours ago`, `5 days ago`.
    public static func age(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        func plural(_ n: Int64, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
        if s < 60 { return plural(s, "second") }
        if s < 3600 { return plural(s / 60, "minute") }
        if s < 86400 { return plural(s / 3600, "hour") }
        if s < 86400 * 60 { return plural(s / 86400, "day") }
        return plural(s / (86400 * 30), "month")
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
