import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinOutputs
import SkeinSim
import SkeinSources
import SkeinUI

/// `skein demo`: the simulated fleet's log lines go through the same framer, decoder and engine
/// as real input, on the simulator's virtual clock scaled by `--speed`.
public final class DemoFeed: EngineFeed {
    public private(set) var simulator: Simulator
    private let ingest: Ingest
    private let recorder: Recorder?
    private var speed: ReplaySpeed
    private var paused = false
    private let stopAt: Timestamp?
    private var lastReal: ContinuousClock.Instant
    private let realClock = ContinuousClock()
    private var buffer: [UInt8] = []
    /// At `max`, how much virtual time one pump step simulates.
    public var maxStepMS: Double = 1_000
    public private(set) var linesEmitted = 0

    /// - Parameter duration: simulated seconds to run; nil runs the scenario, then steady traffic until quit.
    public init(scenario: Scenario, seed: UInt64, speed: ReplaySpeed, duration: Double?, maxConnections: Int = 100,
                record: String? = nil, config: EngineConfig = EngineConfig()) throws {
        let sim = Simulator(scenario: scenario, seed: seed, maxConnections: maxConnections)
        simulator = sim
        stopAt = duration.map { sim.start.adding(ms: $0 * 1000) }
        let engine = Engine(config: config)
        let source = engine.addSource(name: "demo:\(scenario.rawValue) seed \(seed)")
        ingest = Ingest(source: source, decoder: Decoding.factory())
        recorder = try record.map { try Recorder(rawLines: FileSink(path: $0)) }
        self.speed = speed
        lastReal = realClock.now
        super.init(engine: engine)
        engine.setHealth(.reading, for: source)
        engine.advance(to: sim.start)
    }

    public var virtualNow: Timestamp { simulator.now }

    public override var mode: FeedMode {
        // The demo runs live on its own clock: shown as live, with its speed in the header.
        .live
    }

    public override var isFinished: Bool {
        guard let stopAt else { return false }
        return simulator.now >= stopAt
    }

    public override func pump(budget: Double) -> Bool {
        let now = realClock.now
        let elapsed = now - lastReal
        lastReal = now
        if paused || isFinished { return false }
        let (s, atto) = elapsed.components
        let realMS = Double(s) * 1000 + Double(atto) / 1e15
        var target: Timestamp
        switch speed {
        case .factor(let f): target = simulator.now.adding(ms: realMS * f)
        case .max: target = simulator.now.adding(ms: maxStepMS)
        }
        if let stopAt { target = min(target, stopAt) }
        guard target > simulator.now else { return false }
        var lines = simulator.advance(to: target)
        if let stopAt, target >= stopAt { lines += simulator.flush() }
        feed(lines)
        engine.advance(to: target)
        if isFinished {
            try? recorder?.close()
        } else {
            try? recorder?.flushIfDue(now: target)
        }
        invalidate()
        return true
    }

    /// Runs to the end of `duration` as fast as possible (headless `--speed max`).
    public func runToEnd() {
        while !isFinished { _ = pump(budget: 1) }
    }

    private func feed(_ lines: [SimLine]) {
        guard !lines.isEmpty else { return }
        buffer.removeAll(keepingCapacity: true)
        for line in lines {
            buffer.append(contentsOf: line.bytes)
            buffer.append(0x0a)
            if let recorder { try? recorder.record(line: line.bytes) }
        }
        linesEmitted += lines.count
        buffer.withUnsafeBufferPointer { ingest.consume($0, into: engine) }
    }

    public override func perform(_ effect: Effect) {
        switch effect {
        case .setSpeed(let s): speed = s
        case .setPaused(let p): paused = p
        default: break
        }
    }

    public func close() {
        ingest.finish(into: engine)
        try? recorder?.close()
    }
}
