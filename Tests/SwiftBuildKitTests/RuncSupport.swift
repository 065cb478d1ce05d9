import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Runs an unpacked OCI bundle (umoci's) with runc, its state under `stateRoot` and the container deleted
/// afterwards, once `configure` has edited its config.json (the terminal is always off). Returns runc's exit
/// status and the container's standard output and standard error.
func runcRun(bundle: String, stateRoot: String, configure: (inout [String: Any]) throws -> Void = { _ in })
    throws -> (status: Int32, output: String, errors: String) {
    let configPath = bundle + "/config.json"
    var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath)))
        as? [String: Any])
    var process = try #require(config["process"] as? [String: Any])
    process["terminal"] = false
    config["process"] = process
    try configure(&config)
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))

    let id = "swiftbuild-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    defer { _ = try? runTool("/usr/sbin/runc", ["--root", stateRoot, "delete", "--force", id]) }
    let errorsPath = stateRoot + "-\(id).stderr"
    _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errorsPath) }
    let run = Process()
    run.executableURL = URL(fileURLWithPath: "/usr/sbin/runc")
    run.arguments = ["--root", stateRoot, "run", "--bundle", bundle, id]
    let output = Pipe()
    run.standardOutput = output
    run.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
    try run.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    run.waitUntilExit()
    let errors = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
    return (run.terminationStatus, String(decoding: data, as: UTF8.self), errors)
}
