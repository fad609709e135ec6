import Collections
import SkeinCore
import CSkeinSys

/// The engine's budgets and timings.
public struct EngineConfig: Sendable {
    /// Root ended + this long without events → trace complete.
    public var quietPeriodMS: Double = 1500
    /// An open trace this long without its root ending → complete, flagged incomplete.
    public var traceTimeoutMS: Double = 30_000
    /// Finished summaries kept; nil = keep all (export).
    public var retainedTraces: Int? = 5_000
    public var maxOpenTraces: Int = 50_000
    public var maxLinesPerTrace: Int = 256
    /// Finished traces that keep their log lines for `detail(traceID:)`, newest first; older
    /// finished traces keep their summary only (their lines count in `TraceDetail.droppedLines`).
    /// nil = all. Export keeps every summary but needs no lines: this bounds its memory.
    public var retainedTraceLines: Int? = 5_000
    /// Whether traces keep log lines at all, open ones included. Export sets false: it asks for no
    /// detail, and building, keeping and freeing a line per event was about a tenth of its engine
    /// time. Lines over `maxLinesPerTrace` are counted as evicted either way.
    public var keepsTraceLines = true
    /// Whether finished summaries are queued for `drainFinishedTraces()`. Export never drains (it
    /// reads the snapshot), so it sets false instead of copying every summary into a queue.
    public var queuesFinishedTraces = true
    /// Whether events per second are counted for `Snapshot.eventRate` (the dashboard's header).
    /// Export prints no rate and sets false: a time series bucket updated for every event.
    public var countsEventRate = true
    /// `--db-max`: the server's `max_connections`, overriding what events say.
    public var dbMax: Int? = nil
    public var seriesBucketMS: Double = 1_000
    public var seriesLength: Int = 120
    public var maxInstances: Int = 20_000
    public init() {}

    /// An export's settings (`skein export`): every summary kept, no log lines, no queue, no rate.
    public static func export(dbMax: Int? = nil) -> EngineConfig {
        var config = EngineConfig()
        config.retainedTraces = nil
        // Export writes summaries only: finished traces drop their log lines at once.
        config.retainedTraceLines = 0
        config.keepsTraceLines = false
        config.queuesFinishedTraces = false
        config.countsEventRate = false
        config.dbMax = dbMax
        return config
    }
}

/// The single owner of Skein's state: linker, stitcher, fleet, DB ledger and insights.
///
/// Not `Sendable`: one task or thread owns it. Deterministic: the same events in the same order
/// with the same `advance(to:)` calls give the same snapshots. Time is the latest event time seen
/// or the latest `advance(to:)`, whichever is later; the wall clock is never read.
///
/// Stored state is `@exclusivity(unchecked)` here and in `Stitcher`/`TraceState`: one owner, no
/// re-entrant access, and the runtime's dynamic exclusivity checks were ~15 % of ingest (callgrind).
public final class Engine {
    public let config: EngineConfig

    @exclusivity(unchecked) private var sources: [SourceStats] = []
    @exclusivity(unchecked) private var malformedByReason: [String: Int] = [:]
    @exclusivity(unchecked) private var dropped = 0
    @exclusivity(unchecked) private var totalEvents = 0
    @exclusivity(unchecked) private var now: Timestamp = .zero
    @exclusivity(unchecked) private var hasTime = false
    @exclusivity(unchecked) private var firstEventAt: Timestamp?
    @exclusivity(unchecked) private var lastEventAt: Timestamp?
    @exclusivity(unchecked) private var eventRate: BucketSeries
    private let stitcher: Stitcher
    private let platforms = ServerPlatforms()
    @exclusivity(unchecked) private var fleet = Fleet()
    @exclusivity(unchecked) private var db: DBLedger
    @exclusivity(unchecked) private var cold: ColdStartBook
    @exclusivity(unchecked) private var cascade = CascadeWindow()
    @exclusivity(unchecked) private var insights = InsightBook()
    @exclusivity(unchecked) private var routes = RouteBook()
    @exclusivity(unchecked) private var finished: [TraceSummary] = []
    @exclusivity(unchecked) private var untraced = 0
    @exclusivity(unchecked) private var nextSweep: Timestamp?
    @exclusivity(unchecked) private var dbLevel = 0
    @exclusivity(unchecked) private var instancesOverBudget = false
    @exclusivity(unchecked) private var leapStreak = 0
    @exclusivity(unchecked) private var leapTarget = Timestamp.zero
    @exclusivity(unchecked) private var clockOutliers = 0

    /// Finished summaries waiting for `drainFinishedTraces`; past this the oldest are dropped.
    static let finishedBufferLimit = 100_000

    public init(config: EngineConfig = EngineConfig()) {
        self.config = config
        stitcher = Stitcher(config: config)
        eventRate = BucketSeries(bucketMS: config.seriesBucketMS, length: config.seriesLength, mode: .counter)
        db = DBLedger(config: config)
        cold = ColdStartBook(config: config)
    }

    // MARK: Input accounting

    public func addSource(name: String) -> SourceID {
        let id = SourceID(UInt32(sources.count))
        sources.append(SourceStats(id: id, name: name))
        return id
    }

    public func setHealth(_ health: SourceHealth, for source: SourceID) {
        sources[sourceIndex(source)].health = health
    }

    public func countLine(source: SourceID) {
        sources[sourceIndex(source)].lines += 1
    }

    public func countMalformed(source: SourceID, reason: String) {
        sources[sourceIndex(source)].malformed += 1
        malformedByReason[reason, default: 0] += 1
    }

    public func countDropped(_ n: Int) {
        dropped += max(0, n)
    }

    public func countFormat(source: SourceID, format: String) {
        sources[sourceIndex(source)].formats[format, default: 0] += 1
    }

    /// `count` frames read at once (a reader's chunk), one update instead of `count`.
    public func countLines(source: SourceID, count: Int) {
        sources[sourceIndex(source)].lines += max(0, count)
    }

    /// `count` frames taken by one decoder, one dictionary update instead of `count`.
    public func countFormat(source: SourceID, format: String, count: Int) {
        guard count > 0 else { return }
        sources[sourceIndex(source)].formats[format, default: 0] += count
    }

    /// Sources never added (an event with an unknown id) get a placeholder rather than vanishing.
    private func sourceIndex(_ id: SourceID) -> Int {
        let i = Int(id.raw)
        if i < sources.count { return i }
        // Bounded: an absurd id is folded into the last placeholder.
        let target = min(i, sources.count + 1024)
        while sources.count <= target {
            let sid = SourceID(UInt32(sources.count))
            sources.append(SourceStats(id: sid, name: "source \(sid.raw)"))
        }
        return target
    }

    // MARK: Clock

    public func advance(to t: Timestamp) {
        moveClock(t)
        completeDue()
        sweepIfDue()
    }

    private func moveClock(_ t: Timestamp) {
        if !hasTime || t > now {
            now = t
            hasTime = true
        }
    }

    /// Moves the clock for an event, unless its time leaps past `clockLeapMS`: one line with a
    /// mangled timestamp (seconds read as milliseconds) must not complete every open trace and
    /// expire the fleet. A leap is believed once `leapConfirmations` events in a row make it.
    /// Returns false for an outlier, whose time then must not feed the time series either.
    private func moveClock(event t: Timestamp) -> Bool {
        guard hasTime, t.ms(since: now) > Engine.clockLeapMS else {
            leapStreak = 0
            moveClock(t)
            return true
        }
        leapStreak += 1
        leapTarget = leapStreak == 1 ? t : min(leapTarget, t)
        if leapStreak >= Engine.leapConfirmations {
            leapStreak = 0
            moveClock(leapTarget)
            return true
        }
        clockOutliers += 1
        return false
    }

    static let clockLeapMS = 3_600_000.0
    static let leapConfirmations = 3

    /// Room for `count` finished traces' summaries, asked for up front by a caller that can guess
    /// how many its input holds (an export, from the files' sizes): the store of summaries then
    /// need not grow by doubling, which copied it each time and left the last 21 MB copy behind
    /// unused (a million-line export peaked 21 MB higher). Room never used costs address space
    /// only. A smaller guess just means growth as usual.
    ///
    /// The id table is sized for as many ids (a trace has one or two; the guess is generous on
    /// traces): it would otherwise double its way up, moving every id each time.
    public func expectFinishedTraces(_ count: Int) {
        stitcher.reserveSummaries(count)
        stitcher.reserveIDs(count)
    }

    /// End of input: every open trace is completed (flagged incomplete when its root never ended).
    public func finish() {
        let open = stitcher.openTraces().sorted { $0.serial < $1.serial }
        for t in open where t.phase == .open {
            complete(t, incomplete: !stitcher.rootEnded(t))
        }
    }

    // MARK: Ingest

    /// Ingests a chunk in order and leaves `events` empty with its capacity. Each event is lent to
    /// `ingest` by moving it out of its slot and back after (two copies of its bytes, no reference
    /// counting), and the chunk's events are destroyed together at the end: copying an event
    /// instead (then destroying both copies) was the largest single cost of handing a chunk over.
    public func ingest(draining events: inout [Event]) {
        ingest(lending: &events)
        events.removeAll(keepingCapacity: true)
    }

    /// Ingests a chunk in order and leaves its events where they were, for the caller to destroy
    /// (on the thread that made them, say: destroying them is most of what is left per event once
    /// it is ingested).
    public func ingest(lending events: inout [Event]) {
        events.withUnsafeMutableBufferPointer { chunk in
            guard let base = chunk.baseAddress else { return }
            let n = chunk.count
            for i in 0..<n {
                if i + 2 * Engine.prefetchDistance < n {
                    let raw = UnsafeRawPointer(base + i + 2 * Engine.prefetchDistance)
                    for line in stride(from: 0, to: MemoryLayout<Event>.stride, by: 64) { skein_prefetch(raw + line) }
                }
                if i + Engine.prefetchDistance < n {
                    stitcher.prefetchIDs(of: base + i + Engine.prefetchDistance)
                }
                ingest(inPlace: &base[i])
            }
        }
    }

    /// How many events ahead `ingest(lending:)` asks for their ids' slots in the id table.
    static let prefetchDistance = 6

    /// `ingest` of an event where it lies: an inout argument is passed by address, where a value
    /// read through a pointer was copied (with a retain of each of its references) or moved out
    /// and back (two copies of its 296 bytes).
    @inline(__always)
    private func ingest(inPlace e: inout Event) { ingest(e) }

    public func ingest(_ e: Event) {
        let si = sourceIndex(e.source)
        sources[si].events += 1
        totalEvents += 1
        let onClock = moveClock(event: e.time)
        let seriesTime = onClock ? min(e.time, now) : now
        firstEventAt = minOpt(firstEventAt, e.time)
        lastEventAt = maxOpt(lastEventAt, seriesTime)
        if config.countsEventRate { eventRate.add(1, at: seriesTime) }

        let serverSide = e.kind == .dbSample || platforms.isServerSide(e.$platform)
        var inst = -1
        var created = false
        if !serverSide,
           let service = e.$service ?? (e.$instance != nil ? (e.$platform ?? HopState.unknownService) : nil) {
            inst = fleet.lookup(service: service, instance: e.$instance ?? service, at: e.time, created: &created)
            fleet.touch(inst, e)
            if created && fleet.count > config.maxInstances + max(16, config.maxInstances / 8) {
                instancesOverBudget = true
            }
        }
        let deploy = inst >= 0 ? fleet.records[inst].info.deploy : (e.deploy ?? e.effectiveDeploy)
        // The message is read once for everything the rules ask of it (by the decoder, when it could).
        let facts = e.messageFacts ?? e.message.map(MessageFacts.init) ?? MessageFacts()

        // Trace: by id, else (one request at a time on ephemeral compute) the instance's current request.
        // Unretained (see `Stitcher.resolve`): `traces` holds it, and only completions (evictions
        // follow them) drop traces from there, at the end of this function, after its last use.
        var traceRef = stitcher.resolve(e, now: now)
        if traceRef == nil, inst >= 0, deploy == .serverless || deploy == .edge, Engine.attachable(e.kind),
           let s = fleet.records[inst].lastTrace, let t = stitcher.traces[s], t.phase == .open {
            traceRef = Unmanaged.passUnretained(t)
        }
        var hop = -1
        var effect = HopEffect()
        if let r = traceRef {
            (hop, effect) = r._withUnsafeGuaranteedRef { record(e, facts, deploy: deploy, in: $0) }
        } else {
            untraced += 1
        }
        if inst >= 0 {
            lifecycle(inst, e, created: created, trace: traceRef, hop: hop, effect: effect, deploy: deploy)
        }
        if let r = traceRef {
            if e.kind == .wsOpen { eventInsights(e, facts, deploy: deploy, traceID: r.takeUnretainedValue().canonicalID) }
        } else {
            // Untraced events still raise what they show on their own (traced ones do at completion).
            eventInsights(e, facts, deploy: deploy)
        }
        connections(e, inst: inst, serverSide: serverSide, at: seriesTime)

        while let t = stitcher.popOverflow() { complete(t, incomplete: !stitcher.rootEnded(t)) }
        completeDue()
        sweepIfDue()
    }

    /// The event's part of its trace: its hop, what it did there, its line.
    private func record(_ e: Event, _ facts: MessageFacts, deploy: DeployModel?, in t: TraceState) -> (Int, HopEffect) {
        if t.phase == .finished { stitcher.reopen(t, now: now) }
        let hop = t.hopIndex(spanID: e.$spanID, parentSpanID: e.$parentSpanID, service: e.$service,
                             instance: e.$instance ?? e.$service, at: e.time, maxHops: stitcher.maxHops)
        let effect = Engine.apply(e, facts, deploy: deploy, to: &t.hops[hop])
        if config.keepsTraceLines {
            stitcher.addLine(TraceLine(time: e.time, offsetMS: 0, service: e.service, instance: e.instance,
                                       kind: e.kind, level: e.level, message: e.message ?? "", source: e.source),
                             hop: hop, to: t)
        } else {
            stitcher.countLine(to: t)
        }
        stitcher.touch(t, now: now, endedHop: effect.endedHop)
        return (hop, effect)
    }

    /// The platforms whose lines come from the database side (the server or its pooler), as symbols
    /// so that every event is classified by comparing integers.
    struct ServerPlatforms {
        let postgres = Symbol("postgres")
        let postgresql = Symbol("postgresql")
        let pooler = Symbol(PoolLedger.poolerPlatform)

        @inline(__always)
        func isServerSide(_ p: Symbol?) -> Bool { p == postgres || p == postgresql || p == pooler }
        @inline(__always)
        func isPooler(_ p: Symbol?) -> Bool { p == pooler }
    }

    /// Kinds that may belong to the request in flight on a single-request instance.
    private static func attachable(_ k: EventKind) -> Bool {
        switch k {
        case .log, .bgStart, .bgEnd, .dbAcquire, .dbRelease, .dbConnect, .dbDisconnect, .dbError, .wsOpen, .wsClose,
             .requestEnd, .responseSent:
            return true
        default:
            return false
        }
    }

    // MARK: Hops

    struct HopEffect {
        /// The request started on this hop (in flight now).
        var started = false
        /// The request in flight on this hop responded or ended.
        var ended = false
        /// The hop counts as one invocation of its instance (first start, end or span).
        var invocation = false
        /// An end-like event: the trace may complete after the quiet period.
        var endedHop = false
    }

    private static func apply(_ e: Event, _ facts: MessageFacts, deploy: DeployModel?, to h: inout HopState) -> HopEffect {
        var eff = HopEffect()
        let t = e.time
        if t < h.firstAt { h.firstAt = t }
        if t > h.lastAt { h.lastAt = t }
        if h.deploy == nil { h.deploy = deploy }
        if h.runtime == nil { h.runtime = e.$runtime }
        if h.route == nil, let r = e.route { h.route = r }
        if h.method == nil, let m = e.method { h.method = m }
        var work = false
        switch e.kind {
        case .requestStart:
            h.start = minOpt(h.start, t)
            if !h.invocationCounted {
                h.invocationCounted = true
                h.inFlight = true
                eff.started = true
                eff.invocation = true
            }
        case .requestEnd:
            h.end = maxOpt(h.end, t)
            if h.start == nil, let d = Engine.sane(e.durationMS) { h.start = t.adding(ms: -d) }
            if h.inFlight { h.inFlight = false; eff.ended = true }
            if !h.invocationCounted { h.invocationCounted = true; eff.invocation = true }
            eff.endedHop = true
        case .responseSent:
            h.responseAt = minOpt(h.responseAt, t)
            if h.inFlight { h.inFlight = false; eff.ended = true }
            if !h.invocationCounted { h.invocationCounted = true; eff.invocation = true }
            eff.endedHop = true
        case .span:
            h.start = minOpt(h.start, t)
            h.end = maxOpt(h.end, t.adding(ms: Engine.sane(e.durationMS) ?? 0))
            if !h.invocationCounted { h.invocationCounted = true; eff.invocation = true }
            eff.endedHop = true
        case .bgStart:
            h.bgOpen &+= 1
            work = true
        case .bgEnd:
            h.bgOpen = max(0, h.bgOpen - 1)
            work = true
        case .log:
            work = !facts.platformLine
        case .dbAcquire:
            if let w = e.waitMS {
                h.dbWaitMS += w
                if w > InsightRules.dbWaitMS { h.flags.insert(.dbWait) }
            }
            work = true
        case .dbError:
            h.flags.insert(.error)
            if let k = e.dbError {
                if k.isExhaustion { h.flags.insert(.dbRefused) }
                if k == .poolTimeout { h.flags.insert(.dbWait) }
            }
            work = true
        case .dbConnect, .dbDisconnect, .dbRelease, .wsOpen, .wsClose:
            work = true
        case .instanceStart, .instanceStop, .dbSample:
            break
        }
        if work { h.lastWorkAt = maxOpt(h.lastWorkAt, t) }
        if let s = e.status {
            if h.status == nil || e.kind == .requestEnd || e.kind == .responseSent || e.kind == .span { h.status = s }
            if s >= 500 { h.flags.insert(.error) }
            if s == 504 { h.flags.insert(.timeout) }
        }
        if e.level >= .error { h.flags.insert(.error) }
        if Engine.isTimeout(e, facts) { h.flags.insert(.timeout) }
        if let c = Engine.sane(e.cpuMS) { h.cpuMS = max(h.cpuMS ?? 0, c) }
        if (deploy ?? h.deploy) == .edge && Engine.overCPU(e, facts) {
            h.flags.insert(.cpuLimit)
            if Engine.exceededCPU(e, facts) { h.exceededCPU = true }
        }
        return eff
    }

    /// A logged duration usable as time arithmetic: finite, not negative, at most 100 days.
    /// (Bad input must not trap: `Int64(1e300)` would.)
    static func sane(_ ms: Double?) -> Double? {
        guard let ms, ms.isFinite else { return nil }
        return min(max(ms, 0), Timestamp.maxDurationMS)
    }

    /// "timed out" in the message, or "timeout" at warn level and above.
    /// A pool or connect timeout is a DB error (its own insight), not the request timing out.
    static func isTimeout(_ e: Event, _ facts: MessageFacts) -> Bool {
        guard e.kind != .dbError, e.dbError == nil else { return false }
        return facts.timedOut || (e.level >= .warn && facts.timeout)
    }

    /// The platform stopped the isolate for CPU (Cloudflare's `exceededCpu` outcome).
    static func exceededCPU(_ e: Event, _ facts: MessageFacts) -> Bool {
        if facts.exceededCPU { return true }
        for a in e.attributes where a.value == "exceededCpu" { return true }
        return false
    }

    static func overCPU(_ e: Event, _ facts: MessageFacts) -> Bool {
        if let c = Engine.sane(e.cpuMS), c > InsightRules.edgeCPUMS { return true }
        return exceededCPU(e, facts)
    }

    // MARK: Fleet

    /// `traceRef`: the event's trace, unretained as `Stitcher.resolve` gives it (most events only
    /// ask whether there is one); taken where a cold start needs it.
    private func lifecycle(_ i: Int, _ e: Event, created: Bool, trace traceRef: Unmanaged<TraceState>?, hop: Int,
                           effect: HopEffect, deploy: DeployModel?) {
        switch e.kind {
        case .instanceStart:
            let wasGone = fleet.records[i].info.state == .gone
            if created { fleet.records[i].info.state = .cold } else { fleet.move(i, .initialise) }
            let trace = traceRef?.takeUnretainedValue()
            coldStart(i, e, trace: trace, hop: hop, newLifecycle: (wasGone && !created) || initAgain(i, e, trace: trace))
        case .instanceStop:
            fleet.move(i, .stop)
            release(i)
        default:
            break
        }
        if fleet.records[i].expired && fleet.records[i].info.state == .gone && e.kind != .instanceStop {
            // Gone only by silence (a guess): it was merely quiet, so it comes back without complaint.
            fleet.records[i].info.state = .idle
        }
        fleet.records[i].expired = false
        var started = effect.started
        var ended = effect.ended
        var invocation = effect.invocation
        if traceRef == nil {
            // Without a trace there is no hop to de-duplicate start and end: take them as they come.
            switch e.kind {
            case .requestStart:
                started = true
                invocation = true
                // A new request nobody can name: later id-less lines must not join the previous one.
                fleet.records[i].lastTrace = nil
            case .requestEnd: ended = fleet.records[i].info.inFlight > 0
            case .span: invocation = true
            default: break
            }
        }
        if invocation { fleet.records[i].info.invocations += 1 }
        if started {
            fleet.records[i].info.inFlight += 1
            fleet.move(i, .requestStart)
        }
        if ended {
            fleet.records[i].info.inFlight = max(0, fleet.records[i].info.inFlight - 1)
            fleet.move(i, .requestEnd)
        } else if !started && fleet.records[i].info.state == .gone && e.kind != .instanceStop {
            // A stopped instance that logs again: count it and revive it.
            fleet.move(i, .revive)
        }
        if e.level >= .error || (e.status ?? 0) >= 500 { fleet.records[i].info.errors += 1 }

        if !invocation, e.coldStart == true, let t = traceRef?.takeUnretainedValue(), fleet.records[i].info.coldStart == nil {
            // Loggers that flag every line of a cold invocation and write no request line of their
            // own (Lambda Powertools' `cold_start`): the first flagged line tells the cold start.
            coldStart(i, e, trace: t, hop: hop, newLifecycle: false)
        }
        guard invocation, let r = traceRef else { return }
        r._withUnsafeGuaranteedRef { invoked(i, e, created: created, trace: $0, hop: hop, deploy: deploy) }
    }

    /// An invocation on instance `i` in trace `t`: the instance's current request, and its cold start.
    private func invoked(_ i: Int, _ e: Event, created: Bool, trace t: TraceState, hop: Int, deploy: DeployModel?) {
        fleet.records[i].lastTrace = t.serial
        if fleet.records[i].firstRequestTrace == nil { fleet.records[i].firstRequestTrace = t.serial }
        if e.coldStart == true || e.initMS != nil {
            coldStart(i, e, trace: t, hop: hop, newLifecycle: initAgain(i, e, trace: t))
        } else if created && e.kind == .requestStart && deploy == .serverless {
            inferColdStart(i, e, trace: t, hop: hop)
        } else if fleet.records[i].info.coldStart != nil && fleet.records[i].coldTrace == nil
                    && fleet.records[i].info.invocations == 1 {
            linkColdStart(i, trace: t, hop: hop)
        }
    }

    /// An init time for another request than the one this instance's timed init went with: a new
    /// execution environment under the same name (a Vercel drain names none, so the whole function
    /// is one instance) or a re-init after a crash. Each is a cold start of its own.
    private func initAgain(_ i: Int, _ e: Event, trace: TraceState?) -> Bool {
        let r = fleet.records[i]
        guard e.initMS != nil, r.info.coldStart?.initMS != nil, let t = trace, let cold = r.coldTrace else { return false }
        return cold != t.serial
    }

    /// An explicit cold start: `instance.start`, or a request that says `cold_start`/`init_ms`.
    private func coldStart(_ i: Int, _ e: Event, trace: TraceState?, hop: Int, newLifecycle: Bool) {
        let info = fleet.records[i].info
        if var cs = info.coldStart, !newLifecycle {
            if cs.inferred {
                cs.inferred = false
                cs.initMS = e.initMS
                cs.at = min(cs.at, e.time)
                cold.confirm(service: info.service, instance: info.instance, initMS: e.initMS, at: e.time)
            } else if cs.initMS == nil, let ms = e.initMS {
                cs.initMS = ms
                cold.initMS.add(ms)
            }
            fleet.records[i].info.coldStart = cs
        } else {
            if newLifecycle { fleet.records[i].coldTrace = nil; fleet.records[i].firstRequestTrace = nil }
            let cs = ColdStart(at: e.time, service: info.service, instance: info.instance, runtime: info.runtime,
                               deploy: info.deploy, initMS: e.initMS, inferred: false, traceID: nil)
            fleet.records[i].info.coldStart = cs
            cold.record(cs, traceSerial: nil)
            cascadeCheck(cs)
        }
        if let t = trace, hop >= 0, fleet.records[i].coldTrace == nil || fleet.records[i].coldTrace == t.serial {
            linkColdStart(i, trace: t, hop: hop)
        } else if trace == nil, fleet.records[i].coldTrace == nil, let s = fleet.records[i].firstRequestTrace,
                  let t = stitcher.traces[s] {
            // The instance.start arrived after the request that waited for it.
            let key = fleet.records[i].key
            t.thaw()
            let h = t.hops.firstIndex { $0.service == key.service && $0.instance == key.instance }
            if let h { linkColdStart(i, trace: t, hop: h) }
        } else if let s = fleet.records[i].coldTrace, let t = stitcher.traces[s] {
            // Init time learned after linking: show it on the hop too.
            let key = fleet.records[i].key
            t.thaw()
            for h in t.hops.indices where t.hops[h].service == key.service && t.hops[h].instance == key.instance {
                t.hops[h].coldStartMS = fleet.records[i].info.coldStart?.initMS
            }
        }
    }

    private func inferColdStart(_ i: Int, _ e: Event, trace: TraceState, hop: Int) {
        let info = fleet.records[i].info
        let cs = ColdStart(at: e.time, service: info.service, instance: info.instance, runtime: info.runtime,
                           deploy: info.deploy, initMS: nil, inferred: true, traceID: nil)
        fleet.records[i].info.coldStart = cs
        cold.record(cs, traceSerial: nil)
        cascadeCheck(cs)
        linkColdStart(i, trace: trace, hop: hop)
    }

    private func linkColdStart(_ i: Int, trace t: TraceState, hop: Int) {
        guard hop >= 0 && hop < t.hops.count, var cs = fleet.records[i].info.coldStart else { return }
        fleet.records[i].coldTrace = t.serial
        cs.traceID = t.canonicalID
        fleet.records[i].info.coldStart = cs
        t.hops[hop].coldStart = true
        t.hops[hop].coldStartMS = cs.initMS
        cold.link(service: cs.service, instance: cs.instance, traceSerial: t.serial, traceID: t.canonicalID)
    }

    private func cascadeCheck(_ cs: ColdStart) {
        let n = cascade.add(at: cs.at, runtime: cs.runtime ?? "unknown", service: cs.service)
        guard n >= InsightRules.cascadeCount else { return }
        let severity: Insight.Severity = n >= 3 * InsightRules.cascadeCount ? .critical : .warning
        let detail = "\(n) cold starts within \(Int(InsightRules.cascadeWindowMS / 1000)) s; \(cs.service) on \(cs.runtime ?? "unknown runtime")"
        insights.raise(.coldStartCascade, severity: severity,
                       evidence: Evidence(at: cs.at, service: cs.service, instance: cs.instance, traceID: cs.traceID,
                                          detail: detail),
                       message: self.cascadeMessage(n))
    }

    private func cascadeMessage(_ n: Int) -> String {
        let runtimes = cascade.breakdown { r, _ in r }.prefix(3).map { "\($0.0) ×\($0.1)" }.joined(separator: ", ")
        let services = cascade.breakdown { _, s in s }.prefix(3).map { $0.0 }.joined(separator: ", ")
        return "\(n) cold starts in \(Int(InsightRules.cascadeWindowMS / 1000)) s (\(runtimes)) on \(services): "
            + "a burst is outrunning warm capacity; keep instances warm (provisioned concurrency, min instances) "
            + "and make sure each new instance does not open its own DB connections."
    }

    /// Releases what a gone instance held: its DB connections and requests in flight.
    private func release(_ i: Int) {
        let info = fleet.records[i].info
        db.instanceChanged(service: info.service, from: info.dbOpen, to: 0)
        fleet.records[i].info.dbOpen = 0
        fleet.records[i].info.inFlight = 0
        db.observe(at: now)
    }

    private func sweepIfDue() {
        guard hasTime else { return }
        if let next = nextSweep, now < next {
            if instancesOverBudget { evictInstances() }
            return
        }
        nextSweep = now.adding(ms: 1000)
        var released = false
        for i in fleet.records.indices where fleet.records[i].info.state != .gone {
            let silent = now.ms(since: fleet.records[i].info.lastSeen)
            guard silent > Fleet.silenceTimeoutMS(fleet.records[i].info.deploy) else { continue }
            fleet.move(i, .expire)
            fleet.records[i].expired = true
            db.instanceChanged(service: fleet.records[i].info.service, from: fleet.records[i].info.dbOpen, to: 0)
            fleet.records[i].info.dbOpen = 0
            fleet.records[i].info.inFlight = 0
            released = true
        }
        if released { db.observe(at: now) }
        if instancesOverBudget || fleet.count > config.maxInstances { evictInstances() }
    }

    private func evictInstances() {
        instancesOverBudget = false
        let removed = fleet.evict(downTo: config.maxInstances)
        for r in removed where r.info.state != .gone {
            db.instanceChanged(service: r.info.service, from: r.info.dbOpen, to: 0)
        }
        if !removed.isEmpty { db.observe(at: now) }
    }

    // MARK: Connections

    private func connections(_ e: Event, inst: Int, serverSide: Bool, at seriesTime: Timestamp) {
        var changed = false
        if e.kind == .dbSample && platforms.isPooler(e.$platform) {
            db.pools.read(e)
            poolerCheck(e)
            return
        } else if e.kind == .dbSample {
            if let o = e.dbOpen { db.serverOpen = saneCount(o); changed = true }
            if let m = e.dbMax { db.learnMax(saneCount(m), source: .sampler); changed = true }
            var apps: [String: Int] = [:]
            for a in e.attributes {
                if a.key.hasPrefix("application_name.") {
                    apps[String(a.key.dropFirst("application_name.".count)), default: 0] += saneCount(text: a.value) ?? 0
                } else if a.key == "reserved" || a.key == "superuser_reserved_connections" {
                    db.reserved = saneCount(text: a.value)
                } else if a.key == "reserved_connections" {
                    db.rolesReserved = saneCount(text: a.value)
                }
            }
            // A server count with no client backends empties the breakdown too.
            if !apps.isEmpty || e.dbOpen != nil { db.byApplication = apps }
        } else if serverSide {
            let app = e.attribute("application_name") ?? "unknown"
            let pooler = platforms.isPooler(e.$platform)
            switch e.kind {
            case .dbConnect where !pooler:
                db.serverOpen = (db.serverOpen ?? 0) + 1
                db.byApplication[app, default: 0] += 1
                changed = true
            case .dbDisconnect where !pooler:
                db.serverOpen = max(0, (db.serverOpen ?? 0) - 1)
                db.byApplication[app] = max(0, (db.byApplication[app] ?? 0) - 1)
                changed = true
            case .dbError:
                // PgBouncer's own login refused by Postgres (`server login failed: FATAL: …`, marked
                // `server_error`): PgBouncer is the client there, so the failure is counted as a
                // client's (Postgres' log of the same refusal is the server's) and is no refusal of
                // the pooler's clients.
                let poolerAsClient = pooler && e.attribute("server_error") != nil
                db.error(e.dbError ?? .other, at: e.time, serverSide: !poolerAsClient)
                if pooler && !poolerAsClient && (e.dbError?.isExhaustion ?? false) { db.pools.refusals += 1 }
                changed = true
            default:
                break
            }
            if let m = e.dbMax { db.learnMax(saneCount(m), source: .event); changed = true }
        } else {
            if inst >= 0, e.dbOpen != nil || e.kind == .dbConnect || e.kind == .dbDisconnect || e.kind == .dbError {
                let current = fleet.records[inst].info.dbOpen
                var target = current
                if let o = e.dbOpen {
                    target = saneCount(o)
                } else if e.kind == .dbConnect {
                    target += 1
                } else if e.kind == .dbDisconnect {
                    target = max(0, target - 1)
                }
                if target != current {
                    db.instanceChanged(service: fleet.records[inst].info.service, from: current, to: target)
                    fleet.setDBOpen(inst, target)
                    changed = true
                }
                if e.kind == .dbError { fleet.records[inst].info.dbErrors += 1 }
            }
            if e.kind == .dbAcquire, let w = e.waitMS {
                db.poolWaits += 1
                db.poolWait.add(w)
            }
            if e.kind == .dbError {
                db.error(e.dbError ?? .other, at: e.time, serverSide: false)
                changed = true
            }
            if let m = e.dbMax { db.learnMax(saneCount(m), source: .event); changed = true }
        }
        guard changed else { return }
        db.observe(at: seriesTime)
        exhaustionCheck(e)
    }

    private func exhaustionCheck(_ e: Event) {
        var level = 0
        if let m = db.maxConnections, m > 0 {
            let ratio = Double(db.open) / Double(m)
            if ratio >= 1 { level = 2 } else if ratio >= InsightRules.connectionWarning { level = 1 }
        }
        let refused = e.kind == .dbError && (e.dbError?.isExhaustion ?? false)
        if refused {
            let what = e.dbError?.rawValue ?? "refused"
            let who = e.attribute("refused") == "sampler" ? "\(e.platform ?? "the server") refused Skein's own connection: " : ""
            // Refused before any count (the sampler's first connection): say what is known, not "0".
            let level = countKnown ? "at \(db.open)\(db.maxConnections.map { "/\($0)" } ?? "") connections"
                : "before any count\(db.maxConnections.map { " (max_connections \($0))" } ?? "")"
            insights.raise(.connectionExhaustion, severity: .critical,
                           evidence: Evidence(at: e.time, service: e.service, instance: e.instance,
                                              traceID: e.traceID ?? e.correlationID ?? e.requestID,
                                              detail: "\(who)\(what) \(level)"),
                           message: self.connectionMessage())
        } else if level > dbLevel {
            insights.raise(.connectionExhaustion, severity: level == 2 ? .critical : .warning,
                           evidence: Evidence(at: e.time, service: e.service, instance: e.instance,
                                              detail: "\(db.open)/\(db.maxConnections ?? 0) connections open"),
                           message: self.connectionMessage())
        }
        dbLevel = level
    }

    /// Whether any count of connections exists yet (a sample, a server log, an app's report).
    private var countKnown: Bool { db.serverOpen != nil || db.appOpen > 0 || !db.byService.isEmpty }

    /// Clients queue at PgBouncer: raise once per episode (and again if it gets worse).
    private func poolerCheck(_ e: Event) {
        let level = db.pools.currentLevel
        defer { db.pools.level = level }
        guard level > db.pools.level else { return }
        if let full = db.pools.full, let message = db.pools.fullMessage {
            insights.raise(.connectionExhaustion, severity: .critical,
                           evidence: Evidence(at: e.time, service: "pgbouncer", instance: full.pooler,
                                              detail: "\(full.used)/\(full.limit) clients at max_client_conn"),
                           message: message)
            return
        }
        guard let worst = db.pools.worstQueue else { return }
        let serverOpen = db.serverOpen
        let message = db.pools.queueMessage(open: serverOpen, max: serverOpen == nil ? nil : db.maxConnections)
            ?? connectionMessage()
        insights.raise(.connectionExhaustion, severity: level == 2 ? .critical : .warning,
                       evidence: Evidence(at: e.time, service: "pgbouncer", instance: worst.pooler,
                                          detail: "\(worst.clientsWaiting) waiting at \(worst.name), longest \(PoolLedger.seconds(worst.maxWaitMS)), \(worst.serversActive)\(worst.poolSize.map { "/\($0)" } ?? "") servers busy"),
                       message: message)
    }

    private func connectionMessage() -> String {
        let open = db.open
        var head: String
        let errorsByKind = db.errorsByKind
        let refusing = errorsByKind[DBErrorKind.tooManyClients.rawValue] != nil
            || errorsByKind[DBErrorKind.reservedSlots.rawValue] != nil
        let postgresRefusing = refusing && errorsByKind.filter { DBErrorKind(rawValue: $0.key)?.isExhaustion ?? false }
            .reduce(0) { $0 + $1.value } > db.pools.refusals
        if !countKnown && refusing && !postgresRefusing {
            // Only the pooler said no: Postgres' side is unknown.
            return (db.pools.queueClause ?? "PgBouncer is refusing clients")
                + "; raise max_client_conn (it costs file descriptors, not server connections) or find who opens so many clients."
        } else if !countKnown && refusing {
            // Refused before anything was counted: the count is unknown, not zero.
            head = "Postgres is refusing new clients (too many connections) and no count is known yet"
            if let m = db.maxConnections, m > 0 { head += "; max_connections is \(m)" }
            head += db.pools.queueClause.map { "; \($0)" } ?? ""
            return head + "; Skein will show who holds the connections once a sample gets in (pg_stat_activity by application_name)."
        } else if let m = db.maxConnections, m > 0 {
            head = "Postgres at \(open)/\(m) connections (\(percent(open, of: m))%)"
        } else {
            head = "Postgres has \(open) connections open"
        }
        if postgresRefusing {
            head += " and refusing clients"
        }
        if let q = db.pools.queueClause { head += "; \(q)" }
        let top = db.byService.filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(2)
        guard let first = top.first else {
            // Server truth only (a sampler, no app logs): pg_stat_activity's application_name names the holders.
            let apps = db.byApplication.filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(3)
            guard !apps.isEmpty else {
                return head + "; find which application holds them (pg_stat_activity) before adding a pooler."
            }
            let list = apps.map { "\($0.key) holds \($0.value)" }.joined(separator: ", ")
            return "\(head): by application_name \(list); lower those pools, or put a pooler in front if they run on short-lived instances."
        }
        var deployOf: [String: DeployModel] = [:]
        for r in fleet.records where deployOf[r.info.service] == nil {
            if let d = r.info.deploy { deployOf[r.info.service] = d }
        }
        let holders = top.map { s in
            "\(s.key) (\(deployOf[s.key]?.rawValue ?? "unknown"), \(db.holders[s.key] ?? 0) instances) holds \(s.value)"
        }.joined(separator: ", ")
        let ephemeral = deployOf[first.key] == .serverless || deployOf[first.key] == .edge
        let advice = ephemeral
            ? "a transaction-mode pooler (RDS Proxy, PgBouncer, Supavisor) in front would let those short-lived instances share a few connections."
            : "a pooler would help little here: lower \(first.key)'s pool size or raise max_connections."
        return "\(head): \(holders); \(advice)"
    }

    // MARK: Insights from single events and finished traces

    private func eventInsights(_ e: Event, _ facts: MessageFacts, deploy: DeployModel?, traceID: String? = nil) {
        let ephemeral = deploy == .serverless || deploy == .edge
        if e.kind == .wsOpen && ephemeral {
            let svc = e.service ?? "unknown"
            insights.raise(.longLivedConnection, severity: .warning,
                           evidence: Evidence(at: e.time, service: e.service, instance: e.instance, traceID: traceID,
                                              detail: "WebSocket opened on \(deploy?.rawValue ?? "") \(svc)"),
                           message: "\(svc) holds WebSockets on \(deploy?.rawValue ?? "ephemeral") compute, which caps their lifetime and bills for every open minute; terminate them on a long-running server or a managed socket service.")
        }
        guard traceID == nil, e.kind != .wsOpen else { return }
        if deploy == .edge && Engine.overCPU(e, facts) {
            raiseCPU(at: e.time, service: e.service, instance: e.instance, traceID: nil, cpuMS: e.cpuMS,
                     exceeded: Engine.exceededCPU(e, facts))
        }
        if (e.status ?? 0) == 504 || Engine.isTimeout(e, facts) {
            raiseTimeout(at: e.time, service: e.service, instance: e.instance, traceID: nil,
                         detail: e.message.map { String($0.prefix(120)) } ?? "status 504")
        }
    }

    private func raiseCPU(at: Timestamp, service: String?, instance: String?, traceID: String?, cpuMS: Double?,
                          exceeded: Bool) {
        let svc = service ?? "an edge function"
        let detail = exceeded ? "exceededCpu: the isolate was stopped" : "cpu \(Int(Engine.sane(cpuMS) ?? 0)) ms over the \(Int(InsightRules.edgeCPUMS)) ms limit"
        insights.raise(.edgeCPULimit, severity: exceeded ? .critical : .warning,
                       evidence: Evidence(at: at, service: service, instance: instance, traceID: traceID, detail: detail),
                       message: "\(svc) runs past the edge CPU limit (\(Int(InsightRules.edgeCPUMS)) ms); move heavy work (parsing, crypto, rendering) to a serverless function or cache its result.")
    }

    private func raiseTimeout(at: Timestamp, service: String?, instance: String?, traceID: String?, detail: String) {
        let svc = service ?? "a service"
        insights.raise(.timeout, severity: .warning,
                       evidence: Evidence(at: at, service: service, instance: instance, traceID: traceID, detail: detail),
                       message: "Requests to \(svc) time out; look at its slowest hop on the critical path (cold start, DB wait) before raising the timeout.")
    }

    private func traceInsights(_ s: TraceSummary, _ t: TraceState) {
        for k in 0..<s.hopCount {
            let b = s.hopBasics(at: k)
            guard b.deploy == .serverless || b.deploy == .edge,
                  b.flags.contains(.afterResponse) || b.durationMS > InsightRules.longLivedMS
            else { continue }
            let h = s.hop(at: k)
            if h.flags.contains(.afterResponse) {
                let at = s.start.adding(ms: h.offsetMS)
                insights.raise(.workAfterResponse, severity: .warning,
                               evidence: Evidence(at: at, service: h.service, instance: h.instance, traceID: s.id,
                                                  detail: "\(h.service) kept working after its response on \(h.deploy?.rawValue ?? "")"),
                               message: "\(h.service) keeps working after sending its response on \(h.deploy?.rawValue ?? "ephemeral") compute, where the instance may be frozen mid-task; use waitUntil / a queue, or finish before responding.")
            }
            if h.durationMS > InsightRules.longLivedMS {
                insights.raise(.longLivedConnection, severity: .warning,
                               evidence: Evidence(at: s.start.adding(ms: h.offsetMS), service: h.service, instance: h.instance,
                                                  traceID: s.id, detail: "\(Int(h.durationMS / 1000)) s on \(h.deploy?.rawValue ?? "")"),
                               message: "\(h.service) keeps requests open for over \(Int(InsightRules.longLivedMS / 1000)) s on \(h.deploy?.rawValue ?? "ephemeral") compute, which caps and bills their lifetime; move long-lived connections to a long-running server.")
            }
        }
        if s.flags.contains(.cpuLimit) {
            for h in t.hops where h.flags.contains(.cpuLimit) {
                raiseCPU(at: h.firstAt, service: h.service.string, instance: h.instance?.string, traceID: s.id, cpuMS: h.cpuMS,
                         exceeded: h.exceededCPU)
            }
        }
        if s.flags.contains(.timeout) {
            raiseTimeout(at: s.start, service: s.rootService, instance: s.hopCount > 0 ? s.hop(at: 0).instance : nil, traceID: s.id,
                         detail: "\(s.rootRoute ?? "request") timed out after \(Int(s.durationMS)) ms")
        }
    }

    // MARK: Completion

    private func completeDue() {
        while let t = stitcher.popDue(now: now) {
            complete(t, incomplete: !stitcher.rootEnded(t))
        }
    }

    private func complete(_ t: TraceState, incomplete: Bool) {
        var st = stitcher.stitch(t, complete: true, incomplete: incomplete, learn: true, placesLines: !t.lines.isEmpty)
        // Lines are placed when a detail view asks, not at every completion: most are never shown.
        t.placementBase = st.base
        t.placementShift = t.lines.isEmpty ? [] : st.hopShiftMS
        account(st.summary, of: t, incomplete: incomplete)
        // Last, so the summary is read in place above and moved, not copied, into the trace.
        stitcher.finish(t, taking: &st.summary)
        stitcher.evictRetained()
    }

    /// What a completed trace adds up to: queued for the live views, counted (once), its route's
    /// latency, its cold starts linked to their instances, its insights.
    private func account(_ s: TraceSummary, of t: TraceState, incomplete: Bool) {
        if config.queuesFinishedTraces {
            finished.append(s)
            if finished.count > Engine.finishedBufferLimit { finished.removeFirst(finished.count / 2) }
        }
        if !t.counted {
            t.counted = true
            stitcher.completeCount += 1
            if s.isError { stitcher.errorCount += 1; t.countedError = true }
            routes.add(s, measured: !incomplete)
            if !incomplete {
                if s.coldStart { cold.coldLatency.add(s.durationMS) } else { cold.warmLatency.add(s.durationMS) }
            }
        } else if s.isError && !t.countedError {
            // Reopened by a late line that showed an error: the error count follows; routes keep
            // their first view of the trace.
            stitcher.errorCount += 1
            t.countedError = true
        }
        if s.coldStart {
            for k in 0..<s.hopCount where s.hopBasics(at: k).flags.contains(.cold) {
                let h = s.hop(at: k)
                guard let inst = h.instance, let sym = h.instanceSymbol,
                      let i = fleet.find(service: h.serviceSymbol, instance: sym),
                      fleet.records[i].coldTrace == t.serial, var cs = fleet.records[i].info.coldStart else { continue }
                cs.traceID = s.id
                fleet.records[i].info.coldStart = cs
                cold.link(service: h.service, instance: inst, traceSerial: t.serial, traceID: s.id)
            }
        }
        traceInsights(s, t)
    }

    /// Ids the linker remembers (tests check that evicted traces' ids are forgotten).
    var stitcherIDCount: Int { stitcher.linker.count }

    /// The trace an id names, open or retained (tests look at its state).
    func stitcherTrace(id: String) -> TraceState? { stitcher.trace(id: id) }

    // MARK: Output

    public func drainFinishedTraces() -> [TraceSummary] {
        defer { finished = [] }
        return finished
    }

    public func drainNewInsights() -> [Insight] {
        insights.drain()
    }

    /// The trace an id names (canonical id or any alias), open or retained.
    public func detail(traceID: String) -> TraceDetail? {
        guard let t = stitcher.trace(id: traceID) else { return nil }
        if t.phase == .finished, let s = stitcher.summary(of: t) {
            return TraceDetail(summary: s, lines: stitcher.placedLines(t, base: t.placementBase, hopShiftMS: t.placementShift),
                               droppedLines: t.droppedLines)
        }
        let st = stitcher.stitch(t, complete: false, incomplete: false, learn: false)
        return TraceDetail(summary: st.summary, lines: stitcher.placedLines(t, base: st.base, hopShiftMS: st.hopShiftMS),
                           droppedLines: t.droppedLines)
    }

    /// The engine's state now. `recentTraces` holds finished traces only, newest first (open ones
    /// are counted in `traces.open` and reachable through `detail(traceID:)`).
    ///
    /// `movingSummaries` (without a `traceLimit`): the finished traces' summaries move into the
    /// snapshot instead of being copied, and the engine keeps none: for the last snapshot of an
    /// engine that is then dropped, as `skein export` takes (copying 135k summaries was a sixth of
    /// its time after the last line; moving them out of their traces into a new array still took
    /// 14 to 46 ms, most of it faulting in the array's 21 MB; the stitcher's store is now handed over
    /// in place). With a `traceLimit` they are copied.
    public func snapshot(traceLimit: Int? = nil, movingSummaries: Bool = false) -> Snapshot {
        var s = Snapshot(now: now)
        s.firstEventAt = firstEventAt
        s.lastEventAt = lastEventAt

        var input = InputStats()
        input.sources = sources
        input.lines = sources.reduce(0) { $0 + $1.lines }
        input.events = totalEvents
        input.malformed = sources.reduce(0) { $0 + $1.malformed }
        input.dropped = dropped
        input.malformedByReason = malformedByReason
        input.clockOutliers = clockOutliers
        s.input = input

        var ts = TraceStats()
        ts.count = stitcher.created - stitcher.merged
        ts.complete = stitcher.completeCount
        ts.errors = stitcher.errorCount
        ts.open = stitcher.openCount
        ts.reopened = stitcher.reopened
        ts.untracedEvents = untraced
        s.traces = ts
        if movingSummaries && traceLimit == nil {
            s.recentTraces = stitcher.takeSummariesNewestFirst()
        } else {
            let finishedTraces = stitcher.retainedNewestFirst(limit: traceLimit)
            // Reserved at once: grown append by append, the array of 135k summaries was copied a
            // dozen times over, each time into pages touched for the first time.
            var summaries: [TraceSummary] = []
            summaries.reserveCapacity(finishedTraces.count)
            for t in finishedTraces {
                if let summary = stitcher.summary(of: t) { summaries.append(summary) }
            }
            s.recentTraces = summaries
        }

        s.instances = fleet.records.map { r in
            var info = r.info
            if var cs = info.coldStart, let serial = r.coldTrace, let t = stitcher.traces[serial] {
                cs.traceID = t.canonicalID
                info.coldStart = cs
            }
            return info
        }.sorted(by: Engine.instanceOrder)

        var c = ColdStartStats()
        c.count = cold.count
        c.inferred = cold.inferred
        c.byRuntime = Engine.tallies(cold.byRuntime)
        c.byService = Engine.tallies(cold.byService)
        c.initMS = cold.initMS.percentiles
        c.coldLatencyMS = cold.coldLatency.percentiles
        c.warmLatencyMS = cold.warmLatency.percentiles
        c.series = Series(bucketMS: config.seriesBucketMS, values: cold.series.values(endingAt: now))
        var recent: [ColdStart] = []
        for (k, cs) in cold.recent.enumerated().reversed() {
            var cs = cs
            if let serial = cold.recentTraceSerials[k], let t = stitcher.traces[serial] { cs.traceID = t.canonicalID }
            recent.append(cs)
        }
        c.recent = recent
        s.coldStarts = c

        var d = DBStats()
        d.open = db.open
        d.serverTruth = db.serverOpen != nil
        d.appReportedOpen = db.appOpen
        d.peakOpen = db.peakOpen
        d.peakAt = db.peakAt
        d.maxConnections = db.maxConnections
        d.maxSource = db.maxSource
        d.reservedConnections = db.reserved
        d.rolesReservedConnections = db.rolesReserved
        d.pooler = db.pools.stats
        let errorsByKind = db.errorsByKind
        d.errors = errorsByKind.values.reduce(0, +)
        d.errorsByKind = Engine.tallies(errorsByKind)
        d.firstExhaustionAt = db.firstExhaustionAt
        d.poolWaits = db.poolWaits
        d.poolWait = db.poolWait.percentiles
        d.series = Series(bucketMS: config.seriesBucketMS, values: db.series.values(endingAt: now))
        d.byService = Engine.tallies(db.byService.filter { $0.value > 0 })
        d.byInstance = fleet.records.filter { $0.info.dbOpen > 0 && $0.info.state != .gone }
            .map { InstanceConnections(service: $0.info.service, instance: $0.info.instance, deploy: $0.info.deploy,
                                       open: $0.info.dbOpen) }
            .sorted { ($0.open, $1.service, $1.instance) > ($1.open, $0.service, $0.instance) }
        d.byApplication = Engine.tallies(db.byApplication.filter { $0.value > 0 })
        if d.serverTruth {
            let attributed = d.byApplication.reduce(0) { $0 + $1.count }
            d.unattributed = max(0, d.open - attributed)
        }
        s.db = d

        s.routes = routes.stats
        s.insights = insights.sorted
        var ev = EvictionStats()
        ev.traces = stitcher.evictedTraces
        ev.instances = fleet.evicted
        ev.lines = stitcher.evictedLines
        s.evicted = ev
        s.eventRate = eventRate.values(endingAt: now, scale: 1000 / config.seriesBucketMS)

        var f = FleetStats()
        f.instances = fleet.count
        var byState: [InstanceState: Int] = [:]
        var byDeploy: [String: Int] = [:]
        for r in fleet.records {
            byState[r.info.state, default: 0] += 1
            byDeploy[r.info.deploy?.rawValue ?? "unknown", default: 0] += 1
        }
        f.byState = InstanceState.allCases.map { Tally($0.rawValue, byState[$0] ?? 0) }
        f.byDeploy = Engine.tallies(byDeploy)
        f.illegalTransitions = fleet.illegal
        f.illegalByMove = Engine.tallies(fleet.illegalByMove)
        s.fleet = f
        return s
    }

    /// Live instances first (busiest, then most recently seen), gone ones last.
    private static func instanceOrder(_ a: InstanceInfo, _ b: InstanceInfo) -> Bool {
        let ga = a.state == .gone, gb = b.state == .gone
        if ga != gb { return gb }
        if a.inFlight != b.inFlight { return a.inFlight > b.inFlight }
        if a.lastSeen != b.lastSeen { return a.lastSeen > b.lastSeen }
        if a.service != b.service { return a.service < b.service }
        return a.instance < b.instance
    }

    /// Largest first, then by name.
    static func tallies(_ d: [String: Int]) -> [Tally] {
        d.map { Tally($0.key, $0.value) }.sorted { ($0.count, $1.name) > ($1.count, $0.name) }
    }
}

/// Per-route request counts, errors and latency (the root route of each finished trace).
struct RouteBook {
    static let maxRoutes = 1_000
    static let overflowRoute = "(other routes)"
    private struct Entry {
        var service: String?
        var count = 0
        var errors = 0
        var latency = LatencyDigest()

        mutating func add(_ s: TraceSummary, measured: Bool) {
            count += 1
            if s.isError { errors += 1 }
            if measured { latency.add(s.durationMS) }
        }
    }
    private var entries: [TextKey: Entry] = [:]
    /// Routes found lately, by the identity of the table's own key string (the decoder interns a
    /// route, so a route's summaries share one string object, the one the table keeps), with their
    /// place in `entries`: most traces' routes are found by two word comparisons instead of
    /// hashing the route and probing. Cleared whenever a route is added (places may move); keys
    /// are never removed, so a remembered key string stays alive.
    private var recent = [(word0: UInt64, word1: UInt64, index: Dictionary<TextKey, Entry>.Index)]()

    mutating func add(_ s: TraceSummary, measured: Bool) {
        guard let route = s.rootRoute else { return }
        if FastText.stringsAreTwoWords {
            let w = FastText.words(route)
            for r in recent where r.word0 == w.0 && r.word1 == w.1 {
                entries.values[r.index].add(s, measured: measured)
                return
            }
        }
        var key = TextKey(route)
        if let i = entries.index(forKey: key) {
            entries.values[i].add(s, measured: measured)
            if FastText.stringsAreTwoWords {
                let w = FastText.words(entries.keys[i].name)
                if recent.count >= 16 { recent.removeFirst() }
                recent.append((w.0, w.1, i))
            }
            return
        }
        recent.removeAll(keepingCapacity: true)
        if entries.count >= RouteBook.maxRoutes { key = TextKey(RouteBook.overflowRoute) }
        entries[key, default: Entry(service: s.rootService)].add(s, measured: measured)
    }

    /// Busiest first, then by route.
    var stats: [RouteStats] {
        entries.map { RouteStats(route: $0.key.name, service: $0.value.service, count: $0.value.count,
                                 errors: $0.value.errors, latencyMS: $0.value.latency.percentiles) }
            .sorted { ($0.count, $1.route) > ($1.count, $0.route) }
    }
}
