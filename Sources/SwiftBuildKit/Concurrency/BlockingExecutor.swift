import Dispatch
import Synchronization

/// Where blocking work goes (file-system walks, layer writing and unpacking, `flock`, registry transfers and
/// the waits between their retries), so that it never holds one of Swift's cooperative threads: an `await` on
/// `run` parks the task, and the work runs on a thread of this executor's own concurrent queue.
/// Cancelling the awaiting task is seen by the work through `BlockingExecutor.isCancelled` at its next check,
/// and a task cancelled before the work starts never starts it.
public final class BlockingExecutor: Sendable {
    /// The executor the builder uses.
    public static let shared = BlockingExecutor(label: "swiftbuild.blocking")

    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
    }

    /// The cancellation flag of the work running on the current thread (false outside `run`).
    @TaskLocal static var cancellation: CancellationFlag?

    /// Whether the task that awaits the current blocking work was cancelled.
    public static var isCancelled: Bool { cancellation?.isSet ?? false }

    /// Runs `body` on a thread of the executor and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try Task.checkCancellation()
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                queue.async {
                    guard !flag.isSet else {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    continuation.resume(with: Result { try Self.$cancellation.withValue(flag) { try body() } })
                }
            }
        } onCancel: {
            flag.set()
        }
    }

    /// Runs `body` for every item, at most `limit` at once, and waits for all of them (every item runs even
    /// if another failed; the first error in item order is thrown). For blocking callers; async callers use
    /// `run` around it.
    public func forEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) throws -> Void) throws {
        if items.count <= 1 || limit <= 1 {
            for item in items { try body(item) }
            return
        }
        let failures = Mutex<[Int: any Error]>([:])
        let gate = DispatchSemaphore(value: limit)
        let group = DispatchGroup()
        let flag = Self.cancellation
        for (index, item) in items.enumerated() {
            gate.wait()
            queue.async(group: group) {
                defer { gate.signal() }
                do { try Self.$cancellation.withValue(flag) { try body(item) } } catch {
                    failures.withLock { $0[index] = error }
                }
            }
        }
        group.wait()
        if let first = failures.withLock({ $0.min(by: { $0.key < $1.key }) }) { throw first.value }
    }

    /// The async form of `forEach`: runs `body` for every item, at most `limit` at once, each on the executor.
    public func forEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) -> Void) async {
        _ = try? await run { try self.forEach(items, limit: limit, body) }
    }
}

/// A flag set once, when the task that awaits blocking work is cancelled.
public final class CancellationFlag: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { state.load(ordering: .acquiring) }

    public func set() { state.store(true, ordering: .releasing) }
}
