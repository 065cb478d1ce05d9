import CIsal
import CIsalPin
import CZlib
import SwiftBuildOCI

/// Which deflate engine gzip layers get, decided once per process. ISA-L's routines are pinned to its portable
/// ones by the CIsalPin target (its dispatched entry points are redefined in the program), so they write the
/// same bytes on every CPU. The pin relies on the internal symbols of Debian's libisal 2.30: before ISA-L is
/// used, a fixed input is compressed at levels 0 (the probe), 1 and 2 and its bytes are compared with the
/// ones recorded here; any difference (another libisal, a pin that did not take) and gzip layers use zlib.
public enum DeflateEngine {
    /// Whether ISA-L's output is the recorded one, so that it may be used.
    public static let isalIsPortable: Bool = swiftbuild_isal_pinned() == 1 && selfTestDigests() == expectedDigests

    /// What writes gzip layers, for `swiftbuild --version` and benchmarks.
    public static var description: String {
        isalIsPortable ? "ISA-L (portable routines, levels 1-6) and zlib \(String(cString: zlibVersion())) (levels 7-9)"
                       : "zlib \(String(cString: zlibVersion())) (ISA-L's self-test failed)"
    }

    /// SHA-256 of the self-test output at levels 0, 1 and 2, recorded natively and checked under
    /// `qemu-x86_64 -cpu` qemu64, Nehalem, Westmere and Haswell (LayerDeterminismTests).
    static let expectedDigests = [
        "bee4e44306c2c294ee00011bb279b577bc46cd868996ae853f24a6920362be6b",
        "728a2461c873b97aad95e349acf1121e3ca3d79218bc24b2fecacaec7ca62b41",
        "3edefa199815c235bea454e8f66ac0b629c1f89ed3f854212c76b7e62b9993cc",
    ]

    /// A deterministic 256 KiB input (text-like lines, a random stretch, runs), compressed in two chunks (the
    /// second primed with the first's tail, as the layer writer does) at levels 1 and 2, and the probe's
    /// level-0 sample compression.
    public static func selfTestDigests() -> [String] {
        var input = [UInt8]()
        input.reserveCapacity(1 << 18)
        var state: UInt64 = 0x5eed_1234_abcd_0001
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let words = ["layer", "tar", "digest", "gzip", "swift", "build", "image", "cache", "/usr/lib/", "0644"]
        while input.count < 96 * 1024 {
            input += Array(words[Int(next() % UInt64(words.count))].utf8) + [next() % 7 == 0 ? 0x0a : 0x20]
        }
        while input.count < 160 * 1024 { input.append(UInt8(truncatingIfNeeded: next())) }
        while input.count < 1 << 18 { input += [UInt8](repeating: UInt8(input.count / 4096 % 251), count: 512) }
        input = Array(input.prefix(1 << 18))

        var digests: [String] = []
        // Level 0 as the probe runs it (stateless, one 8 KiB sample of text).
        let stream = UnsafeMutablePointer<isal_zstream>.allocate(capacity: 1)
        defer { stream.deallocate() }
        var out = [UInt8](repeating: 0, count: 16 * 1024)
        let produced = input.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o -> Int in
                isal_deflate_stateless_init(stream)
                stream.pointee.level = 0
                stream.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
                stream.pointee.end_of_stream = 1
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                stream.pointee.avail_in = 8 * 1024
                stream.pointee.next_out = o.baseAddress
                stream.pointee.avail_out = UInt32(o.count)
                guard isal_deflate_stateless(stream) == COMP_OK else { return -1 }
                return o.count - Int(stream.pointee.avail_out)
            }
        }
        digests.append(produced < 0 ? "failed" : SHA256Hasher.digest(Array(out.prefix(produced))).encoded)
        for level in [1, 2] {
            let compressor = IsalChunkCompressor(level: level)
            var bytes: [UInt8] = []
            let half = input.count / 2
            for (index, range) in [0..<half, half..<input.count].enumerated() {
                var chunk = DeflateChunk(chunkSize: half)
                defer { chunk.deallocate() }
                input[range].withUnsafeBytes { chunk.data.copyMemory(from: $0) }
                chunk.length = half
                chunk.isLast = index == 1
                if index == 1, let dict = chunk.storage.baseAddress {
                    input.withUnsafeBytes { src in
                        dict.copyMemory(from: src.baseAddress! + half - DeflateChunk.dictionaryCapacity,
                                        byteCount: DeflateChunk.dictionaryCapacity)
                    }
                    chunk.dictionaryLength = DeflateChunk.dictionaryCapacity
                }
                guard compressor.deflate(&chunk) else { return digests + ["failed"] }
                bytes += Array(UnsafeRawBufferPointer(rebasing: chunk.output[0..<chunk.outputLength]))
            }
            digests.append(SHA256Hasher.digest(bytes).encoded)
        }
        return digests
    }
}

/// One chunk of the tar stream and its compressed form. A chunk is compressed alone, with the previous
/// chunk's last 32 KiB as its dictionary, and ends on a byte boundary (a sync flush, or stored blocks),
/// so compressed chunks can simply be concatenated into one deflate stream.
struct DeflateChunk {
    static let dictionaryCapacity = 32 * 1024

    /// `dictionaryCapacity` bytes of dictionary followed by the chunk's data.
    let storage: UnsafeMutableRawBufferPointer
    let output: UnsafeMutableRawBufferPointer
    var dictionaryLength = 0
    var length = 0
    var isLast = false
    var outputLength = 0
    var crc: UInt32 = 0

    init(chunkSize: Int) {
        storage = .allocate(byteCount: Self.dictionaryCapacity + chunkSize, alignment: 64)
        // Stored blocks cost 5 bytes per 65535, so this always holds the stored form.
        output = .allocate(byteCount: chunkSize + chunkSize / 16 + 1024, alignment: 64)
    }

    func deallocate() {
        storage.deallocate()
        output.deallocate()
    }

    var data: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: storage[Self.dictionaryCapacity...])
    }
    var input: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[Self.dictionaryCapacity..<(Self.dictionaryCapacity + length)])
    }
    var dictionary: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[(Self.dictionaryCapacity - dictionaryLength)..<Self.dictionaryCapacity])
    }

    /// Writes the chunk as stored (uncompressed) deflate blocks of at most 65535 bytes.
    mutating func storeUncompressed() {
        var out = 0
        var offset = 0
        let input = self.input
        repeat {
            let n = min(65535, length - offset)
            let final = isLast && offset + n == length
            output[out] = final ? 1 : 0          // BFINAL, BTYPE 00 (stored), then padding to the byte
            output[out + 1] = UInt8(n & 0xff)
            output[out + 2] = UInt8(n >> 8)
            output[out + 3] = ~UInt8(n & 0xff)
            output[out + 4] = ~UInt8(n >> 8)
            out += 5
            if n > 0, let dst = output.baseAddress, let src = input.baseAddress {
                (dst + out).copyMemory(from: src + offset, byteCount: n)
            }
            out += n
            offset += n
        } while offset < length
        outputLength = out
    }
}

/// Compresses chunks with one deflate engine. Each worker thread owns one compressor.
protocol DeflateChunkCompressor: AnyObject {
    /// Fills `chunk.output`; returns false when the compressed form does not fit its buffer.
    func deflate(_ chunk: inout DeflateChunk) -> Bool
}

extension DeflateChunkCompressor {
    /// Computes the CRC, then compresses the chunk, or stores it when it looks or turns out incompressible.
    func compress(_ chunk: inout DeflateChunk, probe: IncompressibilityProbe?) {
        chunk.crc = chunk.input.baseAddress.map { crc32_gzip_refl(0, $0.assumingMemoryBound(to: UInt8.self),
                                                                  UInt64(chunk.length)) } ?? 0
        if let probe, probe.looksIncompressible(chunk.input) {
            chunk.storeUncompressed()
            return
        }
        // Stored blocks are never worse than 5 bytes per 65535; fall back to them when deflate does no better.
        let storedSize = chunk.length + 5 * max(1, (chunk.length + 65534) / 65535)
        if !deflate(&chunk) || chunk.outputLength >= storedSize {
            chunk.storeUncompressed()
        }
    }
}

/// Intel ISA-L's igzip: levels 1–3, several times faster than zlib.
final class IsalChunkCompressor: DeflateChunkCompressor {
    private let stream: UnsafeMutablePointer<isal_zstream>
    private let levelBuffer: UnsafeMutableRawBufferPointer
    private let level: UInt32

    /// Large enough for every ISA-L level's default ("large") history buffer.
    private static let levelBufferSize = 1 << 20

    init(level: Int) {
        self.level = UInt32(level)
        stream = .allocate(capacity: 1)
        levelBuffer = .allocate(byteCount: Self.levelBufferSize, alignment: 64)
    }

    deinit {
        stream.deallocate()
        levelBuffer.deallocate()
    }

    func deflate(_ chunk: inout DeflateChunk) -> Bool {
        isal_deflate_init(stream)
        stream.pointee.level = level
        stream.pointee.level_buf = levelBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.level_buf_size = UInt32(levelBuffer.count)
        stream.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
        if chunk.dictionaryLength > 0, let dict = chunk.dictionary.baseAddress {
            let rc = isal_deflate_set_dict(stream, UnsafeMutablePointer(mutating: dict.assumingMemoryBound(to: UInt8.self)),
                                                 UInt32(chunk.dictionaryLength))
            if rc != COMP_OK { return false }
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: chunk.input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(chunk.length)
        stream.pointee.end_of_stream = chunk.isLast ? 1 : 0
        stream.pointee.flush = UInt16(chunk.isLast ? NO_FLUSH : SYNC_FLUSH)
        stream.pointee.next_out = chunk.output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(chunk.output.count)
        let rc = isal_deflate(stream)
        // A full output buffer means the data did not fit (or might not have): use stored blocks.
        guard rc == COMP_OK, stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 else { return false }
        if chunk.isLast && stream.pointee.internal_state.state != ZSTATE_END { return false }
        chunk.outputLength = chunk.output.count - Int(stream.pointee.avail_out)
        return true
    }
}

/// zlib's deflate, for the levels above what ISA-L offers (7–9).
final class ZlibChunkCompressor: DeflateChunkCompressor {
    private let stream: UnsafeMutablePointer<z_stream>
    private var ready = false

    init(level: Int) throws(LayerWriterError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Raw deflate (negative window bits): the gzip header and trailer are written once for the whole stream.
        let rc = swiftbuild_deflateInit2(stream, Int32(level), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else {
            stream.deallocate()
            throw .compression(codec: "zlib", detail: "deflateInit2 returned \(rc)")
        }
        ready = true
    }

    deinit {
        if ready { deflateEnd(stream) }
        stream.deallocate()
    }

    func deflate(_ chunk: inout DeflateChunk) -> Bool {
        guard deflateReset(stream) == Z_OK else { return false }
        if chunk.dictionaryLength > 0, let dict = chunk.dictionary.baseAddress {
            guard deflateSetDictionary(stream, dict.assumingMemoryBound(to: Bytef.self),
                                       UInt32(chunk.dictionaryLength)) == Z_OK else { return false }
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: chunk.input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(chunk.length)
        stream.pointee.next_out = chunk.output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(chunk.output.count)
        let rc = CZlib.deflate(stream, chunk.isLast ? Z_FINISH : Z_SYNC_FLUSH)
        if chunk.isLast {
            guard rc == Z_STREAM_END else { return false }
        } else {
            guard rc == Z_OK, stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 else { return false }
        }
        chunk.outputLength = chunk.output.count - Int(stream.pointee.avail_out)
        return true
    }
}

/// Guesses from three 8 KiB samples (start, middle, end) whether a chunk is incompressible
/// (random, or already compressed), using ISA-L's fastest level: about 2% of the cost of compressing it.
final class IncompressibilityProbe {
    private static let sampleSize = 8 * 1024
    private let stream: UnsafeMutablePointer<isal_zstream>
    private let scratch: UnsafeMutableRawBufferPointer

    init() {
        stream = .allocate(capacity: 1)
        scratch = .allocate(byteCount: Self.sampleSize, alignment: 64)
    }

    deinit {
        stream.deallocate()
        scratch.deallocate()
    }

    func looksIncompressible(_ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count >= 8 * Self.sampleSize, let base = data.baseAddress else { return false }
        for offset in [0, (data.count - Self.sampleSize) / 2, data.count - Self.sampleSize]
        where !sampleIsIncompressible(base + offset) {
            return false
        }
        return true
    }

    /// A sample is incompressible when level 0 cannot shrink it below 97% of its size.
    private func sampleIsIncompressible(_ sample: UnsafeRawPointer) -> Bool {
        isal_deflate_stateless_init(stream)
        stream.pointee.level = 0
        stream.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
        stream.pointee.end_of_stream = 1
        stream.pointee.next_in = UnsafeMutablePointer(mutating: sample.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(Self.sampleSize)
        stream.pointee.next_out = scratch.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(Self.sampleSize * 97 / 100)
        return isal_deflate_stateless(stream) != COMP_OK
    }
}
