import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by libarchive, with the operation that failed and libarchive's own message.
public struct ArchiveError: Error, Equatable, CustomStringConvertible {
    /// The libarchive call that failed, e.g. `archive_read_next_header`.
    public let operation: String
    /// libarchive's status (`ARCHIVE_FATAL`, `ARCHIVE_FAILED`, ...).
    public let status: Int32
    /// `archive_errno`, often a POSIX errno.
    public let errno: Int32
    /// `archive_error_string`, or a fixed text when libarchive gave none.
    public let message: String

    public var description: String { "\(operation): \(message)" }
}

/// The compression of an archive read by `ArchiveReader`.
public enum DetectedCompression: Equatable, Sendable {
    case none
    case gzip
    case zstd
    case xz
    case bzip2
    /// Another filter libarchive knows, by its libarchive name.
    case other(String)

    init(libarchiveName name: String) {
        switch name {
        case "none": self = .none
        case "gzip": self = .gzip
        case "zstd": self = .zstd
        case "xz": self = .xz
        case "bzip2": self = .bzip2
        default: self = .other(name)
        }
    }
}

/// The kind of a tar entry. Closed set: everything else is `.other` with its raw `S_IFMT` bits.
public enum ArchiveEntryType: Equatable, Sendable {
    case regular
    case directory
    case symlink
    case hardlink
    case characterDevice
    case blockDevice
    case fifo
    case socket
    case other(UInt32)
}

/// One entry header, copied out of libarchive so it stays valid after the next `nextEntry()`.
/// Paths are kept as raw bytes: tar names need not be UTF-8.
public struct ArchiveEntryHeader: Sendable {
    public var path: [UInt8]
    public var type: ArchiveEntryType
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`).
    public var permissions: UInt32
    public var uid: Int64
    public var gid: Int64
    /// Declared data size (0 for non-regular entries).
    public var size: Int64
    /// Seconds and nanoseconds since the epoch, when the archive recorded them.
    public var mtime: (seconds: Int64, nanoseconds: Int64)?
    public var atime: (seconds: Int64, nanoseconds: Int64)?
    /// Symlink target or hardlink target (a path inside the archive).
    public var linkTarget: [UInt8]?
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    /// Extended attributes in archive order (name, value).
    public var xattrs: [(name: [UInt8], value: [UInt8])]

    /// The path as text for messages (invalid UTF-8 shown with replacement characters).
    public var displayPath: String { String(decoding: path, as: UTF8.self) }
}

/// Reads tar streams (ustar, pax, GNU) compressed with gzip, zstd, xz or bzip2, or not compressed at all,
/// detecting the compression from the data. Owns one libarchive read handle, freed in `deinit`.
/// One reader belongs to one task at a time.
public final class ArchiveReader {
    private let handle: OpaquePointer
    private var opened = false
    /// Warnings libarchive reported without failing (e.g. a name it could not convert).
    public private(set) var warnings: [String] = []

    public init() throws(ArchiveError) {
        guard let a = archive_read_new() else {
            throw ArchiveError(operation: "archive_read_new", status: ARCHIVE_FATAL, errno: ENOMEM,
                               message: "out of memory")
        }
        handle = a
        // From here on `deinit` frees the handle if a check throws.
        if let failed = Self.enableFilters(a) { try check(failed.status, failed.operation) }
        try check(archive_read_support_format_tar(a), "archive_read_support_format_tar")
        // A zero-byte layer is a valid empty layer.
        try check(archive_read_support_format_empty(a), "archive_read_support_format_empty")
    }

    deinit { archive_read_free(handle) }

    /// Opens a file by path.
    public func open(path: String, blockSize: Int = 128 * 1024) throws(ArchiveError) {
        try precheckOpen()
        try check(archive_read_open_filename(handle, path, blockSize), "archive_read_open_filename(\(path))")
        opened = true
    }

    /// Reads from an open descriptor, which stays owned (and open) by the caller.
    public func open(fileDescriptor fd: Int32, blockSize: Int = 128 * 1024) throws(ArchiveError) {
        try precheckOpen()
        try check(archive_read_open_fd(handle, fd, blockSize), "archive_read_open_fd")
        opened = true
    }

    private func precheckOpen() throws(ArchiveError) {
        if opened {
            throw ArchiveError(operation: "open", status: ARCHIVE_FATAL, errno: EINVAL,
                               message: "this reader is already open")
        }
    }

    /// The next entry's header, or nil at the end of the archive.
    public func nextEntry() throws(ArchiveError) -> ArchiveEntryHeader? {
        var entryPointer: OpaquePointer?
        let status = archive_read_next_header(handle, &entryPointer)
        if status == ARCHIVE_EOF { return nil }
        try check(status, "archive_read_next_header")
        guard let entry = entryPointer else {
            throw ArchiveError(operation: "archive_read_next_header", status: ARCHIVE_FATAL, errno: EINVAL,
                               message: "libarchive returned no entry")
        }
        return Self.header(of: entry)
    }

    /// Reads the current entry's data into `buffer`; returns 0 at the end of the entry.
    /// A truncated archive is an error, never a short entry.
    public func readData(into buffer: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = archive_read_data(handle, base, buffer.count)
        if n < 0 {
            try check(Int32(truncatingIfNeeded: n), "archive_read_data")
            return 0  // a warning with no data
        }
        return n
    }

    /// Skips the rest of the current entry's data.
    public func skipData() throws(ArchiveError) {
        try check(archive_read_data_skip(handle), "archive_read_data_skip")
    }

    /// The compression libarchive detected, valid after the first header.
    public var detectedCompression: DetectedCompression {
        // Filter 0 is the outermost decoder; with no compression it is "none".
        guard let name = archive_filter_name(handle, 0) else { return .none }
        return DetectedCompression(libarchiveName: String(cString: name))
    }

    /// Turns on every compression a layer may use (gzip, zstd, xz, bzip2, none; detected from the data).
    /// Returns the call that failed, if one did.
    static func enableFilters(_ a: OpaquePointer) -> (status: Int32, operation: String)? {
        let filters: [(String, (OpaquePointer) -> Int32)] = [
            ("archive_read_support_filter_none", archive_read_support_filter_none),
            ("archive_read_support_filter_gzip", archive_read_support_filter_gzip),
            ("archive_read_support_filter_zstd", archive_read_support_filter_zstd),
            ("archive_read_support_filter_xz", archive_read_support_filter_xz),
            ("archive_read_support_filter_bzip2", archive_read_support_filter_bzip2),
        ]
        for (name, enable) in filters {
            let status = enable(a)
            if status != ARCHIVE_OK && status != ARCHIVE_WARN { return (status, name) }
        }
        return nil
    }

    // MARK: - The one place libarchive status codes become errors

    private func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(ArchiveError) {
        if status == ARCHIVE_OK { return }
        let message = archive_error_string(handle).map { String(cString: $0) }
        if status == ARCHIVE_WARN {
            warnings.append("\(operation()): \(message ?? "warning")")
            return
        }
        throw ArchiveError(operation: operation(), status: status, errno: archive_errno(handle),
                           message: message ?? "libarchive failed with status \(status)")
    }

    // MARK: - Copying a header out of libarchive

    private static func bytes(_ p: UnsafePointer<CChar>?) -> [UInt8]? {
        guard let p else { return nil }
        let n = strlen(p)
        return p.withMemoryRebound(to: UInt8.self, capacity: n) { Array(UnsafeBufferPointer(start: $0, count: n)) }
    }

    private static func header(of entry: OpaquePointer) -> ArchiveEntryHeader {
        // The multibyte form holds the raw header bytes in the C locale; a pax UTF-8 name that the
        // locale cannot represent is only available in its UTF-8 form.
        let path = bytes(archive_entry_pathname(entry)) ?? bytes(archive_entry_pathname_utf8(entry)) ?? []
        let fileType = UInt32(archive_entry_filetype(entry)) & 0o170000
        var link: [UInt8]?
        let type: ArchiveEntryType
        if let hard = bytes(archive_entry_hardlink(entry)) ?? bytes(archive_entry_hardlink_utf8(entry)) {
            type = .hardlink
            link = hard
        } else {
            switch fileType {
            case 0o100000: type = .regular
            case 0o040000: type = .directory
            case 0o120000:
                type = .symlink
                link = bytes(archive_entry_symlink(entry)) ?? bytes(archive_entry_symlink_utf8(entry)) ?? []
            case 0o020000: type = .characterDevice
            case 0o060000: type = .blockDevice
            case 0o010000: type = .fifo
            case 0o140000: type = .socket
            default: type = .other(fileType)
            }
        }
        var xattrs: [(name: [UInt8], value: [UInt8])] = []
        if archive_entry_xattr_reset(entry) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
                guard let n = bytes(name) else { continue }
                let v: [UInt8] = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                xattrs.append((n, v))
            }
        }
        let mtime: (Int64, Int64)? = archive_entry_mtime_is_set(entry) != 0
            ? (Int64(archive_entry_mtime(entry)), Int64(archive_entry_mtime_nsec(entry))) : nil
        let atime: (Int64, Int64)? = archive_entry_atime_is_set(entry) != 0
            ? (Int64(archive_entry_atime(entry)), Int64(archive_entry_atime_nsec(entry))) : nil
        return ArchiveEntryHeader(
            path: path,
            type: type,
            permissions: UInt32(archive_entry_perm(entry)) & 0o7777,
            uid: archive_entry_uid(entry),
            gid: archive_entry_gid(entry),
            size: archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : 0,
            mtime: mtime,
            atime: atime,
            linkTarget: link,
            deviceMajor: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry)),
            deviceMinor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry)),
            xattrs: xattrs
        )
    }
}
