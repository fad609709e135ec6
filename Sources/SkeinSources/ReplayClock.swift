import SkeinCore

/// Virtual time for replay: a position between the recording's start and end that moves at a
/// chosen speed while playing.
///
/// It never reads a clock: the caller measures real elapsed time with its own monotonic clock and
/// passes it to `advance(realElapsed:)`, so tests drive it exactly. Events are due when their time
/// is at or before `horizon`.
public struct ReplayClock: Sendable, Equatable {
    public enum Speed: Sendable, Equatable, CustomStringConvertible {
        /// Virtual seconds per real second.
        case times(Double)
        /// As fast as events can be processed: the position follows what was delivered.
        case max

        public var description: String {
            switch self {
            case .max: "max"
            case .times(let x):
                x == x.rounded() ? "\(Int(x))×" : "\(x)×"
            }
        }
    }

    public static let minSpeed = 0.1
    public static let maxSpeed = 1000.0
    /// The steps `faster()` and `slower()` move through.
    public static let presets: [Speed] = [
        .times(0.1), .times(0.25), .times(0.5), .times(1), .times(2), .times(5), .times(10),
        .times(30), .times(100), .times(300), .times(1000), .max,
    ]

    public let start: Timestamp
    public let end: Timestamp
    public private(set) var position: Timestamp
    public private(set) var speed: Speed
    public private(set) var isPaused: Bool
    /// The last reading of the caller's monotonic clock, for `tick(realNow:)`.
    private var lastReal: Duration?

    public init(start: Timestamp, end: Timestamp, speed: Speed = .times(1), paused: Bool = false) {
        self.start = start
        self.end = Swift.max(start, end)
        position = start
        self.speed = ReplayClock.clamped(speed)
        isPaused = paused
    }

    public var isAtEnd: Bool { position >= end }

    /// Share of the recording played, 0...1.
    public var progress: Double {
        let total = end.nanos - start.nanos
        guard total > 0 else { return 1 }
        return Double(position.nanos - start.nanos) / Double(total)
    }

    /// Events at or before this are due. At the end, and at `max` speed, everything left is due:
    /// the recording's end comes from an index, and roughly sorted files can hold a few events past it.
    public var horizon: Timestamp {
        if isAtEnd || (speed == .max && !isPaused) { return Timestamp(nanos: .max) }
        return position
    }

    /// Moves virtual time on by `realElapsed` × speed (not past the end) and returns the new horizon.
    @discardableResult
    public mutating func advance(realElapsed: Duration) -> Timestamp {
        guard !isPaused, case .times(let x) = speed, realElapsed > .zero else { return horizon }
        let (s, atto) = realElapsed.components
        let realNanos = Double(s) * 1e9 + Double(atto) / 1e9
        let step = (realNanos * x).rounded()
        let room = Double(end.nanos - position.nanos)
        position = step >= room ? end : position.adding(nanos: Int64(step))
        return horizon
    }

    /// Advances by the time since the previous reading of a monotonic clock (any origin: e.g.
    /// `ContinuousClock.now - launch`); the first reading only sets the origin. Paused time is not
    /// played back on resume.
    @discardableResult
    public mutating func tick(realNow: Duration) -> Timestamp {
        defer { lastReal = realNow }
        guard let last = lastReal else { return horizon }
        return advance(realElapsed: realNow - last)
    }

    /// At `max` speed the position follows the events handed to the engine; other speeds ignore this.
    public mutating func delivered(through time: Timestamp) {
        guard speed == .max, !isPaused else { return }
        position = Swift.min(end, Swift.max(position, time))
    }

    public mutating func seek(to time: Timestamp) {
        position = Swift.min(end, Swift.max(start, time))
    }

    /// Moves by a signed virtual amount (the seek keys), clamped to the recording.
    public mutating func skip(ms: Double) {
        seek(to: position.adding(ms: ms))
    }

    public mutating func setSpeed(_ speed: Speed) { self.speed = ReplayClock.clamped(speed) }
    public mutating func pause() { isPaused = true }
    public mutating func resume() { isPaused = false }
    public mutating func togglePause() { isPaused.toggle() }

    /// The next preset above the current speed.
    public mutating func faster() {
        guard case .times(let x) = speed else { return }
        speed = ReplayClock.presets.first { if case .times(let p) = $0 { return p > x + 1e-9 } else { return true } } ?? .max
    }

    /// The next preset below the current speed (`max` steps down to the fastest finite speed).
    public mutating func slower() {
        guard case .times(let x) = speed else { speed = .times(ReplayClock.maxSpeed); return }
        for preset in ReplayClock.presets.reversed() {
            if case .times(let p) = preset, p < x - 1e-9 { speed = preset; return }
        }
        speed = .times(ReplayClock.minSpeed)
    }

    private static func clamped(_ speed: Speed) -> Speed {
        guard case .times(let x) = speed else { return .max }
        guard x.isFinite else { return .times(maxSpeed) }
        return .times(Swift.min(maxSpeed, Swift.max(minSpeed, x)))
    }
}
