import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory removed (with anything mounted below it unmounted first) when released.
final class SnapshotScratch {
    let path: String
    init() throws {
        let template = FileManager.default.temporaryDirectory.path + "/swiftbuild-snap-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }
    deinit {
        // Unmount anything a failed test left below us, deepest first.
        if let info = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) {
            let points = info.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                return fields.count > 4 ? String(fields[4]) : nil
            }.filter { $0.hasPrefix(path + "/") }.sorted { $0.count > $1.count }
            for p in points { _ = umount2(p, Int32(MNT_DETACH)) }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
    func sub(_ name: String) throws -> String {
        let p = path + "/" + name
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

func put(_ path: String, _ text: String, mode: Int = 0o644) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, mode_t(mode))
}

func text(_ path: String) -> String? {
    (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
}

func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

/// All paths below `root` (relative), sorted.
func tree(_ root: String) -> [String] {
    ((try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []).sorted()
}

@discardableResult
func sh(_ command: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let s = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0 else { throw ShellFailure(command: command, output: s) }
    return s
}

struct ShellFailure: Error, CustomStringConvertible {
    var command: String
    var output: String
    var description: String { "\(command): \(output)" }
}
