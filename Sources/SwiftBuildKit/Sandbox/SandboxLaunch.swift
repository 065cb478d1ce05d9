import SwiftBuildArchive
import CSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The C view of one launch: a `csandbox_config` and every string and array it points to, owned here and freed in
/// `deinit`. Used by the one thread that starts and waits for the child.
final class SandboxLaunch {
    struct Mount {
        var kind: Int32
        var source: String
        var target: String
        var readOnly: Bool
        var targetIsDirectory: Bool
        var sizeBytes: Int64
        var contents: [UInt8]
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
    }

    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var buffers: [UnsafeMutablePointer<UInt8>] = []
    private let lowers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private let argv: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private let argc: Int
    private let envp: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private let envc: Int
    private let groups: UnsafeMutablePointer<gid_t>
    private let groupCount: Int
    private let mounts: UnsafeMutablePointer<csandbox_mount>
    private let mountCount: Int
    private let config: UnsafeMutablePointer<csandbox_config>

    init(rootPath: String, overlay: (lower: [String], upper: String, work: String)?, overlayOptions: String?,
         arguments: [String], environment: [String],
         workingDirectory: String, uid: UInt32, gid: UInt32, supplementaryGroups: [UInt32], hostname: String,
         newNetwork: Bool, mounts mountList: [Mount], filesDirectory: String, outputFD: Int32, reportFD: Int32) {
        argc = arguments.count
        envc = environment.count
        groupCount = supplementaryGroups.count
        mountCount = mountList.count
        let lowerList = overlay?.lower ?? []
        lowers = .allocate(capacity: lowerList.count + 1)
        argv = .allocate(capacity: argc + 1)
        envp = .allocate(capacity: envc + 1)
        groups = .allocate(capacity: max(groupCount, 1))
        mounts = .allocate(capacity: max(mountCount, 1))
        config = .allocate(capacity: 1)

        for (i, lower) in lowerList.enumerated() { lowers[i] = UnsafePointer(keep(lower)) }
        lowers[lowerList.count] = nil
        for (i, argument) in arguments.enumerated() { argv[i] = UnsafePointer(keep(argument)) }
        argv[argc] = nil
        for (i, variable) in environment.enumerated() { envp[i] = UnsafePointer(keep(variable)) }
        envp[envc] = nil
        for (i, group) in supplementaryGroups.enumerated() { groups[i] = group }
        for (i, m) in mountList.enumerated() {
            var entry = csandbox_mount()
            entry.kind = m.kind
            entry.source = UnsafePointer(keep(m.source))
            entry.target = UnsafePointer(keep(m.target))
            entry.read_only = m.readOnly ? 1 : 0
            entry.target_is_directory = m.targetIsDirectory ? 1 : 0
            entry.size_bytes = m.sizeBytes
            let contents = UnsafeMutablePointer<UInt8>.allocate(capacity: max(m.contents.count, 1))
            contents.initialize(from: m.contents, count: m.contents.count)
            buffers.append(contents)
            entry.contents = UnsafePointer(contents)
            entry.contents_length = Int64(m.contents.count)
            entry.mode = m.mode
            entry.uid = m.uid
            entry.gid = m.gid
            (mounts + i).initialize(to: entry)
        }
        var c = csandbox_config()
        c.root_path = UnsafePointer(keep(rootPath))
        c.overlay_lower = UnsafePointer(lowers)
        c.overlay_lower_count = Int32(lowerList.count)
        c.overlay_upper = overlay.map { UnsafePointer(keep($0.upper)) }
        c.overlay_work = overlay.map { UnsafePointer(keep($0.work)) }
        c.overlay_options = overlayOptions.map { UnsafePointer(keep($0)) }
        c.overlay_userxattr = OverlayAttributes.inUserNamespace ? 1 : 0
        c.argv = UnsafePointer(argv)
        c.envp = UnsafePointer(envp)
        c.working_directory = UnsafePointer(keep(workingDirectory))
        c.uid = uid
        c.gid = gid
        c.groups = UnsafePointer(groups)
        c.group_count = Int32(groupCount)
        c.hostname = UnsafePointer(keep(hostname))
        c.new_network = newNetwork ? 1 : 0
        c.mounts = UnsafePointer(mounts)
        c.mount_count = Int32(mountCount)
        c.output_fd = outputFD
        c.report_fd = reportFD
        c.files_directory = UnsafePointer(keep(filesDirectory))
        config.initialize(to: c)
    }

    deinit {
        for s in strings { s.deallocate() }
        for b in buffers { b.deallocate() }
        lowers.deallocate()
        argv.deallocate()
        envp.deallocate()
        groups.deallocate()
        mounts.deinitialize(count: mountCount)
        mounts.deallocate()
        config.deinitialize(count: 1)
        config.deallocate()
    }

    /// Starts the child; its pid, or minus the error number.
    func spawn() -> pid_t {
        csandbox_spawn(config)
    }

    /// A C copy of `string` that lives as long as this launch (the spec was checked for NUL bytes).
    private func keep(_ string: String) -> UnsafeMutablePointer<CChar> {
        let copy = string.withCString { pointer -> UnsafeMutablePointer<CChar> in
            let length = strlen(pointer)
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: length + 1)
            buffer.initialize(from: pointer, count: length + 1)
            return buffer
        }
        strings.append(copy)
        return copy
    }
}
