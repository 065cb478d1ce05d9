import Foundation
import SwiftBuildArchive

/// What this process's environment gives RUN steps, for the progress line that says how they are isolated:
/// whether swiftbuild runs as real root or as root of a user namespace (rootless, or a container with user
/// namespaces), and with which id mapping.
public struct SandboxEnvironment: Sendable {
    /// The lines of /proc/self/uid_map: (inside, outside, count).
    public var uidMap: [(UInt64, UInt64, UInt64)]

    /// Whether this process is root of a user namespace rather than the machine's root.
    public var inUserNamespace: Bool

    public static var current: SandboxEnvironment {
        SandboxEnvironment(uidMap: ownMap("uid_map"), inUserNamespace: OverlayAttributes.inUserNamespace)
    }

    public init(uidMap: [(UInt64, UInt64, UInt64)], inUserNamespace: Bool) {
        self.uidMap = uidMap
        self.inUserNamespace = inUserNamespace
    }

    /// This process's `/proc/self/uid_map` or `gid_map`: (inside, outside, count) per line.
    static func ownMap(_ file: String) -> [(UInt64, UInt64, UInt64)] {
        let text = FileManager.default.contents(atPath: "/proc/self/" + file).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).compactMap { UInt64($0) }
            return f.count == 3 ? (f[0], f[1], f[2]) : nil
        }
    }

    /// Whether this namespace's root is not the host's root: an ordinary user's rootless build.
    public var rootIsAnotherHostID: Bool { inUserNamespace && uidMap.contains { $0.0 == 0 && $0.1 != 0 } }

    /// Whether only id 0 exists here (a single-id rootless mapping).
    public var singleID: Bool { uidMap.count == 1 && uidMap[0].2 == 1 }

    public func description(snapshotter: Snapshotter) -> String {
        let namespaces = "mount, PID, UTS, IPC and cgroup namespaces, a network namespace for --network=none, "
            + "Docker's capability set, read-only /proc/sys, " + (snapshotter == .overlay ? "overlayfs" : "copied snapshots")
        guard inUserNamespace else { return namespaces + ", as root" }
        let ids = uidMap.map { "\($0.0)-\($0.0 + $0.2 - 1) = host \($0.1)-\($0.1 + $0.2 - 1)" }.joined(separator: ", ")
        return namespaces + ", in a user namespace (rootless: ids \(ids)"
            + (singleID ? "; one id only, so RUN as another user and chown to other ids fail" : "") + ")"
    }
}
