/// Exponential reconnect delays: 0.5 s, 1 s, 2 s, ... capped, so a database that is down or full
/// is asked again soon but never hammered (Skein must not be one more client it refuses).
public struct Backoff: Sendable, Equatable {
    public var initialS: Double
    public var capS: Double

    public init(initialS: Double = 0.5, capS: Double = 10) {
        self.initialS = max(0.001, initialS)
        self.capS = max(self.initialS, capS)
    }

    /// The wait before reconnect attempt `attempt` (1-based).
    public func delay(attempt: Int) -> Double {
        let n = max(1, attempt)
        // Past 2^30 the cap has long applied; stopping there keeps the power finite.
        return min(capS, initialS * Double(1 << min(n - 1, 30)))
    }
}
