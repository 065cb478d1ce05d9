#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor closed exactly once, when its owner goes away.
struct OwnedDescriptor: ~Copyable {
    let raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    deinit { _ = close(raw) }
}
