#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor closed exactly once, when its owner goes away.
struct OwnedDescriptor: ~Copyable {
    let raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    deinit { _ = close(raw) }
}

/// A raw path component or path, NUL-terminated for system calls.
@inline(__always)
func cPath(_ bytes: some Collection<UInt8>) -> [CChar] {
    var out: [CChar] = []
    out.reserveCapacity(bytes.count + 1)
    for b in bytes { out.append(CChar(bitPattern: b)) }
    out.append(0)
    return out
}

/// Text for messages from raw path bytes.
@inline(__always)
func displayText(_ bytes: some Collection<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
