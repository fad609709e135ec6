import Collections
import SkeinCore

/// An instance's identity: the service and its execution environment, as two symbols.
struct InstanceKey: Hashable {
    let service: Symbol
    let instance: Symbol

    init(service: Symbol, instance: Symbol) {
        self.service = service
        self.instance = instance
    }

    /// Both symbols in one word, mixed once: no SipHash over two fields per probe.
    var fingerprint: UInt64 { UInt64(service.raw) << 32 | UInt64(instance.raw) }
    static func == (a: InstanceKey, b: InstanceKey) -> Bool { a.fingerprint == b.fingerprint }
    func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
    func _rawHashValue(seed: Int) -> Int { FastText.mix(fingerprint &* 0x9e37_79b9_7f4a_7c15, seed: seed) }
}

/// The lifecycle moves an instance can make (DESIGN.md: cold → busy ⇄ idle → gone).
enum LifecycleMove: String {
    /// `instance.start`: the instance initialises (a cold start).
    case initialise
    case requestStart
    case requestEnd
    /// `instance.stop`.
    case stop
    /// Silent past its deploy model's timeout (frozen and reaped, scaled in, crashed).
    case expire
    /// Any other line from the instance; only a stopped instance cannot log.
    case revive

    /// The state after this move, or nil when the move makes no sense from `state`.
    func next(from state: InstanceState, inFlightAfter: Int) -> InstanceState? {
        switch (self, state) {
        case (.initialise, .gone): return .cold
        case (.initialise, _): return nil
        case (.requestStart, .gone): return nil
        case (.requestStart, _): return .busy
        case (.requestEnd, .busy): return inFlightAfter > 0 ? .busy : .idle
        case (.requestEnd, _): return nil
        case (.stop, .gone): return nil
        case (.stop, _): return .gone
        case (.expire, .gone): return nil
        case (.expire, _): return .gone
        case (.revive, .gone): return nil
        case (.revive, _): return state
        }
    }
}

/// One instance being tracked.
struct InstanceRecord {
    var info: InstanceInfo
    /// `info.service` and `info.instance` as symbols.
    let key: InstanceKey
    /// True once the deploy model was inferred from a platform (successfully or not).
    var platformTried: Bool
    /// The trace of the request that waited for this instance's cold start, once known.
    var coldTrace: Int?
    /// The first request's trace and hop: an `instance.start` arriving late is linked to it.
    var firstRequestTrace: Int?
    /// The latest request's trace: lines with no id on a single-request instance belong to it.
    var lastTrace: Int?
    /// Gone because it fell silent (not stopped): a later line revives it legally.
    var expired = false
}

extension InstanceRecord {
    mutating func update(with e: Event) {
        if e.time > info.lastSeen { info.lastSeen = e.time }
        if e.time < info.firstSeen { info.firstSeen = e.time }
        if info.deploy == nil {
            if let d = e.deploy {
                info.deploy = d
            } else if !platformTried, let p = e.$platform {
                // Inference lower-cases the platform: once per instance, not once per event.
                platformTried = true
                info.deploy = DeployModel.inferred(platform: p.string)
            }
        }
        if info.platform == nil, let p = e.$platform { info.platform = p.string }
        if info.runtime == nil, let r = e.$runtime { info.runtime = r.string }
        if info.region == nil, let r = e.$region { info.region = r.string }
    }
}

/// Every instance seen, keyed by (service, instance), bounded by `maxInstances`.
struct Fleet {
    var records: [InstanceRecord] = []
    /// Keyed by symbols (cheaper than hashing names, and than scanning a cache of recent instances,
    /// which missed whenever more instances interleave than it holds).
    private var index: [InstanceKey: Int] = [:]
    var illegal = 0
    var illegalByMove: [String: Int] = [:]
    var evicted = 0

    var count: Int { records.count }

    /// The record for an event's instance, created on first sight.
    mutating func lookup(service: Symbol, instance: Symbol, at t: Timestamp, created: inout Bool) -> Int {
        let key = InstanceKey(service: service, instance: instance)
        let i: Int
        if let found = index[key] {
            i = found
        } else {
            let info = InstanceInfo(service: service.string, instance: instance.string, state: .idle, firstSeen: t)
            records.append(InstanceRecord(info: info, key: key, platformTried: false))
            i = records.count - 1
            index[key] = i
            created = true
        }
        return i
    }

    func find(service: Symbol, instance: Symbol) -> Int? {
        index[InstanceKey(service: service, instance: instance)]
    }

    /// Instance facts every event refreshes.
    mutating func touch(_ i: Int, _ e: Event) {
        records[i].update(with: e)
    }

    mutating func setDBOpen(_ i: Int, _ n: Int) {
        records[i].info.dbOpen = n
        if n > records[i].info.dbPeak { records[i].info.dbPeak = n }
    }

    /// Applies a lifecycle move; an illegal one is counted and leaves a sensible state.
    mutating func move(_ i: Int, _ m: LifecycleMove) {
        let from = records[i].info.state
        if let to = m.next(from: from, inFlightAfter: records[i].info.inFlight) {
            records[i].info.state = to
            return
        }
        illegal += 1
        illegalByMove["\(from.rawValue)→\(m.rawValue)", default: 0] += 1
        // Recover towards what the event says happened.
        switch m {
        case .initialise: break
        case .requestStart: records[i].info.state = .busy
        case .requestEnd: if from != .gone { records[i].info.state = records[i].info.inFlight > 0 ? .busy : .idle }
        case .stop, .expire: records[i].info.state = .gone
        case .revive: records[i].info.state = records[i].info.inFlight > 0 ? .busy : .idle
        }
    }

    /// Silence after which an instance counts as gone: edge isolates are evicted within a minute,
    /// Lambda reaps frozen environments after several minutes, a quiet server is probably gone in five.
    static func silenceTimeoutMS(_ deploy: DeployModel?) -> Double {
        switch deploy {
        case .edge: 60_000
        case .serverless: 600_000
        case .server, nil: 300_000
        }
    }

    /// Drops gone instances first, then the longest silent, until within `limit`.
    /// Returns the removed records so the caller can release what they held.
    mutating func evict(downTo limit: Int) -> [InstanceRecord] {
        guard records.count > limit else { return [] }
        let order = records.indices.sorted { a, b in
            let ga = records[a].info.state == .gone, gb = records[b].info.state == .gone
            if ga != gb { return ga }
            return (records[a].info.lastSeen, a) < (records[b].info.lastSeen, b)
        }
        let removeCount = records.count - limit
        var remove = [Bool](repeating: false, count: records.count)
        for k in 0..<removeCount { remove[order[k]] = true }
        var kept: [InstanceRecord] = []
        var gone: [InstanceRecord] = []
        kept.reserveCapacity(limit)
        for i in records.indices {
            if remove[i] { gone.append(records[i]) } else { kept.append(records[i]) }
        }
        records = kept
        index = [:]
        for (i, r) in records.enumerated() {
            index[r.key] = i
        }
        evicted += gone.count
        return gone
    }
}

/// Cold starts: counts, breakdowns, init times, the latency penalty and the cascade window.
struct ColdStartBook {
    var count = 0
    var inferred = 0
    var byRuntime: [String: Int] = [:]
    var byService: [String: Int] = [:]
    var initMS = LatencyDigest()
    var coldLatency = LatencyDigest()
    var warmLatency = LatencyDigest()
    var series: BucketSeries
    /// Newest last; bounded.
    var recent: Deque<ColdStart> = []
    var recentTraceSerials: Deque<Int?> = []
    static let recentLimit = 50

    init(config: EngineConfig) {
        series = BucketSeries(bucketMS: config.seriesBucketMS, length: config.seriesLength, mode: .counter)
    }

    mutating func record(_ cs: ColdStart, traceSerial: Int?) {
        count += 1
        if cs.inferred { inferred += 1 }
        byRuntime[cs.runtime ?? "unknown", default: 0] += 1
        byService[cs.service, default: 0] += 1
        if let ms = cs.initMS { initMS.add(ms) }
        series.add(1, at: cs.at)
        recent.append(cs)
        recentTraceSerials.append(traceSerial)
        if recent.count > ColdStartBook.recentLimit {
            recent.removeFirst()
            recentTraceSerials.removeFirst()
        }
    }

    /// An inferred cold start turned out to be logged (its `instance.start` arrived late).
    mutating func confirm(service: String, instance: String, initMS ms: Double?, at: Timestamp) {
        inferred = max(0, inferred - 1)
        if let ms { initMS.add(ms) }
        for i in recent.indices where recent[i].service == service && recent[i].instance == instance {
            recent[i].inferred = false
            recent[i].initMS = ms
            recent[i].at = min(recent[i].at, at)
        }
    }

    mutating func link(service: String, instance: String, traceSerial: Int, traceID: String) {
        for i in recent.indices where recent[i].service == service && recent[i].instance == instance {
            recent[i].traceID = traceID
            recentTraceSerials[i] = traceSerial
        }
    }
}
