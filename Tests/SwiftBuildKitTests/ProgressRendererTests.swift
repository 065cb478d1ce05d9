import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

@Suite struct ProgressRendererTests {
    final class Sink: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        func append(_ s: String) { lock.withLock { text += s } }
    }

    let digest = SHA256Hasher.digest(Array("x".utf8))
    var events: [BuildEvent] {
        [.stepPlanned(.init(id: 1, stage: "build", index: 1, count: 2, text: "FROM scratch")),
         .stepPlanned(.init(id: 2, stage: "build", index: 2, count: 2, text: "RUN make")),
         .stepStarted(id: 1), .stepFinished(id: 1, seconds: 0, key: nil, layerBytes: nil),
         .stepStarted(id: 2), .stepCacheKey(id: 2, key: CacheKey([.init(name: "parent", value: "p")])),
         .stepOutput(id: 2, bytes: Array("compiling\npart".utf8)), .stepOutput(id: 2, bytes: Array("ial\n".utf8)),
         .stepFailed(id: 2, seconds: 1.25, message: "exit code: 2")]
    }

    /// A step of another platform names it in its label and in JSON; how RUN is isolated is said once.
    @Test func platformLabelsAndTheSandboxLine() throws {
        let step = BuildEvent.Step(id: 3, stage: "stage-1", index: 2, count: 4, text: "RUN uname -m", platform: "linux/arm64")
        let plain = Sink()
        let r = ProgressRenderer(mode: .plain) { plain.append($0) }
        [.stepPlanned(step), .sandbox("namespaces, as root"), .stepStarted(id: 3)].forEach(r.handle)
        #expect(plain.text == "#0 sandbox: namespaces, as root\n#3 [linux/arm64 stage-1 2/4] RUN uname -m\n")
        let json = Sink()
        let j = ProgressRenderer(mode: .json) { json.append($0) }
        [.stepPlanned(step), .sandbox("namespaces, as root")].forEach(j.handle)
        let lines = json.text.split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        }
        #expect(lines.first?["platform"] as? String == "linux/arm64")
        #expect(lines.last?["event"] as? String == "sandbox")
        #expect(lines.last?["description"] as? String == "namespaces, as root")
    }

    @Test func plainLinesLikeBuildKit() {
        let sink = Sink()
        let r = ProgressRenderer(mode: .plain, showCacheKeys: true) { sink.append($0) }
        events.forEach(r.handle)
        #expect(sink.text == """
            #1 [build 1/2] FROM scratch
            #1 DONE 0.0s
            #2 [build 2/2] RUN make
            #2 cache key \(CacheKey([.init(name: "parent", value: "p")]).digest)
            #2   parent: p
            #2 compiling
            #2 partial
            #2 ERROR 1.2s: exit code: 2

            """)
    }

    @Test func jsonEventsOnePerLine() throws {
        let sink = Sink()
        let r = ProgressRenderer(mode: .json) { sink.append($0) }
        events.forEach(r.handle)
        let lines = sink.text.split(separator: "\n")
        #expect(lines.count == events.count)
        let kinds = try lines.map { line -> String in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["event"] as? String ?? "?"
        }
        #expect(kinds == ["planned", "planned", "started", "done", "started", "cache_key", "output", "output", "error"])
    }
}
