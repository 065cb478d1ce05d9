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

    /// Seconds since the epoch of an RFC 3339 time in UTC or with an offset (`2023-11-14T22:13:20Z`,
    /// `2024-01-02T03:04:05.123+02:00`); fractions are dropped. Nil if it is not one.
    public static func parseTimestamp(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for b in bytes[from..<(from + count)] {
                guard b >= 48 && b <= 57 else { return nil }
                value = value * 10 + Int64(b - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var i = 19
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count && bytes[i] >= 48 && bytes[i] <= 57 { i += 1 }
        }
        var offset: Int64 = 0
        if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
            guard let h = number(i + 1, 2), let m = number(i + 4, 2) else { return nil }
            offset = (h * 3600 + m * 60) * (bytes[i] == UInt8(ascii: "+") ? 1 : -1)
        } else if !(i < bytes.count && (bytes[i] == UInt8(ascii: "Z") || bytes[i] == UInt8(ascii: "z"))) {
            return nil
        }
        // Days since 1970-01-01 (civil-from-days inverse, proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86400 + hour * 3600 + minute * 60 + second - offset
    }

    /// `3 seconds ago`, `2 hours ago`, `5 days ago`.
    public static func age(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        func plural(_ n: Int64, _ unit: String) -> String { "\(n) \(unit)\(n == 1 ? "" : "s") ago" }
        if s < 60 { return plural(s, "second") }
        if s < 3600 { return plural(s / 60, "minute") }
        if s < 86400 { return plural(s / 3600, "hour") }
        if s < 86400 * 60 { return plural(s / 86400, "day") }
        if s < 86400 * 730 { return plural(s / (86400 * 30), "month") }
        return plural(s / (86400 * 365), "year")
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
