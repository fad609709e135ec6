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

    /// Bytes in the named files now (what a progress display measures against); a file that
    /// cannot be read counts 0.
    public static func size(of paths: [String]) -> Int64 {
        paths.reduce(0) { $0 + (FileIdentity.of(path: $1)?.size ?? 0) }
    }
}
