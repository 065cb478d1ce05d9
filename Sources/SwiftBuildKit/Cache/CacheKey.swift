import Foundation
import SwiftBuildDockerfile
import SwiftBuildOCI

/// The identity of a step's result: SHA-256 over named parts (the parent's key, the expanded instruction,
/// the environment the step sees, the content of what it reads). The parts are kept so a user can see
/// what a key was made of (`--debug-cache`).
public struct CacheKey: Sendable, Hashable, CustomStringConvertible {
    public struct Part: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public let digest: Digest
    public let parts: [Part]

    public init(_ parts: [Part]) {
        self.parts = parts
        let hasher = SHA256Hasher()
        // Length-prefixed so no two part lists can produce the same byte stream.
        for part in parts {
            for text in [part.name, part.value] {
                let bytes = Array(text.utf8)
                hasher.update(Array("\(bytes.count):".utf8))
                hasher.update(bytes)
            }
        }
        digest = hasher.finalize()
    }

    public var description: String {
        ([digest.description] + parts.map { "  \($0.name): \($0.value)" }).joined(separator: "\n")
    }

    /// The canonical text of an expanded instruction: sorted-key JSON of its typed form.
    public static func canonical(_ instruction: Instruction) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(instruction) else { return "\(instruction)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `KEY=VALUE` lines of an environment, in order.
    public static func canonical(_ environment: [Instruction.KeyValue]) -> String {
        environment.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
    }
}
