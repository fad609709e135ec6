import Foundation

/// Runs async work that must answer within a time limit, even if it never honours cancellation.
///
/// A task group would wait for a stuck child at its end; this resumes the caller with whichever
/// comes first (the result, or `DeadlineError` after `seconds`), and `onExpiry` gets the chance to
/// unblock the loser (close its connection). The caller is never held up by the loser.
enum Deadline {
    static func run<T: Sendable>(seconds: Double, onExpiry: @escaping @Sendable () -> Void,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = Once<T>()
        return try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, any Error>) in
            once.set(k)
            let work = Task {
                do { once.resume(.success(try await body())) } catch { once.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                if once.resume(.failure(DeadlineError(seconds: seconds))) {
                    onExpiry()
                    work.cancel()
                }
            }
        }
    }
}

/// The time limit passed without an answer.
public struct DeadlineError: Error, CustomStringConvertible {
    public var seconds: Double
    public var description: String { "no answer within \(seconds) s" }
}

/// Resumes a continuation exactly once, from whichever side gets there first.
private final class Once<T: Sendable>: @unchecked Sendable {
    // Guards `continuation` and `done`, touched from two tasks.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var done = false
    private var early: Result<T, any Error>?

    func set(_ k: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let r = early {
            lock.unlock()
            k.resume(with: r)
            return
        }
        continuation = k
        lock.unlock()
    }

    /// True if this call resumed the caller.
    @discardableResult
    func resume(_ r: Result<T, any Error>) -> Bool {
        lock.lock()
        guard !done else { lock.unlock(); return false }
        done = true
        guard let k = continuation else {
            early = r
            lock.unlock()
            return true
        }
        continuation = nil
        lock.unlock()
        k.resume(with: r)
        return true
    }
}
