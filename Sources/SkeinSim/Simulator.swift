import SkeinCore

/// One NDJSON line as the collector receives it.
public struct SimLine: Sendable, Equatable {
    /// Virtual time at which the line reaches the collector (true time plus shipping delay).
    public let arrival: Timestamp
    /// True time of the event, before the source's clock skew went into `ts`.
    public let time: Timestamp
    /// The line's bytes, without a trailing newline.
    public let bytes: [UInt8]
    /// The log drain that delivered it (`cloudflare-logpush`, `cloudwatch`, `vercel-drain`,
    /// `k8s-fluent-bit`, `pg-sampler`): one collector source each, if the caller wants several.
    public let drain: String

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A deterministic simulated hybrid backend that writes the JSON log lines such a system writes.
///
/// An edge API on Cloudflare Workers calls AWS Lambda and Vercel functions and a Kubernetes chat
/// server; all of them share one Postgres with `max_connections`. The simulation is a discrete
/// event loop on a virtual clock: the same seed gives the same bytes, however `advance(to:)` is
/// chunked. Ground truth is counted while simulating, never re-read from the output.
public struct Simulator: Sendable {
    public let scenario: Scenario
    public let seed: UInt64
    public let maxConnections: Int
    /// When the simulation starts (default 2026-11-23T10:00:00Z).
    public let start: Timestamp
    /// When the scenario's story ends; steady traffic continues after it.
    public let scenarioEnd: Timestamp

    /// 2026-11-23T10:00:00Z.
    public static let defaultStart = Timestamp(nanos: (Timestamp.days(year: 2026, month: 11, day: 23) * 86_400 + 36_000) * 1_000_000_000)
    /// Requests per second at the edge in steady traffic.
    public static let steadyRate = 3.0
    /// Server connections PgBouncer opens at most (its `default_pool_size`).
    public static let poolerPoolSize = 20

    let plan: ScenarioPlan
    let durationSeconds: Double
    var rng: SimRandom
    var clock: Int64
    var agenda = MinHeap<Scheduled>()
    var agendaSeq: UInt64 = 0
    var outbox = MinHeap<PendingLine>()
    var lineSeq: UInt64 = 0
    var record: GroundTruth

    var instances: [Instance] = []
    var usedInstanceIDs: Set<String> = []
    /// Frozen function instances per service, most recently used last.
    var idleFunctions: [[Int]] = Array(repeating: [], count: ServiceKind.allCases.count)
    var isolates: [[Int]] = Array(repeating: [], count: Colo.all.count)
    var chatPods: [Int] = []
    var worker = -1
    var postgres = -1
    var pgbouncer = -1
    /// When each PgBouncer server connection is next free.
    var poolerSlots: [Int64] = []
    var serverOpen = 0

    var hops: [Int: Hop] = [:]
    var nextHop = 0
    var requestCounter: UInt64 = 0
    var backgroundCounter = 0
    /// Renders every line again in its platform's own format, when asked for (`platformFormats`).
    var platform: PlatformWriter?
    /// A socket frozen longer than this is dead when the instance thaws.
    static let frozenSocketTimeoutMS = 30_000.0

    /// Creates a simulator; nothing is generated until `advance(to:)`.
    ///
    /// - Parameters:
    ///   - maxConnections: Postgres `max_connections`.
    ///   - start: virtual time of the first event; default `Simulator.defaultStart`.
    ///   - durationSeconds: length of the scenario's story; default `scenario.defaultDurationSeconds`.
    ///   - platformFormats: also write each line as its platform prints it (`platformLines`); the
    ///     simulation itself, and so the convention lines, stay the same.
    public init(scenario: Scenario, seed: UInt64, maxConnections: Int = 100, start: Timestamp? = nil,
                durationSeconds: Double? = nil, platformFormats: Bool = false) {
        self.scenario = scenario
        self.seed = seed
        self.maxConnections = max(1, maxConnections)
        let s = start ?? Simulator.defaultStart
        self.start = s
        let d = max(1, durationSeconds ?? Double(scenario.defaultDurationSeconds))
        self.durationSeconds = d
        self.scenarioEnd = s.adding(ms: d * 1000)
        self.plan = scenario.plan
        self.rng = SimRandom(seed: seed)
        self.clock = s.nanos
        self.record = GroundTruth(scenario: scenario, seed: seed, start: s, scenarioEnd: scenarioEnd,
                                  maxConnections: self.maxConnections, pooler: plan.pooler)
        if platformFormats { platform = PlatformWriter(seed: seed) }
        boot()
    }

    /// Virtual time the simulation has reached.
    public var now: Timestamp { Timestamp(nanos: clock) }

    /// What really happened so far.
    public var truth: GroundTruth {
        var t = record
        t.through = now
        t.serverConnections = serverOpen
        return t
    }

    /// Runs the simulation up to `target` and returns the lines that reached the collector by
    /// then, in arrival order (which is not `ts` order: skew and shipping delays shuffle them).
    public mutating func advance(to target: Timestamp) -> [SimLine] {
        let t = target.nanos
        while let top = agenda.first, top.time <= t {
            _ = agenda.pop()
            clock = max(clock, top.time)
            handle(top.action)
        }
        clock = max(clock, t)
        var out: [SimLine] = []
        while let top = outbox.first, top.arrival <= t {
            _ = outbox.pop()
            out.append(SimLine(arrival: Timestamp(nanos: top.arrival), time: Timestamp(nanos: top.time), bytes: top.bytes, drain: top.drain))
        }
        return out
    }

    /// Delivers every line generated so far but still on its way, in arrival order, without
    /// simulating further: the end of a recording. The lines keep their (future) arrival times.
    public mutating func flush() -> [SimLine] {
        var out: [SimLine] = []
        while let top = outbox.pop() {
            out.append(SimLine(arrival: Timestamp(nanos: top.arrival), time: Timestamp(nanos: top.time), bytes: top.bytes, drain: top.drain))
        }
        return out
    }

    /// The whole story: advances to `scenarioEnd` and flushes what is still in flight.
    public mutating func run() -> [SimLine] {
        var lines = advance(to: scenarioEnd)
        lines += flush()
        return lines
    }

    // MARK: the agenda

    enum Action: Sendable {
        case arrival
        case webSocketConnect
        case webSocketClose(instance: Int, socket: String, opened: Int64)
        case sample
        case hopArrive(Int)
        case hopBegin(Int)
        case hopConnect(Int)
        case hopQuery(Int)
        case hopFinish(Int)
        case childDone(Int, status: Int)
        case reap(instance: Int, since: Int64)
        case evictIsolate(Int)
        case backgroundDone(instance: Int, thaw: Int, job: Int)
    }

    struct Scheduled: Comparable, Sendable {
        var time: Int64
        var seq: UInt64
        var action: Action
        static func < (a: Scheduled, b: Scheduled) -> Bool { a.time != b.time ? a.time < b.time : a.seq < b.seq }
        static func == (a: Scheduled, b: Scheduled) -> Bool { a.time == b.time && a.seq == b.seq }
    }

    struct PendingLine: Comparable, Sendable {
        var arrival: Int64
        var seq: UInt64
        var time: Int64
        var bytes: [UInt8]
        var drain: String
        static func < (a: PendingLine, b: PendingLine) -> Bool { a.arrival != b.arrival ? a.arrival < b.arrival : a.seq < b.seq }
        static func == (a: PendingLine, b: PendingLine) -> Bool { a.arrival == b.arrival && a.seq == b.seq }
    }

    mutating func schedule(_ action: Action, at time: Int64) {
        agendaSeq += 1
        agenda.push(Scheduled(time: max(time, clock), seq: agendaSeq, action: action))
    }

    mutating func handle(_ action: Action) {
        switch action {
        case .arrival: arrival()
        case .webSocketConnect: webSocketConnect()
        case .webSocketClose(let i, let socket, let opened): webSocketClose(i, socket: socket, opened: opened)
        case .sample: sample()
        case .hopArrive(let h): hopArrive(h)
        case .hopBegin(let h): hopBegin(h)
        case .hopConnect(let h): hopConnect(h)
        case .hopQuery(let h): hopQuery(h)
        case .hopFinish(let h): hopFinish(h)
        case .childDone(let h, let status): childDone(h, status: status)
        case .reap(let i, let since): reap(i, since: since)
        case .evictIsolate(let i): evictIsolate(i)
        case .backgroundDone(let i, let thaw, let job): backgroundDone(i, thaw: thaw, job: job)
        }
    }

    // MARK: time helpers

    /// Seconds since the start of the simulation.
    var elapsed: Double { Double(clock - start.nanos) / 1e9 }

    func ns(_ ms: Double) -> Int64 { Int64((ms * 1_000_000).rounded()) }

    mutating func draw(_ range: (Double, Double)) -> Double { rng.uniform(range.0, range.1) }

    // MARK: lines

    /// Writes one line of instance `i` at true time `t`: skewed `ts`, delayed arrival.
    mutating func emit(_ i: Int, at t: Int64, _ r: LineRecord) {
        // A line in the past could arrive before lines already handed out, and chunked runs would differ.
        assert(t >= clock, "line emitted before the clock")
        let inst = instances[i]
        let bytes = LineWriter.render(ts: t + inst.skew, prefix: inst.prefix, r)
        let delay = ns(draw(inst.service.shippingDelayMS))
        lineSeq += 1
        outbox.push(PendingLine(arrival: t + delay, seq: lineSeq, time: t, bytes: bytes, drain: inst.service.drain))
        record.lines += 1
        platform?.write(i, inst, at: t, r)
    }

    /// The platform-format records written so far, in generation order (nil without `platformFormats`).
    public var platformLines: [PlatformLine]? { platform?.out }

    /// What the platform-format records can tell (nil without `platformFormats`).
    public var platformTruth: PlatformTruth? { platform?.truth }

    /// A line of hop `h` carrying the request's ids.
    func line(_ hop: Hop, _ event: EventKind) -> LineRecord {
        var r = LineRecord(event)
        r.correlationID = hop.ctx.correlationID
        r.traceID = hop.ctx.traceID
        r.spanID = hop.spanID
        r.parentSpanID = hop.parentSpanID
        r.requestID = hop.requestID
        r.route = hop.route.pattern
        return r
    }

    // MARK: instances

    mutating func newInstance(_ service: ServiceKind, id: String, region: String? = nil) -> Int {
        var uid = id
        while usedInstanceIDs.contains(uid) { uid = id + "-" + rng.hex(4) }
        usedInstanceIDs.insert(uid)
        let prefix = LineWriter.instancePrefix(service: service.name, instance: uid, deploy: service.deploy,
                                               platform: service.platform, runtime: service.runtime,
                                               region: region ?? service.region)
        let skewNS = Int64(rng.int(-service.skewMS * 1_000_000, service.skewMS * 1_000_000))
        instances.append(Instance(service: service, id: uid, prefix: prefix, skew: skewNS))
        record.instancesByDeploy[service.deploy.rawValue, default: 0] += 1
        return instances.count - 1
    }

    /// An instance's initialisation, logged when it completes; `hop` is the request that waited.
    mutating func coldStart(_ i: Int, at t: Int64, initMS: Double, hop: Hop?) {
        var r = hop.map { line($0, .instanceStart) } ?? LineRecord(.instanceStart)
        r.route = nil
        r.initMS = initMS
        r.coldStart = true
        r.msg = "cold start: initialised in \(format1(initMS)) ms"
        emit(i, at: t, r)
        let svc = instances[i].service
        record.coldStarts += 1
        record.coldStartsByService[svc.name, default: 0] += 1
        record.coldStartsByDeploy[svc.deploy.rawValue, default: 0] += 1
        if let rt = svc.runtime { record.coldStartsByRuntime[rt, default: 0] += 1 }
    }

    func format1(_ v: Double) -> String {
        var b: [UInt8] = []
        LineWriter.decimal1(&b, v)
        return String(decoding: b, as: UTF8.self)
    }

    /// The server's connection count changed at `t`.
    mutating func serverConnections(_ delta: Int, at t: Int64) {
        serverOpen += delta
        if serverOpen > record.peakServerConnections {
            record.peakServerConnections = serverOpen
            record.peakServerConnectionsAt = Timestamp(nanos: t)
        }
    }

    /// The long-running part of the fleet: Postgres, two chat pods, the queue worker, PgBouncer.
    mutating func boot() {
        let t0 = clock
        postgres = newInstance(.postgres, id: "pg-primary")
        instances[postgres].state = .busy
        for _ in 0..<2 {
            let pod = newInstance(.chat, id: "chat-" + rng.word(9, alphabet: Array("bcdf56789".utf8)) + "-" + rng.word(5))
            chatPods.append(pod)
            bootServer(pod, at: t0 + ns(rng.uniform(0, 200)), connections: 10)
        }
        worker = newInstance(.queueWorker, id: "queue-worker-" + rng.word(10, alphabet: Array("bcdf56789".utf8)) + "-" + rng.word(5))
        bootServer(worker, at: t0 + ns(rng.uniform(0, 200)), connections: 2)
        if plan.pooler {
            pgbouncer = newInstance(.pgbouncer, id: "pgbouncer-" + rng.word(10, alphabet: Array("bcdf56789".utf8)) + "-" + rng.word(5))
            bootServer(pgbouncer, at: t0 + ns(rng.uniform(0, 100)), connections: 0)
        }
        schedule(.sample, at: t0 + 1_000_000_000)
        schedule(.arrival, at: t0 + 2_000_000_000)
        schedule(.webSocketConnect, at: t0 + 2_500_000_000)
    }

    /// A server starts and opens its warm pool, which it keeps for good.
    mutating func bootServer(_ i: Int, at t: Int64, connections: Int) {
        let initMS = draw(instances[i].service.initRangeMS)
        var c = t + ns(initMS)
        coldStart(i, at: c, initMS: initMS, hop: nil)
        instances[i].state = .busy
        instances[i].poolTarget = connections
        instances[i].poolOpened = true
        for k in 0..<connections {
            c += ns(rng.uniform(3, 8))
            serverConnections(1, at: c)
            instances[i].dbOpen = k + 1
            instances[i].slots.append(c)
            var r = LineRecord(.dbConnect)
            r.dbPool = "pg"
            r.dbOpen = k + 1
            r.msg = "pool connection \(k + 1)/\(connections) established"
            emit(i, at: c, r)
        }
    }

    // MARK: periodic sources

    mutating func sample() {
        var r = LineRecord(.dbSample)
        r.dbOpen = serverOpen
        r.dbMax = maxConnections
        r.msg = "pg_stat_activity: \(serverOpen) of \(maxConnections) connections"
        emit(postgres, at: clock, r)
        schedule(.sample, at: clock + 1_000_000_000)
    }

    mutating func webSocketConnect() {
        let mult = plan.multiplier(at: elapsed, duration: durationSeconds)
        schedule(.webSocketConnect, at: clock + ns(rng.exponential(mean: 2000 / min(mult, 4))))
        var pod = chatPods[0]
        for p in chatPods where instances[p].clients < instances[pod].clients { pod = p }
        instances[pod].clients += 1
        let socket = rng.word(20, alphabet: SimRandom.socketAlphabet)
        var r = LineRecord(.wsOpen)
        r.route = "GET /socket.io/"
        r.msg = "socket connected"
        r.extras = [("socket_id", .string(socket)), ("clients", .int(instances[pod].clients))]
        emit(pod, at: clock, r)
        record.webSocketsOpened += 1
        schedule(.webSocketClose(instance: pod, socket: socket, opened: clock), at: clock + ns(rng.uniform(15_000, 240_000)))
    }

    mutating func webSocketClose(_ pod: Int, socket: String, opened: Int64) {
        instances[pod].clients -= 1
        var r = LineRecord(.wsClose)
        r.route = "GET /socket.io/"
        r.durationMS = Double(clock - opened) / 1e6
        r.msg = rng.chance(0.8) ? "socket disconnected: client namespace disconnect" : "socket disconnected: ping timeout"
        r.extras = [("socket_id", .string(socket)), ("clients", .int(instances[pod].clients))]
        emit(pod, at: clock, r)
        record.webSocketsClosed += 1
    }
}
