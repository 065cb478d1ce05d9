import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Builder {
    /// Cleans up after builds that were killed (`kill -9`, power loss): overlay views they left mounted
    /// under `<root>/tmp` are detached and their scratch directories removed. Only directories of processes
    /// that no longer exist are touched, so concurrent builds are safe. Everything else in the root is
    /// written atomically (temp file + rename) and needs no repair.
    func recoverInterruptedBuilds() {
        let prefix = scratch + "/"
        // Mount points are field 5 of /proc/self/mountinfo, with spaces escaped as \040.
        let mountinfo = String(decoding: FileManager.default.contents(atPath: "/proc/self/mountinfo") ?? Data(), as: UTF8.self)
        var stale: [String] = []
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let point = fields[4].replacingOccurrences(of: "\\040", with: " ")
            if point.hasPrefix(prefix), let owner = Self.ownerPID(ofScratchPath: String(point.dropFirst(prefix.count))),
               !Self.isAlive(owner) {
                stale.append(point)
            }
        }
        // Deepest first.
        for point in stale.sorted(by: { $0.count > $1.count }) { _ = umount2(point, Int32(MNT_DETACH)) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? [] {
            if let owner = Self.ownerPID(ofScratchPath: name), !Self.isAlive(owner) {
                try? FileTree.remove(prefix + name)
            }
        }
        _ = try? content.cleanIngest(olderThan: .seconds(3600))
    }

    /// The pid in `step-<pid>-<n>[/...]`.
    static func ownerPID(ofScratchPath path: String) -> pid_t? {
        let first = path.split(separator: "/").first ?? ""
        let parts = first.split(separator: "-")
        guard parts.count >= 3, parts[0] == "step", let pid = pid_t(parts[1]) else { return nil }
        return pid
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
