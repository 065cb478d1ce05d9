#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildOCI

/// Writes one layer in a single pass: directory tree → deterministic pax tar → SHA-256 (diff ID) →
/// compressor → SHA-256 (blob digest) and size → sink. All buffers are allocated once per layer.
///
/// The same tree gives the same bytes whatever the `readdir` order or the number of threads:
/// entries are sorted by path, user and group names are empty, ids numeric, there is no atime or ctime,
/// and mtimes are as on disk, or clamped to `sourceDateEpoch` when later.
public struct LayerWriter: Sendable {
    public var compression: LayerCompression
    /// The codec's level: gzip 0–9 (0 stores, 1–6 use ISA-L, 7–9 zlib), zstd -7…22 except 0.
    public var level: Int
    /// SOURCE_DATE_EPOCH: later mtimes are clamped to it.
    public var sourceDateEpoch: Int64?
    /// Compression threads (default: all cores). The bytes written do not depend on it.
    /// Memory grows with it: about 10 MiB per thread for gzip, one 2 MiB job and its buffers per thread for zstd.
    public var threads: Int
    /// Records sub-second mtimes (as PAX records); off by default, as most builders do.
    public var subsecondMtimes: Bool
    /// gzip: a chunk whose samples do not compress is written as stored blocks instead of being deflated,
    /// which makes random or already-compressed data nearly free. On by default; off only to measure it.
    public var detectsIncompressibleData = true
    /// When set, every entry is recorded with this owner instead of the one on disk (`COPY --chown`,
    /// or root for files from the build context).
    public var owner: Owner?

    /// A numeric owner for all entries.
    public struct Owner: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }
    }
    /// The tar stream is compressed in chunks of this size (also the unit of parallel work). Changing it changes
    /// the gzip bytes, so it is fixed in production; tests make it small to get many chunks from little data.
    var chunkSize = 1 << 20

    public init(compression: LayerCompression = .gzip, level: Int? = nil, sourceDateEpoch: Int64? = nil,
                threads: Int? = nil, subsecondMtimes: Bool = false, owner: Owner? = nil) throws(LayerWriterError) {
        let level = level ?? compression.defaultLevel
        switch compression {
        case .gzip: guard (0...9).contains(level) else { throw .invalidLevel(compression, level) }
        case .zstd: guard (-7...22).contains(level) && level != 0 else { throw .invalidLevel(compression, level) }
        case .uncompressed: guard level == 0 else { throw .invalidLevel(compression, level) }
        }
        self.compression = compression
        self.level = level
        self.sourceDateEpoch = sourceDateEpoch
        self.threads = max(1, threads ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.subsecondMtimes = subsecondMtimes
        self.owner = owner
    }

    /// Archives everything under `root` (not `root` itself), in path order.
    public func write(tree root: String, to sink: some LayerSink,
                      observer: (any LayerContentObserver)? = nil) throws -> LayerResult {
        try run(sink, observer: observer) { emitter in
            try TreeWalker(root: root, emitter: emitter).walk()
        }
    }

    /// Archives exactly the listed entries (a diff), sorted into path order; files are read under `root`.
    /// `observer` sees the content of every file a `.copy` entry reads.
    public func write(entries: [LayerEntry], from root: String, to sink: some LayerSink,
                      observer: (any LayerContentObserver)? = nil) throws -> LayerResult {
        var rootBytes = Array(root.utf8)
        while rootBytes.count > 1 && rootBytes.last == 0x2f { rootBytes.removeLast() }
        if rootBytes == [0x2f] { rootBytes = [] }

        // (tar path without trailing slash, entry)
        var items: [([UInt8], LayerEntry)] = []
        items.reserveCapacity(entries.count)
        for entry in entries {
            switch entry {
            case .path(let p):
                items.append((try TarPathOrder.normalized(p), entry))
            case .whiteout(let p):
                var bytes = try TarPathOrder.normalized(p)
                let nameStart = (bytes.lastIndex(of: 0x2f)).map { $0 + 1 } ?? 0
                bytes.insert(contentsOf: Array(".wh.".utf8), at: nameStart)
                items.append((bytes, entry))
            case .opaqueDirectory(let p):
                items.append((try TarPathOrder.normalized(p) + Array("/.wh..wh..opq".utf8), entry))
            case .copy(let p, _, _), .directory(let p, _):
                items.append((try TarPathOrder.normalized(p), entry))
            }
        }
        items.sort { TarPathOrder.less($0.0, $1.0) }
        for i in items.indices.dropFirst() where items[i].0 == items[i - 1].0 {
            throw LayerWriterError.duplicateEntry(String(decoding: items[i].0, as: UTF8.self))
        }

        return try run(sink, observer: observer) { emitter in
            var cPath: [UInt8] = []
            for (tarPath, entry) in items {
                switch entry {
                case .path: break
                case .whiteout, .opaqueDirectory:
                    try tarPath.withUnsafeBytes { try emitter.emitWhiteout(tarPath: $0) }
                    continue
                case .directory(_, let m):
                    try (tarPath + [0x2f]).withUnsafeBytes { try emitter.emitDirectory(m, tarPath: $0) }
                    continue
                case .copy(_, let source, let m):
                    try source.withCString { name in
                        var st = stat()
                        guard fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                            throw LayerWriterError.system(operation: "stat", path: source, errno: errno)
                        }
                        emitter.sourceStat = st
                        defer { emitter.sourceStat = nil }
                        st.st_uid = m.uid
                        st.st_gid = m.gid
                        st.st_mode = (st.st_mode & Glibc.S_IFMT) | (m.permissions & 0o7777)
                        st.st_mtim = timespec(tv_sec: Int(m.mtime), tv_nsec: m.mtimeNanoseconds)
                        let isDirectory = st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR
                        try (isDirectory ? tarPath + [0x2f] : tarPath).withUnsafeBytes {
                            try emitter.emit(st, dirfd: AT_FDCWD, name: name, cPath: name, tarPath: $0)
                        }
                    }
                    continue
                }
                cPath.removeAll(keepingCapacity: true)
                cPath.append(contentsOf: rootBytes)
                cPath.append(0x2f)
                cPath.append(contentsOf: tarPath)
                cPath.append(0)
                try cPath.withUnsafeBytes { c in
                    guard let base = c.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
                    var st = stat()
                    guard fstatat(AT_FDCWD, base, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                        throw LayerWriterError.system(operation: "stat", path: String(cString: base), errno: errno)
                    }
                    if st.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR {
                        try (tarPath + [0x2f]).withUnsafeBytes {
                            try emitter.emit(st, dirfd: AT_FDCWD, name: base, cPath: base, tarPath: $0)
                        }
                    } else {
                        try tarPath.withUnsafeBytes {
                            try emitter.emit(st, dirfd: AT_FDCWD, name: base, cPath: base, tarPath: $0)
                        }
                    }
                }
            }
        }
    }

    /// Builds the pipeline, lets `body` emit the entries, and closes the archive and the compressed stream.
    private func run(_ sink: some LayerSink, observer: (any LayerContentObserver)? = nil,
                     _ body: (TarEntryEmitter) throws -> Void) throws -> LayerResult {
        try pipeline(sink) { stream in
            let emitter = TarEntryEmitter(stream: stream, sourceDateEpoch: sourceDateEpoch,
                                          subsecondMtimes: subsecondMtimes, owner: owner.map { ($0.uid, $0.gid) })
            emitter.observer = observer
            try body(emitter)
            try emitter.finishArchive()
        }
    }

    /// The one-pass pipeline (tar stream → diff ID → compressor → blob digest → sink) around `feed`, which
    /// appends the tar bytes.
    func pipeline(_ sink: some LayerSink, _ feed: (TarStream) throws -> Void) throws -> LayerResult {
        let output = BlobOutput(sink: sink, hashing: compression != .uncompressed)
        let encoder: any ChunkEncoder
        switch compression {
        case .gzip:
            encoder = try ParallelGzipEncoder(level: level, threads: threads, chunkSize: chunkSize,
                                              probing: detectsIncompressibleData, output: output)
        case .zstd:
            encoder = try ZstdEncoder(level: level, threads: threads, chunkSize: chunkSize, output: output)
        case .uncompressed:
            encoder = UncompressedEncoder(chunkSize: chunkSize, output: output)
        }
        let stream = TarStream(encoder: encoder)
        try feed(stream)
        let diffID = try stream.finish()
        return LayerResult(diffID: diffID, digest: output.finalize() ?? diffID, size: output.size,
                           uncompressedSize: stream.total, compression: compression)
    }
}
