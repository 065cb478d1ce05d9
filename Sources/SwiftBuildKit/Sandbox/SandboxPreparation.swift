import SwiftBuildArchive
import CSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The host-side preparation of one run, checked before the child starts: a private run directory under the
/// scratch directory (the overlay mount point, and an empty directory on which the child mounts a private tmpfs for
/// /etc/hosts, /etc/resolv.conf, /etc/hostname and the file mounts: their contents never reach the disk), the
/// overlay options and the mount list in the child's order.
struct SandboxPreparation: Sendable {
    let runDirectory: String
    let rootPath: String
    let overlay: (lower: [String], upper: String, work: String)?
    let overlayOptions: String?
    let mounts: [SandboxMountPlan]
    let workingDirectory: String
    let filesDirectory: String

    struct SandboxMountPlan: Sendable {
        var kind: Int32
        var source: String
        var target: String
        var readOnly: Bool
        var targetIsDirectory: Bool
        var sizeBytes: Int64
        var contents: [UInt8] = []
        var mode: UInt32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The longest overlay option string the kernel takes in one page, with room to spare.
    static let maximumOverlayOptions = 4000

    init(_ spec: SandboxSpec, scratchDirectory: String) throws(SandboxError) {
        try Self.validate(spec)
        workingDirectory = SandboxPath.clean(spec.workingDirectory)

        if mkdir(scratchDirectory, 0o700) != 0 && errno != EEXIST {
            throw .system(operation: "mkdir", path: scratchDirectory, errno: errno)
        }
        runDirectory = try Self.makeTemporaryDirectory(in: scratchDirectory)
        filesDirectory = runDirectory + "/files"
        do throws(SandboxError) {
            switch spec.root {
            case .overlay(var lower, let upper, let work):
                rootPath = runDirectory + "/root"
                if mkdir(rootPath, 0o755) != 0 { throw SandboxError.system(operation: "mkdir", path: rootPath, errno: errno) }
                if lower.isEmpty {
                    // FROM scratch: overlayfs needs a lower directory, so an empty one stands in.
                    let empty = runDirectory + "/empty"
                    if mkdir(empty, 0o755) != 0 { throw SandboxError.system(operation: "mkdir", path: empty, errno: errno) }
                    lower = [empty]
                }
                overlay = (lower, upper, work)
                overlayOptions = Self.overlayOptions(lower: lower, upper: upper, work: work)
            case .directory(let path):
                rootPath = path
                overlay = nil
                overlayOptions = nil
            }
            if mkdir(filesDirectory, 0o700) != 0 {
                throw SandboxError.system(operation: "mkdir", path: filesDirectory, errno: errno)
            }
            mounts = try Self.planMounts(spec)
        } catch {
            SandboxPath.removeTree(runDirectory)
            throw error
        }
    }

    func removeRunDirectory() {
        SandboxPath.removeTree(runDirectory)
    }

    /// The mount(2) option string for kernels without "lowerdir+", or nil when it cannot be written (too long,
    /// or a path with a character the option syntax reserves).
    private static func overlayOptions(lower: [String], upper: String, work: String) -> String? {
        if (lower + [upper, work]).contains(where: { $0.contains(",") || $0.contains(":") || $0.contains("\\") }) {
            return nil
        }
        let options = "lowerdir=\(lower.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
            + (OverlayAttributes.inUserNamespace ? ",userxattr" : "")
        return options.utf8.count > maximumOverlayOptions ? nil : options
    }

    private static func validate(_ spec: SandboxSpec) throws(SandboxError) {
        guard let first = spec.arguments.first, !first.isEmpty else { throw .invalidSpec("no command to run") }
        var strings = spec.arguments + spec.environment + [spec.workingDirectory, spec.hostname]
        strings += spec.mounts.map(\.target)
        switch spec.root {
        case .overlay(let lower, let upper, let work): strings += lower + [upper, work]
        case .directory(let path): strings.append(path)
        }
        for case .bind(let source, _, _) in spec.mounts { strings.append(source) }
        if strings.contains(where: { $0.utf8.contains(0) }) { throw .invalidSpec("a string contains a NUL byte") }
        switch spec.root {
        case .overlay(let lower, let upper, let work):
            for path in lower + [upper, work] where !path.hasPrefix("/") {
                throw .invalidSpec("overlay directory \"\(path)\" is not absolute")
            }
        case .directory(let path):
            if !path.hasPrefix("/") { throw .invalidSpec("root directory \"\(path)\" is not absolute") }
        }
        if !spec.workingDirectory.hasPrefix("/") {
            throw .invalidSpec("working directory \"\(spec.workingDirectory)\" is not absolute")
        }
        if spec.hostname.utf8.count > 64 { throw .invalidSpec("hostname \"\(spec.hostname)\" is longer than 64 bytes") }
        if spec.mounts.count > 200 { throw .invalidSpec("more than 200 mounts") }
        for mount in spec.mounts {
            if !mount.target.hasPrefix("/") { throw .invalidSpec("mount target \"\(mount.target)\" is not absolute") }
            if SandboxPath.clean(mount.target) == "/" { throw .invalidSpec("a mount cannot replace the root") }
        }
    }

    private static func makeTemporaryDirectory(in parent: String) throws(SandboxError) -> String {
        var template = Array((parent + "/sandbox-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        if !made { throw .system(operation: "mkdtemp", path: parent, errno: errno) }
        return template.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    private static func planMounts(_ spec: SandboxSpec) throws(SandboxError) -> [SandboxMountPlan] {
        var plans: [SandboxMountPlan] = []
        func file(_ contents: [UInt8], target: String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0) {
            plans.append(SandboxMountPlan(kind: Int32(CSANDBOX_MOUNT_FILE.rawValue), source: "", target: target,
                                          readOnly: true, targetIsDirectory: false, sizeBytes: 0,
                                          contents: contents, mode: mode, uid: uid, gid: gid))
        }
        file(spec.hostsFile, target: "/etc/hosts")
        file(spec.resolvConf, target: "/etc/resolv.conf")
        file(Array((spec.hostname + "\n").utf8), target: "/etc/hostname")
        for mount in spec.mounts {
            let target = SandboxPath.clean(mount.target)
            switch mount {
            case .bind(let source, _, let readOnly):
                var st = stat()
                if stat(source, &st) != 0 { throw .system(operation: "stat", path: source, errno: errno) }
                plans.append(SandboxMountPlan(kind: Int32(CSANDBOX_MOUNT_BIND.rawValue), source: source, target: target,
                                              readOnly: readOnly, targetIsDirectory: (st.st_mode & S_IFMT) == S_IFDIR,
                                              sizeBytes: 0))
            case .tmpfs(_, let size):
                plans.append(SandboxMountPlan(kind: Int32(CSANDBOX_MOUNT_TMPFS.rawValue), source: "", target: target,
                                              readOnly: false, targetIsDirectory: true, sizeBytes: max(size ?? 0, 0)))
            case .file(let contents, _, let mode, let uid, let gid):
                file(contents, target: target, mode: mode, uid: uid, gid: gid)
            }
        }
        return plans
    }
}
