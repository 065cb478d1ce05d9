import CZstd

/// Compresses the tar stream with libzstd. With `threads` ≥ 1 libzstd runs that many workers; it is always put
/// in its multi-threaded mode (at least one worker), whose output does not depend on the number of workers,
/// so 1 and N threads give the same bytes.
final class ZstdEncoder: ChunkEncoder {
    private let context: OpaquePointer
    private let input: UnsafeMutableRawBufferPointer
    private let out: UnsafeMutableRawBufferPointer
    private let output: BlobOutput
    static let jobSize = 2 << 20

    init(level: Int, threads: Int, chunkSize: Int, output: BlobOutput) throws(LayerWriterError) {
        guard (Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel())).contains(level) else { throw .invalidLevel(.zstd, level) }
        guard let cctx = ZSTD_createCCtx() else { throw .compression(codec: "zstd", detail: "out of memory") }
        context = cctx
        input = .allocate(byteCount: chunkSize, alignment: 64)
        out = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 64)
        self.output = output
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, Int32(level)), "compression level")
        // A library built without threads refuses workers; it then compresses in one thread, the same way for any count.
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, Int32(max(1, threads)))
        // Jobs of 2 MiB instead of libzstd's default (4 windows, 8 MiB at level 3) keep peak RSS near 50 MiB
        // instead of 130 MiB, for 0.1% (1 GiB file) to 3% (20k small files) larger output; see perf/README.md.
        // The job size is fixed, so the bytes still do not depend on the number of workers.
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, Int32(Self.jobSize))
    }

    deinit {
        ZSTD_freeCCtx(context)
        input.deallocate()
        out.deallocate()
    }

    private func check(_ rc: Int, _ what: String) throws(LayerWriterError) {
        if ZSTD_isError(rc) != 0 {
            throw .compression(codec: "zstd", detail: "\(what): \(String(cString: ZSTD_getErrorName(rc)))")
        }
    }

    func firstBuffer() -> UnsafeMutableRawBufferPointer { input }

    func submit(_ count: Int) throws -> UnsafeMutableRawBufferPointer {
        try compress(count, directive: ZSTD_e_continue)
        return input
    }

    func finish(_ count: Int) throws {
        try compress(count, directive: ZSTD_e_end)
    }

    private func compress(_ count: Int, directive: ZSTD_EndDirective) throws {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: count, pos: 0)
        while true {
            var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
            let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, directive)
            try check(remaining, "compressStream2")
            try output.write(UnsafeRawBufferPointer(rebasing: out[0..<outBuffer.pos]))
            // continue: done when all input is taken; end: done when the frame is flushed completely.
            if directive == ZSTD_e_end ? remaining == 0 : inBuffer.pos == inBuffer.size { return }
        }
    }
}
