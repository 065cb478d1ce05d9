import Foundation

/// The JSON swiftbuild writes for manifests, indexes and configs: keys sorted, no insignificant whitespace,
/// `/` not escaped. The same value always gives the same bytes, so digests of generated blobs are stable.
public enum CanonicalJSON {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(value))
    }

    /// Decodes JSON bytes (any key order, any whitespace).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
