import SkeinCore
import SkeinEngine

/// How fast a replay plays: a factor of real time, or as fast as ingest allows.
public enum ReplaySpeed: Sendable, Equatable {
    case factor(Double)
    case max

    /// The steps `+` and `-` walk through, slowest first (`.max` comes after the last).
    public static let steps: [Double] = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]

    /// One step faster; `.max` stays `.max`.
    public var faster: ReplaySpeed {
        guard case .factor(let f) = self else { return .max }
        if let next = ReplaySpeed.steps.first(where: { $0 > f * 1.0001 }) { return .factor(next) }
        return .max
    }

    /// One step slower; the slowest step stays.
    public var slower: ReplaySpeed {
        guard case .factor(let f) = self else { return .factor(ReplaySpeed.steps[ReplaySpeed.steps.count - 1]) }
        if let prev = ReplaySpeed.steps.last(where: { $0 < f * 0.9999 }) { return .factor(prev) }
        return .factor(ReplaySpeed.steps[0])
    }

    public func label(times: String = "×") -> String {
        switch self {
        case .factor(let f): Format.speed(f, times: times)
        case .max: "max"
        }
    }
}

/// Where a replay is on its virtual clock.
public struct ReplayPosition: Sendable, Equatable {
    public var speed: ReplaySpeed
    /// The virtual clock.
    public var now: Timestamp
    public var start: Timestamp
    /// Unknown until the whole input has been indexed.
    public var end: Timestamp?
    public var paused: Bool

    public init(speed: ReplaySpeed, now: Timestamp, start: Timestamp, end: Timestamp?, paused: Bool = false) {
        self.speed = speed; self.now = now; self.start = start; self.end = end; self.paused = paused
    }

    /// How far through the recording, 0…1, when the end is known.
    public var progress: Double? {
        guard let end, end > start else { return nil }
        return Swift.max(0, Swift.min(1, now.ms(since: start) / end.ms(since: start)))
    }
}

/// Whether the dashboard shows live input or a recording on a virtual clock.
public enum FeedMode: Sendable, Equatable {
    case live
    case replay(ReplayPosition)

    public var isReplay: Bool { if case .replay = self { return true } else { return false } }
    public var replay: ReplayPosition? { if case .replay(let p) = self { return p } else { return nil } }
}

/// What a key asks of the world outside the view state; the caller carries it out.
public enum Effect: Sendable, Equatable {
    case quit
    /// Fetch the detail of a trace (any id or alias) for the detail view.
    case requestDetail(traceID: String)
    /// Replay only: move the virtual clock by this many seconds (negative = back).
    case seek(bySeconds: Double)
    case seekToStart
    case seekToEnd
    case setSpeed(ReplaySpeed)
    /// Replay: stop or restart the virtual clock. Live: ignored (the view freezes; ingest goes on).
    case setPaused(Bool)
}

/// What the dashboard runs on: the engine behind a pump (the lead's real feed), or a fake in tests.
///
/// The terminal loop calls it from one thread only.
public protocol DashboardFeed: AnyObject {
    /// Ingest what is available, for at most `budget` seconds; returns true if anything changed.
    func pump(budget: Double) -> Bool
    func snapshot() -> Snapshot
    func detail(traceID: String) -> TraceDetail?
    var mode: FeedMode { get }
    /// Seek/speed/pause for replay; a live feed ignores them. `.quit` and `.requestDetail` never arrive here.
    func perform(_ effect: Effect)
    var memoryBytes: Int { get }
    /// True when input has ended and nothing more will change (the dashboard stays up until `q`).
    var isFinished: Bool { get }
}
