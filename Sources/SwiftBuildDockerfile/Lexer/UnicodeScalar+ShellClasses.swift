extension Unicode.Scalar {
    /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    var isGoPrintable: Bool {
        if self == " " { return true }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .surrogate,
             .privateUse, .unassigned:
            return false
        @unknown default:
            return false
        }
    }

    /// Go's `unicode.IsSpace`: the Unicode White_Space property.
    var isGoSpace: Bool { GoText.isSpace(self) }

    /// Go's `unicode.IsLetter`.
    var isGoLetter: Bool {
        if value < 0x80 { return (value | 0x20) >= 0x61 && (value | 0x20) <= 0x7A }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// Go's `unicode.IsDigit` (decimal digits of any script).
    var isGoDigit: Bool {
        if value < 0x80 { return value >= 0x30 && value <= 0x39 }
        return properties.generalCategory == .decimalNumber
    }
}
