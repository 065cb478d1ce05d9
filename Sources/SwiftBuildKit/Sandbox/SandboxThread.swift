#if canImport(Glibc)
import Glibc
#endif

/// A detached POSIX thread running one blocking job, so waiting for a child never holds a cooperative-pool thread.
/// (The child is cloned from this thread, which lives until the child is reaped: the child's parent-death signal is
/// tied to the thread that cloned it.)
enum SandboxThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body`; returns an error when no thread could be made.
    static func start(_ body: @escaping @Sendable () -> Void) -> SandboxError? {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
            body.run()
            return nil
        }, context)
        if code != 0 {
            Unmanaged<Body>.fromOpaque(context).release()
            return .system(operation: "pthread_create", path: "", errno: code)
        }
        pthread_detach(thread)
        return nil
    }
}
