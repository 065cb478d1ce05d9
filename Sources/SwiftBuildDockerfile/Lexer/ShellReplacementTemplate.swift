/// The replacement text of `${NAME//pattern/replacement}` (replace all), read the way BuildKit reads it: as a Go
/// regular-expression template. `$$` is a `$`; `$0` / `${0}` insert the whole match; any other reference
/// (`$name`, `${name}`, `$1`, ...) names a group the pattern does not have and inserts nothing; a `$` not followed
/// by a name (or `${` without its `}`) stays as written. The single replacement `${NAME/pattern/replacement}`
/// does not use this: its replacement is inserted literally.
struct ShellReplacementTemplate: Sendable, Equatable {
    enum Segment: Sendable, Equatable {
        case text([Unicode.Scalar])
        case wholeMatch
    }

    let segments: [Segment]

    init(_ template: [Unicode.Scalar]) {
        var segments: [Segment] = []
        var text: [Unicode.Scalar] = []
        var index = 0
        while index < template.count {
            let scalar = template[index]
            index += 1
            guard scalar == "$" else {
                text.append(scalar)
                continue
            }
            if index < template.count, template[index] == "$" {
                text.append("$")
                index += 1
                continue
            }
            guard let (name, end) = Self.reference(in: template, at: index) else {
                text.append("$")  // malformed: the `$` is plain text and scanning goes on after it
                continue
            }
            index = end
            if Self.groupNumber(name) == 0 {
                if !text.isEmpty { segments.append(.text(text)) }
                text = []
                segments.append(.wholeMatch)
            }
        }
        if !text.isEmpty { segments.append(.text(text)) }
        self.segments = segments
    }

    /// Appends the template, filled in for `match` of `value`, to `out`.
    func expand(match: Range<Int>, of value: [Unicode.Scalar], into out: inout [Unicode.Scalar]) {
        for segment in segments {
            switch segment {
            case .text(let text): out.append(contentsOf: text)
            case .wholeMatch: out.append(contentsOf: value[match.clamped(to: 0..<value.count)])
            }
        }
    }

    /// The name after a `$` (`name` or `{name}`, letters, digits and `_`) and the index after it.
    private static func reference(in template: [Unicode.Scalar], at start: Int) -> ([Unicode.Scalar], Int)? {
        var index = start
        let braced = index < template.count && template[index] == "{"
        if braced { index += 1 }
        let nameStart = index
        while index < template.count {
            let scalar = template[index]
            guard scalar.isGoLetter || scalar.isGoDigit || scalar == "_" else { break }
            index += 1
        }
        guard index > nameStart else { return nil }
        let name = Array(template[nameStart..<index])
        if braced {
            guard index < template.count, template[index] == "}" else { return nil }
            index += 1
        }
        return (name, index)
    }

    /// The group number a name stands for (ASCII digits, no leading zero), or nil for a name that is not a number.
    private static func groupNumber(_ name: [Unicode.Scalar]) -> Int? {
        guard let first = name.first else { return nil }
        if first == "0" && name.count > 1 { return nil }
        var number = 0
        for scalar in name {
            guard scalar.value >= 0x30, scalar.value <= 0x39, number < 100_000_000 else { return nil }
            number = number * 10 + Int(scalar.value - 0x30)
        }
        return number
    }
}
