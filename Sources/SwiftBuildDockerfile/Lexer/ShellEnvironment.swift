/// The variables a word is expanded against: an ordered list of names, each with one value.
///
/// Built from `KEY=VALUE` entries the way BuildKit's `EnvsFromSlice` does: an entry is cut at its first `=`; an entry
/// without `=` defines the name with an empty value (the name counts as set); when a name appears twice the later
/// value wins while the name keeps the position of its first definition. Names are compared exactly (Linux rules).
public struct ShellEnvironment: Sendable, Equatable {
    private var order: [String] = []
    private var values: [String: String] = [:]

    /// An empty environment: every lookup misses.
    public init() {}

    /// Entries of the form `KEY=VALUE`, in order; see the type's documentation for the rules.
    public init(entries: [String]) {
        for entry in entries {
            if let equals = entry.firstIndex(of: "=") {
                set(String(entry[..<equals]), to: String(entry[entry.index(after: equals)...]))
            } else {
                set(entry, to: "")
            }
        }
    }

    /// Variables from a dictionary; they are ordered by name so that iteration is deterministic.
    public init(_ values: [String: String]) {
        for name in values.keys.sorted() {
            if let value = values[name] { set(name, to: value) }
        }
    }

    /// The value of `name`, or `nil` when it is not set (a set name may have an empty value).
    public func lookup(_ name: String) -> String? {
        values[name]
    }

    /// Defines `name`, or replaces its value (its position in ``names`` stays that of its first definition).
    public mutating func set(_ name: String, to value: String) {
        if values.updateValue(value, forKey: name) == nil {
            order.append(name)
        }
    }

    /// Removes `name`; nothing happens when it is not set.
    public mutating func remove(_ name: String) {
        if values.removeValue(forKey: name) != nil {
            order.removeAll { $0 == name }
        }
    }

    /// The set names, in order of first definition.
    public var names: [String] { order }

    /// `KEY=VALUE` for every set name, in order of first definition.
    public var entries: [String] {
        order.map { "\($0)=\(values[$0] ?? "")" }
    }

    public var count: Int { order.count }
    public var isEmpty: Bool { order.isEmpty }
}

extension ShellEnvironment: ExpressibleByDictionaryLiteral {
    /// Pairs in the order written; a repeated name takes the later value.
    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { set(name, to: value) }
    }
}
