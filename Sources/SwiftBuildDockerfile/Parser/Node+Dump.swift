extension Node {
    /// The node in BuildKit's dump format: `(copy ["--chown=1:1"] "a" "/b")` without the parentheses.
    public var dump: String { String(decoding: dumpBytes(), as: UTF8.self) }

    func dumpBytes() -> [UInt8] {
        var out: [UInt8] = Array(command.utf8)
        if !flags.isEmpty {
            out.append(contentsOf: " [".utf8)
            for (i, flag) in flags.enumerated() {
                if i > 0 { out.append(0x20) }
                GoText.quote(Array(flag.utf8)[...], into: &out)
            }
            out.append(0x5D)
        }
        if let sub = child.first {
            // ONBUILD's argument node: an empty value whose only child is the sub-instruction.
            out.append(contentsOf: " (".utf8)
            out.append(contentsOf: sub.dumpBytes())
            out.append(0x29)
        }
        for argument in rawArguments {
            out.append(0x20)
            GoText.quote(argument[...], into: &out)
        }
        return Array(GoText.trimSpace(out[...]))
    }
}

extension Dockerfile {
    /// The whole file in BuildKit's dump format: one parenthesised instruction per line, no final newline.
    public var dump: String {
        var out: [UInt8] = []
        for (i, node) in instructions.enumerated() {
            if i > 0 { out.append(0x0A) }
            out.append(0x28)
            out.append(contentsOf: node.dumpBytes())
            out.append(0x29)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
