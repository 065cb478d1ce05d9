import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// Takes the stat index's content hash (`StatIndex.contentHash`) of every file a layer writer reads, from the
/// bytes it reads: a COPY whose layer is written before its cache key is known (nothing will be looked up)
/// then needs no second read of its files for the key (`ContextChecksum.remember`), and the stat index learns
/// them for the next build.
final class ContentHashRecorder: LayerContentObserver, @unchecked Sendable {
    private let hashed = Mutex<[ContextChecksum.Record.Hashed]>([])

    /// What was read to the end, so far.
    var results: [ContextChecksum.Record.Hashed] { hashed.withLock { $0 } }

    func willRead(source: String, path: String, stat st: stat) -> (any LayerContentTap)? {
        Tap(size: Int64(st.st_size)) { hash in
            self.hashed.withLock { $0.append(.init(host: source, stat: st, hash: hash)) }
        }
    }

    /// The same function as `StatIndex.contentHash(_:size:)`, computed in one sequential pass: SHA-256 of the
    /// bytes, or for a file of at least two pieces, SHA-256 over the SHA-256s of its 64 MiB pieces.
    final class Tap: LayerContentTap {
        private let pieced: Bool
        private var piece = SHA256Hasher()
        private var inPiece: Int64 = 0
        private var pieces: [[UInt8]] = []
        private let done: ([UInt8]) -> Void

        init(size: Int64, done: @escaping ([UInt8]) -> Void) {
            pieced = size >= 2 * StatIndex.pieceSize
            self.done = done
        }

        func update(_ bytes: UnsafeRawBufferPointer) {
            guard pieced else { return piece.update(bytes) }
            var offset = 0
            while offset < bytes.count {
                let n = Int(min(Int64(bytes.count - offset), StatIndex.pieceSize - inPiece))
                piece.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                offset += n
                inPiece += Int64(n)
                if inPiece == StatIndex.pieceSize {
                    pieces.append(StatIndex.hexBytes(piece.finalize().encoded))
                    piece = SHA256Hasher()
                    inPiece = 0
                }
            }
        }

        func finish() {
            guard pieced else { return done(StatIndex.hexBytes(piece.finalize().encoded)) }
            if inPiece > 0 { pieces.append(StatIndex.hexBytes(piece.finalize().encoded)) }
            done(StatIndex.combine(pieces: pieces))
        }
    }
}
