#if canImport(Glibc)
import Glibc
#endif
import CSys

/// The extended attributes of one file, read into buffers that are reused from file to file.
/// Values are binary; names come back sorted, so the PAX records are in a fixed order.
final class XattrList {
    private var names: [UInt8] = []
    private var values: [UInt8] = []
    /// (name offset, name length, value offset, value length), sorted by name.
    private var entries: [(Int, Int, Int, Int)] = []

    var isEmpty: Bool { entries.isEmpty }

    /// Reads the attributes of an open file.
    func load(fd: Int32, path: @autoclosure () -> String) throws {
        try load(path: path(),
                 list: { flistxattr(fd, $0, $1) },
                 get: { fgetxattr(fd, $0, $1, $2) })
    }

    /// Reads the attributes of `cPath` itself, without following a symlink.
    func load(cPath: UnsafePointer<CChar>, path: @autoclosure () -> String) throws {
        try load(path: path(),
                 list: { llistxattr(cPath, $0, $1) },
                 get: { lgetxattr(cPath, $0, $1, $2) })
    }

    private func load(path: @autoclosure () -> String,
                      list: (UnsafeMutablePointer<CChar>?, Int) -> Int,
                      get: (UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int) throws {
        entries.removeAll(keepingCapacity: true)
        // Ask for the size first: most files have no attributes, and this costs one call for them.
        var size = list(nil, 0)
        if size < 0 {
            if errno == ENOTSUP || errno == ENODATA { return }
            throw LayerWriterError.system(operation: "listxattr", path: path(), errno: errno)
        }
        if size == 0 { return }
        while true {
            if names.count < size + 1 { names = [UInt8](repeating: 0, count: size + 1) }
            let got = names.withUnsafeMutableBytes { list($0.baseAddress?.assumingMemoryBound(to: CChar.self), size) }
            if got >= 0 { size = got; break }
            if errno != ERANGE { throw LayerWriterError.system(operation: "listxattr", path: path(), errno: errno) }
            size = list(nil, 0)   // the list grew in between
            if size <= 0 { return }
        }
        values.removeAll(keepingCapacity: true)
        var start = 0
        while start < size {
            var end = start
            while end < size && names[end] != 0 { end += 1 }
            // `trusted.overlay.*` (`user.overlay.*` rootless) is overlayfs bookkeeping (opaque, origin, impure, redirect) that an overlay
            // upper directory carries: never image content, and the extractor refuses it anyway.
            if end > start && !Self.isOverlayAttribute(names, start, end) {
                let valueOffset = values.count
                let valueLength = try readValue(nameOffset: start, path: path(), get: get)
                entries.append((start, end - start, valueOffset, valueLength))
            }
            start = end + 1
        }
        names.withUnsafeBytes { n in
            guard let base = n.baseAddress else { return }
            entries.sort { a, b in
                let c = memcmp(base + a.0, base + b.0, min(a.1, b.1))
                return c != 0 ? c < 0 : a.1 < b.1
            }
        }
    }

    private static func isOverlayAttribute(_ names: [UInt8], _ start: Int, _ end: Int) -> Bool {
        OverlayAttributes.isOverlay(names[start..<end])
    }

    /// Appends the value of the attribute whose NUL-terminated name is at `nameOffset` to `values`.
    private func readValue(nameOffset: Int, path: @autoclosure () -> String,
                           get: (UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int) throws -> Int {
        while true {
            let size = names.withUnsafeBytes { n -> Int in
                guard let name = n.baseAddress else { return -1 }
                return get(name.assumingMemoryBound(to: CChar.self) + nameOffset, nil, 0)
            }
            if size < 0 {
                if errno == ENODATA { return 0 }   // removed since the list was read
                throw LayerWriterError.system(operation: "getxattr", path: path(), errno: errno)
            }
            if size == 0 { return 0 }
            let base = values.count
            values.append(contentsOf: repeatElement(0, count: size))
            let got = names.withUnsafeBytes { n -> Int in
                values.withUnsafeMutableBytes { v -> Int in
                    guard let name = n.baseAddress, let value = v.baseAddress else { return -1 }
                    return get(name.assumingMemoryBound(to: CChar.self) + nameOffset, value + base, size)
                }
            }
            if got >= 0 {
                values.removeLast(size - got)
                return got
            }
            values.removeLast(size)
            if errno == ENODATA { return 0 }
            if errno != ERANGE { throw LayerWriterError.system(operation: "getxattr", path: path(), errno: errno) }
        }
    }

    /// Calls `body(name, value)` for each attribute in name order.
    func forEachSorted(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        names.withUnsafeBytes { n in
            values.withUnsafeBytes { v in
                for (no, nl, vo, vl) in entries {
                    body(UnsafeRawBufferPointer(rebasing: n[no..<(no + nl)]),
                         UnsafeRawBufferPointer(rebasing: v[vo..<(vo + vl)]))
                }
            }
        }
    }
}
