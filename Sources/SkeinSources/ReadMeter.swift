import Foundation

/// Bytes read so far, across the reading thread and whoever shows progress: readers add as they
/// go (a chunk at a time), a progress display reads the total.
public final class ReadMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var total: Int64 = 0

    public init() {}

    public func add(_ n: Int) {
        lock.lock()
        total += Int64(n)
        lock.unlock()
    }

    public var bytes: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}
