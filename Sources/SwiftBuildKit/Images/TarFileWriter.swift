#if canImport(Glibc)
import Glibc
#endif
import CSys

/// A minimal deterministic ustar writer for OCI archives: regular files and directories only, owner 0:0 with
/// empty user and group names, a fixed mtime, no atime/ctime, no PAX headers. Owns its descriptor.
/// Names must fit the 100-byte ustar name field (OCI layout paths do: `blobs/sha256/<64 hex>` is 77 bytes).
final class TarFileWriter {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let flushSize = 1 << 20
    private var closed = false

    init(creating path: String) throws(ImageStoreError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        buffer.reserveCapacity(Self.flushSize + 512)
    }

    deinit { if !closed { _ = close(fd) } }

    func directory(_ name: String) throws(ImageStoreError) {
        try header(name: name, type: UInt8(ascii: "5"), mode: 0o755, size: 0)
    }

    /// A file entry whose `size` bytes `body` then writes through `append`.
    func file(_ name: String, size: Int64, body: (TarFileWriter) throws(ImageStoreError) -> Void) throws(ImageStoreError) {
        try header(name: name, type: UInt8(ascii: "0"), mode: 0o644, size: size)
        let before = written
        try body(self)
        guard written - before == size else {
            throw .sizeMismatch(what: "archive entry \(name)", expected: size, actual: written - before)
        }
        try pad()
    }

    /// A file entry copied from `source` (its first `size` bytes) inside the kernel (`copy_file_range`), so the
    /// bytes never pass through this process; read/write when the kernel cannot.
    func file(_ name: String, size: Int64, copyingFrom source: Int32) throws(ImageStoreError) {
        try header(name: name, type: UInt8(ascii: "0"), mode: 0o644, size: size)
        try flush()
        var remaining = size
        while remaining > 0 {
            let n = swiftbuild_copy_file_range(source, nil, fd, nil, Int(min(remaining, 1 << 30)), 0)
            if n > 0 { remaining -= Int64(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw .sizeMismatch(what: "archive entry \(name)", expected: size, actual: size - remaining) }
            // EXDEV, EINVAL, ENOSYS…: copy the rest through a buffer.
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while remaining > 0 {
                let got = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, min($0.count, Int(remaining))) }
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { throw .sizeMismatch(what: "archive entry \(name)", expected: size, actual: size - remaining) }
                try AtomicFile.writeAll(fd, Array(chunk[0..<got]), path: path)
                remaining -= Int64(got)
            }
        }
        written += size
        try pad()
    }

    func file(_ name: String, bytes: [UInt8]) throws(ImageStoreError) {
        try file(name, size: Int64(bytes.count)) { (w: TarFileWriter) throws(ImageStoreError) in try w.append(bytes) }
    }

    private(set) var written: Int64 = 0

    func append(_ bytes: UnsafeRawBufferPointer) throws(ImageStoreError) {
        buffer.append(contentsOf: bytes)
        written += Int64(bytes.count)
        if buffer.count >= Self.flushSize { try flush() }
    }

    func append(_ bytes: [UInt8]) throws(ImageStoreError) {
        var failure: ImageStoreError?
        bytes.withUnsafeBytes { raw in
            do throws(ImageStoreError) { try append(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the end-of-archive marker and closes. An exported archive is an output like a file `cp` writes:
    /// it is completed under a temporary name and renamed, so a killed export never leaves a partial file, but
    /// it is not fsynced (which would cost as much as writing it); the content store is what must survive power
    /// loss, and it does fsync.
    func finish() throws(ImageStoreError) {
        try append([UInt8](repeating: 0, count: 1024))
        try flush()
        closed = true
        guard close(fd) == 0 else { throw .system(call: "close", path: path, errno: errno) }
    }

    private func pad() throws(ImageStoreError) {
        let remainder = Int(written % 512)
        if remainder != 0 { try append([UInt8](repeating: 0, count: 512 - remainder)) }
    }

    private func flush() throws(ImageStoreError) {
        try AtomicFile.writeAll(fd, buffer, path: path)
        buffer.removeAll(keepingCapacity: true)
    }

    private func header(name: String, type: UInt8, mode: UInt32, size: Int64) throws(ImageStoreError) {
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 100 else { throw .unsafePath(path: name) }
        var block = [UInt8](repeating: 0, count: 512)
        block.replaceSubrange(0..<nameBytes.count, with: nameBytes)
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            var digits = Array(String(value, radix: 8).utf8)
            digits = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)) + digits
            block.replaceSubrange(offset..<(offset + width - 1), with: digits)
        }
        octal(UInt64(mode), at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        if UInt64(size) <= 0o77777777777 {
            octal(UInt64(size), at: 124, width: 12)
        } else {
            // GNU base-256 for sizes of 8 GiB and more: high bit set, big-endian value.
            var value = UInt64(size)
            for i in stride(from: 135, through: 125, by: -1) {
                block[i] = UInt8(value & 0xff)
                value >>= 8
            }
            block[124] = 0x80
        }
        octal(0, at: 136, width: 12)
        block[156] = type
        block.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        // Checksum: sum of the header with the checksum field read as spaces.
        block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = block.reduce(0) { $0 + Int($1) }
        var digits = Array(String(sum, radix: 8).utf8)
        digits = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, 6 - digits.count)) + digits
        block.replaceSubrange(148..<154, with: digits)
        block[154] = 0
        block[155] = 0x20
        try append(block)
    }
}
