import SkeinCore
import CSkeinSys

/// An immutable picture of the engine's state at one instant (DESIGN.md, "Views read snapshots").
///
/// The dashboard and the exporters read only this; they never reach into the engine. Lists are
/// already sorted for display (newest first, busiest first) and bounded by the engine's budget.
public struct Snapshot: Sendable, Equatable {
    /// The engine clock when the snapshot was taken (event time live; virtual time in replay).
    public var now: Timestamp
    public var firstEventAt: Timestamp?
    public var lastEventAt: Timestamp?

    public var input: InputStats
    public var traces: TraceStats
    /// Finished (and, at the front, still-open) traces, newest first. Export mode keeps all of them.
    public var recentTraces: [TraceSummary]
    public var instances: [InstanceInfo]
    public var coldStarts: ColdStartStats
    public var db: DBStats
    /// Busiest first.
    public var routes: [RouteStats]
    /// Most severe, then most recent first.
    public var insights: [Insight]
    /// What the memory budget threw away, always shown on screen.
    public var evicted: EvictionStats
    /// Events per second over the last buckets (oldest first), for the header sparkline.
    public var eventRate: [Double]
    /// Instance counts by lifecycle state and the lifecycle moves that made no sense.
    public var fleet: FleetStats

    public init(now: Timestamp) {
        self.now = now
        input = InputStats()
        traces = TraceStats()
        recentTraces = []
        instances = []
        coldStarts = ColdStartStats()
        db = DBStats()
        routes = []
        insights = []
        evicted = EvictionStats()
        eventRate = []
        fleet = FleetStats()
    }
}

/// The fleet at a glance: how many instances are in each lifecycle state.
public struct FleetStats: Sendable, Equatable {
    /// Instances tracked now (gone ones included until evicted).
    public var instances: Int = 0
    /// Per `InstanceState` raw value, in lifecycle order.
    public var byState: [Tally] = []
    /// Per deploy model raw value (`unknown` when neither logged nor inferable).
    public var byDeploy: [Tally] = []
    /// Lifecycle moves that the state machine does not allow (counted, never trapped).
    public var illegalTransitions: Int = 0
    /// Illegal moves by name (`from→move`, e.g. `gone→stop`, `cold→initialise`), most frequent first.
    public var illegalByMove: [Tally] = []
    public init() {}
}

/// How much input was read and what became of it.
public struct InputStats: Sendable, Equatable {
    public var lines: Int = 0
    public var events: Int = 0
    public var malformed: Int = 0
    /// Queue drops between sources and the engine.
    public var dropped: Int = 0
    public var malformedByReason: [String: Int] = [:]
    public var sources: [SourceStats] = []
    /// Events whose time leapt more than an hour past the engine clock and did not move it
    /// (a mangled timestamp); the events themselves were ingested.
    public var clockOutliers: Int = 0
    public init() {}
}

/// One input: a file, stdin, a listener, a database sampler.
public struct SourceStats: Sendable, Equatable {
    public var id: SourceID
    public var name: String
    public var health: SourceHealth
    public var lines: Int
    public var events: Int
    public var malformed: Int
    /// Detected formats and how many frames each took, lines it held for a multi-line event
    /// included; blank lines name no format (`skein`, `aws-lambda`, ...).
    public var formats: [String: Int]
    public init(id: SourceID, name: String, health: SourceHealth = .reading, lines: Int = 0, events: Int = 0,
                malformed: Int = 0, formats: [String: Int] = [:]) {
        self.id = id; self.name = name; self.health = health
        self.lines = lines; self.events = events; self.malformed = malformed; self.formats = formats
    }
}

/// A source's lifecycle, shown in the header.
public enum SourceHealth: Sendable, Equatable {
    case reading
    /// Caught up; waiting for more (a followed file, an idle listener).
    case waiting
    case reconnecting(attempt: Int, reason: String)
    case failed(reason: String)
    /// Read to its end (a file in export or replay).
    case finished

    public var label: String {
        switch self {
        case .reading: "reading"
        case .waiting: "waiting"
        case .reconnecting(let n, _): "reconnecting (\(n))"
        case .failed: "failed"
        case .finished: "done"
        }
    }
}

public struct TraceStats: Sendable, Equatable {
    /// Every trace seen (open and finished).
    public var count: Int = 0
    public var complete: Int = 0
    /// Traces whose status is an error (5xx, an error-level line, a timeout, a platform error).
    public var errors: Int = 0
    /// Traces not yet complete.
    public var open: Int = 0
    /// Finished traces reopened because a late event arrived for them (they are emitted again).
    public var reopened: Int = 0
    /// Events that carried no id and could not be attached to a trace through their instance.
    public var untracedEvents: Int = 0
    public init() {}
}

/// Flags shown beside a trace.
public struct TraceFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// A hop waited for a cold start.
    public static let cold = TraceFlags(rawValue: 1 << 0)
    /// A hop waited for a pooled DB connection.
    public static let dbWait = TraceFlags(rawValue: 1 << 1)
    public static let error = TraceFlags(rawValue: 1 << 2)
    /// A serverless/edge hop kept working after its response was sent.
    public static let afterResponse = TraceFlags(rawValue: 1 << 3)
    public static let timeout = TraceFlags(rawValue: 1 << 4)
    /// An edge hop went over its CPU limit.
    public static let cpuLimit = TraceFlags(rawValue: 1 << 5)
    /// A DB connection was refused (too many clients).
    public static let dbRefused = TraceFlags(rawValue: 1 << 6)
    /// Completed by timeout rather than by its root ending.
    public static let incomplete = TraceFlags(rawValue: 1 << 7)

    /// Names as the export and the dashboard print them.
    public var names: [String] {
        var out: [String] = []
        forEachName { out.append($0.description) }
        return out
    }

    /// The names of the flags set, in `names` order, as literals (writers copy them without a `String`).
    public func forEachName(_ body: (StaticString) -> Void) {
        if contains(.cold) { body("COLD") }
        if contains(.dbWait) { body("DB-WAIT") }
        if contains(.dbRefused) { body("DB-REFUSED") }
        if contains(.error) { body("ERR") }
        if contains(.afterResponse) { body("AFTER-RESPONSE") }
        if contains(.timeout) { body("TIMEOUT") }
        if contains(.cpuLimit) { body("CPU-LIMIT") }
        if contains(.incomplete) { body("INCOMPLETE") }
    }
}

/// One request across its hops, as the traces list and the export show it.
public struct TraceSummary: Sendable, Equatable {
    /// The canonical id: the W3C trace id when known, else the first id seen.
    public var id: String
    /// Every other id linked to this trace.
    ///
    /// A summary the stitcher made keeps the trace's own id list (shared, not copied) and which of
    /// its ids is `id`: a filtered copy for each of an export's 135k summaries was an allocation
    /// apiece (6 MB). `aliasCount(of:)` and `alias(of:at:)` read one without building the array.
    public var aliases: [String] {
        get {
            guard !linkedIDs.isEmpty else { return storedAliases }
            var out = linkedIDs
            if idIndex >= 0 { out.remove(at: idIndex) }
            return out
        }
        set {
            storedAliases = newValue
            linkedIDs = []
            idIndex = -1
        }
    }
    /// Aliases given as values (`aliases`' setter), when `linkedIDs` is empty.
    private var storedAliases: [String]
    /// The trace's ids as of stitching, and the index among them of `id` (-1: not among them).
    var linkedIDs: [String] = []
    var idIndex = -1

    /// The stitcher's form: `ids` are the trace's, `id` the one at `index` (or none, -1).
    mutating func setAliases(linked ids: [String], idIndex index: Int) {
        storedAliases = []
        linkedIDs = ids
        idIndex = index
    }

    /// `aliases.count` without building the array.
    public var aliasCount: Int {
        if linkedIDs.isEmpty { return storedAliases.count }
        return linkedIDs.count - (idIndex >= 0 ? 1 : 0)
    }

    /// `aliases[k]` without building the array.
    public func alias(at k: Int) -> String {
        if linkedIDs.isEmpty { return storedAliases[k] }
        return linkedIDs[idIndex >= 0 && k >= idIndex ? k + 1 : k]
    }

    /// `aliasCount`, read where the summary lies (see `hopCount(of:)`).
    public static func aliasCount(of t: UnsafePointer<TraceSummary>) -> Int { t.pointee.aliasCount }

    /// `alias(at:)`, read where the summary lies (see `hopCount(of:)`).
    public static func alias(of t: UnsafePointer<TraceSummary>, at k: Int) -> String { t.pointee.alias(at: k) }
    /// Skew-corrected start of the earliest hop.
    public var start: Timestamp
    public var durationMS: Double
    public var rootService: String?
    public var rootRoute: String?
    public var rootMethod: String?
    /// The root's response status; nil when nobody logged one.
    public var status: Int?
    /// Ordered by start (parents before children).
    ///
    /// A summary the stitcher made keeps its hops packed (`FrozenHops`: each hop's state and where
    /// stitching placed it, one byte array shared with the finished trace): an export holds every
    /// finished trace's summary to its end, and the hops were most of what it held. Reading `hops`
    /// builds the array; `hopCount` and `hop(at:)` read one hop without it.
    public var hops: [Hop] {
        get {
            guard !frozen.isEmpty else { return storedHops }
            return (0..<frozen.count).map { frozen.hop(at: $0) }
        }
        set {
            storedHops = newValue
            frozen = FrozenHops()
        }
    }
    /// Hops given as values (`hops`' setter), when `frozen` is empty.
    private var storedHops: [Hop]
    /// The trace's hop states as of stitching, and each summary hop's place, in summary order.
    var frozen = FrozenHops()

    public var hopCount: Int { frozen.isEmpty ? storedHops.count : frozen.count }

    /// Summary hop `k` (in `hops` order), built alone.
    public func hop(at k: Int) -> Hop {
        frozen.isEmpty ? storedHops[k] : frozen.hop(at: k)
    }

    /// `hopCount` read where the summary lies: a method called on `pointer.pointee` from another
    /// module copies the whole summary (retaining everything it holds) to pass it; called here,
    /// in the summary's own module, it reads in place.
    public static func hopCount(of t: UnsafePointer<TraceSummary>) -> Int { t.pointee.hopCount }

    /// `hop(at:)` read where the summary lies (see `hopCount(of:)`).
    public static func hop(of t: UnsafePointer<TraceSummary>, at k: Int) -> Hop { t.pointee.hop(at: k) }

    /// What a report writes of hop `k`, read where the summary lies into plain values: building a
    /// whole `Hop` copied its span ids (optional text: reference counted) and cost a report of a
    /// million lines' summaries a third more instructions.
    public static func hopFields(of t: UnsafePointer<TraceSummary>, at k: Int) -> HopFields {
        if t.pointee.frozen.isEmpty { return HopFields(t.pointee.storedHops[k]) }
        return t.pointee.frozen.fields(at: k)
    }

    /// `hopFields(of:at:)` of every hop, in order, into `out` (room for `hopCount(of:)` elements,
    /// uninitialized): a report reads them all, and one pass over packed hops finds each in turn.
    public static func hopFields(of t: UnsafePointer<TraceSummary>, into out: UnsafeMutableBufferPointer<HopFields>) {
        let n = t.pointee.hopCount
        precondition(out.count >= n, "hopFields(of:into:): room for \(out.count) of \(n) hops")
        guard let base = out.baseAddress else { return }
        if t.pointee.frozen.isEmpty {
            for k in 0..<n { (base + k).initialize(to: HopFields(t.pointee.storedHops[k])) }
        } else {
            t.pointee.frozen.fields(into: base)
        }
    }

    /// What the engine's completion checks ask of hop `k`, without building it.
    func hopBasics(at k: Int) -> (deploy: DeployModel?, flags: TraceFlags, durationMS: Double) {
        guard !frozen.isEmpty else { return (storedHops[k].deploy, storedHops[k].flags, storedHops[k].durationMS) }
        return frozen.basics(at: k)
    }

    public var coldStart: Bool
    public var coldStartInitMS: Double?
    public var dbWaitMS: Double
    public var flags: TraceFlags
    public var complete: Bool
    /// Number of events stitched into the trace.
    public var eventCount: Int

    public init(id: String, start: Timestamp) {
        self.id = id; self.start = start
        storedAliases = []; durationMS = 0; storedHops = []; coldStart = false; dbWaitMS = 0; flags = []
        complete = false; eventCount = 0
    }

    public var isError: Bool { flags.contains(.error) }

    /// Field by field, hops as values: a summary the stitcher made equals one given the same hops.
    public static func == (a: TraceSummary, b: TraceSummary) -> Bool {
        guard a.id == b.id, a.aliases == b.aliases, a.start == b.start, a.durationMS == b.durationMS,
              a.rootService == b.rootService, a.rootRoute == b.rootRoute, a.rootMethod == b.rootMethod,
              a.status == b.status, a.coldStart == b.coldStart, a.coldStartInitMS == b.coldStartInitMS,
              a.dbWaitMS == b.dbWaitMS, a.flags == b.flags, a.complete == b.complete,
              a.eventCount == b.eventCount, a.hopCount == b.hopCount
        else { return false }
        for k in 0..<a.hopCount where a.hop(at: k) != b.hop(at: k) { return false }
        return true
    }
}

extension TraceSummary {
    private static let frozenOffset = MemoryLayout<TraceSummary>.offset(of: \TraceSummary.frozen)!
    private static let storedOffset = MemoryLayout<TraceSummary>.offset(of: \TraceSummary.storedHops)!
    private static let linkedIDsOffset = MemoryLayout<TraceSummary>.offset(of: \TraceSummary.linkedIDs)!
    private static let storedAliasesOffset = MemoryLayout<TraceSummary>.offset(of: \TraceSummary.storedAliases)!

    /// Cache hints (as `prefetchHops(of:)`): the arrays the summary's aliases are read from.
    @inline(__always)
    public static func prefetchAliases(of p: UnsafePointer<TraceSummary>) {
        let r = UnsafeRawPointer(p)
        skein_prefetch(UnsafeRawPointer(bitPattern: r.load(fromByteOffset: linkedIDsOffset, as: UInt.self) &+ 32))
        skein_prefetch(UnsafeRawPointer(bitPattern: r.load(fromByteOffset: storedAliasesOffset, as: UInt.self) &+ 32))
    }

    /// Cache hints for a report's writers reading ahead: the first cache lines of the arrays the
    /// summary's hops are read from (an array is one pointer to its buffer). Hints only: a wrong
    /// address is never read or faulted.
    @inline(__always)
    public static func prefetchHops(of p: UnsafePointer<TraceSummary>) {
        let r = UnsafeRawPointer(p)
        let frozen = r.load(fromByteOffset: frozenOffset, as: UInt.self)
        let stored = r.load(fromByteOffset: storedOffset, as: UInt.self)
        for line in 0..<6 { skein_prefetch(UnsafeRawPointer(bitPattern: frozen &+ UInt(line * 64))) }
        skein_prefetch(UnsafeRawPointer(bitPattern: stored &+ 32))
    }
}

/// The fields of a summary hop that a report writes, as plain values (`TraceSummary.hopFields`).
public struct HopFields: Equatable {
    public var service: Symbol
    public var instance: Symbol?
    public var deploy: DeployModel?
    public var offsetMS: Double
    public var durationMS: Double
    public var status: Int?
    /// The span id: packed, or `.text` when it was not 16 hex digits (read it from the whole hop).
    public var span: Span
    public var parent: Int?
    public var critical: Bool

    public enum Span: Equatable {
        case none
        case packed(UInt64)
        case text
    }

    static func packed(_ id: SpanID?) -> Span {
        switch id {
        case .none: .none
        case .some(let s): s.text == nil ? .packed(s.packed) : .text
        }
    }

    init(service: Symbol, instance: Symbol?, deploy: DeployModel?, offsetMS: Double, durationMS: Double,
         status: Int?, span: Span, parent: Int?, critical: Bool) {
        self.service = service; self.instance = instance; self.deploy = deploy; self.offsetMS = offsetMS
        self.durationMS = durationMS; self.status = status; self.span = span; self.parent = parent; self.critical = critical
    }

    init(_ h: Hop) {
        self.init(service: h.serviceSymbol, instance: h.instanceSymbol, deploy: h.deploy, offsetMS: h.offsetMS,
                  durationMS: h.durationMS, status: h.status, span: HopFields.packed(h.span), parent: h.parent,
                  critical: h.onCriticalPath)
    }
}

/// Where stitching placed one of a trace's hops (packed beside the hop's state: `FrozenHops`).
struct PlacedHop {
    var offsetMS: Double
    var durationMS: Double
    /// The hop's state: its index in the trace's hops.
    var index: Int32
    /// The parent's position in the summary's hops, or -1.
    var parent: Int32
    var flags: TraceFlags
    var critical: Bool
}

/// One service instance's part of a trace (a span, when span ids exist).
public struct Hop: Sendable, Equatable {
    // Laid out for size: an export keeps every finished trace's hops to the end (400k hops for a
    // million lines). Eight-byte fields first; the optional numbers stored bare with a bit each in
    // `present` (`SetBits`, as `HopState` and `Event` do; always 0 when absent, so equality reads as
    // the optionals would): 160 → 128 bytes.
    /// The span ids, packed (`spanID` and `parentSpanID` are their text).
    public var span: SpanID?
    public var parentSpan: SpanID?
    /// From the trace start, after skew correction.
    public var offsetMS: Double
    public var durationMS: Double
    public var dbWaitMS: Double
    @usableFromInline var _parent = 0
    @usableFromInline var _status = 0
    @usableFromInline var _coldStartMS = 0.0
    @usableFromInline var _responseAtMS = 0.0
    // Symbols and packed span ids, as in `Event`: a summary is built for every trace, and most are
    // only counted, never printed (`service`, `instance`, ... read them as text). Stored bare rather
    // than through `SymbolText`/`SpanIDText`: a writer in another module reads them through a
    // pointer, where a wrapper's accessor is a call that copies the whole hop.
    public var serviceSymbol: Symbol
    public var instanceSymbol: Symbol?
    public var runtimeSymbol: Symbol?
    public var deploy: DeployModel?
    public var onCriticalPath: Bool
    public var flags: TraceFlags
    @usableFromInline var present = SetBits()

    @usableFromInline static let hasParent: UInt8 = 1, hasStatus: UInt8 = 2, hasColdStartMS: UInt8 = 4,
                                 hasResponseAtMS: UInt8 = 8

    /// Index of the parent hop in `TraceSummary.hops`.
    @inlinable public var parent: Int? {
        get { present.value(_parent, bit: Hop.hasParent) }
        set { present.store(newValue, in: &_parent, bit: Hop.hasParent, absent: 0) }
    }
    @inlinable public var status: Int? {
        get { present.value(_status, bit: Hop.hasStatus) }
        set { present.store(newValue, in: &_status, bit: Hop.hasStatus, absent: 0) }
    }
    /// Init time this hop waited for, when it ran on a cold instance.
    @inlinable public var coldStartMS: Double? {
        get { present.value(_coldStartMS, bit: Hop.hasColdStartMS) }
        set { present.store(newValue, in: &_coldStartMS, bit: Hop.hasColdStartMS, absent: 0) }
    }
    /// When the response was sent, if logged separately from the end (from the hop's start).
    @inlinable public var responseAtMS: Double? {
        get { present.value(_responseAtMS, bit: Hop.hasResponseAtMS) }
        set { present.store(newValue, in: &_responseAtMS, bit: Hop.hasResponseAtMS, absent: 0) }
    }

    public init(service: String, offsetMS: Double = 0, durationMS: Double = 0) {
        self.init(service: Symbol(service), offsetMS: offsetMS, durationMS: durationMS)
    }

    public init(service: Symbol, offsetMS: Double = 0, durationMS: Double = 0) {
        serviceSymbol = service; self.offsetMS = offsetMS; self.durationMS = durationMS
        dbWaitMS = 0; onCriticalPath = false; flags = []
    }

    public var service: String {
        get { serviceSymbol.string }
        set { serviceSymbol = Symbol(newValue) }
    }
    public var instance: String? {
        get { instanceSymbol?.string }
        set { instanceSymbol = newValue.map(Symbol.init) }
    }
    public var runtime: String? {
        get { runtimeSymbol?.string }
        set { runtimeSymbol = newValue.map(Symbol.init) }
    }
    public var spanID: String? {
        get { span?.string }
        set { span = newValue.map(SpanID.init) }
    }
    public var parentSpanID: String? {
        get { parentSpan?.string }
        set { parentSpan = newValue.map(SpanID.init) }
    }
}

/// Everything the trace detail view draws: the summary plus the trace's own log lines.
public struct TraceDetail: Sendable, Equatable {
    public var summary: TraceSummary
    /// The trace's events in corrected time order (bounded per trace).
    public var lines: [TraceLine]
    /// Lines dropped from this trace by the per-trace budget, or shed once it finished
    /// (`EngineConfig.retainedTraceLines`).
    public var droppedLines: Int
    public init(summary: TraceSummary, lines: [TraceLine], droppedLines: Int = 0) {
        self.summary = summary; self.lines = lines; self.droppedLines = droppedLines
    }
}

public struct TraceLine: Sendable, Equatable {
    public var time: Timestamp
    /// From the trace start, after skew correction.
    public var offsetMS: Double
    public var service: String?
    public var instance: String?
    public var kind: EventKind
    public var level: Level
    /// Unsanitised: views sanitise before drawing.
    public var message: String
    public var source: SourceID
    public init(time: Timestamp, offsetMS: Double, service: String?, instance: String?, kind: EventKind,
                level: Level, message: String, source: SourceID) {
        self.time = time; self.offsetMS = offsetMS; self.service = service; self.instance = instance
        self.kind = kind; self.level = level; self.message = message; self.source = source
    }
}

/// An instance's lifecycle (DESIGN.md): cold → busy ⇄ idle → gone.
public enum InstanceState: String, Sendable, CaseIterable, Hashable {
    case cold, busy, idle, gone
}

public struct InstanceInfo: Sendable, Equatable {
    public var service: String
    public var instance: String
    public var deploy: DeployModel?
    public var platform: String?
    public var runtime: String?
    public var region: String?
    public var state: InstanceState
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var invocations: Int
    /// Requests in flight now.
    public var inFlight: Int
    public var coldStart: ColdStart?
    /// Connections this instance holds now.
    public var dbOpen: Int
    public var dbPeak: Int
    public var dbErrors: Int
    public var errors: Int

    public init(service: String, instance: String, state: InstanceState, firstSeen: Timestamp) {
        self.service = service; self.instance = instance; self.state = state
        self.firstSeen = firstSeen; lastSeen = firstSeen
        invocations = 0; inFlight = 0; dbOpen = 0; dbPeak = 0; dbErrors = 0; errors = 0
    }
}

/// One instance's initialisation before its first request.
public struct ColdStart: Sendable, Equatable {
    public var at: Timestamp
    public var service: String
    public var instance: String
    public var runtime: String?
    public var deploy: DeployModel?
    public var initMS: Double?
    /// True when no line said so and the engine inferred it (first request of a new serverless instance).
    public var inferred: Bool
    /// The request that waited for it.
    public var traceID: String?
    public init(at: Timestamp, service: String, instance: String, runtime: String?, deploy: DeployModel?,
                initMS: Double?, inferred: Bool, traceID: String?) {
        self.at = at; self.service = service; self.instance = instance; self.runtime = runtime
        self.deploy = deploy; self.initMS = initMS; self.inferred = inferred; self.traceID = traceID
    }
}

/// Percentiles over a set of durations, in milliseconds.
public struct Percentiles: Sendable, Equatable {
    public var count: Int = 0
    public var p50: Double?
    public var p95: Double?
    public var p99: Double?
    public var max: Double?
    public init() {}
    public init(count: Int, p50: Double?, p95: Double?, p99: Double?, max: Double?) {
        self.count = count; self.p50 = p50; self.p95 = p95; self.p99 = p99; self.max = max
    }
}

/// A labelled count (per runtime, per service, per application).
public struct Tally: Sendable, Equatable, Hashable {
    public var name: String
    public var count: Int
    public init(_ name: String, _ count: Int) { self.name = name; self.count = count }
}

/// A time series at a fixed bucket width, oldest first, ending at the snapshot's `now`.
public struct Series: Sendable, Equatable {
    public var bucketMS: Double
    public var values: [Double]
    public init(bucketMS: Double = 1000, values: [Double] = []) { self.bucketMS = bucketMS; self.values = values }
}

public struct ColdStartStats: Sendable, Equatable {
    public var count: Int = 0
    public var inferred: Int = 0
    public var byRuntime: [Tally] = []
    public var byService: [Tally] = []
    public var initMS = Percentiles()
    /// Latency of requests that waited on a cold start, against the rest: the penalty.
    public var coldLatencyMS = Percentiles()
    public var warmLatencyMS = Percentiles()
    /// Cold starts per bucket.
    public var series = Series()
    /// Newest first.
    public var recent: [ColdStart] = []
    public init() {}

    /// p95(cold) − p95(warm), when both are known.
    public var penaltyP95MS: Double? {
        guard let c = coldLatencyMS.p95, let w = warmLatencyMS.p95 else { return nil }
        return c - w
    }
}

/// Where `max_connections` came from.
public enum DBMaxSource: String, Sendable, Equatable {
    case flag, event, sampler
}

public struct DBStats: Sendable, Equatable {
    /// Connections open now: the server's own count when known (sampler, server log), else the sum
    /// of what instances report.
    public var open: Int = 0
    /// Whether `open` is the server's count.
    public var serverTruth: Bool = false
    /// The app-side sum, always (to compare with server truth).
    public var appReportedOpen: Int = 0
    public var peakOpen: Int = 0
    public var peakAt: Timestamp?
    public var maxConnections: Int?
    public var maxSource: DBMaxSource?
    /// Reserved for superusers (from the sampler), when known.
    public var reservedConnections: Int?
    /// `reserved_connections` (PostgreSQL 16+, for `pg_use_reserved_connections`), when sampled.
    public var rolesReservedConnections: Int?
    public var errors: Int = 0
    public var errorsByKind: [Tally] = []
    public var firstExhaustionAt: Timestamp?
    public var poolWaits: Int = 0
    public var poolWait = Percentiles()
    /// Open connections per bucket.
    public var series = Series()
    /// Busiest first.
    public var byService: [Tally] = []
    public var byInstance: [InstanceConnections] = []
    /// Server-side breakdown (application_name / user / state) when a sampler or server log tells it.
    public var byApplication: [Tally] = []
    public var unattributed: Int = 0
    /// PgBouncer's pools, when a pooler sampler (`--pgbouncer`) or its recording says.
    public var pooler: PoolerStats?
    public init() {}

    public var utilisation: Double? {
        guard let m = maxConnections, m > 0 else { return nil }
        return Double(open) / Double(m)
    }
}

public struct InstanceConnections: Sendable, Equatable {
    public var service: String
    public var instance: String
    public var deploy: DeployModel?
    public var open: Int
    public init(service: String, instance: String, deploy: DeployModel?, open: Int) {
        self.service = service; self.instance = instance; self.deploy = deploy; self.open = open
    }
}

public struct RouteStats: Sendable, Equatable {
    public var route: String
    public var service: String?
    public var count: Int
    public var errors: Int
    public var latencyMS: Percentiles
    public init(route: String, service: String?, count: Int, errors: Int, latencyMS: Percentiles) {
        self.route = route; self.service = service; self.count = count; self.errors = errors; self.latencyMS = latencyMS
    }
}

/// A known hybrid-architecture failure, named with its evidence.
public struct Insight: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Hashable {
        case connectionExhaustion = "connection_exhaustion"
        case coldStartCascade = "cold_start_cascade"
        case workAfterResponse = "work_after_response"
        case edgeCPULimit = "edge_cpu_limit"
        case longLivedConnection = "long_lived_connection"
        case timeout = "timeout"
    }
    public enum Severity: String, Sendable, Comparable, CaseIterable {
        case info, warning, critical
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
        private var rank: Int { switch self { case .info: 0; case .warning: 1; case .critical: 2 } }
    }

    public var kind: Kind
    public var severity: Severity
    public var firstAt: Timestamp
    public var lastAt: Timestamp
    public var count: Int
    /// One sentence a person can act on.
    public var message: String
    /// Bounded: the first few pieces of evidence.
    public var evidence: [Evidence]
    public init(kind: Kind, severity: Severity, firstAt: Timestamp, lastAt: Timestamp, count: Int,
                message: String, evidence: [Evidence]) {
        self.kind = kind; self.severity = severity; self.firstAt = firstAt; self.lastAt = lastAt
        self.count = count; self.message = message; self.evidence = evidence
    }
}

public struct Evidence: Sendable, Equatable {
    public var at: Timestamp
    public var service: String?
    public var instance: String?
    public var traceID: String?
    public var detail: String
    public init(at: Timestamp, service: String? = nil, instance: String? = nil, traceID: String? = nil, detail: String) {
        self.at = at; self.service = service; self.instance = instance; self.traceID = traceID; self.detail = detail
    }
}

public struct EvictionStats: Sendable, Equatable {
    public var traces: Int = 0
    public var instances: Int = 0
    public var lines: Int = 0
    public init() {}
}
