import Dispatch
import Foundation
import Synchronization
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
    /// bytes never pass through this process; read/write when the kernel cannot. A big blob is copied in as
    /// many ranges as there are cores, at once: on a file system without shared extents the kernel copies
    /// page by page, and one thread was the export's whole wall time.
    func file(_ name: String, size: Int64, copyingFrom source: Int32) throws(ImageStoreError) {
        try header(name: name, type: UInt8(ascii: "0"), mode: 0o644, size: size)
        try flush()
        let start = lseek(fd, 0, SEEK_CUR)
        guard start >= 0 else { throw .system(call: "lseek", path: path, errno: errno) }
        let ranges = Self.split(size, pieces: size >= Self.parallelCopyMinimum ? ProcessInfo.processInfo.activeProcessorCount : 1)
        let failures = Mutex<[ImageStoreError]>([])
        let (fd, path) = (self.fd, self.path)
        DispatchQueue.concurrentPerform(iterations: ranges.count) { i in
            do throws(ImageStoreError) {
                try Self.copy(source, from: ranges[i].offset, to: fd, at: Int64(start) + ranges[i].offset,
                              count: ranges[i].count, path: path, name: name)
            } catch {
                failures.withLock { $0.append(error) }
            }
        }
        if let failure = failures.withLock({ $0.first }) { throw failure }
        guard lseek(fd, off_t(Int64(start) + size), SEEK_SET) >= 0 else { throw .system(call: "lseek", path: path, errno: errno) }
        written += size
        try pad()
    }

    /// Blobs at least this big are copied in parallel ranges.
    static let parallelCopyMinimum: Int64 = 32 << 20

    /// `size` bytes cut into `pieces` ranges of whole 1 MiB blocks (the last takes the rest).
    static func split(_ size: Int64, pieces: Int) -> [(offset: Int64, count: Int64)] {
        let pieces = max(1, pieces)
        let block: Int64 = 1 << 20
        let per = max(block, (size / Int64(pieces) + block - 1) / block * block)
        var out: [(Int64, Int64)] = []
        var offset: Int64 = 0
        repeat {
            let count = out.count == pieces - 1 ? size - offset : min(per, size - offset)
            out.append((offset, count))
            offset += count
        } while offset < size
        return out
    }

    /// Copies `count` bytes at `from` in `source` to `at` in `fd`, inside the kernel where it can.
    private static func copy(_ source: Int32, from: Int64, to fd: Int32, at: Int64, count: Int64, path: String,
                             name: String) throws(ImageStoreError) {
        var input = from, output = at, remaining = count
        while remaining > 0 {
            let n = swiftbuild_copy_file_range(source, &input, fd, &output, Int(min(remaining, 1 << 30)), 0)
            if n > 0 { remaining -= Int64(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw .sizeMismatch(what: "archive entry \(name)", expected: count, actual: count - remaining) }
            break  // EXDEV, EINVAL, ENOSYS…: the rest through a buffer
        }
        guard remaining > 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while remaining > 0 {
            let got = chunk.withUnsafeMutableBytes { pread(source, $0.baseAddress, min($0.count, Int(remaining)), off_t(input)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw .sizeMismatch(what: "archive entry \(name)", expected: count, actual: count - remaining) }
            var done = 0
            while done < got {
                let w = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, got - done, off_t(output)) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw .system(call: "write", path: path, errno: errno) }
                done += w
                output += Int64(w)
            }
            input += Int64(got)
            remaining -= Int64(got)
        }
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
