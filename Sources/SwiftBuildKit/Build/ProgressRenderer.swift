import Foundation

/// Turns build events into text: BuildKit-like plain lines (`#3 [build 2/4] RUN make`, `#3 CACHED`,
/// `#3 DONE 0.4s`) or one JSON object per line. Output goes through `write`; the renderer keeps no global state.
public final class ProgressRenderer: @unchecked Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case plain, json
    }

    private let mode: Mode
    private let write: @Sendable (String) -> Void
    private let showCacheKeys: Bool
    private let lock = NSLock()
    private var steps: [Int: BuildEvent.Step] = [:]
    /// Partial last line of each step's output.
    private var pending: [Int: [UInt8]] = [:]

    public init(mode: Mode, showCacheKeys: Bool = false, write: @escaping @Sendable (String) -> Void) {
        self.mode = mode
        self.showCacheKeys = showCacheKeys
        self.write = write
    }

    public func handle(_ event: BuildEvent) {
        lock.withLock {
            switch mode {
            case .plain: plain(event)
            case .json: json(event)
            }
        }
    }

    private func plain(_ event: BuildEvent) {
        switch event {
        case .stepPlanned(let step):
            steps[step.id] = step
        case .stepStarted(let id):
            guard let s = steps[id] else { return }
            write("#\(id) [\(s.stage) \(s.index)/\(s.count)] \(s.text)\n")

        case .stepCacheKey(let id, let key):
            guard showCacheKeys else { return }
            write("#\(id) cache key \(key.digest)\n")
            for part in key.parts { write("#\(id)   \(part.name): \(part.value)\n") }
        case .stepCached(let id, _):
            write("#\(id) CACHED\n")
        case .stepOutput(let id, let bytes):
            var buffer = pending[id, default: []] + bytes
            while let nl = buffer.firstIndex(of: 0x0A) {
                write("#\(id) " + String(decoding: buffer[..<nl], as: UTF8.self) + "\n")
                buffer.removeSubrange(...nl)
            }
            pending[id] = buffer
        case .stepFinished(let id, let seconds, let key, _):
            flush(id)
            _ = key
            write("#\(id) DONE \(String(format: "%.1f", seconds))s\n")
        case .stepFailed(let id, let seconds, let message):
            flush(id)
            write("#\(id) ERROR \(String(format: "%.1f", seconds))s: \(message)\n")
        case .buildFinished(let manifest, _, let seconds):
            write("#0 DONE \(String(format: "%.1f", seconds))s writing image \(manifest)\n")
        }
    }

    private func flush(_ id: Int) {
        if let rest = pending.removeValue(forKey: id), !rest.isEmpty {
            write("#\(id) " + String(decoding: rest, as: UTF8.self) + "\n")
        }
    }

    /// One JSON object per event. Schema: `{"event": "...", "step": N, ...}`; see README "Progress events".
    private func json(_ event: BuildEvent) {
        var object: [String: Any] = [:]
        switch event {
        case .stepPlanned(let s):
            object = ["event": "planned", "step": s.id, "stage": s.stage, "index": s.index, "count": s.count,
                      "instruction": s.text]
        case .stepStarted(let id):
            object = ["event": "started", "step": id]
        case .stepCacheKey(let id, let key):
            object = ["event": "cache_key", "step": id, "cache_key": key.digest.description,
                      "parts": key.parts.map { ["name": $0.name, "value": $0.value] }]
        case .stepCached(let id, let key):
            object = ["event": "cached", "step": id, "cache_key": key.description]
        case .stepOutput(let id, let bytes):
            object = ["event": "output", "step": id, "data": String(decoding: bytes, as: UTF8.self)]
        case .stepFinished(let id, let seconds, let key, let bytes):
            object = ["event": "done", "step": id, "seconds": seconds]
            if let key { object["cache_key"] = key.description }
            if let bytes { object["layer_bytes"] = bytes }
        case .stepFailed(let id, let seconds, let message):
            object = ["event": "error", "step": id, "seconds": seconds, "message": message]
        case .buildFinished(let manifest, let config, let seconds):
            object = ["event": "finished", "manifest": manifest.description, "config": config.description,
                      "seconds": seconds]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }
}
