import CSandbox
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Rootless builds: an ordinary user's swiftbuild runs again as root of a user namespace of its own. The user is
/// root there, and the user's subordinate ids (`/etc/subuid`, `/etc/subgid`, mapped by Debian's `newuidmap` and
/// `newgidmap`) are ids 1 and up. So files a build makes belong, as the build and its layers see them, to the ids
/// it gave them (root is 0, `chown 1000` is 1000), whatever host ids back them. Overlay mounts work in the
/// namespace (Linux 5.11 and later), and RUN gets the same sandbox as under real root, inside it.
public enum UserNamespace {
    /// Set in the re-run process, so that it does not start another namespace.
    public static let marker = "SWIFTBUILD_USERNS"

    /// Whether this process needs a user namespace of its own to build: it is not root, or it is a root
    /// without CAP_SYS_ADMIN (a container's root with the default capabilities), which cannot mount.
    public static var needed: Bool {
        if geteuid() != 0 { return true }
        let status = FileManager.default.contents(atPath: "/proc/self/status").map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else {
            return false
        }
        return mask & (1 << 21) == 0  // CAP_SYS_ADMIN
    }

    /// A range of subordinate ids: host ids `start ..< start + count`.
    public struct Range: Sendable, Equatable {
        public var start: UInt32
        public var count: UInt32
    }

    /// How the namespace maps ids.
    public enum Mapping: Sendable, Equatable {
        /// The user is 0; subordinate ranges are 1, 2, … in order.
        case subordinate(uids: [Range], gids: [Range])
        /// Only the user, as 0 (no subordinate ids, or no newuidmap): RUN as another user and chown to other
        /// ids fail.
        case single
        /// The ids this process has, as they are (a root without CAP_SYS_ADMIN, such as a container's root:
        /// it may map them itself, with CAP_SETUID and CAP_SETGID).
        case mirror
    }

    /// The ranges `/etc/subuid`-format `text` gives the user (by name or by numeric id), in file order.
    public static func ranges(in text: String, user: String, id: UInt32) -> [Range] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == user || fields[0] == String(id),
                  let start = UInt32(fields[1]), let count = UInt32(fields[2]), count > 0 else { return nil }
            return Range(start: start, count: count)
        }
    }

    /// The mapping this user gets here: its subordinate ranges when it has some for both uids and gids and
    /// `newuidmap`/`newgidmap` are installed, else a single id (with the reason, for a warning).
    public static func mapping(user: String, uid: UInt32, gid: UInt32, subuid: String = "/etc/subuid",
                               subgid: String = "/etc/subgid",
                               tools: (String, String) = ("/usr/bin/newuidmap", "/usr/bin/newgidmap"))
        -> (Mapping, why: String?) {
        let read = { (path: String) in FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        let uids = ranges(in: read(subuid), user: user, id: uid)
        let gids = ranges(in: read(subgid), user: user, id: gid)
        guard access(tools.0, X_OK) == 0, access(tools.1, X_OK) == 0 else {
            return (.single, "newuidmap and newgidmap are not installed (apt-get install uidmap)")
        }
        guard !uids.isEmpty, !gids.isEmpty else {
            return (.single, "\(user) has no subordinate ids in \(subuid) and \(subgid) (as root: usermod "
                    + "--add-subuids 100000-165535 --add-subgids 100000-165535 \(user))")
        }
        return (.subordinate(uids: uids, gids: gids), nil)
    }

    /// The `newuidmap`/`newgidmap` arguments after the pid: `0 ID 1`, then each range at 1, 2, ….
    static func mapArguments(id: UInt32, ranges: [Range]) -> [String] {
        var out = ["0", String(id), "1"]
        var next: UInt64 = 1
        for range in ranges {
            out += [String(next), String(range.start), String(range.count)]
            next += UInt64(range.count)
        }
        return out
    }

    /// Why starting the namespace failed, with what to do.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs this program again (`/proc/self/exe`, the same arguments and environment plus `SWIFTBUILD_USERNS=1`)
    /// as root of a new user and mount namespace, waits for it, and returns its exit code. SIGINT, SIGTERM and
    /// SIGHUP reach it. `warn` gets the reason for a single-id mapping.
    public static func run(arguments: [String], environment: [String: String],
                           warn: (String) -> Void) throws -> Int32 {
        let uid = getuid(), gid = getgid()
        let user = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? String(uid)
        let (mapping, why) = uid == 0 ? (Mapping.mirror, nil) : mapping(user: user, uid: uid, gid: gid)
        if let why {
            warn("rootless build with one id (yours, as root): \(why); RUN as another user and chown to other ids "
                 + "will fail")
        }
        var fds: [Int32] = [0, 0]
        guard csandbox_pipe(&fds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        var env = environment
        env[marker] = "1"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        // The child keeps only the read end: it is close-on-exec, and the write end closes here after the maps.
        let pid = csandbox_userns_spawn("/proc/self/exe", argv, envp, readEnd, writeEnd)
        close(readEnd)
        guard pid > 0 else {
            close(writeEnd)
            let code = -pid
            throw Failure(description: "cannot create a user namespace for a rootless build (clone: "
                          + "\(String(cString: strerror(code)))): user namespaces are disabled here (sysctl "
                          + "user.max_user_namespaces, or a seccomp or AppArmor profile that refuses them); run as "
                          + "root, or allow them (in Kubernetes: seccompProfile Unconfined; see docs/kubernetes.md)")
        }
        do {
            do {
                try writeMaps(pid: pid, uid: uid, gid: gid, mapping: mapping)
            } catch where mapping != .single {
                // newuidmap is refused where the container has no CAP_SYS_ADMIN (it opens the map as root): one
                // id still builds.
                warn("rootless build with one id (yours, as root): mapping more ids than yours failed (\(error)); RUN "
                     + "as another user and chown to other ids will fail")
                try writeMaps(pid: pid, uid: uid, gid: gid, mapping: .single)
            }
        } catch {
            close(writeEnd)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            throw error
        }
        var go: UInt8 = UInt8(ascii: "g")
        _ = write(writeEnd, &go, 1)
        close(writeEnd)
        // Signals for this process go to the child; the terminal's reach both.
        let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP]
        var sources: [any DispatchSourceSignal] = []
        for sig in forwarded {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { kill(pid, sig) }
            source.resume()
            sources.append(source)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        for source in sources { source.cancel() }
        return csandbox_exit_code(status)
    }

    static func writeMaps(pid: pid_t, uid: uid_t, gid: gid_t, mapping: Mapping) throws {
        switch mapping {
        case .subordinate(let uids, let gids):
            for (tool, id, ranges) in [("/usr/bin/newuidmap", UInt32(uid), uids), ("/usr/bin/newgidmap", UInt32(gid), gids)] {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: tool)
                process.arguments = [String(pid)] + mapArguments(id: id, ranges: ranges)
                let errors = Pipe()
                process.standardError = errors
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    throw Failure(description: "\(tool) \(process.arguments?.joined(separator: " ") ?? "") failed: "
                                  + text.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
        case .mirror:
            for file in ["uid_map", "gid_map"] {
                let lines = SandboxEnvironment.ownMap(file).map { inside, _, count in "\(inside) \(inside) \(count)" }
                try KernelFile.write(lines.joined(separator: "\n") + "\n", to: "/proc/\(pid)/" + file)
            }
        case .single:
            // An unprivileged process may map only its own ids, and only after refusing setgroups.
            for (file, text) in [("setgroups", "deny"), ("uid_map", "0 \(uid) 1"), ("gid_map", "0 \(gid) 1")] {
                try KernelFile.write(text, to: "/proc/\(pid)/\(file)")
            }
        }
    }
}
