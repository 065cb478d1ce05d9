import Foundation
import TestSupport

/// Deterministic mutation fuzzing over a seed corpus: byte flips, truncations, splices, duplications
/// and insertions of the tokens Dockerfile syntax cares about. Same seed → same inputs.
struct Mutator {
    /// SplitMix64: small, fast, and reproducible across platforms.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    }

    var random: Random
    let corpus: [[UInt8]]
    let tokens: [[UInt8]]

    init(seed: UInt64, corpus: [[UInt8]], tokens: [String]) {
        random = Random(state: seed)
        self.corpus = corpus.filter { !$0.isEmpty }
        self.tokens = tokens.map { Array($0.utf8) }
    }

    mutating func next() -> [UInt8] {
        var input = corpus[random.below(corpus.count)]
        let rounds = 1 + random.below(4)
        for _ in 0..<rounds {
            switch random.below(7) {
            case 0 where !input.isEmpty:  // flip a bit
                let i = random.below(input.count)
                input[i] ^= UInt8(1 << random.below(8))
            case 1 where !input.isEmpty:  // random byte
                input[random.below(input.count)] = UInt8(truncatingIfNeeded: random.next())
            case 2:  // truncate
                input = Array(input.prefix(random.below(input.count + 1)))
            case 3:  // splice with another corpus entry
                let other = corpus[random.below(corpus.count)]
                let cut = random.below(input.count + 1)
                let from = random.below(other.count + 1)
                input = Array(input.prefix(cut)) + Array(other[from...])
            case 4:  // insert a syntax token
                let t = tokens[random.below(tokens.count)]
                input.insert(contentsOf: t, at: random.below(input.count + 1))
            case 5 where !input.isEmpty:  // duplicate a slice
                let a = random.below(input.count)
                let b = min(input.count, a + random.below(64))
                input.insert(contentsOf: input[a..<b], at: random.below(input.count + 1))
            default:  // delete a slice
                guard !input.isEmpty else { continue }
                let a = random.below(input.count)
                let b = min(input.count, a + random.below(16))
                input.removeSubrange(a..<b)
            }
        }
        return input
    }
}

/// Runs `body` on `count` mutated inputs; returns the slowest input's time and the total time.
func fuzz(count: Int, seed: UInt64, corpus: [[UInt8]], tokens: [String],
          _ body: ([UInt8]) -> Void) -> (slowest: Duration, total: Duration, slowestInput: [UInt8]) {
    var mutator = Mutator(seed: seed, corpus: corpus, tokens: tokens)
    let clock = ContinuousClock()
    var slowest = Duration.zero
    var slowestInput: [UInt8] = []
    let start = clock.now
    for _ in 0..<count {
        let input = mutator.next()
        let t0 = clock.now
        body(input)
        let took = clock.now - t0
        if took > slowest {
            slowest = took
            slowestInput = input
        }
    }
    return (slowest, clock.now - start, slowestInput)
}

enum Seeds {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("testdata/conformance")

    /// Every Dockerfile of the conformance corpus, plus every `dockerfile` string in the JSON vectors.
    static func dockerfiles() -> [[UInt8]] {
        var out: [[UInt8]] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(at: root, includingPropertiesForKeys: nil) else { return out }
        for case let url as URL in walker {
            if url.lastPathComponent == "Dockerfile", let d = try? Data(contentsOf: url) {
                out.append([UInt8](d))
            } else if url.pathExtension == "json", let d = try? Data(contentsOf: url),
                      let json = try? JSONSerialization.jsonObject(with: d) {
                collect(json, key: nil, into: &out)
            }
        }
        return out
    }

    /// Strings under the given keys anywhere in the corpus JSON (e.g. `input`, `pattern`).
    static func strings(forKeys keys: Set<String>) -> [[UInt8]] {
        var out: [[UInt8]] = []
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return out }
        for case let url as URL in walker where url.pathExtension == "json" {
            guard let d = try? Data(contentsOf: url), let json = try? JSONSerialization.jsonObject(with: d) else { continue }
            collectStrings(json, keys: keys, into: &out)
        }
        return out
    }

    private static func collect(_ json: Any, key: String?, into out: inout [[UInt8]]) {
        if let s = json as? String, key == "dockerfile" || key == "line" { out.append(Array(s.utf8)) }
        if let a = json as? [Any] { for e in a { collect(e, key: key, into: &out) } }
        if let o = json as? [String: Any] { for (k, v) in o { collect(v, key: k, into: &out) } }
    }

    private static func collectStrings(_ json: Any, keys: Set<String>, into out: inout [[UInt8]]) {
        if let a = json as? [Any] { for e in a { collectStrings(e, keys: keys, into: &out) } }
        if let o = json as? [String: Any] {
            for (k, v) in o {
                if keys.contains(k) {
                    if let s = v as? String { out.append(Array(s.utf8)) }
                    if let a = v as? [Any] { for case let s as String in a { out.append(Array(s.utf8)) } }
                }
                collectStrings(v, keys: keys, into: &out)
            }
        }
    }
}
