import CCrypto

/// Streaming SHA-256 through OpenSSL's EVP interface, which uses the CPU's SHA extensions (SHA-NI) when present.
/// One hasher belongs to one task at a time; it owns its C context and frees it in `deinit`.
public final class SHA256Hasher {
    private let context: OpaquePointer
    private var finished = false

    public init() {
        guard let ctx = EVP_MD_CTX_new(), EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            fatalError("OpenSSL could not create a SHA-256 context (out of memory)")
        }
        context = ctx
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        precondition(!finished, "SHA256Hasher used after finalize()")
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        EVP_DigestUpdate(context, base, buffer.count)
    }

    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Ends the stream and returns its digest. The hasher cannot be used afterwards.
    public func finalize() -> Digest {
        precondition(!finished, "SHA256Hasher finalized twice")
        finished = true
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return Digest(sha256: out)
    }

    /// The digest of a whole buffer.
    public static func digest(_ bytes: some ContiguousBytes) -> Digest {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }
}

/// Anything that exposes contiguous bytes (Array, ContiguousArray, ArraySlice, UnsafeRawBufferPointer wrappers).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension ContiguousArray: ContiguousBytes where Element == UInt8 {}
