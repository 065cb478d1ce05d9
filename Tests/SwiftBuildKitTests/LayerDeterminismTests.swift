import Foundation
import Testing
import TestSupport

/// The same image digest on every CPU: one build, natively and under `qemu-x86_64 -cpu MODEL` (Debian's
/// qemu-user), for each compression; every run must give the same manifest digest. ISA-L picks its routines
/// from the CPU, so without the pin (CIsalPin) gzip layers differ between these models.
private let qemuUser = "/usr/bin/qemu-x86_64"

@Suite(.serialized, .enabled(if: FileManager.default.fileExists(atPath: qemuUser)
                                 || ProcessInfo.processInfo.environment["CI"] != nil,
                             "needs qemu-user (scripts/setup.sh installs it; required in CI)"))
struct LayerDeterminismTests {
    static let qemu = qemuUser
    /// nil: natively. qemu64 has no SSE4.2, Nehalem and Westmere have SSE4.2, Haswell has AVX2; the machines
    /// this runs on natively have AVX2 or AVX-512.
    static let cpus: [String?] = [nil, "qemu64", "Nehalem", "Westmere", "Haswell"]

    /// A context whose layer exercises every path of the writer: a random stretch (stored by the probe),
    /// text (compressed), many small files, in several 1 MiB chunks.
    static func makeContext(_ directory: String) throws {
        var state: UInt64 = 0x0ddb_a11c_0ffe_e001
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        var random = [UInt8](repeating: 0, count: 3 << 20)
        for i in random.indices { random[i] = UInt8(truncatingIfNeeded: next() >> 24) }
        try Data(random).write(to: URL(fileURLWithPath: directory + "/weights.bin"))
        let words = ["layer", "tar", "digest", "gzip", "swift", "build", "image", "cache", "model", "weights"]
        var text = ""
        while text.utf8.count < 5 << 20 { text += words[Int(next() % 10)] + (next() % 9 == 0 ? "\n" : " ") }
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/corpus.txt"))
        try FileManager.default.createDirectory(atPath: directory + "/many", withIntermediateDirectories: true)
        for i in 0..<200 {
            try Data(String(repeating: "line \(i)\n", count: i + 1).utf8)
                .write(to: URL(fileURLWithPath: directory + "/many/f\(i).txt"))
        }
        try Data("FROM scratch\nCOPY . /data/\n".utf8).write(to: URL(fileURLWithPath: directory + "/Dockerfile"))
    }

    /// The manifest digest of a build in an empty root, natively or under qemu with `cpu`.
    static func build(_ context: String, output: String, cpu: String?, scratch: TemporaryDirectory) throws -> String {
        let tag = (cpu ?? "native") + "-" + output.replacingOccurrences(of: ",", with: "-").replacingOccurrences(of: "=", with: "-")
        let metadata = scratch.path("meta-\(tag).json")
        let arguments = ["build", "--root", scratch.path("root-\(tag)"), "--progress", "plain", "--metadata-file", metadata,
                         "-o", "type=oci,dest=\(scratch.path("out-\(tag).tar")),\(output)", context]
        let environment = ["SOURCE_DATE_EPOCH": "1700000000", "PATH": "/usr/bin:/bin"]
        let result = cpu.map { try? runProcess(qemu, ["-cpu", $0, SwiftBuildExecutable.path] + arguments, environment: environment) }
            ?? (try? runProcess(SwiftBuildExecutable.path, arguments, environment: environment))
        guard let result, result.status == 0 else {
            throw TestFailure("the build \(cpu.map { "under -cpu \($0)" } ?? "natively") failed: \(result?.errorText ?? "did not start")")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metadata))) as? [String: Any]
        guard let digest = json?["containerimage.digest"] as? String else { throw TestFailure("no digest in \(metadata)") }
        return digest
    }

    @Test(arguments: ["compression=gzip", "compression=zstd", "compression=gzip,compression-level=1",
                      "compression=gzip,compression-level=9"])
    func oneDigestOnEveryCPU(_ output: String) throws {
        let scratch = try TemporaryDirectory(prefix: "swiftbuild-determinism")
        let context = try scratch.sub("context")
        try Self.makeContext(context)
        var digests: [String: String] = [:]
        for cpu in Self.cpus { digests[cpu ?? "native"] = try Self.build(context, output: output, cpu: cpu, scratch: scratch) }
        #expect(Set(digests.values).count == 1, "\(output): \(digests.sorted { $0.key < $1.key })")
    }

    /// ISA-L passed its start-up check here: gzip levels 1–6 use it (had the pin not taken, the writer would
    /// quietly fall back to zlib: still one digest everywhere, but several times slower).
    @Test func theFastPortableEngineIsInUse() throws {
        let text = try SwiftBuildExecutable.run(["version"])
        #expect(text.contains("gzip: ISA-L (portable routines"), "\(text)")
    }
}
