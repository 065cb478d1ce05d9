import CSandbox
import Testing
import TestSupport
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// The RUN sandbox on a busybox-static rootfs. Every test checks that the host mount table is the same after it.
@Suite(.serialized, .enabled(if: getuid() == 0, "the sandbox needs root"))
struct SandboxTests {
    /// A busybox rootfs as the one lower directory of an overlay, with fresh upper and work directories.
    struct Fixture: Sendable {
        let scratch: TemporaryDirectory
        let lower: String
        let upper: String
        let work: String
        let sandbox: Sandbox

        init() throws {
            scratch = try sandboxScratch()
            lower = try scratch.sub("lower")
            try BusyboxRootfs.make(at: lower)
            upper = try scratch.sub("upper")
            work = try scratch.sub("work")
            sandbox = Sandbox(scratchDirectory: scratch.path + "/sandbox")
        }

        func spec(_ script: String) -> SandboxSpec {
            SandboxSpec(root: .overlay(lower: [lower], upper: upper, work: work), arguments: ["sh", "-c", script],
                        environment: ["PATH=/bin"])
        }

        func run(_ spec: SandboxSpec) async throws -> (status: Int32, output: String) {
            let collector = OutputCollector()
            let status = try await sandbox.run(spec) { collector.append($0) }
            return (status, collector.text)
        }
    }

    /// Runs `body` and checks that no mount of a sandbox test is in the host mount table afterwards, even when
    /// `body` fails. (Only this test's paths are checked: other suites of the same process may mount meanwhile.)
    /// Mounts that other processes (another test run on the same machine) make meanwhile are not counted:
    /// the check is that the set of sandbox-test mounts is the same after the body as before it.
    func withMountCheck(_ body: () async throws -> Void) async throws {
        let before = Set(MountTable.lines(mentioning: sandboxScratchPrefix))
        defer {
            let leaked = Set(MountTable.lines(mentioning: sandboxScratchPrefix)).subtracting(before)
            #expect(leaked.isEmpty, "a sandbox mount leaked: \(leaked)")
        }
        try await body()
    }

    @Test func echoAndExitCodes() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let hello = try await f.run(f.spec("echo hello; echo err >&2"))
            #expect(hello.status == 0)
            #expect(hello.output == "hello\nerr\n")
            #expect(try await f.run(f.spec("exit 3")).status == 3)
            #expect(try await f.run(f.spec("exit 255")).status == 255)
            var direct = f.spec("")
            direct.arguments = ["false"]
            #expect(try await f.run(direct).status == 1)
        }
    }

    @Test func exitStatusDecoding() {
        #expect(csandbox_exit_code(0) == 0)
        #expect(csandbox_exit_code(42 << 8) == 42)
        #expect(csandbox_exit_code(9) == 137)           // killed by SIGKILL
        #expect(csandbox_exit_code(15 | 0x80) == 143)   // SIGTERM with a core dump flag
    }

    @Test func signalFromOutsideIsReportedAs128PlusSignal() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("")
            spec.arguments = ["sleep", "4321"]
            let killer = Task {
                for _ in 0..<100 {
                    if let pid = hostProcess(["sleep", "4321"]) { kill(pid, SIGKILL); return true }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return false
            }
            let result = try await f.run(spec)
            #expect(try await killer.value)
            #expect(result.status == 137)
        }
    }

    @Test func commandIsPID1AndSeesNoHostProcesses() async throws {
        try await withMountCheck {
            let f = try Fixture()
            // The loop runs inside the shell itself: every pid under /proc besides its own would be another process.
            let result = try await f.run(f.spec("echo $$; for p in /proc/[0-9]*; do echo ${p#/proc/}; done; ps -o pid,comm; true"))
            #expect(result.status == 0)
            // "1" for $$, "1" for the only numeric /proc entry, then ps: a header, the shell as PID 1 and ps itself.
            let lines = result.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            #expect(lines.count == 5)
            #expect(Array(lines.prefix(4)) == ["1", "1", "PID COMMAND", "1 sh"])
            #expect(lines.last?.hasSuffix(" ps") == true)
        }
    }

    @Test func hostFilesAreInvisible() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let marker = f.scratch.path + "/host-marker"
            try BusyboxRootfs.write(marker, Array("secret".utf8))
            let result = try await f.run(f.spec("test -e \(marker) || test -e /tmp/\(marker.split(separator: "/").last!) ; echo $?; ls /"))
            #expect(result.output.hasPrefix("1\n"))
            #expect(!result.output.contains("swiftbuild"))
        }
    }

    @Test func networkNoneHasOnlyLoopbackUp() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("ip -o link show")
            spec.network = .none
            let result = try await f.run(spec)
            #expect(result.status == 0)
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines.first?.contains("lo:") == true)
            #expect(lines.first?.contains("UP") == true)
        }
    }

    @Test func hostnameAndEtcFiles() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf; echo x >> /etc/hosts; echo $?")
            spec.hostsFile = Array("127.0.0.1 localhost\n".utf8)
            spec.resolvConf = Array("nameserver 192.0.2.1\n".utf8)
            let result = try await f.run(spec)
            #expect(result.output.hasPrefix("buildkitsandbox\nbuildkitsandbox\n127.0.0.1 localhost\nnameserver 192.0.2.1\n"))
            #expect(result.output.hasSuffix("1\n"))   // read-only
            #expect(treeListing(f.upper) == [])
        }
    }

    @Test func environmentWorkdirAndIdentity() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("echo $FOO; pwd; id -u; id -g; id -G; stat -c %u:%g /work/dir /work; touch mine")
            spec.environment.append("FOO=bar baz")
            spec.workingDirectory = "/work/dir"
            spec.uid = 1000
            spec.gid = 1000
            spec.supplementaryGroups = [2000]
            let result = try await f.run(spec)
            #expect(result.status == 0)
            #expect(result.output == "bar baz\n/work/dir\n1000\n1000\n1000 2000\n1000:1000\n1000:1000\n")
            // The working directory is kept in the layer, with what the command wrote in it.
            #expect(treeListing(f.upper) == ["d work", "d work/dir", "f work/dir/mine"])
        }
    }

    @Test func upperHoldsExactlyWhatTheCommandWrote() async throws {
        try await withMountCheck {
            let f = try Fixture()
            for dir in ["data", "olddir"] { _ = try f.scratch.sub("lower/" + dir) }
            for file in ["data/keep", "data/gone", "olddir/x"] { try BusyboxRootfs.write(f.lower + "/" + file, [1]) }
            let result = try await f.run(f.spec("echo new > /new.txt; rm /data/gone; rm -r /olddir; mkdir /made; ls /proc/self >/dev/null"))
            #expect(result.status == 0)
            // No stubs for /proc, /dev, /sys, /etc/hosts, /etc/resolv.conf, /etc/hostname, nor the copied-up /etc.
            #expect(treeListing(f.upper) == ["c0 data/gone", "c0 olddir", "d data", "d made", "f new.txt"])
        }
    }

    @Test func bindTmpfsAndFileMountsLeaveNothingInTheUpper() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let shared = try f.scratch.sub("shared")
            let readOnly = try f.scratch.sub("readonly")
            try BusyboxRootfs.write(readOnly + "/data", Array("ro-data".utf8))
            var spec = f.spec("""
                echo rw > /mnt/shared/written; cat /mnt/ro/data; echo; touch /mnt/ro/nope 2>/dev/null; echo ro:$?; \
                echo t > /scratch/x; cat /scratch/x; cat /run/secrets/token; echo; stat -c %a:%u:%g /run/secrets/token
                """)
            spec.mounts = [
                .bind(source: shared, target: "/mnt/shared", readOnly: false),
                .bind(source: readOnly, target: "/mnt/ro", readOnly: true),
                .tmpfs(target: "/scratch", sizeBytes: 1 << 20),
                .file(contents: Array("s3cr3t".utf8), target: "/run/secrets/token", mode: 0o400, uid: 1000, gid: 1000),
            ]
            let result = try await f.run(spec)
            #expect(result.status == 0)
            #expect(result.output == "ro-data\nro:1\nt\ns3cr3t\n400:1000:1000\n")
            #expect(BusyboxRootfs.read(shared + "/written") == Array("rw\n".utf8))
            #expect(treeListing(f.upper) == [])
            // The run directory (with the secret) is gone.
            #expect(treeListing(f.scratch.path + "/sandbox") == [])
        }
    }

    @Test func directoryRootKeepsWritesAndDropsStubs() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let before = treeListing(f.lower)
            let result = try await f.run(SandboxSpec(root: .directory(f.lower), arguments: ["touch", "/created"],
                                                     environment: ["PATH=/bin"],
                                                     mounts: [.tmpfs(target: "/deep/tmp", sizeBytes: nil)]))
            #expect(result.status == 0)
            #expect(treeListing(f.lower) == (before + ["f created"]).sorted())
        }
    }

    @Test func cancellationKillsTheProcessTreeQuickly() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("sleep 3917 & sleep 3918")
            spec.network = .none
            let task = Task { try await f.run(spec) }
            for _ in 0..<100 where hostProcess(["sleep", "3918"]) == nil { try await Task.sleep(for: .milliseconds(20)) }
            #expect(hostProcess(["sleep", "3917"]) != nil)
            // While the sandbox runs, the host sees none of its mounts.
            #expect(MountTable.lines(mentioning: f.scratch.path) == [])
            let start = ContinuousClock.now
            task.cancel()
            await #expect(throws: SandboxError.cancelled) { try await task.value }
            // The tree is killed, not waited for (its sleeps would take an hour). The bound leaves room for a
            // loaded machine: with the whole suite running on 2 cores, 1 s was missed by 0.1-0.2 s.
            #expect(ContinuousClock.now - start < .seconds(10))
            #expect(hostProcess(["sleep", "3917"]) == nil)
            #expect(hostProcess(["sleep", "3918"]) == nil)
            #expect(treeListing(f.upper) == [])
        }
    }

    @Test func missingExecutableIsAClearError() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("")
            spec.arguments = ["no-such-tool", "x"]
            await #expect(throws: SandboxError.executableNotFound("no-such-tool")) { try await f.run(spec) }
            #expect(SandboxError.executableNotFound("no-such-tool").description
                    == "exec: \"no-such-tool\": executable file not found in $PATH")
            spec.arguments = ["/bin/nope"]
            await #expect(throws: SandboxError.executableNotFound("/bin/nope")) { try await f.run(spec) }
            #expect(treeListing(f.upper) == [])
        }
    }

    @Test func invalidSpecsAreRefused() async throws {
        let f = try Fixture()
        var spec = f.spec("true")
        spec.workingDirectory = "relative"
        await #expect(throws: SandboxError.invalidSpec("working directory \"relative\" is not absolute")) {
            try await f.run(spec)
        }
        spec = f.spec("true")
        spec.mounts = [.bind(source: f.scratch.path + "/missing", target: "/m", readOnly: true)]
        await #expect(throws: SandboxError.system(operation: "stat", path: f.scratch.path + "/missing", errno: ENOENT)) {
            try await f.run(spec)
        }
    }

    @Test func layeredLowersTopFirstWithWhiteouts() async throws {
        try await withMountCheck {
            let f = try Fixture()
            // A second layer on top of the busybox one: it deletes /etc/group and /proc (both present below).
            let top = try f.scratch.sub("top")
            _ = try f.scratch.sub("lower/proc")
            _ = try f.scratch.sub("top/etc")
            try BusyboxRootfs.write(top + "/etc/added", Array("top".utf8))
            #expect(mknod(top + "/etc/group", S_IFCHR | 0o600, 0) == 0)
            #expect(mknod(top + "/proc", S_IFCHR | 0o600, 0) == 0)
            var spec = f.spec("cat /etc/added; echo; test -e /etc/group; echo group:$?; test -d /proc/self; echo proc:$?")
            spec.root = .overlay(lower: [top, f.lower], upper: f.upper, work: f.work)
            let result = try await f.run(spec)
            #expect(result.output == "top\ngroup:1\nproc:0\n")
            // The /proc stub made over a lower whiteout and the copied-up /etc are both gone.
            #expect(treeListing(f.upper) == [])
        }
    }

    @Test func aCopiedUpParentTheCommandChangedIsKept() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let result = try await f.run(f.spec("chmod 700 /etc"))
            #expect(result.status == 0)
            #expect(treeListing(f.upper) == ["d etc"])
        }
    }

    @Test func devProcSysAndCapabilities() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let script = """
                for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done; \
                test -c /dev/pts/ptmx || echo no pts; echo x > /dev/shm/f && echo shm ok; \
                touch /sys/x 2>/dev/null || echo sys ro; test -d /sys/class && echo sys ok; \
                cat; echo stdin empty; hostname other 2>/dev/null || echo no sys_admin; \
                stat -c %A /tmp/../tmp /dev/shm
                """
            let result = try await f.run(f.spec(script))
            #expect(result.output == "shm ok\nsys ro\nsys ok\nstdin empty\nno sys_admin\ndrwxrwxrwt\ndrwxrwxrwt\n")
            #expect(treeListing(f.upper) == [])
        }
    }

    @Test func anUnprivilegedUserCannotWriteRootFiles() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("touch /etc/x 2>/dev/null; echo $?; touch /tmp/mine; stat -c %u:%g /tmp/mine")
            spec.uid = 1000
            spec.gid = 1000
            let result = try await f.run(spec)
            #expect(result.output == "1\n1000:1000\n")
            #expect(treeListing(f.upper) == ["d tmp", "f tmp/mine"])
        }
    }

    @Test func largeOutputStreamsInOrder() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let result = try await f.run(f.spec("i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done"))
            #expect(result.status == 0)
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 20000)
            #expect(lines.first == "line 0" && lines.last == "line 19999")
        }
    }

    @Test func concurrentRunsAreIndependent() async throws {
        try await withMountCheck {
            let a = try Fixture()
            let b = try Fixture()
            async let first = a.run(a.spec("echo a > /a; echo $$"))
            async let second = b.run(b.spec("echo b > /b; echo $$"))
            let (ra, rb) = try await (first, second)
            #expect(ra.output == "1\n" && rb.output == "1\n")
            #expect(treeListing(a.upper) == ["f a"])
            #expect(treeListing(b.upper) == ["f b"])
        }
    }

    @Test func setupFailuresNameTheStepAndPath() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("true")
            spec.mounts = [.tmpfs(target: "/etc/passwd/inside", sizeBytes: nil)]
            await #expect(throws: SandboxError.setupFailed(step: "stat", path: "/etc/passwd/inside", errno: ENOTDIR)) {
                try await f.run(spec)
            }
            #expect(treeListing(f.upper) == [])
        }
    }


    @Test func fileMountContentsNeverReachTheHostDisk() async throws {
        try await withMountCheck {
            let f = try Fixture()
            var spec = f.spec("cat /run/secrets/token; sleep 0.5")
            spec.mounts = [.file(contents: Array("s3cr3t".utf8), target: "/run/secrets/token", mode: 0o400, uid: 0, gid: 0)]
            let watcher = Task {
                var seen: [String] = []
                for _ in 0..<20 {
                    seen += treeListing(f.scratch.path + "/sandbox")
                    try await Task.sleep(for: .milliseconds(20))
                }
                return seen
            }
            let result = try await f.run(spec)
            #expect(result.output == "s3cr3t")
            let seen = try await watcher.value
            // The run directory exists on the host with its empty mount points, never with a file in them.
            #expect(!seen.isEmpty)
            #expect(seen.allSatisfy { $0.hasPrefix("d ") })
        }
    }


    @Test func stubsBehindSymbolicLinksAreRemovedToo() async throws {
        try await withMountCheck {
            let f = try Fixture()
            _ = try f.scratch.sub("lower/run")
            _ = try f.scratch.sub("lower/var")
            #expect(symlink("../run", f.lower + "/var/run") == 0)
            var spec = f.spec("test -d /run/cache/x && echo mounted")
            spec.mounts = [.tmpfs(target: "/var/run/cache/x", sizeBytes: nil)]
            let result = try await f.run(spec)
            #expect(result.output == "mounted\n")
            #expect(treeListing(f.upper) == [])
        }
    }


    @Test func manyLayersAndPathsWithCommasAndColons() async throws {
        try await withMountCheck {
            let f = try Fixture()
            // 60 layers whose paths alone are longer than one overlay option string can be, each with one file.
            var layers: [String] = []
            for i in 0..<60 {
                let layer = try f.scratch.sub("layer,with:odd-name-\(i)-" + String(repeating: "x", count: 60))
                try BusyboxRootfs.write(layer + "/f\(i)", Array("\(i)".utf8))
                try BusyboxRootfs.write(layer + "/shadowed", Array("\(i)".utf8))
                layers.append(layer)
            }
            var spec = f.spec("cat /f0 /f59 /shadowed")
            spec.root = .overlay(lower: layers + [f.lower], upper: f.upper, work: f.work)
            let result = try await f.run(spec)
            #expect(result.status == 0)
            #expect(result.output == "0590")   // the first lower is the top one
            #expect(treeListing(f.upper) == [])
        }
    }

    @Test func scratchRootWithoutLowerLayers() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let spec = SandboxSpec(root: .overlay(lower: [], upper: f.upper, work: f.work),
                                   arguments: ["/bin/sh", "-c", "echo hi > /file; /bin/ls /"],
                                   mounts: [.bind(source: f.lower + "/bin", target: "/bin", readOnly: true)])
            let result = try await f.run(spec)
            #expect(result.status == 0)
            #expect(result.output == "bin\ndev\netc\nfile\nproc\nsys\n")
            #expect(treeListing(f.upper) == ["f file"])
        }
    }

    @Test func cancellationBeforeStartRunsNothing() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await f.run(f.spec("touch /ran"))
            }
            await #expect(throws: SandboxError.cancelled) { try await task.value }
            #expect(treeListing(f.upper) == [])
            #expect(treeListing(f.scratch.path + "/sandbox") == [])
        }
    }


    @Test func procInterfacesOfTheHostAreReadOnlyOrMasked() async throws {
        try await withMountCheck {
            let f = try Fixture()
            let script = """
                { echo other > /proc/sys/kernel/hostname; } 2>/dev/null || echo sys ro; \
                test -w /proc/sysrq-trigger || echo sysrq ro; \
                wc -c < /proc/timer_list; ls /sys/firmware | wc -l; cat /proc/sys/kernel/hostname
                """
            let result = try await f.run(f.spec(script))
            #expect(result.output == "sys ro\nsysrq ro\n0\n0\nbuildkitsandbox\n")
        }
    }


    @Test func nothingPropagatesIntoASharedHostMount() async throws {
        let f = try Fixture()
        // Make the scratch directory a shared mount (as / is on a systemd host): a sandbox that failed to make its
        // mount namespace private would propagate its overlay, /proc, /dev… back into it.
        try #require(mount(f.scratch.path, f.scratch.path, nil, UInt(MS_BIND), nil) == 0)
        let mounted = MountTable.lines(mentioning: f.scratch.path)
        do {
            try #require(mount(nil, f.scratch.path, nil, UInt(MS_SHARED), nil) == 0)
            #expect(MountTable.lines(mentioning: f.scratch.path).first?.contains("shared:") == true)
            var spec = f.spec("sleep 0.2; echo done")
            spec.mounts = [.tmpfs(target: "/scratch", sizeBytes: nil)]
            let running = Task { try await f.run(spec) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(MountTable.lines(mentioning: f.scratch.path).count == mounted.count)
            #expect(try await running.value.output == "done\n")
            #expect(MountTable.lines(mentioning: f.scratch.path).count == mounted.count)
        } catch {
            umount2(f.scratch.path, Int32(MNT_DETACH))
            throw error
        }
        #expect(umount2(f.scratch.path, Int32(MNT_DETACH)) == 0)
        #expect(MountTable.lines(mentioning: f.scratch.path) == [])
    }

}
