/// Something `ContentStore.verify` found wrong in the store.
public struct BlobProblem: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The blob's bytes hash to `actual`, not to its name.
        case digestMismatch(actual: Digest)
        /// A file in `blobs/sha256` whose name is not a digest, or that is not a regular file.
        case unexpectedFile
        /// The blob could not be read.
        case unreadable(errno: Int32)
    }

    /// What `verify` did about it.
    public enum Action: Hashable, Sendable {
        case reported
        case quarantined(to: String)
        case removed
    }

    /// The path of the file in the store.
    public let path: String
    public let kind: Kind
    public let action: Action

    public var description: String {
        let what: String
        switch kind {
        case .digestMismatch(let actual): what = "content hashes to \(actual)"
        case .unexpectedFile: what = "not a blob (unexpected name or file type)"
        case .unreadable(let code): what = "unreadable (errno \(code))"
        }
        switch action {
        case .reported: return "\(path): \(what)"
        case .quarantined(let to): return "\(path): \(what); moved to \(to)"
        case .removed: return "\(path): \(what); removed"
        }
    }
}
