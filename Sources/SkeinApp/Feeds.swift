#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinOutputs
import SkeinSources
import SkeinUI

/// Forwards everything to the engine and keeps each event as an NDJSON line (`--record`).
final class RecordingSink: IngestSink {
    let engine: Engine
    let recorder: Recorder
    private(set) var failures = 0

    init(engine: Engine, recorder: Recorder) {
        self.engine = engine
        self.recorder = recorder
    }

    func addSource(name: String) -> SourceID { engine.addSource(name: name) }
    func setHealth(_ health: SourceHealth, for source: SourceID) { engine.setHealth(health, for: source) }
    func countLine(source: SourceID) { engine.countLine(source: source) }
    func countMalformed(source: SourceID, reason: String) { engine.countMalformed(source: source, reason: reason) }
    func countFormat(source: SourceID, format: String) { engine.countFormat(source: source, format: format) }
    func countDropped(_ n: Int) { engine.countDropped(n) }
    func ingest(_ event: Event) {
        engine.ingest(event)
        do { try recorder.record(event) } catch { failures += 1 }
    }
}

/// What every feed shares: one engine, a cached snapshot, and the drains headless mode prints.
public class EngineFeed: DashboardFeed {
    public private(set) var engine: Engine
    /// Traces a dashboard snapshot carries (the list pane never shows more than this).
    public var snapshotTraceLimit = 5_000
    /// Set when nothing prints finished traces (the dashboard): each snapshot then discards the
    /// engine's drain queues, which would otherwise hold every finished summary up to the
    /// engine's buffer limit (about 100 MB over a few simulated hours).
    public var discardsDrains = false
    private var cached: Snapshot?

    init(engine: Engine) { self.engine = engine }

    func replaceEngine(_ e: Engine) {
        engine = e
        cached = nil
    }

    func invalidate() { cached = nil }

    public func pump(budget: Double) -> Bool { false }

    public func snapshot() -> Snapshot {
        if let c = cached { return c }
        if discardsDrains {
            _ = engine.drainFinishedTraces()
            _ = engine.drainNewInsights()
        }
        let s = engine.snapshot(traceLimit: snapshotTraceLimit)
        cached = s
        return s
    }

    public func detail(traceID: String) -> TraceDetail? { engine.detail(traceID: traceID) }
    public var mode: FeedMode { .live }
    public func perform(_ effect: Effect) {}
    public var isFinished: Bool { false }

    /// Resident memory of this process, from /proc (0 where unknown).
    public var memoryBytes: Int { ProcessMemory.residentBytes() }

    /// Ends the input: completes every open trace.
    public func finish() {
        engine.finish()
        cached = nil
    }
}

/// A live input beside followed files: the network collector, a database sampler.
///
/// Polled from the engine's thread between frames; it hands over what arrived since the last
/// poll (its own threads or event loops queue it, bounded) and never blocks.
public protocol LiveSource: AnyObject {
    /// Delivers what is ready into `sink`; returns true if anything arrived.
    func poll(into sink: any IngestSink) -> Bool
    /// Stops accepting input and flushes; called once on exit.
    func close()
}

/// `skein tail`: files followed like `tail -F`, stdin and live sources, on the wall clock.
public final class LiveFeed: EngineFeed {
    private let follower: Follower
    private var extra: [any LiveSource] = []
    private let sink: any IngestSink
    private let clock: any Clock
    private let recorder: Recorder?
    private var lastTick: Timestamp

    public init(inputs: [String], decoderFormat: String?, config: EngineConfig, record: String?,
                clock: any Clock = WallClock()) throws {
        let engine = Engine(config: config)
        var rec: Recorder?
        var sink: any IngestSink = engine
        if let path = record {
            let r = try Recorder(sink: FileSink(path: path, append: true))
            rec = r
            sink = RecordingSink(engine: engine, recorder: r)
        }
        recorder = rec
        self.clock = clock
        self.sink = sink
        follower = Follower(inputs.map(InputSpec.init(argument:)), decoder: Decoding.factory(format: decoderFormat), sink: sink)
        lastTick = clock.now()
        super.init(engine: engine)
        engine.advance(to: lastTick)
    }

    /// Adds a live source (collector, sampler); its events pass through the recorder like any other.
    public func add(_ source: any LiveSource) {
        extra.append(source)
    }

    public override func pump(budget: Double) -> Bool {
        let round = follower.poll()
        let now = clock.now()
        var changed = round.bytesRead > 0
        for source in extra where source.poll(into: sink) { changed = true }
        // Ages, completions and rates move with time even when no line arrives.
        if now.ms(since: lastTick) >= 500 {
            engine.advance(to: now)
            lastTick = now
            changed = true
        }
        try? recorder?.flushIfDue(now: now)
        if changed { invalidate() }
        return changed
    }

    public var followedSources: Int { follower.sources.count }

    /// Only stdin can end; followed files and live sources never do.
    public override var isFinished: Bool { extra.isEmpty && follower.isExhausted }

    /// Live sources stop first and hand over what they hold, so the engine completes with it.
    public override func finish() {
        closeLiveSources()
        super.finish()
    }

    private func closeLiveSources() {
        for source in extra { source.close() }
        for source in extra { while source.poll(into: sink) {} }
    }

    public func close() {
        closeLiveSources()
        follower.finish()
        try? recorder?.close()
    }
}

/// `skein replay`: recorded files merged in time order on a virtual clock with speed, pause and seek.
public final class ReplayFeed: EngineFeed {
    private let paths: [String]
    private let factory: DecoderFactory
    private let config: EngineConfig
    private var reader: ReplayReader
    private var clock: ReplayClock
    private var lastReal: ContinuousClock.Instant
    private var lastRedraw: ContinuousClock.Instant
    private let realClock = ContinuousClock()
    /// Events handed to the engine per pump step, so a frame stays short even at `max`.
    public var stepEvents = 20_000

    public init(paths: [String], decoderFormat: String?, config: EngineConfig, speed: ReplaySpeed = .factor(1),
                from: String? = nil, to: String? = nil) throws {
        if paths.isEmpty { throw AppError.noInput }
        let files = paths.map(InputSpec.init(argument:)).flatMap { $0.paths() }
        self.paths = files
        factory = Decoding.factory(format: decoderFormat)
        self.config = config
        let engine = Engine(config: config)
        reader = ReplayReader(paths: files, decoder: factory, sink: engine)
        guard let start = reader.start, let end = reader.end else { throw AppError.emptyRecording(paths) }
        let from = try from.map { try parseTime($0, start: start) } ?? start
        let to = try to.map { try parseTime($0, start: start) } ?? end
        clock = ReplayClock(start: from, end: max(from, to), speed: ReplayFeed.clockSpeed(speed))
        lastReal = realClock.now
        lastRedraw = lastReal
        super.init(engine: engine)
        if from > start { seek(to: from) }
    }

    static func clockSpeed(_ s: ReplaySpeed) -> ReplayClock.Speed {
        switch s {
        case .factor(let f): .times(f)
        case .max: .max
        }
    }

    static func uiSpeed(_ s: ReplayClock.Speed) -> ReplaySpeed {
        switch s {
        case .times(let f): .factor(f)
        case .max: .max
        }
    }

    public var position: Timestamp { clock.position }

    public override var mode: FeedMode {
        .replay(ReplayPosition(speed: ReplayFeed.uiSpeed(clock.speed), now: clock.position, start: clock.start,
                               end: clock.end, paused: clock.isPaused))
    }

    public override var isFinished: Bool { clock.isAtEnd && reader.isFinished }

    public override func pump(budget: Double) -> Bool {
        let now = realClock.now
        let elapsed = now - lastReal
        lastReal = now
        let before = clock.position
        let horizon = clock.advance(realElapsed: elapsed)
        var delivered = 0
        let deadline = now.advanced(by: .milliseconds(Int64(max(1, budget * 1000))))
        repeat {
            let (n, last) = reader.deliver(upTo: min(horizon, clock.end.adding(nanos: 1)), max: stepEvents, into: engine)
            delivered += n
            if let last { clock.delivered(through: last) }
            if n < stepEvents { break }
        } while realClock.now < deadline
        if clock.speed == .max && delivered == 0 && reader.isFinished { clock.seek(to: clock.end) }
        engine.advance(to: clock.position)
        // A moving clock alone redraws a few times a second, not every frame: the loop may idle.
        let clockMoved = clock.position != before && realClock.now - lastRedraw >= .milliseconds(250)
        let changed = delivered > 0 || clockMoved
        if changed {
            lastRedraw = realClock.now
            invalidate()
        }
        return changed
    }

    public override func perform(_ effect: Effect) {
        switch effect {
        case .seek(let secs): seek(to: clock.position.adding(ms: secs * 1000))
        case .seekToStart: seek(to: clock.start)
        case .seekToEnd: seek(to: clock.end)
        case .setSpeed(let s): clock.setSpeed(ReplayFeed.clockSpeed(s))
        case .setPaused(let p): if p { clock.pause() } else { clock.resume() }
        case .quit, .requestDetail: break
        }
        lastReal = realClock.now
        invalidate()
    }

    /// Jumps the virtual clock. Forward within a few minutes plays through at full speed;
    /// anything else rebuilds a fresh engine from the index checkpoint before the target.
    public func seek(to target0: Timestamp) {
        let target = min(clock.end, max(clock.start, target0))
        let forward = target >= clock.position && target.ms(since: clock.position) <= 120_000 && target != clock.start
        if !forward {
            let fresh = Engine(config: config)
            reader.seek(to: target, rebindingTo: fresh)
            replaceEngine(fresh)
        }
        while true {
            let (n, _) = reader.deliver(upTo: target, max: 200_000, into: engine)
            if n == 0 { break }
        }
        clock.seek(to: target)
        engine.advance(to: target)
        invalidate()
    }

    /// Plays everything up to `target` at full speed, however far ahead it is (for `--snapshot
    /// --at`): unlike a seek, the picture then holds the whole history, not a warm-up window.
    public func play(to target0: Timestamp) {
        let target = min(clock.end, max(clock.position, target0))
        while true {
            let (n, last) = reader.deliver(upTo: target, max: stepEvents, into: engine)
            if let last { engine.advance(to: min(last, target)) }
            if n == 0 { break }
        }
        clock.seek(to: target)
        engine.advance(to: target)
        invalidate()
    }
}
