/// Raw path bytes (tar names need not be UTF-8) converted for system calls and messages.
enum PathBytes {
    /// NUL-terminated, for system calls.
    static func cString(_ bytes: some Collection<UInt8>) -> [CChar] {
        var out: [CChar] = []
        out.reserveCapacity(bytes.count + 1)
        for b in bytes { out.append(CChar(bitPattern: b)) }
        out.append(0)
        return out
    }

    /// Text for messages (invalid UTF-8 shows as replacement characters).
    static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}
