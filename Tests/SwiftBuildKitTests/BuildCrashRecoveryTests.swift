import Foundation
import Testing
import SwiftBuildOCI
@testable import SwiftBuildKit

/// A build killed with SIGKILL at any point leaves a root the next build can use, with the same result
/// as a clean build.
@Suite(.serialized) struct BuildCrashRecoveryTests {
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftbuild").path
    }

    func runCLI(_ args: [String], root: String, killAfter: Double? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = args + ["--root", root]
        process.environment = ["SOURCE_DATE_EPOCH": "1700000000", "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let killAfter {
            Thread.sleep(forTimeInterval: killAfter)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(arguments: [0.3, 0.6, 0.9])
    func killedBuildsLeaveAUsableRoot(killAfter: Double) async throws {
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
        let status = try runCLI(args, root: h.root, killAfter: killAfter)
        #expect(status != 0 || true)  // it may have finished already; either way the next build must work
        let mounts = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        // The next build recovers and succeeds.
        #expect(try runCLI(args, root: h.root) == 0)
        let after = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        #expect(!after.contains(h.root + "/tmp"), "stale mounts are detached (before: \(mounts.contains(h.root)))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.root + "/tmp").isEmpty)

        // Same image as a clean build in a fresh root.
        let clean = try BuildHarness()
        try FileManager.default.removeItem(atPath: clean.context)
        try FileManager.default.copyItem(atPath: h.context, toPath: clean.context)
        #expect(try runCLI(args, root: clean.root) == 0)
        let a = try h.builder.images.resolve(try ImageReference(parsing: "crash:1"))
        let b = try clean.builder.images.resolve(try ImageReference(parsing: "crash:1"))
        #expect(a != nil && a?.digest == b?.digest)
        // Every blob in the crashed root is intact.
        #expect(try h.builder.content.verify(action: .report).isEmpty)
    }
}
