/// The child's setup report (see sandbox.c): the stubs it created and how its setup ended.
struct SandboxReport {
    var stubs: [String] = []
    var error: SandboxError?
    var weaknesses: [SandboxWeakness] = []

    init(_ bytes: [UInt8]) {
        for line in bytes.split(separator: 0) {
            guard line.count >= 2 else { continue }
            let tag = line[line.startIndex]
            let rest = String(decoding: line.dropFirst(2), as: UTF8.self)
            switch tag {
            case UInt8(ascii: "S"):
                stubs.append(rest)
            case UInt8(ascii: "W"):
                if let weakness = SandboxWeakness(rawValue: rest) { weaknesses.append(weakness) }
            case UInt8(ascii: "N"):
                error = .executableNotFound(rest)
            case UInt8(ascii: "E"):
                let fields = rest.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
                let step = fields.first.map(String.init) ?? "setup"
                let code = fields.count > 1 ? Int32(fields[1]) ?? 0 : 0
                let path = fields.count > 2 ? String(fields[2]) : ""
                error = .setupFailed(step: step, path: path, errno: code)
            default:
                continue
            }
        }
    }
}
