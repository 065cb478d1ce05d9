import Foundation
import Synchronization

/// Turns build events into text: BuildKit-like plain lines (`#3 [build 2/4] RUN make`, `#3 CACHED`,
/// `#3 DONE 0.4s`) or one JSON object per line. Output goes through `write`; the renderer keeps no global state.
public final class ProgressRenderer: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Live view for a terminal: one line per step with its state and time, redrawn in place.
        case tty
        case plain, json
    }

    private let state: Mutex<RendererState>

    /// - Parameter explain: print every changed part of a missed step's key (`--explain`), every file
    ///   included, not just the one-line reason.
    public init(mode: Mode, showCacheKeys: Bool = false, explain: Bool = false,
                write: @escaping @Sendable (String) -> Void) {
        state = Mutex(RendererState(mode: mode, showCacheKeys: showCacheKeys, explain: explain, write: write))
    }

    public func handle(_ event: BuildEvent) {
        state.withLock { $0.handle(event) }
    }
}

/// What the renderer remembers between events; only touched under its mutex.
private final class RendererState {
    private let mode: ProgressRenderer.Mode
    private let write: @Sendable (String) -> Void
    private let showCacheKeys: Bool
    private let explain: Bool
    private var steps: [Int: BuildEvent.Step] = [:]
    /// Partial last line of each step's output.
    private var pending: [Int: [UInt8]] = [:]

    init(mode: ProgressRenderer.Mode, showCacheKeys: Bool, explain: Bool, write: @escaping @Sendable (String) -> Void) {
        self.mode = mode
        self.showCacheKeys = showCacheKeys
        self.explain = explain
        self.write = write
    }

    func handle(_ event: BuildEvent) {
        switch mode {
        case .tty: tty(event)
        case .plain: plain(event)
        case .json: json(event)
        }
    }

    private func plain(_ event: BuildEvent) {
        switch event {
        case .stepPlanned(let step):
            steps[step.id] = step
        case .stepStarted(let id):
            guard let s = steps[id] else { return }
            write("#\(id) [\(s.label)] \(s.text)\n")

        case .stepCacheKey(let id, let key):
            guard showCacheKeys else { return }
            write("#\(id) cache key \(key.digest)\n")
            // Secret-looking ARG and ENV values are never printed; every line of a value keeps the step prefix.
            for part in key.parts {
                let value = CacheMissExplainer.masked(part).replacingOccurrences(of: "\n", with: "\n#\(id)     ")
                write("#\(id)   \(part.name): \(value)\n")
            }
        case .stepCached(let id, _):
            write("#\(id) CACHED\n")
        case .stepCacheMiss(let id, let explanation):
            write("#\(id) MISS \(explanation.reason)\n")
            guard explain else { return }
            for part in explanation.details {
                let before = part.before.isEmpty ? "(none)" : part.before
                let after = part.after.isEmpty ? "(none)" : part.after
                write("#\(id)   \(part.name): \(before) -> \(after)\n".replacingOccurrences(of: "\n#", with: "\n#"))
            }
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
        case .warning(let message):
            write("#0 WARNING: \(message)\n")
        case .sandbox(let description):
            write("#0 sandbox: \(description)\n")
        case .buildFinished(let manifest, _, let seconds):
            write("#0 DONE \(String(format: "%.1f", seconds))s writing image \(manifest)\n")
        }
    }

    // MARK: tty

    private enum StepState { case waiting, running(ContinuousClock.Instant), cached, done(Double), failed(Double) }
    private var order: [Int] = []
    private var states: [Int: StepState] = [:]
    private var recentOutput: [Int: [String]] = [:]
    private var drawnLines = 0
    private var lastDraw = ContinuousClock.now - .seconds(1)

    private func tty(_ event: BuildEvent) {
        var force = false
        switch event {
        case .stepPlanned(let step):
            steps[step.id] = step
            order.append(step.id)
            states[step.id] = .waiting
        case .stepStarted(let id):
            states[id] = .running(.now)
        case .stepCacheKey, .stepCacheMiss:
            return
        case .stepCached(let id, _):
            states[id] = .cached
        case .stepOutput(let id, let bytes):
            var lines = recentOutput[id, default: []]
            lines += String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
            recentOutput[id] = Array(lines.suffix(4))
        case .stepFinished(let id, let seconds, _, _):
            if case .cached = states[id] {} else { states[id] = .done(seconds) }
            recentOutput[id] = nil
            force = true
        case .stepFailed(let id, let seconds, _):
            states[id] = .failed(seconds)
            force = true
        case .warning(let message):
            write((drawnLines > 0 ? "\u{1B}[\(drawnLines)F\u{1B}[J" : "") + "WARNING: \(message)\n")
            drawnLines = 0
            force = true
        case .sandbox(let description):
            write((drawnLines > 0 ? "\u{1B}[\(drawnLines)F\u{1B}[J" : "") + "sandbox: \(description)\n")
            drawnLines = 0
            force = true
        case .buildFinished(let manifest, _, let seconds):
            redraw()
            write(String(format: "done in %.1fs: %@\n", seconds, manifest.description))
            return
        }
        if force || ContinuousClock.now - lastDraw > .milliseconds(100) { redraw() }
    }

    private func redraw() {
        lastDraw = .now
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)F\u{1B}[J" : ""
        var lines = 0
        for id in order {
            guard let step = steps[id], let state = states[id] else { continue }
            let status: String
            switch state {
            case .waiting: continue
            case .running(let since): status = String(format: "%.1fs", (ContinuousClock.now - since).seconds)
            case .cached: status = "CACHED"
            case .done(let s): status = String(format: "DONE %.1fs", s)
            case .failed(let s): status = String(format: "ERROR %.1fs", s)
            }
            text += "[\(step.label)] \(step.text.prefix(70)) \(status)\n"
            lines += 1
            for line in recentOutput[id] ?? [] {
                text += "  > " + line.prefix(100) + "\n"
                lines += 1
            }
        }
        drawnLines = lines
        write(text)
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
            if let platform = s.platform { object["platform"] = platform }
        case .stepStarted(let id):
            object = ["event": "started", "step": id]
        case .stepCacheKey(let id, let key):
            object = ["event": "cache_key", "step": id, "cache_key": key.digest.description,
                      "parts": key.parts.map { ["name": $0.name, "value": CacheMissExplainer.masked($0)] }]
        case .stepCached(let id, let key):
            object = ["event": "cached", "step": id, "cache_key": key.description]
        case .stepCacheMiss(let id, let explanation):
            let parts = explain ? explanation.details : explanation.parts
            object = ["event": "cache_miss", "step": id, "reason": explanation.reason,
                      "parts": parts.map { ["name": $0.name, "before": $0.before, "after": $0.after] }]
        case .stepOutput(let id, let bytes):
            object = ["event": "output", "step": id, "data": String(decoding: bytes, as: UTF8.self)]
        case .stepFinished(let id, let seconds, let key, let bytes):
            object = ["event": "done", "step": id, "seconds": seconds]
            if let key { object["cache_key"] = key.description }
            if let bytes { object["layer_bytes"] = bytes }
        case .stepFailed(let id, let seconds, let message):
            object = ["event": "error", "step": id, "seconds": seconds, "message": message]
        case .warning(let message):
            object = ["event": "warning", "message": message]
        case .sandbox(let description):
            object = ["event": "sandbox", "description": description]
        case .buildFinished(let manifest, let config, let seconds):
            object = ["event": "finished", "manifest": manifest.description, "config": config.description,
                      "seconds": seconds]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }
}
