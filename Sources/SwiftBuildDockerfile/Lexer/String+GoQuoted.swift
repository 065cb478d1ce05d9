extension String {
    /// The string as Go's `%q` verb writes it: in double quotes, with `"` and `\` escaped, C escapes for common
    /// control characters, `\xNN` for other ASCII controls and `\uNNNN` / `\UNNNNNNNN` for other unprintable scalars.
    var goQuoted: String {
        var out = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if scalar.isGoPrintable {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value < 0x80 {
                    out += "\\x" + scalar.value.hexDigits(2)
                } else if scalar.value < 0x10000 {
                    out += "\\u" + scalar.value.hexDigits(4)
                } else {
                    out += "\\U" + scalar.value.hexDigits(8)
                }
            }
        }
        return out + "\""
    }
}

extension UInt32 {
    fileprivate func hexDigits(_ width: Int) -> String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}
