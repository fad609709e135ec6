import SkeinCore

/// One service instance's part of a trace while the trace is still being assembled.
///
/// A finished trace keeps its hops packed (`FrozenHops`, for a late line that reopens it), and
/// these only while it is open; every open trace has a few. The optional times and numbers are
/// stored bare with a bit each saying whether they are set (`Timestamp?` and `Double?` take 16
/// bytes apiece, `Int?` 9 padded to 16), which took the struct from 248 bytes to 200 (192 with
/// `bgOpen` in four), from when finished traces kept these to the end of an export.
struct HopState {
    var spanID: SpanID?
    var parentSpanID: SpanID?
    var route: String?
    var method: String?
    var firstAt: Timestamp
    var lastAt: Timestamp
    private var _start = Timestamp.zero
    private var _end = Timestamp.zero
    private var _responseAt = Timestamp.zero
    private var _lastWorkAt = Timestamp.zero
    private var _coldStartMS = 0.0
    private var _cpuMS = 0.0
    var dbWaitMS: Double = 0
    private var _status = 0
    var service: Symbol
    /// Background tasks started and not yet ended (four bytes, beside `service`: the struct's
    /// stride 200 → 192).
    var bgOpen: Int32 = 0
    var instance: Symbol?
    var runtime: Symbol?
    private var present = SetBits()
    var deploy: DeployModel?
    var coldStart = false
    /// The platform stopped it for CPU.
    var exceededCPU = false
    /// Fleet bookkeeping: the hop's request.start was counted and its end not yet.
    var inFlight = false
    var invocationCounted = false
    var flags: TraceFlags = []

    private static let hasStart: UInt8 = 1, hasEnd: UInt8 = 2, hasResponseAt: UInt8 = 4, hasLastWorkAt: UInt8 = 8
    private static let hasColdStartMS: UInt8 = 16, hasCPUMS: UInt8 = 32, hasStatus: UInt8 = 64

    /// Explicit start (request.start, span start).
    var start: Timestamp? {
        get { present.value(_start, bit: Self.hasStart) }
        set { present.store(newValue, in: &_start, bit: Self.hasStart, absent: .zero) }
    }
    /// Explicit end (request.end, span end).
    var end: Timestamp? {
        get { present.value(_end, bit: Self.hasEnd) }
        set { present.store(newValue, in: &_end, bit: Self.hasEnd, absent: .zero) }
    }
    var responseAt: Timestamp? {
        get { present.value(_responseAt, bit: Self.hasResponseAt) }
        set { present.store(newValue, in: &_responseAt, bit: Self.hasResponseAt, absent: .zero) }
    }
    /// Latest background/log/db activity: compared with the response time for "work after response".
    var lastWorkAt: Timestamp? {
        get { present.value(_lastWorkAt, bit: Self.hasLastWorkAt) }
        set { present.store(newValue, in: &_lastWorkAt, bit: Self.hasLastWorkAt, absent: .zero) }
    }
    var status: Int? {
        get { present.value(_status, bit: Self.hasStatus) }
        set { present.store(newValue, in: &_status, bit: Self.hasStatus, absent: 0) }
    }
    var coldStartMS: Double? {
        get { present.value(_coldStartMS, bit: Self.hasColdStartMS) }
        set { present.store(newValue, in: &_coldStartMS, bit: Self.hasColdStartMS, absent: 0) }
    }
    /// Highest CPU time an event of this hop reported.
    var cpuMS: Double? {
        get { present.value(_cpuMS, bit: Self.hasCPUMS) }
        set { present.store(newValue, in: &_cpuMS, bit: Self.hasCPUMS, absent: 0) }
    }

    init(service: Symbol, instance: Symbol?, at t: Timestamp) {
        self.service = service; self.instance = instance; firstAt = t; lastAt = t
    }

    /// Folds another partial view of the same hop into this one (two traces merged by the linker).
    mutating func absorb(_ o: HopState) {
        instance = instance ?? o.instance
        deploy = deploy ?? o.deploy
        runtime = runtime ?? o.runtime
        spanID = spanID ?? o.spanID
        parentSpanID = parentSpanID ?? o.parentSpanID
        route = route ?? o.route
        method = method ?? o.method
        start = minOpt(start, o.start)
        end = maxOpt(end, o.end)
        responseAt = minOpt(responseAt, o.responseAt)
        firstAt = min(firstAt, o.firstAt)
        lastAt = max(lastAt, o.lastAt)
        lastWorkAt = maxOpt(lastWorkAt, o.lastWorkAt)
        bgOpen &+= o.bgOpen
        status = status ?? o.status
        coldStart = coldStart || o.coldStart
        coldStartMS = coldStartMS ?? o.coldStartMS
        dbWaitMS += o.dbWaitMS
        if let c = o.cpuMS { cpuMS = max(cpuMS ?? 0, c) }
        exceededCPU = exceededCPU || o.exceededCPU
        flags.formUnion(o.flags)
        inFlight = inFlight || o.inFlight
        invocationCounted = invocationCounted || o.invocationCounted
    }

    /// The service of a hop whose lines named none.
    static let unknownService = Symbol("unknown")

    /// Raw (uncorrected) extent of the hop.
    var rawStart: Timestamp { start ?? firstAt }
    var rawEnd: Timestamp {
        let e = end ?? responseAt ?? lastAt
        return max(e, rawStart)
    }
    var hasExplicitEnd: Bool { end != nil || responseAt != nil }
}

@inline(__always) func minOpt(_ a: Timestamp?, _ b: Timestamp?) -> Timestamp? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}

@inline(__always) func maxOpt(_ a: Timestamp?, _ b: Timestamp?) -> Timestamp? {
    guard let a else { return b }
    guard let b else { return a }
    return max(a, b)
}

/// A trace's lifecycle: open while events arrive, finished once complete (and reopened by late events).
enum TracePhase {
    case open
    case finished
}

/// Everything known about one trace: its ids, hops and own lines.
/// (Exclusivity checks are off for its state: see `Engine`.)
final class TraceState {
    let serial: Int
    /// The W3C trace id: at most one per trace, so a shared weak id never merges two requests.
    @exclusivity(unchecked) var strongID: String?
    /// Every id linked to the trace, first seen first.
    @exclusivity(unchecked) var ids: [String] = []
    /// The hops while the trace is open. A finished trace's are packed into `frozen` (shared with
    /// its summary) and this array emptied, until something needs them again (`thaw`).
    @exclusivity(unchecked) var hops: [HopState] = []
    /// A finished trace's hops, packed, as of its completion (see `FrozenHops`); empty while open.
    @exclusivity(unchecked) var frozen = FrozenHops()
    @exclusivity(unchecked) var lines: [TraceLine] = []
    @exclusivity(unchecked) var lineHops: [Int32] = []
    @exclusivity(unchecked) var droppedLines = 0
    /// Lines counted but not kept (`EngineConfig.keepsTraceLines` off), up to `maxLinesPerTrace`.
    @exclusivity(unchecked) var linesNotKept: Int32 = 0
    /// `eventCount` (its low 32 bits) at the last `rootEnded` check, or -1. Four bytes beside
    /// `linesNotKept`: with `frozen` the object stays 168 bytes (a 176-byte block, not 192).
    @exclusivity(unchecked) var rootCheckedAt: Int32 = -1
    @exclusivity(unchecked) var eventCount = 0
    /// Engine clock at the first and latest event (not event time: lines may arrive late).
    @exclusivity(unchecked) var firstActivity: Timestamp
    @exclusivity(unchecked) var lastActivity: Timestamp
    /// The earliest completion check queued for this trace; heap entries with another due time are stale.
    @exclusivity(unchecked) var pendingDue: Timestamp?
    @exclusivity(unchecked) var phase: TracePhase = .open
    // The flags here, in the optional's padding: the object 171 → 168 bytes, a 176-byte block
    // instead of a 192-byte one (135k of them for a million lines).
    /// `rootEnded` as of `rootCheckedAt` events (merges also change `eventCount`).
    @exclusivity(unchecked) var rootEndedCache = false
    /// Counted in the aggregates (complete, errors, routes, cold penalty) at its first completion.
    @exclusivity(unchecked) var counted = false
    @exclusivity(unchecked) var countedError = false
    /// Bumped on every completion so stale entries of the retained queue can be skipped.
    @exclusivity(unchecked) var finishSeq = 0
    /// Where the finished trace's summary sits in `Stitcher`'s store (`Stitcher.summary(of:)`), or -1.
    @exclusivity(unchecked) var summarySlot = -1
    /// How the finished trace's lines are placed (see `StitchedTrace`), kept until its lines are shed.
    @exclusivity(unchecked) var placementBase = Timestamp.zero
    @exclusivity(unchecked) var placementShift: [Double] = []

    init(serial: Int, now: Timestamp) {
        self.serial = serial
        firstActivity = now
        lastActivity = now
    }

    var canonicalID: String { strongID ?? ids.first ?? "trace-\(serial)" }

    /// Packs a finishing trace's hops into `frozen` (its summary's, shared) and frees the array.
    func freeze(_ packed: FrozenHops) {
        frozen = packed
        hops = []
    }

    /// The hops of a finished trace back in `hops`, for a change to them (a late line, a merge, a
    /// cold start learned afterwards). The summary keeps its packed view of the completion; the
    /// trace's `frozen` goes once it reopens.
    func thaw() {
        if hops.isEmpty && !frozen.isEmpty { hops = frozen.states() }
    }

    func hasID(_ id: String) -> Bool {
        for x in ids where FastText.same(x, id) { return true }
        return false
    }

    /// The hop an event belongs to: by span id when it has one, else by (service, instance).
    func hopIndex(spanID: SpanID?, parentSpanID: SpanID?, service: Symbol?, instance: Symbol?,
                  at t: Timestamp, maxHops: Int) -> Int {
        // The optional itself is compared and stored, never bound: binding it (or wrapping a bound
        // one again) copied it, retaining its text, a few times per line.
        if spanID != nil {
            for i in hops.indices where SpanID.bothEqual(hops[i].spanID, spanID) { return i }
            // A line without a span id may have opened this instance's hop before its first span line.
            if let service {
                for i in hops.indices.reversed()
                where hops[i].spanID == nil && hops[i].service == service && hops[i].instance == instance {
                    hops[i].spanID = spanID
                    hops[i].parentSpanID = parentSpanID
                    return i
                }
            }
            if hops.count >= maxHops { return hops.count - 1 }
            makeRoomForHop()
            // Its span ids set in place: a hop built in a variable (or with them in its initializer)
            // was copied into the array, then the variable's destroyed.
            hops.append(HopState(service: service ?? HopState.unknownService, instance: instance, at: t))
            let last = hops.count - 1
            hops[last].spanID = spanID
            hops[last].parentSpanID = parentSpanID
            return last
        }
        if let service {
            for i in hops.indices.reversed()
            where hops[i].service == service && hops[i].instance == instance {
                return i
            }
        } else if !hops.isEmpty {
            return hops.count - 1
        }
        if hops.count >= maxHops { return hops.count - 1 }
        makeRoomForHop()
        hops.append(HopState(service: service ?? HopState.unknownService, instance: instance, at: t))
        return hops.count - 1
    }

    /// Room for one more hop: two at first, then one at a time up to four, then the array's own
    /// doubling. Most traces have two to four hops (the benchmark's: 44 % two, 37 % three, 16 %
    /// four). (From when a finished trace kept this array to the end of an export: doubling from
    /// two left a three-hop trace a 200-byte slot it never used, 10 MB a million lines; four at
    /// first, cut to the exact count at completion, copied every hop's strings once more. The
    /// array is freed at completion now, and this still allocates least for the usual traces.)
    @inline(__always)
    private func makeRoomForHop() {
        let n = hops.count
        if n == 0 {
            hops.reserveCapacity(2)
        } else if n == hops.capacity && n < 4 {
            hops.reserveCapacity(n + 1)
        }
    }
}
