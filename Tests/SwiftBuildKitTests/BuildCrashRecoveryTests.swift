import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

/// A build killed with SIGKILL at any point leaves a root the next build can use, with the same result
/// as a clean build.
@Suite(.serialized) struct BuildCrashRecoveryTests {
    /// Where a build is killed: when its JSON progress shows `event` for the step whose instruction starts
    /// with `instruction`.
    struct KillPoint: Sendable, CustomTestStringConvertible {
        var event: String
        var instruction: String
        var testDescription: String { "\(event) of \(instruction)" }
    }

    /// Runs the CLI; with `killAt`, sends SIGKILL as soon as the progress reaches that point and returns
    /// whether it was killed there (false if the build ended first).
    @discardableResult
    func runCLI(_ args: [String], root: String, killAt point: KillPoint? = nil) throws -> (status: Int32, killed: Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SwiftBuildExecutable.path)
        process.arguments = args + ["--root", root] + (point == nil ? [] : ["--progress", "json"])
        process.environment = ["SOURCE_DATE_EPOCH": "1700000000", "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = point == nil ? FileHandle.nullDevice : pipe
        try process.run()
        var killed = false
        if let point {
            var steps: [Int: String] = [:]
            var pending = Data()
            let reader = pipe.fileHandleForReading
            reading: while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                          let event = object["event"] as? String, let step = object["step"] as? Int else { continue }
                    if event == "planned" { steps[step] = object["instruction"] as? String }
                    if event == point.event, steps[step]?.hasPrefix(point.instruction) == true {
                        kill(process.processIdentifier, SIGKILL)
                        killed = true
                        break reading
                    }
                }
            }
        }
        process.waitUntilExit()
        return (process.terminationStatus, killed)
    }

    @Test(arguments: [KillPoint(event: "started", instruction: "COPY"),
                      KillPoint(event: "started", instruction: "RUN sleep"),
                      KillPoint(event: "cache_key", instruction: "RUN cat"),
                      KillPoint(event: "done", instruction: "RUN cat")])
    func killedBuildsLeaveAUsableRoot(killAt point: KillPoint) throws {
        let h = try BuildHarness()
        var big = [UInt8](repeating: 0, count: 32 << 20)
        for i in stride(from: 0, to: big.count, by: 4096) { big[i] = UInt8(truncatingIfNeeded: i >> 12) }
        try Data(big).write(to: URL(fileURLWithPath: h.context + "/big.bin"))
        try h.write("Dockerfile", """
            FROM localhost/busybox
            COPY big.bin /data/big.bin
            RUN sleep 0.3 && echo step > /step.txt
            RUN cat /data/big.bin /data/big.bin > /data/twice.bin
            """)
        let args = ["build", "-t", "crash:1", "--compression", "gzip", h.context]
        let first = try runCLI(args, root: h.root, killAt: point)
        #expect(first.killed, "the build reached \(point.testDescription) and was killed there")
        #expect(first.status == SIGKILL)
        let mounts = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        // The next build recovers and succeeds.
        #expect(try runCLI(args, root: h.root).status == 0)
        let after = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        #expect(!after.contains(h.root + "/tmp"), "stale mounts are detached (before: \(mounts.contains(h.root)))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.root + "/tmp").isEmpty)

        // Same image as a clean build in a fresh root.
        let clean = try BuildHarness()
        try FileManager.default.removeItem(atPath: clean.context)
        try FileManager.default.copyItem(atPath: h.context, toPath: clean.context)
        #expect(try runCLI(args, root: clean.root).status == 0)
        let a = try h.builder.images.resolve(try ImageReference(parsing: "crash:1"))
        let b = try clean.builder.images.resolve(try ImageReference(parsing: "crash:1"))
        #expect(a != nil)
        #expect(a?.digest == b?.digest)
        if let a, let b, a.digest != b.digest {
            // Which layers differ, for the record (a flaky mismatch was seen once under a full parallel run).
            func diffIDs(_ h: BuildHarness, _ d: Descriptor) throws -> [String] {
                let manifest: ImageManifest = try h.builder.images.document(d, what: "manifest")
                let config: ImageConfig = try h.builder.images.document(manifest.config, what: "config")
                return config.rootfs.diffIDs.map(\.description) + (config.history ?? []).map { "\($0.createdBy ?? "") @\($0.created ?? "")" }
            }
            Issue.record("crashed root: \(try diffIDs(h, a))\nclean root: \(try diffIDs(clean, b))")
        }
        // Every blob in the crashed root is intact.
        #expect(try h.builder.content.verify(action: .report).isEmpty)
    }
}
