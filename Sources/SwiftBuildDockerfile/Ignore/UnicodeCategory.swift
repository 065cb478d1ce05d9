/// A Unicode general category (or group of categories) usable in `\p{…}`, as in Go's `unicode.Categories`.
enum UnicodeCategory: Sendable, Equatable {
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
