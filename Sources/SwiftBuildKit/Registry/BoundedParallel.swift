import Dispatch
import Foundation

/// Runs blocking work (blob transfers) on at most `limit` threads at once and waits for all of it.
/// Every item runs even if another failed; the first error (in item order) is thrown.
enum BoundedParallel {
    static func forEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) throws -> Void) throws {
        if items.count <= 1 || limit <= 1 {
            for item in items { try body(item) }
            return
        }
        let failures = Failures()
        let gate = DispatchSemaphore(value: limit)
        let group = DispatchGroup()
        let queue = DispatchQueue(label: "swiftbuild.registry.transfers", attributes: .concurrent)
        for (index, item) in items.enumerated() {
            gate.wait()
            queue.async(group: group) {
                defer { gate.signal() }
                do { try body(item) } catch {
                    failures.lock.withLock { failures.errors[index] = error }
                }
            }
        }
        group.wait()
        if let first = failures.errors.min(by: { $0.key < $1.key }) { throw first.value }
    }
}

/// Errors of parallel items, by index; guarded by its lock.
private final class Failures: @unchecked Sendable {
    let lock = NSLock()
    var errors: [Int: any Error] = [:]
}
