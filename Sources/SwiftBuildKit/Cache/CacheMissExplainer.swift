import Foundation
import Synchronization
import SwiftBuildOCI

/// Why a step missed the cache, compared with the last build of the same step.
public struct CacheMissExplanation: Sendable, Equatable {
    /// One part of the step's cache key that changed.
    public struct Part: Sendable, Equatable {
        /// `instruction`, `base`, `parent`, `ARG NAME`, `ENV NAME`, `file PATH`, `files`, `mount[N]`, `workdir`,
        /// `user`, `shell`, `platform`, `sources`.
        public var name: String
        /// Empty when the part did not exist before (an added file or variable), or after.
        public var before: String
        public var after: String

        public init(name: String, before: String, after: String) {
            (self.name, self.before, self.after) = (name, before, after)
        }
    }

    /// One line: every changed part, files and variables named (files up to `CacheMissExplainer.fileLimit`).
    public var reason: String
    /// The changed parts, files up to the limit then one `files` part with the count of the rest.
    public var parts: [Part]
    /// Every changed part, every file included (`--explain`).
    public var details: [Part]
}

/// Remembers each build's steps (their cache key parts, and the files a context COPY covered) in
/// `<root>/cache/explain/<context, Dockerfile, target, platform>/`, and explains a miss of the next build
/// against them. The step is found by stage and position with the same instruction, else by its instruction
/// text, else by stage and position. Values of variables whose names look secret are kept and shown only as a
/// fingerprint. `steps.json` lists the steps; each context COPY's files are in `<checksum>.files` (one
/// `FINGERPRINT PATH` line each), written once per checksum and read only to explain a miss of that COPY, so a
/// one-file change reads and writes only what changed. Written after every build whose steps differ from the
/// remembered ones (a build that only hit may have hit records another build made).
final class CacheMissExplainer: Sendable {
    /// A step as remembered.
    struct Step: Sendable {
        var stage: String
        var position: Int
        var text: String
        /// The stage's base: `scratch`, `stage NAME`, or the image name and manifest digest.
        var base: String
        var parts: [(name: String, value: String)]
        /// The checksum of a context COPY's files (its `sources` part), whose listing is in `<checksum>.files`.
        var listing: String?
    }

    static let fileLimit = 10

    private let directory: String
    private let previous = Mutex<[Step]?>(nil)
    private let current = Mutex<[Step]>([])
    /// This build's listings by checksum (hex), to be written if not there yet.
    private let listings = Mutex<[String: [ContextChecksum.Listed]]>([:])
    private let missed = Atomic<Bool>(false)

    init(root: String, identity: String) {
        directory = root + "/cache/explain/" + SHA256Hasher.digest(Array(identity.utf8)).encoded
    }

    /// Whether the listing of checksum `name` is kept already (a step that hits needs none then).
    func hasListing(_ name: String) -> Bool { access(directory + "/" + name + ".files", F_OK) == 0 }

    /// Records a step of this build (hit or miss), for the next build's explanations, with the listing of
    /// its checksum when it has one.
    func record(_ step: Step, listing: [ContextChecksum.Listed]?) {
        current.withLock { $0.append(step) }
        if let name = step.listing, let listing { listings.withLock { $0[name] = listing } }
    }

    /// Writes this build's steps unless they are the ones remembered, the listings not written yet, and drops
    /// the listings no step refers to any more.
    func save() {
        let steps = current.withLock { $0 }.sorted { ($0.stage, $0.position) < ($1.stage, $1.position) }
        // A build that only hit may still differ from what is remembered (it hit records another build made):
        // then it is the last build of these steps, and it is remembered.
        if !missed.load(ordering: .relaxed) {
            let earlier = loadPrevious()
            let same = earlier.count == steps.count && zip(earlier, steps).allSatisfy { a, b in
                (a.stage, a.position, a.text, a.base, a.listing) == (b.stage, b.position, b.text, b.base, b.listing)
                    && a.parts.map(\.name) == b.parts.map(\.name) && a.parts.map(\.value) == b.parts.map(\.value)
            }
            if same { return }
        }
        let objects: [[String: Any]] = steps.map { step in
            var object: [String: Any] = ["stage": step.stage, "position": step.position, "text": step.text,
                                         "base": step.base, "parts": step.parts.map { [$0.name, $0.value] }]
            if let listing = step.listing { object["listing"] = listing }
            return object
        }
        guard let data = try? JSONSerialization.data(withJSONObject: ["steps": objects]) else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let referenced = Set(steps.compactMap(\.listing))
        for (name, listing) in listings.withLock({ $0 }) where referenced.contains(name) {
            let path = directory + "/" + name + ".files"
            guard access(path, F_OK) != 0 else { continue }
            var text = ""
            text.reserveCapacity(listing.count * 48)
            for entry in listing { text += Self.hex(entry.fingerprint) + " " + entry.path + "\n" }
            Self.write(Data(text.utf8), to: path)
        }
        Self.write(data, to: directory + "/steps.json")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasSuffix(".files") && !referenced.contains(String(name.dropLast(6))) {
            unlink(directory + "/" + name)
        }
    }

    /// Temp file and rename: a reader never sees half a file (these are hints; no fsync).
    private static func write(_ data: Data, to path: String) {
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: data) else { return }
        if rename(temp, path) != 0 { unlink(temp) }
    }

    private func loadPrevious() -> [Step] {
        previous.withLock { cached in
            if let cached { return cached }
            var steps: [Step] = []
            if let data = FileManager.default.contents(atPath: directory + "/steps.json"),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let list = object["steps"] as? [[String: Any]] {
                for item in list {
                    guard let stage = item["stage"] as? String, let position = item["position"] as? Int,
                          let text = item["text"] as? String, let base = item["base"] as? String,
                          let parts = item["parts"] as? [[String]] else { continue }
                    steps.append(Step(stage: stage, position: position, text: text, base: base,
                                      parts: parts.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil },
                                      listing: item["listing"] as? String))
                }
            }
            cached = steps
            return steps
        }
    }

    /// A fingerprint as the listing files write it: 16 hex digits.
    static func hex(_ fingerprint: UInt64) -> String {
        let digits = String(fingerprint, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A remembered listing as path → fingerprint.
    private func loadListing(_ name: String) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + name + ".files") else { return nil }
        var out: [String: String] = [:]
        for line in data.split(separator: 0x0a) where line.count > 17 {
            out[String(decoding: line.dropFirst(17), as: UTF8.self)] = String(decoding: line.prefix(16), as: UTF8.self)
        }
        return out
    }

    /// Why `step` missed: `noCache` when the cache was not consulted, else its differences from the same step
    /// of the last build.
    func explain(_ step: Step, noCache: Bool) -> CacheMissExplanation {
        missed.store(true, ordering: .relaxed)
        if noCache {
            return CacheMissExplanation(reason: "the cache was not used (--no-cache)", parts: [], details: [])
        }
        let earlier = loadPrevious()
        guard let before = earlier.first(where: { $0.stage == step.stage && $0.position == step.position && $0.text == step.text })
                ?? earlier.first(where: { $0.stage == step.stage && $0.text == step.text })
                ?? earlier.first(where: { $0.text == step.text })
                ?? earlier.first(where: { $0.stage == step.stage && $0.position == step.position })
        else {
            return CacheMissExplanation(reason: "no earlier build of this step", parts: [], details: [])
        }
        var details: [CacheMissExplanation.Part] = []
        var reasons: [String] = []
        var fileParts: [CacheMissExplanation.Part] = []
        let old = Dictionary(before.parts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(step.parts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        if before.text != step.text {
            details.append(.init(name: "instruction", before: before.text, after: step.text))
            reasons.append("the instruction changed")
        } else if old["instruction"] != new["instruction"] {
            details.append(.init(name: "instruction", before: old["instruction"] ?? "", after: new["instruction"] ?? ""))
            reasons.append("the instruction's expanded words changed")
        }
        for name in ["env", "args"] where old[name] != new[name] {
            let kind = name == "env" ? "ENV" : "ARG"
            let a = Self.variables(old[name] ?? ""), b = Self.variables(new[name] ?? "")
            var changed: [String] = []
            for key in Set(a.keys).union(b.keys).sorted() where a[key] != b[key] {
                details.append(.init(name: "\(kind) \(key)", before: a[key] ?? "", after: b[key] ?? ""))
                changed.append(key)
            }
            if !changed.isEmpty { reasons.append("\(kind) \(changed.joined(separator: ", ")) changed") }
        }
        if old["sources"] != new["sources"] {
            if let a = before.listing.flatMap(loadListing), let name = step.listing,
               let b = listings.withLock({ $0[name] }) {
                var now: [String: String] = [:]
                for entry in b { now[entry.path] = Self.hex(entry.fingerprint) }
                fileParts = Self.fileChanges(a, now)
                details += fileParts
                let shown = fileParts.prefix(Self.fileLimit).map { part in
                    (part.before.isEmpty ? "+" : part.after.isEmpty ? "-" : "") + String(part.name.dropFirst(5))
                }
                let more = fileParts.count > Self.fileLimit ? " (and \(fileParts.count - Self.fileLimit) more)" : ""
                reasons.append(fileParts.isEmpty ? "the files changed"
                               : "files changed: \(shown.joined(separator: ", "))\(more)")
            } else {
                details.append(.init(name: "sources", before: old["sources"] ?? "", after: new["sources"] ?? ""))
                reasons.append("what it copies changed")
            }
        }
        for name in Set(old.keys).union(new.keys).sorted()
        where !["parent", "instruction", "env", "args", "sources"].contains(name) && old[name] != new[name] {
            details.append(.init(name: name, before: old[name] ?? "", after: new[name] ?? ""))
            reasons.append("\(name) changed")
        }
        if old["parent"] != new["parent"] {
            if before.base != step.base {
                details.append(.init(name: "base", before: before.base, after: step.base))
                reasons.append("the base image changed")
            } else {
                details.append(.init(name: "parent", before: old["parent"] ?? "", after: new["parent"] ?? ""))
                reasons.append("an earlier step changed")
            }
        }
        if reasons.isEmpty { reasons.append("its key changed") }
        // Parts as the event carries them: files up to the limit, then their count.
        var parts = details.filter { !$0.name.hasPrefix("file ") }
        parts += fileParts.prefix(Self.fileLimit)
        if fileParts.count > Self.fileLimit {
            parts.append(.init(name: "files", before: "", after: "\(fileParts.count - Self.fileLimit) more"))
        }
        return CacheMissExplanation(reason: reasons.joined(separator: "; "), parts: parts, details: details)
    }

    /// `KEY=VALUE` lines (the key part's form) as a dictionary.
    static func variables(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        return out
    }

    /// Per path: changed (both fingerprints), added (no before), removed (no after); sorted by path.
    static func fileChanges(_ a: [String: String], _ b: [String: String]) -> [CacheMissExplanation.Part] {
        return Set(a.keys).union(b.keys).sorted().compactMap { path in
            a[path] == b[path] ? nil : .init(name: "file " + path, before: a[path] ?? "", after: b[path] ?? "")
        }
    }

    /// A key part's value as remembered: variables whose names look secret by a keyed fingerprint only (an
    /// HMAC-like SHA-256 with a random key of this root, so a stored or printed fingerprint cannot be checked
    /// against guessed values elsewhere; it only tells two builds' values apart).
    func remembered(_ part: CacheKey.Part) -> (name: String, value: String) {
        (part.name, Self.masked(part) { value in
            let digest = SHA256Hasher.digest(self.fingerprintKey + Array(value.utf8)).encoded.prefix(12)
            return "(hidden, fingerprint \(digest))"
        })
    }

    /// `part`'s value with the values of secret-looking variables (`env`, `args` parts) replaced by `hide`.
    static func masked(_ part: CacheKey.Part, hide: (Substring) -> String = { _ in "(hidden)" }) -> String {
        guard part.name == "env" || part.name == "args" else { return part.value }
        let lines = part.value.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, SecretGuard.looksSecret(argument: String(pair[0]))
                || SecretGuard.namesSensitiveData(String(pair[0])) else { return String(line) }
            return "\(pair[0])=" + hide(pair[1])
        }
        return lines.joined(separator: "\n")
    }

    /// The root's random fingerprint key (`cache/explain/key`), read or made once per build.
    private let fingerprintKeyCache = Mutex<[UInt8]?>(nil)
    private var fingerprintKey: [UInt8] {
        fingerprintKeyCache.withLock { cached in
            if let cached { return cached }
            let key = loadFingerprintKey()
            cached = key
            return key
        }
    }

    private func loadFingerprintKey() -> [UInt8] {
        let path = (directory as NSString).deletingLastPathComponent + "/key"
        if let data = FileManager.default.contents(atPath: path), data.count == 32 { return [UInt8](data) }
        var key = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in key.indices { key[i] = generator.next() }
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        let temp = path + ".tmp-\(getpid())"
        if FileManager.default.createFile(atPath: temp, contents: Data(key), attributes: [.posixPermissions: 0o600]),
           link(temp, path) != 0 {
            // Another build made one first: use that.
            unlink(temp)
            if let data = FileManager.default.contents(atPath: path), data.count == 32 { return [UInt8](data) }
        } else {
            unlink(temp)
        }
        return key
    }
}
