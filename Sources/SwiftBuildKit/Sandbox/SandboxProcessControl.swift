import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state shared by the waiting thread and the cancellation handler: the child's pid while it can still be
/// signalled (it is never signalled once reaped, so a reused pid is never hit).
final class SandboxProcessControl: Sendable {
    private struct State {
        var pid: pid_t = 0
        var reaped = false
        var cancelled = false
    }
    private let state = Mutex(State())

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Starts the child through `spawn` (a pid, or minus an error number) unless cancellation came first.
    func start(_ spawn: () -> pid_t) -> Result<pid_t, SandboxError> {
        state.withLock { state in
            if state.cancelled { return .failure(.cancelled) }
            let pid = spawn()
            if pid <= 0 { return .failure(.system(operation: "clone", path: "", errno: -pid)) }
            state.pid = pid
            return .success(pid)
        }
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if state.pid > 0 && !state.reaped { kill(state.pid, SIGKILL) }
        }
    }

    /// Called once the child is a zombie (so its pid cannot be reused), just before reaping it.
    func markReaped() {
        state.withLock { $0.reaped = true }
    }
}
