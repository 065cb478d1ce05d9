import CZlib
import Dispatch
import Synchronization
import SwiftBuildOCI

/// Compresses the tar stream into ONE gzip member (RFC 1952) on several threads, like pigz:
/// chunks are deflated independently (each primed with the previous chunk's last 32 KiB), end on a byte
/// boundary, and are concatenated in order; their CRC-32s are joined with `crc32_combine`.
/// The bytes depend on the chunk size and level only, never on the number of threads.
///
/// A ring of batches (one chunk per compressor each) flows through three stages: the producer fills a batch,
/// the compressors deflate it while a serial queue of its own hashes its input (the diff ID), then one serial lane writes
/// its output (which hashes the blob) and frees it. The lane takes batches strictly in order; the producer only waits when every
/// batch is still in flight. So the producer does nothing but read files and write tar headers, and on data
/// that compresses fast (incompressible chunks are stored) the two hashes no longer run on its thread.
final class ParallelGzipEncoder: ChunkEncoder {
    /// A batch of chunks that is compressed at once. Each worker touches only its own chunks.
    private final class Batch: @unchecked Sendable {
        let chunks: UnsafeMutableBufferPointer<DeflateChunk>
        var count = 0
        /// Its place in the stream (the lane's order).
        var sequence = 0
        let compressed = DispatchGroup()
        /// Signalled by the lane when the batch may be filled again.
        let released = DispatchSemaphore(value: 0)
        /// Whether it is between `dispatch` and the producer's wait for `released`.
        var inFlight = false

        init(capacity: Int, chunkSize: Int) {
            chunks = .allocate(capacity: capacity)
            for i in 0..<capacity { chunks.initializeElement(at: i, to: DeflateChunk(chunkSize: chunkSize)) }
        }

        deinit {
            for chunk in chunks { chunk.deallocate() }
            chunks.deallocate()
        }
    }

    /// The per-thread compressors, shared read-only with the worker closure.
    private final class Workers: @unchecked Sendable {
        let compressors: [any DeflateChunkCompressor]
        let probes: [IncompressibilityProbe?]
        let storeOnly: Bool
        init(compressors: [any DeflateChunkCompressor], probes: [IncompressibilityProbe?], storeOnly: Bool) {
            self.compressors = compressors
            self.probes = probes
            self.storeOnly = storeOnly
        }

        /// Worker `w` compresses chunks w, w + n, w + 2n, … of the batch.
        func compress(_ batch: Batch) {
            let n = compressors.count
            DispatchQueue.concurrentPerform(iterations: n) { w in
                var i = w
                while i < batch.count {
                    if storeOnly {
                        batch.chunks[i].crc = Self.crcOf(batch.chunks[i])
                        batch.chunks[i].storeUncompressed()
                    } else {
                        compressors[w].compress(&batch.chunks[i], probe: probes[w])
                    }
                    i += n
                }
            }
        }

        private static func crcOf(_ chunk: DeflateChunk) -> UInt32 {
            guard let p = chunk.input.baseAddress else { return 0 }
            return UInt32(truncatingIfNeeded: crc32(0, p.assumingMemoryBound(to: Bytef.self), UInt32(chunk.length)))
        }
    }

    /// The serial end: runs only on `queue`, batches in stream order. The producer reads `crc`, `inputSize` and
    /// the hashers only after every batch's `released` was signalled (the lane writes them before it signals);
    /// `error` is behind a lock.
    private final class Lane: @unchecked Sendable {
        let queue = DispatchQueue(label: "swiftbuild.gzip.lane")
        let output: BlobOutput
        let inputHasher = SHA256Hasher()
        var crc: UInt = 0
        var inputSize: UInt64 = 0
        var headerWritten = false
        /// The first write that failed. Behind a lock, not the queue: the producer checks it after every batch,
        /// and waiting for the queue would make it wait for the lane's next batch too (which serialised
        /// producer and lane).
        private let failure = Mutex<(any Error)?>(nil)
        var error: (any Error)? { failure.withLock { $0 } }
        private var next = 0
        private var waiting: [Int: Batch] = [:]

        init(output: BlobOutput) { self.output = output }

        /// A batch whose compression ended: it and every waiting successor are finished, in order.
        func compressed(_ batch: Batch) {
            waiting[batch.sequence] = batch
            while let ready = waiting.removeValue(forKey: next) {
                finish(ready)
                next += 1
                ready.released.signal()
            }
        }

        private func finish(_ batch: Batch) {
            guard error == nil else { return }
            do {
                try writeHeaderIfNeeded()
                for i in 0..<batch.count {
                    let chunk = batch.chunks[i]
                    try output.write(UnsafeRawBufferPointer(rebasing: chunk.output[0..<chunk.outputLength]))
                    crc = crc32_combine(crc, UInt(chunk.crc), off_t(chunk.length))
                    inputSize &+= UInt64(chunk.length)
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }

        /// A fixed 10-byte header: no name, mtime 0, no extra flags, OS 255 ("unknown"),
        /// so the blob does not depend on when or where it was built (RFC 1952 §2.3).
        func writeHeaderIfNeeded() throws {
            guard !headerWritten else { return }
            headerWritten = true
            var header: (UInt64, UInt16) = (0, 0)
            withUnsafeMutableBytes(of: &header) { h in
                h[0] = 0x1f; h[1] = 0x8b; h[2] = 8; h[3] = 0
                h[4] = 0; h[5] = 0; h[6] = 0; h[7] = 0
                h[8] = 0; h[9] = 0xff
            }
            try withUnsafeBytes(of: &header) { try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<10])) }
        }
    }

    private let workers: Workers
    private let compressQueue = DispatchQueue(label: "swiftbuild.gzip.compress", qos: .userInitiated)
    /// Hashes each batch's input (the diff ID), batches in order, beside its compression: a batch of stored
    /// chunks compresses in a fraction of the time it takes to hash, so the two are not one stage.
    private let hashQueue = DispatchQueue(label: "swiftbuild.gzip.diffid", qos: .userInitiated)
    private let lane: Lane
    private var batches: [Batch]
    private var current = 0
    private var slot = 0
    private var sequence = 0

    /// The encoder hashes the tar stream itself (in its lane), so the producer does not.
    var inputHasher: SHA256Hasher? { lane.inputHasher }

    /// `level` 0 stores; 1–6 use ISA-L's portable routines (levels 1 and 2), 7–9 use zlib. Both write bytes that
    /// depend on the input and the level only, never on the CPU (see `DeflateEngine`).
    init(level: Int, threads: Int, chunkSize: Int, probing: Bool = true, output: BlobOutput) throws(LayerWriterError) {
        guard (0...9).contains(level) else { throw .invalidLevel(.gzip, level) }
        let threads = max(1, threads)
        let isal = level <= 6 && DeflateEngine.isalIsPortable
        var compressors: [any DeflateChunkCompressor] = []
        for _ in 0..<threads {
            if isal {
                compressors.append(IsalChunkCompressor(level: Self.isalLevel(forGzipLevel: level)))
            } else {
                compressors.append(try ZlibChunkCompressor(level: level))
            }
        }
        // The probe runs ISA-L too: without the portable routines, no probe (every chunk is compressed).
        let probe = level != 0 && probing && DeflateEngine.isalIsPortable
        workers = Workers(compressors: compressors, probes: (0..<threads).map { _ in probe ? IncompressibilityProbe() : nil },
                          storeOnly: level == 0)
        // Three batches of one chunk per compressor: one filling, one compressing, one in the lane.
        // (More batches did not help: measured with 3, 5 and 8, the pipeline is bound by the CPU.)
        batches = (0..<3).map { _ in Batch(capacity: threads, chunkSize: chunkSize) }
        lane = Lane(output: output)
    }

    /// gzip levels mapped onto ISA-L's 1 and 2, chosen by measurement (perf/README.md): with the portable
    /// routines, ISA-L's level 3 is slower than its level 2 and compresses no better on text.
    static func isalLevel(forGzipLevel level: Int) -> Int {
        level <= 3 ? 1 : 2
    }

    func firstBuffer() -> UnsafeMutableRawBufferPointer { batches[current].chunks[0].data }

    func submit(_ count: Int) throws -> UnsafeMutableRawBufferPointer {
        let batch = batches[current]
        batch.chunks[slot].length = count
        batch.chunks[slot].isLast = false
        let previous = batch.chunks[slot].input
        slot += 1
        if slot == batch.chunks.count {
            batch.count = slot
            dispatch(batch)
            current = (current + 1) % batches.count
            slot = 0
            try reclaim(batches[current])
        }
        // Prime the next chunk with the tail of this one (read-only; its batch is not freed before we return).
        let chunks = batches[current].chunks
        let n = min(DeflateChunk.dictionaryCapacity, previous.count)
        chunks[slot].dictionaryLength = n
        if n > 0, let src = previous.baseAddress, let dst = chunks[slot].storage.baseAddress {
            (dst + DeflateChunk.dictionaryCapacity - n).copyMemory(from: src + previous.count - n, byteCount: n)
        }
        return chunks[slot].data
    }

    func finish(_ count: Int) throws {
        let batch = batches[current]
        batch.chunks[slot].length = count
        batch.chunks[slot].isLast = true
        batch.count = slot + 1
        dispatch(batch)
        for batch in batches { try reclaim(batch) }
        if let error = lane.error { throw error }
        try lane.writeHeaderIfNeeded()
        // Trailer: CRC-32 and input size modulo 2^32, little-endian.
        var trailer: (UInt32, UInt32) = (UInt32(truncatingIfNeeded: lane.crc).littleEndian,
                                          UInt32(truncatingIfNeeded: lane.inputSize).littleEndian)
        try withUnsafeBytes(of: &trailer) { try lane.output.write($0) }
    }

    /// Compression on the workers, then the lane.
    private func dispatch(_ batch: Batch) {
        batch.sequence = sequence
        sequence += 1
        batch.inFlight = true
        let (workers, lane) = (self.workers, self.lane)
        // One batch at a time (the compressors keep state); each is spread over the compressors inside.
        compressQueue.async(group: batch.compressed) { workers.compress(batch) }
        nonisolated(unsafe) let inputHasher = lane.inputHasher  // touched only on hashQueue until the lane drains
        hashQueue.async(group: batch.compressed) {
            for i in 0..<batch.count { inputHasher.update(batch.chunks[i].input) }
        }
        batch.compressed.notify(queue: lane.queue) { lane.compressed(batch) }
    }

    /// Waits until the lane is done with `batch` (if it is in flight), so it can be filled again.
    private func reclaim(_ batch: Batch) throws {
        guard batch.inFlight else { return }
        batch.released.wait()
        batch.inFlight = false
        if let error = lane.error { throw error }
    }

    deinit {
        // An error in the producer leaves batches in flight: their memory must outlive the workers and the lane.
        for batch in batches where batch.inFlight { batch.released.wait() }
    }
}
