/// Parser nodes → typed instructions, with the flag and argument checks BuildKit makes and its messages.
public enum InstructionParser {
    public static func parse(_ node: Node) throws(DockerfileError) -> LocatedInstruction {
        do {
            return LocatedInstruction(instruction: try instruction(node), node: node)
        } catch {
            throw DockerfileError(error.message, range: node.range)
        }
    }

    struct Failure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    static func flags(_ node: Node, _ allowed: [String: BuilderFlags.Kind]) throws(Failure) -> BuilderFlags {
        do {
            return try BuilderFlags(node.flags, allowed: allowed)
        } catch {
            throw Failure(error.message)
        }
    }

    static func instruction(_ node: Node) throws(Failure) -> Instruction {
        let args = node.arguments
        let keyword = node.command.uppercased()
        func exactlyOne() throws(Failure) -> String {
            guard args.count == 1, let only = args.first else { throw Failure("\(keyword) requires exactly one argument") }
            return only
        }
        func atLeastOne() throws(Failure) {
            if args.isEmpty { throw Failure("\(keyword) requires at least one argument") }
        }
        func commandLine() -> Instruction.CommandLine {
            node.isJSONForm ? .exec(args) : .shell(args.first ?? "")
        }
        func keyValues() throws(Failure) -> [Instruction.KeyValue] {
            try atLeastOne()
            guard args.count % 3 == 0 else { throw Failure("Bad input to \(keyword), too many arguments") }
            return stride(from: 0, to: args.count, by: 3).map { Instruction.KeyValue(key: args[$0], value: args[$0 + 1]) }
        }

        switch node.command {
        case "from":
            let f = try flags(node, ["platform": .string])
            guard args.count == 1 || args.count == 3 else { throw Failure("FROM requires either one or three arguments") }
            var name: String?
            if args.count == 3 {
                guard args[1].lowercased() == "as" else {
                    throw Failure("when using FROM with three arguments, the second argument must be \"AS\"")
                }
                name = args[2]
                guard isValidStageName(args[2].lowercased()) else {
                    throw Failure("invalid name for build stage: \"\(args[2])\", name can't start with a number or contain symbols")
                }
            }
            return .from(.init(base: args[0], stageName: name, platform: f.string("platform")))

        case "run":
            let f = try flags(node, ["mount": .strings, "network": .string, "security": .string])
            var mounts: [Mount] = []
            var sshCount = 0
            for text in f.list("mount") {
                do {
                    let m = try Mount.parse(text, sshIndex: sshCount)
                    if m.kind == .ssh { sshCount += 1 }
                    mounts.append(m)
                } catch {
                    throw Failure(error.message)
                }
            }
            var network = Instruction.NetworkMode.default
            if let n = f.string("network") {
                guard let mode = Instruction.NetworkMode(rawValue: n) else { throw Failure("unsupported network mode \"\(n)\"") }
                network = mode
            }
            var security = Instruction.SecurityMode.sandbox
            if let s = f.string("security") {
                guard let mode = Instruction.SecurityMode(rawValue: s) else { throw Failure("unsupported security mode \"\(s)\"") }
                security = mode
            }
            return .run(.init(command: commandLine(), mounts: mounts, network: network, security: security,
                              heredocs: node.heredocs))

        case "cmd":
            _ = try flags(node, [:])
            return .cmd(commandLine())

        case "entrypoint":
            _ = try flags(node, [:])
            return .entrypoint(commandLine())

        case "shell":
            _ = try flags(node, [:])
            try atLeastOne()
            guard node.isJSONForm else { throw Failure("SHELL requires the arguments to be in JSON form") }
            return .shell(args)

        case "env":
            _ = try flags(node, [:])
            return .env(try keyValues())

        case "label":
            _ = try flags(node, [:])
            return .label(try keyValues())

        case "maintainer":
            _ = try flags(node, [:])
            return .maintainer(try exactlyOne())

        case "expose":
            _ = try flags(node, [:])
            try atLeastOne()
            return .expose(args)

        case "copy", "add":
            let isCopy = node.command == "copy"
            var allowed: [String: BuilderFlags.Kind] = ["chown": .string, "chmod": .string, "link": .bool, "exclude": .strings]
            if isCopy {
                allowed["from"] = .string
                allowed["parents"] = .bool
            } else {
                allowed["checksum"] = .string
                allowed["keep-git-dir"] = .bool
                allowed["unpack"] = .bool
            }
            let f = try flags(node, allowed)
            guard args.count >= 2, let destination = args.last else {
                throw Failure("\(keyword) requires at least two arguments, but only one was provided. Destination could not be determined.")
            }
            var chmod: Chmod?
            if let text = f.string("chmod") {
                do { chmod = try Chmod.parse(text) } catch { throw Failure(error.message) }
            }
            let transfer = Instruction.Transfer(
                sources: Array(args.dropLast()), destination: destination, chown: f.string("chown"), chmod: chmod,
                link: f.bool("link") ?? false, excludes: f.list("exclude"), heredocs: node.heredocs)
            if isCopy {
                if let from = f.string("from"), from.isEmpty { throw Failure("missing a value on flag: from") }
                return .copy(.init(transfer: transfer, from: f.string("from"), parents: f.bool("parents") ?? false))
            }
            if let checksum = f.string("checksum") {
                guard transfer.sources.count == 1 else { throw Failure("checksum can't be specified for multiple sources") }
                guard checksum.hasPrefix("sha256:") || checksum.hasPrefix("sha384:") || checksum.hasPrefix("sha512:")
                        || (checksum.count >= 7 && checksum.allSatisfy(\.isHexDigit)) else {
                    throw Failure("invalid checksum \"\(checksum)\": expected a digest (sha256:…) or a git commit")
                }
            }
            return .add(.init(transfer: transfer, checksum: f.string("checksum"),
                              keepGitDir: f.bool("keep-git-dir") ?? false, unpack: f.bool("unpack")))

        case "volume":
            _ = try flags(node, [:])
            try atLeastOne()
            for v in args where v.trimmingSpaces.isEmpty {
                throw Failure("VOLUME specified can not be an empty string")
            }
            return .volume(args)

        case "user":
            _ = try flags(node, [:])
            return .user(try exactlyOne())

        case "workdir":
            _ = try flags(node, [:])
            return .workdir(try exactlyOne())

        case "stopsignal":
            _ = try flags(node, [:])
            return .stopSignal(try exactlyOne())

        case "arg":
            _ = try flags(node, [:])
            try atLeastOne()
            var declarations: [Instruction.ArgDeclaration] = []
            for word in args {
                if let eq = word.firstIndex(of: "=") {
                    let name = String(word[..<eq])
                    guard !name.isEmpty else { throw Failure("ARG names can not be blank") }
                    declarations.append(.init(name: name, defaultValue: String(word[word.index(after: eq)...])))
                } else {
                    declarations.append(.init(name: word, defaultValue: nil))
                }
            }
            return .arg(declarations)

        case "onbuild":
            _ = try flags(node, [:])
            guard let sub = node.subInstruction else { throw Failure("ONBUILD requires at least one argument") }
            switch sub.command {
            case "onbuild": throw Failure("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
            case "from", "maintainer": throw Failure("\(sub.command.uppercased()) isn't allowed as an ONBUILD trigger")
            default: break
            }
            return .onbuild(.init(expression: onbuildExpression(node.original), trigger: try instruction(sub)))

        case "healthcheck":
            return .healthcheck(try healthcheck(node))

        default:
            throw Failure("unknown instruction: \(node.keyword)")
        }
    }

    static func healthcheck(_ node: Node) throws(Failure) -> Instruction.Healthcheck {
        let args = node.arguments
        guard let type = args.first else { throw Failure("HEALTHCHECK requires an argument") }
        switch type.uppercased() {
        case "NONE":
            guard args.count == 1 else { throw Failure("HEALTHCHECK NONE takes no arguments") }
            guard node.flags.isEmpty else { throw Failure("HEALTHCHECK NONE takes no flags") }
            return .none
        case "CMD":
            let f = try flags(node, ["interval": .string, "timeout": .string, "start-period": .string,
                                     "start-interval": .string, "retries": .string])
            let command = Array(args.dropFirst())
            guard !command.isEmpty, !(command.count == 1 && command[0].isEmpty) else {
                throw Failure("Missing command after HEALTHCHECK CMD")
            }
            let test = node.isJSONForm ? ["CMD"] + command : ["CMD-SHELL", command[0]]
            func interval(_ name: String) throws(Failure) -> Int64? {
                guard let text = f.string(name), !text.isEmpty else { return nil }
                guard let ns = GoDuration.parse(text) else { throw Failure("time: invalid duration \"\(text)\"") }
                if ns == 0 { return nil }
                guard ns >= 1_000_000 else { throw Failure("Interval \"\(name)\" cannot be less than 1ms") }
                return ns
            }
            var retries: Int?
            if let text = f.string("retries"), !text.isEmpty {
                guard let n = Int(text) else { throw Failure("strconv.ParseInt: parsing \"\(text)\": invalid syntax") }
                guard n >= 0 else { throw Failure("--retries cannot be negative (\(n))") }
                retries = n == 0 ? nil : n
            }
            return .check(.init(test: test, interval: try interval("interval"), timeout: try interval("timeout"),
                                startPeriod: try interval("start-period"),
                                startInterval: try interval("start-interval"), retries: retries))
        default:
            throw Failure("Unknown type \"\(type.uppercased())\" in HEALTHCHECK (try CMD)")
        }
    }

    /// The text after the ONBUILD keyword (and its flags), as an image config records the trigger.
    static func onbuildExpression(_ original: String) -> String {
        var s = Substring(original)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        s = s.drop { !$0.isWhitespace }
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    /// Stage names: a letter, then letters, digits, `-`, `_` and `.` (checked lower-cased).
    static func isValidStageName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }
    }
}
