import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// Reads a possibly compressed stream (gzip, zstd, xz, bzip2 or none, detected from the data) and returns the
/// decompressed bytes, without interpreting them as an archive. Used to hash a layer's tar stream (its diff ID).
/// Owns one libarchive read handle, freed in `deinit`; belongs to one thread at a time.
public final class DecompressingReader {
    private let handle: OpaquePointer
    private var atEnd = false

    /// Reads from `fileDescriptor`, which stays owned (and open) by the caller.
    public init(fileDescriptor fd: Int32, blockSize: Int = 128 * 1024) throws(ArchiveError) {
        guard let a = archive_read_new() else {
            throw ArchiveError(operation: "archive_read_new", status: ARCHIVE_FATAL, errno: ENOMEM, message: "out of memory")
        }
        handle = a
        if let failed = ArchiveReader.enableFilters(a) { try check(failed.status, failed.operation) }
        try check(archive_read_support_format_raw(a), "archive_read_support_format_raw")
        try check(archive_read_support_format_empty(a), "archive_read_support_format_empty")
        try check(archive_read_open_fd(a, fd, blockSize), "archive_read_open_fd")
        var entry: OpaquePointer?
        let status = archive_read_next_header(a, &entry)
        if status == ARCHIVE_EOF {
            atEnd = true  // empty input
        } else {
            try check(status, "archive_read_next_header")
        }
    }

    deinit { archive_read_free(handle) }

    /// Reads decompressed bytes into `buffer`; 0 at the end of the stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int {
        guard !atEnd, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = archive_read_data(handle, base, buffer.count)
        if n < 0 {
            try check(Int32(truncatingIfNeeded: n), "archive_read_data")
            return 0
        }
        if n == 0 { atEnd = true }
        return n
    }

    private func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(ArchiveError) {
        if status == ARCHIVE_OK || status == ARCHIVE_WARN { return }
        let message = archive_error_string(handle).map { String(cString: $0) }
        throw ArchiveError(operation: operation(), status: status, errno: archive_errno(handle),
                           message: message ?? "libarchive failed with status \(status)")
    }
}
