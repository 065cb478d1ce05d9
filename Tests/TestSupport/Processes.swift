import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished process wrote and how it ended.
public struct ProcessOutput: Sendable {
    public var status: Int32
    /// True when the process was ended by a signal (`status` is then the signal's number).
    public var signalled: Bool
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public var text: String { String(decoding: stdout, as: UTF8.self) }
    public var errorText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs `executable` (a path, or a name looked up in PATH) with `arguments`, feeding `stdin`, and waits for it.
/// Both output pipes are drained while it runs, so neither can fill up and block it. Never throws for an exit
/// status: see `run`, `runTool` and `shell` for that.
public func runProcess(_ executable: String, _ arguments: [String], stdin: [UInt8]? = nil, cwd: String? = nil,
                       environment: [String: String]? = nil) throws -> ProcessOutput {
    let process = Process()
    if executable.contains("/") {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
    }
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    let group = DispatchGroup()
    let errors = Box()
    DispatchQueue.global().async(group: group) { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
    if let stdin {
        DispatchQueue.global().async(group: group) {
            input.fileHandleForWriting.write(Data(stdin))
            try? input.fileHandleForWriting.close()
        }
    }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    group.wait()
    return ProcessOutput(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                         stdout: Array(output), stderr: Array(errors.data))
}

/// Written by one reader thread, read after `DispatchGroup.wait` (which orders the accesses).
private final class Box: @unchecked Sendable {
    var data = Data()
}

/// Runs a tool and returns its standard output bytes; a non-zero exit throws with its standard error.
@discardableResult
public func run(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil, cwd: String? = nil,
                environment: [String: String]? = nil) throws -> [UInt8] {
    let result = try runProcess(tool, arguments, stdin: stdin, cwd: cwd, environment: environment)
    guard result.status == 0, !result.signalled else {
        throw TestFailure("\(tool) \(arguments.joined(separator: " ")) exited \(result.status): \(result.errorText)")
    }
    return result.stdout
}

/// `run` for tools whose output is text.
@discardableResult
public func runTool(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil,
                    environment: [String: String]? = nil) throws -> String {
    String(decoding: try run(tool, arguments, stdin: stdin, environment: environment), as: UTF8.self)
}

/// Runs a `/bin/sh -c` command line; returns its standard output and error, interleaved as written.
@discardableResult
public func shell(_ command: String) throws -> String {
    let result = try runProcess("/bin/sh", ["-c", "exec 2>&1\n" + command])
    guard result.status == 0, !result.signalled else {
        throw TestFailure("`\(command)` exited \(result.status): \(result.text)")
    }
    return result.text
}

/// The `swiftbuild` executable that `swift build` put next to the test bundle.
public enum SwiftBuildExecutable {
    public static var path: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("swiftbuild").path
    }

    /// Runs it; a non-zero exit throws with its standard error.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        try runTool(path, arguments, environment: environment)
    }
}
