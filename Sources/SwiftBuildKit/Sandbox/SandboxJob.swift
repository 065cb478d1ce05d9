import CSandbox
#if canImport(Glibc)
import Glibc
#endif

/// One run, on its dedicated thread: start the child, read its setup report, stream its output, reap it, remove
/// the stubs it created, and hand the outcome to `finish`.
struct SandboxJob: Sendable {
    let spec: SandboxSpec
    let preparation: SandboxPreparation
    let control: SandboxProcessControl
    let output: @Sendable ([UInt8]) -> Void
    let weaker: @Sendable (SandboxWeakness) -> Void
    let finish: @Sendable (Result<Int32, SandboxError>) -> Void

    func run() {
        finish(execute())
    }

    private func execute() -> Result<Int32, SandboxError> {
        var outputPipe: [Int32] = [-1, -1]
        var reportPipe: [Int32] = [-1, -1]
        if csandbox_pipe(&outputPipe) != 0 { return .failure(.system(operation: "pipe", path: "", errno: errno)) }
        if csandbox_pipe(&reportPipe) != 0 {
            let code = errno
            close(outputPipe[0])
            close(outputPipe[1])
            return .failure(.system(operation: "pipe", path: "", errno: code))
        }
        let launch = SandboxLaunch(
            rootPath: preparation.rootPath, overlay: preparation.overlay, overlayOptions: preparation.overlayOptions,
            arguments: spec.arguments, environment: spec.environment,
            workingDirectory: preparation.workingDirectory, uid: spec.uid, gid: spec.gid,
            supplementaryGroups: spec.supplementaryGroups, hostname: spec.hostname,
            newNetwork: spec.network == .none,
            mounts: preparation.mounts.map {
                SandboxLaunch.Mount(kind: $0.kind, source: $0.source, target: $0.target, readOnly: $0.readOnly,
                                    targetIsDirectory: $0.targetIsDirectory, sizeBytes: $0.sizeBytes,
                                    contents: $0.contents, mode: $0.mode, uid: $0.uid, gid: $0.gid)
            },
            filesDirectory: preparation.filesDirectory, outputFD: outputPipe[1], reportFD: reportPipe[1])
        let started = control.start { launch.spawn() }
        close(outputPipe[1])
        close(reportPipe[1])
        defer {
            close(outputPipe[0])
            close(reportPipe[0])
        }
        guard case .success(let pid) = started else {
            if case .failure(let error) = started { return .failure(error) }
            return .failure(.cancelled)
        }

        let report = SandboxReport(Self.readAll(reportPipe[0]))
        for weakness in report.weaknesses { weaker(weakness) }
        stream(outputPipe[0])
        let status = Self.reap(pid, control)
        SandboxStubCleaner(root: spec.root).remove(stubs: report.stubs)

        if control.isCancelled { return .failure(.cancelled) }
        if let error = report.error { return .failure(error) }
        return .success(csandbox_exit_code(status))
    }

    private func stream(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            if n == 0 { return }
            output(Array(buffer[0..<n]))
        }
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return data
            }
            if n == 0 { return data }
            data += buffer[0..<n]
        }
    }

    /// Waits for the child to exit without reaping it, marks it so cancellation stops signalling it, then reaps.
    private static func reap(_ pid: pid_t, _ control: SandboxProcessControl) -> Int32 {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        control.markReaped()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}
