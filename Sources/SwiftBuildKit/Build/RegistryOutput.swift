/// `-o type=image,name=NAME[,push=true]` and `-o type=registry,name=NAME` (push implied), as buildx spells them:
/// the image is tagged NAME in the local store, and pushed to NAME's registry when `push` is set.
/// (One name per `-o`; the exporter options of the other types do not apply.)
public struct RegistryOutput: Sendable, Equatable {
    public var name: String
    public var push: Bool

    public init(name: String, push: Bool) {
        self.name = name
        self.push = push
    }

    /// The registry output an `-o` string describes, or nil for the other output types.
    public static func parse(_ text: String) throws(BuildRequestError) -> RegistryOutput? {
        guard text.contains("=") else { return nil }
        let fields = try OptionList.parse(text, flag: "--output")
        let type = fields["type"] ?? "local"
        guard type == "image" || type == "registry" else { return nil }
        for key in fields.keys where !["type", "name", "push"].contains(key) {
            throw .invalid("--output", text, "unsupported key \"\(key)\" for type=\(type)")
        }
        guard let name = fields["name"], !name.isEmpty else {
            throw .invalid("--output", text, "name is required for type=\(type)")
        }
        let push: Bool
        switch fields["push"] {
        case nil: push = type == "registry"
        case "true", "1": push = true
        case "false", "0": push = false
        case let other?: throw .invalid("--output", text, "push must be true or false, not \"\(other)\"")
        }
        return RegistryOutput(name: name, push: push)
    }
}
