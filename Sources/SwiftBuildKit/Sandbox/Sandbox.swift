import CSandbox
#if canImport(Glibc)
import Glibc
#endif

/// Runs one command in an isolated root filesystem: new mount, PID, UTS, IPC and cgroup namespaces (and a new network
/// namespace for `.none`), the rootfs (overlayfs mounted inside the child's own mount namespace, so the host mount
/// table never sees it) as the root after `pivot_root`, minimal /dev, /proc, read-only /sys, /etc/hosts,
/// /etc/resolv.conf and /etc/hostname bound read-only, then the spec's mounts. The command itself is PID 1 of its
/// PID namespace: when it exits, the kernel kills whatever it left behind, and its mounts go with the namespace.
///
/// The child is started and waited for on a dedicated thread, never on the cooperative pool.
public struct Sandbox: Sendable {
    public let scratchDirectory: String

    /// `scratchDirectory` is where the sandbox may create its run directories (removed after each run).
    public init(scratchDirectory: String) {
        self.scratchDirectory = scratchDirectory
    }

    /// Runs the process; output (stdout and stderr interleaved) is streamed to `output`, from another thread, in
    /// the order it was written. Returns the exit status (128 + signal if killed). Task cancellation kills the whole
    /// process tree (SIGKILL to PID 1 of its namespace) and throws `.cancelled` once it is gone.
    /// (`output` is escaping: the waiting thread holds it until it has handed over the result.)
    /// `weaker` hears where this machine could not give the step the whole sandbox (`SandboxWeakness`).
    public func run(_ spec: SandboxSpec, output: @escaping @Sendable ([UInt8]) -> Void,
                    weaker: @escaping @Sendable (SandboxWeakness) -> Void = { _ in }) async throws(SandboxError)
        -> Int32 {
        if Task.isCancelled { throw .cancelled }
        let preparation = try SandboxPreparation(spec, scratchDirectory: scratchDirectory)
        defer { preparation.removeRunDirectory() }
        let control = SandboxProcessControl()
        let result: Result<Int32, SandboxError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int32, SandboxError>, Never>) in
                let job = SandboxJob(spec: spec, preparation: preparation, control: control, output: output,
                                     weaker: weaker) {
                    continuation.resume(returning: $0)
                }
                if let failure = SandboxThread.start({ job.run() }) {
                    continuation.resume(returning: .failure(failure))
                }
            }
        } onCancel: {
            control.cancel()
        }
        return try result.get()
    }
}

/// A part of the sandbox this machine could not give a RUN step, which ran all the same (said in progress).
public enum SandboxWeakness: String, Sendable, Equatable {
    /// No /proc of the step's own PID namespace could be mounted (a container whose /proc has masked paths, as
    /// Kubernetes pods have unless `procMount: Unmasked`): the builder's /proc is bound, so the step sees the
    /// builder's processes. BuildKit calls this running without a process sandbox.
    case sharedProc = "proc"
}
