import CZlib
import Dispatch

/// Compresses the tar stream into ONE gzip member (RFC 1952) on several threads, like pigz:
/// chunks are deflated independently (each primed with the previous chunk's last 32 KiB), end on a byte
/// boundary, and are concatenated in order; their CRC-32s are joined with `crc32_combine`.
/// The bytes depend on the chunk size and level only, never on the number of threads.
///
/// Two batches of chunks alternate: while the workers compress one, the producer fills the other.
final class ParallelGzipEncoder: ChunkEncoder {
    /// A batch of chunks that is compressed at once. Each worker touches only its own chunks.
    private final class Batch: @unchecked Sendable {
        let chunks: UnsafeMutableBufferPointer<DeflateChunk>
        var count = 0

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
        init(compressors: [any DeflateChunkCompressor], probes: [IncompressibilityProbe?]) {
            self.compressors = compressors
            self.probes = probes
        }

        /// Worker `w` compresses chunks w, w + n, w + 2n, …
        func compress(_ batch: Batch) {
            let n = compressors.count
            if n == 1 {
                for i in 0..<batch.count { compressors[0].compress(&batch.chunks[i], probe: probes[0]) }
                return
            }
            DispatchQueue.concurrentPerform(iterations: n) { w in
                var i = w
                while i < batch.count {
                    compressors[w].compress(&batch.chunks[i], probe: probes[w])
                    i += n
                }
            }
        }
    }

    private let output: BlobOutput
    private let workers: Workers
    private let storeOnly: Bool
    private var batches: [Batch]
    private var current = 0
    private var slot = 0
    private let group = DispatchGroup()
    private var inFlight: Batch?
    private var headerWritten = false
    private var crc: UInt = 0
    private var inputSize: UInt64 = 0

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
        workers = Workers(compressors: compressors, probes: (0..<threads).map { _ in probe ? IncompressibilityProbe() : nil })
        storeOnly = level == 0
        let perBatch = 2 * threads
        batches = [Batch(capacity: perBatch, chunkSize: chunkSize), Batch(capacity: perBatch, chunkSize: chunkSize)]
        self.output = output
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
            // Start the workers on this batch before writing out the previous one, so they never wait for us.
            let done = waitForInFlight()
            launch(batch)
            if let done { try writeOut(done) }
            current ^= 1
            slot = 0
        }
        // Prime the next chunk with the tail of this one (read-only even if its batch is being compressed).
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
        let done = waitForInFlight()
        launch(batch)
        if let done { try writeOut(done) }
        if let last = waitForInFlight() { try writeOut(last) }
        try writeHeaderIfNeeded()
        // Trailer: CRC-32 and input size modulo 2^32, little-endian.
        var trailer: (UInt32, UInt32) = (UInt32(truncatingIfNeeded: crc).littleEndian,
                                          UInt32(truncatingIfNeeded: inputSize).littleEndian)
        try withUnsafeBytes(of: &trailer) { try output.write($0) }
    }

    private func launch(_ batch: Batch) {
        if storeOnly {
            for i in 0..<batch.count {
                batch.chunks[i].crc = crcOf(batch.chunks[i])
                batch.chunks[i].storeUncompressed()
            }
            inFlight = batch
            return
        }
        let workers = self.workers
        DispatchQueue.global(qos: .userInitiated).async(group: group) { workers.compress(batch) }
        inFlight = batch
    }

    private func crcOf(_ chunk: DeflateChunk) -> UInt32 {
        guard let p = chunk.input.baseAddress else { return 0 }
        return UInt32(truncatingIfNeeded: crc32(0, p.assumingMemoryBound(to: Bytef.self), UInt32(chunk.length)))
    }

    /// Waits for the batch being compressed, if any, and returns it.
    private func waitForInFlight() -> Batch? {
        guard let batch = inFlight else { return nil }
        group.wait()
        inFlight = nil
        return batch
    }

    /// Writes a compressed batch out, in chunk order, and folds its CRCs into the stream's.
    private func writeOut(_ batch: Batch) throws {
        try writeHeaderIfNeeded()
        for i in 0..<batch.count {
            let chunk = batch.chunks[i]
            try output.write(UnsafeRawBufferPointer(rebasing: chunk.output[0..<chunk.outputLength]))
            crc = crc32_combine(crc, UInt(chunk.crc), off_t(chunk.length))
            inputSize &+= UInt64(chunk.length)
        }
    }

    /// A fixed 10-byte header: no name, mtime 0, no extra flags, OS 255 ("unknown"),
    /// so the blob does not depend on when or where it was built (RFC 1952 §2.3).
    private func writeHeaderIfNeeded() throws {
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

    deinit {
        if inFlight != nil { group.wait() }
    }
}
