/// A content digest as the OCI image spec defines it: `algorithm:encoded`.
/// swiftbuild produces and accepts `sha256` only; the encoded part is 64 lowercase hex digits.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Algorithm: String, Sendable, Hashable {
        case sha256
    }

    public let algorithm: Algorithm
    /// The lowercase hex encoding of the hash.
    public let encoded: String

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case missingSeparator(String)
        case unsupportedAlgorithm(String)
        case malformedHex(String)

        public var description: String {
            switch self {
            case .missingSeparator(let s): return "invalid digest '\(s)': expected 'sha256:<64 hex digits>'"
            case .unsupportedAlgorithm(let s): return "unsupported digest algorithm '\(s)'"
            case .malformedHex(let s): return "invalid digest '\(s)': the hash must be 64 lowercase hex digits"
            }
        }
    }

    /// Parses `sha256:<hex>`.
    public init(parsing text: String) throws(ParseError) {
        guard let colon = text.firstIndex(of: ":") else { throw .missingSeparator(text) }
        guard let algorithm = Algorithm(rawValue: String(text[..<colon])) else {
            throw .unsupportedAlgorithm(String(text[..<colon]))
        }
        let hex = String(text[text.index(after: colon)...])
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw .malformedHex(text)
        }
        self.algorithm = algorithm
        self.encoded = hex
    }

    /// A SHA-256 digest from its 32 raw bytes.
    public init(sha256 bytes: some Sequence<UInt8>) {
        let table = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for b in bytes {
            hex.append(table[Int(b >> 4)])
            hex.append(table[Int(b & 0x0f)])
        }
        precondition(hex.count == 64, "a SHA-256 digest has 32 bytes")
        self.algorithm = .sha256
        self.encoded = String(decoding: hex, as: UTF8.self)
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }
}
