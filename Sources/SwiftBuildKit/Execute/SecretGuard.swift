import CSys
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive

/// What a layer must not contain: the secrets a build was given and the shapes of common credentials. Every
/// layer a step writes is checked before it is committed (`SecretScanner`); a finding fails the step with the
/// path and the kind of secret, never its value. `--allow-secrets-in-layers` turns the check off.
public struct SecretGuard: Sendable {
    /// A kind of secret, as the error names it.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// The value of `--secret id=ID`.
        case secretValue(id: String)
        /// The value of `--build-arg NAME=…` whose name looks secret.
        case buildArgument(name: String)
        /// A docker `config.json` (any `.json` file) with registry credentials (`"auths"` with an `"auth"` value).
        case dockerConfig
        /// A PEM private key (`-----BEGIN … PRIVATE KEY-----`).
        case privateKey
        /// An AWS access key id (`AKIA` or `ASIA` and 16 more capitals or digits).
        case awsAccessKey

        public var description: String {
            switch self {
            case .secretValue(let id): return "the value of secret \"\(id)\""
            case .buildArgument(let name): return "the value of build argument \(name)"
            case .dockerConfig: return "docker config.json registry credentials"
            case .privateKey: return "a private key"
            case .awsAccessKey: return "an AWS access key id"
            }
        }
    }

    /// Literal values to find, with what they are.
    let values: [(bytes: [UInt8], kind: Kind)]

    /// Values shorter than this are not looked for: they would be found everywhere (`1`, `true`).
    public static let minimumValueLength = 6

    /// - Parameters:
    ///   - secrets: the `--secret` values by id (a trailing newline is not part of what is looked for).
    ///   - buildArguments: `--build-arg` values by name; those whose name looks secret are looked for.
    public init(secrets: [String: [UInt8]], buildArguments: [String: String]) {
        var values: [(bytes: [UInt8], kind: Kind)] = []
        for (id, value) in secrets.sorted(by: { $0.key < $1.key }) {
            var bytes = value
            while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
            if bytes.count >= Self.minimumValueLength { values.append((bytes, .secretValue(id: id))) }
        }
        for (name, value) in buildArguments.sorted(by: { $0.key < $1.key }) where Self.looksSecret(argument: name) {
            let bytes = Array(value.utf8)
            if bytes.count >= Self.minimumValueLength { values.append((bytes, .buildArgument(name: name))) }
        }
        self.values = values
        longestValue = values.map(\.bytes.count).max() ?? 0
    }

    /// The length of the longest of `values` (0 without any).
    let longestValue: Int

    /// A build argument whose name looks secret: a word of it (split at `_`) contains TOKEN, PASSWORD, PASSWD
    /// or SECRET, or is KEY, APIKEY, AUTH, PWORD or CREDENTIAL(S) (any case), and no word is PUBLIC, FILE or
    /// VERSION. So `GITHUB_TOKEN`, `NPMTOKEN`, `API_KEY` and `DB_PASSWORD` do; `KEYBOARD_LAYOUT`, `MONKEY`,
    /// `PUBLIC_KEY` and `PASSWORD_FILE` do not.
    public static func looksSecret(argument name: String) -> Bool {
        let words = name.lowercased().split(separator: "_").map(String.init)
        let allow: Set = ["public", "file", "version"]
        guard !words.contains(where: { allow.contains($0) }) else { return false }
        let whole: Set = ["key", "apikey", "auth", "pword", "credential", "credentials"]
        return words.contains { word in
            whole.contains(word) || ["token", "password", "passwd", "secret"].contains { word.contains($0) }
        }
    }

    /// BuildKit's `SecretsUsedInArgOrEnv` rule: a word of the name (split at `_`) is a secret word, and no word
    /// says it is not (`PUBLIC_KEY`, `PASSWORD_FILE`, `AUTH_VERSION`).
    public static func namesSensitiveData(_ name: String) -> Bool {
        let words = name.lowercased().split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        let deny: Set = ["apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd",
                         "secret", "token"]
        let allow: Set = ["public", "file", "version"]
        return words.contains { deny.contains($0) } && !words.contains { allow.contains($0) }
    }
}

/// A secret found in a layer: where, and what kind (never the value).
public struct SecretFinding: Sendable, Hashable, CustomStringConvertible {
    /// The path inside the image.
    public var path: String
    public var kind: SecretGuard.Kind

    public var description: String { "/\(path) holds \(kind)" }
}

/// A layer that would have carried secrets; the layer was not stored.
public struct SecretLeakError: Error, CustomStringConvertible {
    public var findings: [SecretFinding]

    public var description: String {
        let shown = findings.prefix(10).map(\.description).joined(separator: "; ")
        let more = findings.count > 10 ? " (and \(findings.count - 10) more)" : ""
        return "the layer would contain secrets: \(shown)\(more). Keep secret values out of the files a step "
            + "leaves: read them from a secret mount (RUN --mount=type=secret) and do not write them anywhere in "
            + "the image; or pass --allow-secrets-in-layers"
    }
}

/// Checks every file of one layer as the layer writer reads it (`LayerContentObserver`), in one pass over
/// each file's bytes with `memmem` per needle, across read boundaries. `layerWritten` throws
/// `SecretLeakError` when anything was found, so the layer is never committed.
///
/// Files of 1 MiB and more are scanned on a thread of their own (their slices copied into a few reused
/// buffers), so the scan runs beside the tar producer instead of on it; smaller files are scanned in place.
final class SecretScanner: LayerContentObserver, @unchecked Sendable {
    private let guardrail: SecretGuard
    private let found = Mutex<[SecretFinding]>([])
    /// Scans of big files, in order.
    private let queue = DispatchQueue(label: "swiftbuild.secret-scan")
    private let buffers = BufferPool(count: 4, size: 1 << 20)

    /// Files at least this big are scanned on `queue`.
    static let offloadSize: Int64 = 1 << 20

    init(_ guardrail: SecretGuard) { self.guardrail = guardrail }

    deinit { queue.sync {} }  // scans still queued use `buffers`

    var findings: [SecretFinding] {
        queue.sync {}
        return found.withLock { $0 }
    }

    func willRead(source: String, path: String, stat: stat) -> (any LayerContentTap)? {
        let tap = Tap(guardrail: guardrail, path: path) { kinds in
            self.found.withLock { findings in
                for kind in kinds { findings.append(SecretFinding(path: path, kind: kind)) }
            }
        }
        guard Int64(stat.st_size) >= Self.offloadSize else { return tap }
        return Offloaded(tap, queue: queue, buffers: buffers)
    }

    func layerWritten() throws {
        let findings = self.findings
        if !findings.isEmpty { throw SecretLeakError(findings: findings) }
    }

    /// A big file's tap: each slice is copied into a free buffer and scanned on the queue.
    final class Offloaded: LayerContentTap, @unchecked Sendable {
        private let tap: Tap
        private let queue: DispatchQueue
        private let buffers: BufferPool

        init(_ tap: Tap, queue: DispatchQueue, buffers: BufferPool) {
            (self.tap, self.queue, self.buffers) = (tap, queue, buffers)
        }

        func update(_ bytes: UnsafeRawBufferPointer) {
            var offset = 0
            while offset < bytes.count {
                // Owned by this scan until given back.
                nonisolated(unsafe) let buffer = buffers.take()
                let n = min(buffer.count, bytes.count - offset)
                buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
                offset += n
                queue.async { [tap, buffers] in
                    tap.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    buffers.give(buffer)
                }
            }
        }

        func finish() { queue.async { [tap] in tap.finish() } }
    }

    /// A few fixed buffers handed out and back; `take` waits for one to be free. (Kept as addresses: a pointer
    /// is not `Sendable`, and each buffer has one owner at a time.)
    final class BufferPool: @unchecked Sendable {
        private let free = Mutex<[UInt]>([])
        private let available: DispatchSemaphore
        private let size: Int

        init(count: Int, size: Int) {
            self.size = size
            available = DispatchSemaphore(value: count)
        }

        deinit {
            for address in free.withLock({ $0 }) { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
        }

        func take() -> UnsafeMutableRawBufferPointer {
            available.wait()
            let address = free.withLock { $0.popLast() }
            let base = address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
                ?? .allocate(byteCount: size, alignment: 64)  // made only when first needed
            return UnsafeMutableRawBufferPointer(start: base, count: size)
        }

        func give(_ buffer: UnsafeMutableRawBufferPointer) {
            let address = UInt(bitPattern: buffer.baseAddress)
            free.withLock { $0.append(address) }
            available.signal()
        }
    }

    /// One file. Matches are checked in each read slice; the last `context` bytes of the previous slice are kept,
    /// so a needle cut by a slice boundary, and what a pattern needs before or after its anchor, are still seen.
    final class Tap: LayerContentTap, @unchecked Sendable {
        private let guardrail: SecretGuard
        private let report: ([SecretGuard.Kind]) -> Void
        private var kinds: [SecretGuard.Kind] = []
        private var carry: [UInt8] = []
        /// The byte before `carry` in the file (nil when `carry` starts the file).
        private var beforeCarry: UInt8?
        private var sawAuths = false
        private var sawAuthValue = false
        /// Bytes kept across slices: the longest needle, and a pattern's look-behind and look-ahead.
        private let context: Int

        private static let privateKeyAnchor = Array("PRIVATE KEY-----".utf8)
        private static let begin = Array("-----BEGIN".utf8)
        private static let awsAnchors = [(UInt8(ascii: "K"), Array("AKIA".utf8)), (UInt8(ascii: "S"), Array("ASIA".utf8))]
        private static let auths = Array("\"auths\"".utf8)
        private static let auth = Array("\"auth\"".utf8)
        /// Look-behind of the private key anchor (`-----BEGIN ENCRYPTED `) and look-ahead of an AWS key or an
        /// auth value.
        private static let patternContext = 64 + 160

        /// Registry credentials are looked for in JSON files only (`config.json`, `auth.json`, …).
        private let checksDockerConfig: Bool

        /// Whether the shapes of credentials (keys, key ids, registry auths) are looked for in this file: not in
        /// the directories package managers own, nor in ELF binaries (decided at the first bytes), where
        /// libraries and packages keep test keys and certificates (libgnutls's self-test keys, test fixtures of
        /// Python packages). The values of secrets and secret-looking build arguments are looked for everywhere.
        private var checksShapes: Bool
        private var sawFirstBytes = false

        /// Paths (in the layer, no leading `/`) under which shapes are not looked for. (Runs once per file the
        /// layer writer reads, on its thread: compares bytes, allocates nothing.)
        static func ownedByPackages(_ path: String) -> Bool {
            var path = path
            return path.withUTF8 { bytes in
                if ownedPrefixes.contains(where: { bytes.starts(with: $0) }) { return true }
                var start = 0
                for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x2f {
                    let component = UnsafeBufferPointer(rebasing: bytes[start..<i])
                    if packageDirectories.contains(where: { component.elementsEqual($0) }) { return true }
                    start = i + 1
                }
                return false
            }
        }

        private static let ownedPrefixes = ["usr/lib/", "usr/lib64/", "usr/libexec/", "usr/share/", "lib/", "lib64/",
                                            "usr/lib32/", "var/lib/dpkg/", "var/lib/rpm/", "etc/ssl/", "etc/pki/"]
            .map { Array($0.utf8) }
        private static let packageDirectories = ["site-packages", "dist-packages", "node_modules"].map { Array($0.utf8) }

        /// Whether the path ends in `.json`, in any case.
        static func isJSON(_ path: String) -> Bool {
            var path = path
            return path.withUTF8 { bytes in
                guard bytes.count >= 5 else { return false }
                return zip(bytes[(bytes.count - 5)...], ".json".utf8).allSatisfy { b, c in
                    c == UInt8(ascii: ".") ? b == c : b | 0x20 == c
                }
            }
        }

        init(guardrail: SecretGuard, path: String, report: @escaping ([SecretGuard.Kind]) -> Void) {
            self.guardrail = guardrail
            checksShapes = !Self.ownedByPackages(path)
            checksDockerConfig = Self.isJSON(path)
            self.report = report
            // The seam holds the tail and as much of the next slice: anchors in the first `patternContext` bytes
            // of a slice are judged there, with their look-behind; look-ahead needs 20 bytes more at most.
            context = 2 * Self.patternContext + max(Self.privateKeyAnchor.count, guardrail.longestValue)
        }

        func update(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0 else { return }
            if !sawFirstBytes {
                sawFirstBytes = true
                if bytes.count >= 4 && bytes[0] == 0x7f && bytes[1] == UInt8(ascii: "E") && bytes[2] == UInt8(ascii: "L")
                    && bytes[3] == UInt8(ascii: "F") {
                    checksShapes = false
                }
            }
            if !carry.isEmpty {
                // The seam: the kept tail and the start of this slice, for matches that begin in the tail.
                var seam = carry
                seam.append(contentsOf: bytes.prefix(context))
                let limit = carry.count + Self.patternContext
                seam.withUnsafeBytes { scan($0, startsBefore: limit, previous: beforeCarry) }
            }
            scan(bytes, startsBefore: bytes.count, previous: carry.last)
            // Keep the tail for the next seam, and the byte before it.
            if bytes.count > context {
                beforeCarry = bytes[bytes.count - context - 1]
                carry = Array(bytes.suffix(context))
            } else {
                carry.append(contentsOf: bytes)
                if carry.count > context {
                    let drop = carry.count - context
                    beforeCarry = carry[drop - 1]
                    carry.removeFirst(drop)
                }
            }
        }

        func finish() {
            carry.withUnsafeBytes { scan($0, startsBefore: $0.count, previous: beforeCarry, atEnd: true) }
            if sawAuths && sawAuthValue { add(.dockerConfig) }
            if !kinds.isEmpty { report(kinds) }
        }

        private func add(_ kind: SecretGuard.Kind) {
            if !kinds.contains(kind) { kinds.append(kind) }
        }

        /// Finds every needle starting before `startsBefore` in `buffer`. A pattern whose look-ahead runs past
        /// the buffer is judged on what there is (the next seam sees it whole).
        /// `previous`: the file's byte before `buffer` (nil at the start of the file).
        /// `atEnd`: `buffer` ends the file (else a pattern that needs the byte after the buffer is left to the
        /// next seam).
        private func scan(_ buffer: UnsafeRawBufferPointer, startsBefore limit: Int, previous: UInt8?,
                          atEnd: Bool = false) {
            for (value, kind) in guardrail.values where !kinds.contains(kind) {
                if Self.find(value, in: buffer, before: limit) != nil { add(kind) }
            }
            guard checksShapes else { return }
            if !kinds.contains(.privateKey) {
                Self.forEach(Self.privateKeyAnchor, in: buffer, before: limit) { at in
                    // `-----BEGIN` somewhere in the 40 bytes before the anchor (RSA, EC, OPENSSH, ENCRYPTED…), and
                    // key material after it: a header alone is a string constant in a PEM parser (Python's
                    // `cryptography` has one), not a key.
                    let from = max(0, at - 40)
                    let before = UnsafeRawBufferPointer(rebasing: buffer[from..<at])
                    guard Self.find(Self.begin, in: before, before: before.count) != nil else { return true }
                    let body = at + Self.privateKeyAnchor.count
                    if body + Self.keyBodyWindow > buffer.count && !atEnd { return true }  // the next seam decides
                    if Self.hasKeyBody(buffer, from: body) { add(.privateKey); return false }
                    return true
                }
            }
            if !kinds.contains(.awsAccessKey) {
                // `AKIA`/`ASIA` found by their second byte: `memchr` for one byte runs at memory speed, and a
                // capital K or S is rare in text (1 in 256 bytes of binary data); four-byte `memmem`s were
                // four times slower.
                for (second, anchor) in Self.awsAnchors {
                    Self.forEach(byte: second, in: buffer, before: limit + 1) { hit in
                        let at = hit - 1
                        guard at >= 0, at < limit, at + 4 <= buffer.count else { return true }
                        guard buffer[at] == anchor[0], buffer[at + 2] == anchor[2], buffer[at + 3] == anchor[3] else { return true }
                        if at + 20 == buffer.count && !atEnd { return true }  // the next seam decides
                        if Self.isAWSKey(buffer, at: at, previous: previous) { add(.awsAccessKey); return false }
                        return true
                    }
                }
            }
            if checksDockerConfig, !sawAuths, Self.find(Self.auths, in: buffer, before: limit) != nil { sawAuths = true }
            if sawAuths && !sawAuthValue {
                Self.forEach(Self.auth, in: buffer, before: limit) { at in
                    if Self.hasValue(buffer, after: at + Self.auth.count) { sawAuthValue = true; return false }
                    return true
                }
            }
        }

        /// Bytes after a private key header where its base64 body must start (past `Proc-Type`/`DEK-Info`
        /// lines of an encrypted PEM key).
        private static let keyBodyWindow = 160

        /// Key material right after a header, as PEM writes it: a line break (`\n`, `\r\n`, or the two characters
        /// `\n` of a JSON or shell string), optional `Name: value` header lines and a blank line (encrypted PEM),
        /// then a line of at least 40 base64 characters. A header followed by anything else (a NUL in a binary's
        /// string table, a quote in source code, the base64 alphabet of an encoder) is not a key.
        private static func hasKeyBody(_ b: UnsafeRawBufferPointer, from start: Int) -> Bool {
            let end = min(b.count, start + keyBodyWindow)
            var i = start
            /// Skips one line break at `i`; false when there is none.
            func lineBreak() -> Bool {
                if i < end && b[i] == 0x0d { i += 1 }
                if i < end && b[i] == 0x0a { i += 1; return true }
                if i + 1 < end && b[i] == UInt8(ascii: "\\") && b[i + 1] == UInt8(ascii: "n") { i += 2; return true }
                return false
            }
            guard lineBreak() else { return false }
            for _ in 0..<4 {
                // A header line (`Proc-Type: 4,ENCRYPTED`), or the blank line after the headers.
                var j = i
                var colon = false
                while j < end && b[j] != 0x0a && b[j] != 0x0d && b[j] != UInt8(ascii: "\\") {
                    if b[j] == UInt8(ascii: ":") { colon = true }
                    j += 1
                }
                guard colon || j == i else { break }
                i = j
                guard lineBreak() else { return false }
            }
            var run = 0
            while i < end {
                let c = b[i]
                let base64 = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
                    || c == UInt8(ascii: "+") || c == UInt8(ascii: "/") || c == UInt8(ascii: "=")
                guard base64 else { break }
                run += 1
                i += 1
            }
            return run >= 40
        }

        /// `AKIA…`: 20 capitals or digits in all, not inside a longer run of them.
        private static func isAWSKey(_ b: UnsafeRawBufferPointer, at: Int, previous: UInt8?) -> Bool {
            func keyByte(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) }
            guard at + 20 <= b.count else { return false }
            for i in (at + 4)..<(at + 20) where !keyByte(b[i]) { return false }
            if let before = at > 0 ? b[at - 1] : previous, keyByte(before) { return false }
            if at + 20 < b.count && keyByte(b[at + 20]) { return false }
            return true
        }

        /// `"auth"` followed by `:` and a quoted, non-empty base64 value.
        private static func hasValue(_ b: UnsafeRawBufferPointer, after start: Int) -> Bool {
            var i = start
            func skipSpace() { while i < b.count, [0x20, 0x09, 0x0a, 0x0d].contains(b[i]) { i += 1 } }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return false }
            i += 1
            var n = 0
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                let c = b[i]
                let base64 = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
                    || c == UInt8(ascii: "+") || c == UInt8(ascii: "/") || c == UInt8(ascii: "=")
                guard base64 else { return false }
                n += 1
                i += 1
            }
            return n >= 4
        }

        private static func find(_ needle: [UInt8], in buffer: UnsafeRawBufferPointer, before limit: Int) -> Int? {
            var hit: Int?
            forEach(needle, in: buffer, before: limit) { at in hit = at; return false }
            return hit
        }

        /// Calls `body` with each offset of `byte` in `buffer` below `limit`, until it returns false.
        private static func forEach(byte: UInt8, in buffer: UnsafeRawBufferPointer, before limit: Int,
                                    _ body: (Int) -> Bool) {
            guard let base = buffer.baseAddress else { return }
            let end = min(limit, buffer.count)
            var offset = 0
            while offset < end {
                guard let p = memchr(base + offset, Int32(byte), end - offset) else { return }
                let at = base.distance(to: UnsafeRawPointer(p))
                guard body(at) else { return }
                offset = at + 1
            }
        }

        /// Calls `body` with each start of `needle` in `buffer` below `limit`, until it returns false.
        private static func forEach(_ needle: [UInt8], in buffer: UnsafeRawBufferPointer, before limit: Int,
                                    _ body: (Int) -> Bool) {
            guard let base = buffer.baseAddress, !needle.isEmpty else { return }
            needle.withUnsafeBytes { n in
                var offset = 0
                while offset < min(limit, buffer.count) {
                    guard let p = swiftbuild_memmem(base + offset, buffer.count - offset, n.baseAddress, n.count) else { return }
                    let at = base.distance(to: p)
                    guard at < limit, body(at) else { return }
                    offset = at + 1
                }
            }
        }
    }
}
