import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under the system's temporary directory, removed with everything in it when the value
/// goes away, even when the test failed; anything a failed test left mounted below it is unmounted first.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "swiftbuild-test") throws {
        var template = Array((Self.base + "/" + prefix + "-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
        }
        guard let made else { throw TestFailure("mkdtemp under \(NSTemporaryDirectory()): \(String(cString: strerror(errno)))") }
        path = made
    }

    /// The system's temporary directory, without a trailing slash.
    public static var base: String {
        var base = NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base
    }

    deinit {
        // Deepest mount points first.
        if let info = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) {
            let points = info.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                return fields.count > 4 ? fields[4].replacingOccurrences(of: "\\040", with: " ") : nil
            }.filter { $0.hasPrefix(path + "/") }.sorted { $0.count > $1.count }
            for point in points { _ = umount2(point, Int32(MNT_DETACH)) }
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `name` inside the directory (not created).
    public func path(_ name: String) -> String { path + "/" + name }

    /// A directory `name` inside this one, created with its parents.
    @discardableResult
    public func sub(_ name: String) throws -> String {
        let p = path(name)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

/// Why a test helper failed: a tool's exit status and output, a missing fixture, a system call.
public struct TestFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
