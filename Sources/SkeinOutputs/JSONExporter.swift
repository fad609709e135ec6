import CSkeinSys
import Dispatch
import SkeinCore
import SkeinEngine

/// Renders a `Snapshot` as one JSON document (`skein export --format json`).
///
/// The schema is fixed and documented member by member below; every member is always present
/// (unknown values are `null`, empty groups `{}` or `[]`) so that `jq` paths never miss. Times are
/// RFC 3339 UTC with milliseconds, durations are milliseconds with at most three decimals.
/// Trace summaries are written oldest first (by start, then id): a file reads as a timeline,
/// whatever order the engine kept them in.
public struct JSONExporter {
    public var pretty: Bool
    /// Buffered bytes are handed to the sink whenever this many have accumulated.
    public var chunkSize: Int

    /// Trace lists at least this long are rendered on two threads.
    public var parallelThreshold: Int
    /// Traces rendered per round of two parts (bounds the memory held by rendered parts: 4,096
    /// summaries take about 3 MB; rounds of 16,384 made the 1M export's peak 11 MB higher, for no
    /// difference in time).
    public var parallelRound: Int

    public init(pretty: Bool = false, chunkSize: Int = 256 * 1024, parallelThreshold: Int = 4096,
                parallelRound: Int = 4_096) {
        self.pretty = pretty
        self.chunkSize = chunkSize
        self.parallelThreshold = max(2, parallelThreshold)
        self.parallelRound = max(2, parallelRound)
    }

    /// Streams the document to `sink` in chunks, ending with a newline.
    public func write(_ snapshot: Snapshot, to sink: ByteSink) throws {
        var w = JSONWriter(pretty: pretty, capacity: chunkSize + 64 * 1024)
        w.beginObject()

        w.key("input")
        Self.writeInput(snapshot.input, into: &w)

        w.key("traces")
        w.beginObject()
        w.key("count"); w.int(snapshot.traces.count)
        w.key("complete"); w.int(snapshot.traces.complete)
        w.key("errors"); w.int(snapshot.traces.errors)
        w.endObject()

        w.key("trace_summaries")
        w.beginArray()
        try writeTraceSummaries(snapshot.recentTraces, into: &w, sink: sink)
        w.endArray()

        w.key("instances")
        Self.writeInstances(snapshot.instances, into: &w)
        if w.byteCount >= chunkSize { try w.drain(to: sink) }

        w.key("cold_starts")
        Self.writeColdStarts(snapshot.coldStarts, into: &w)

        w.key("db")
        Self.writeDB(snapshot.db, into: &w)
        if w.byteCount >= chunkSize { try w.drain(to: sink) }

        w.key("routes")
        w.beginArray()
        for r in snapshot.routes {
            w.beginObject()
            w.key("route"); w.string(r.route)
            w.key("service"); w.string(r.service)
            w.key("count"); w.int(r.count)
            w.key("errors"); w.int(r.errors)
            w.key("p50_ms"); w.double(r.latencyMS.p50)
            w.key("p95_ms"); w.double(r.latencyMS.p95)
            w.key("p99_ms"); w.double(r.latencyMS.p99)
            w.endObject()
        }
        w.endArray()

        w.key("insights")
        w.beginArray()
        for insight in snapshot.insights {
            w.beginObject()
            Self.writeInsightFields(insight, into: &w)
            w.endObject()
        }
        w.endArray()

        w.key("evicted")
        w.beginObject()
        w.key("traces"); w.int(snapshot.evicted.traces)
        w.key("instances"); w.int(snapshot.evicted.instances)
        w.key("lines"); w.int(snapshot.evicted.lines)
        w.endObject()

        w.endObject()
        w.raw("\n")
        try w.drain(to: sink)
    }

    /// The `trace_summaries` items, oldest first. A long list (an export of a big file has a hundred
    /// thousand and more) is rendered in rounds of two parts on two threads: at the end of an
    /// export the reader thread is idle, and this is the longest single step left. Each part is
    /// written by a continuing writer, so the bytes are the same as one writer's.
    private func writeTraceSummaries(_ traces: [TraceSummary], into w: inout JSONWriter, sink: ByteSink) throws {
        let order = Self.chronologicalOrder(traces)
        var at = 0
        // Bytes per summary, measured on each round: the next round's parts are allocated at their
        // size instead of doubling there (which copied each part's bytes about once more).
        var perSummary = 1024
        // The two parts' buffers go from round to round: new ones each time were fresh memory
        // faulted in page by page, some 30 MB over a long report.
        let parts = RenderedParts()
        while at < order.count {
            let left = order.count - at
            if left < parallelThreshold {
                var compact = CompactTraceWriter()
                try traces.withUnsafeBufferPointer { all in
                    for i in order[at...] {
                        Self.writeTrace(all.baseAddress! + i, into: &w, compact: &compact)
                        if w.byteCount >= chunkSize { try w.drain(to: sink) }
                    }
                }
                return
            }
            let round = min(left, parallelRound)
            let half = round / 2
            let bounds = [(at, at + half), (at + half, at + round)]
            let pretty = pretty, depth = w.depth
            // The larger part's measured size, an eighth more for summaries longer than the last round's.
            let capacity = max(chunkSize, (round - half) * perSummary * 9 / 8) + 64 * 1024
            try w.drain(to: sink)
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let (from, to) = bounds[k]
                var part = JSONWriter(continuingArrayAt: depth, membersBefore: from, pretty: pretty,
                                      buffer: parts.spare(k, capacity: capacity))
                var compact = CompactTraceWriter()
                traces.withUnsafeBufferPointer { all in
                    let base = all.baseAddress!
                    for j in from..<to {
                        // Ahead of the writer: the summaries (a dozen on), then what they point
                        // to (half a dozen on), whose addresses are read from the summaries then.
                        if j + 12 < to { SummaryPrefetch.summary(base + order[j + 12]) }
                        if j + 6 < to { SummaryPrefetch.referenced(base + order[j + 6]) }
                        Self.writeTrace(base + order[j], into: &part, compact: &compact)
                    }
                }
                parts.store(part.takeBuffer(), at: k)
            }
            perSummary = max(64, (parts.byteCount + round - 1) / round)
            for k in 0..<2 { try parts.write(k, to: sink) }
            w.appendRendered(members: round)
            at += round
        }
    }

    /// The whole document in memory (tests, small snapshots).
    public func render(_ snapshot: Snapshot) -> [UInt8] {
        let sink = MemorySink()
        // A MemorySink never throws.
        try? write(snapshot, to: sink)
        return sink.bytes
    }

    // MARK: Shared with TracePrinter (one definition of a trace and an insight as JSON)

    /// The members of one `trace_summaries` item, written into an object the caller opened.
    /// One element of `trace_summaries`: compact writers take `CompactTraceWriter`'s path (the same
    /// text, without the general writer's bookkeeping per member).
    private static func writeTrace(_ t: UnsafePointer<TraceSummary>, into w: inout JSONWriter,
                                   compact: inout CompactTraceWriter) {
        if w.pretty {
            w.beginObject()
            writeTraceFields(t.pointee, into: &w)
            w.endObject()
        } else {
            w.rawValue { compact.write(t, to: &$0) }
        }
    }

    public static func writeTraceFields(_ t: TraceSummary, into w: inout JSONWriter) {
        w.key("id"); w.string(t.id)
        w.key("aliases"); w.strings(t.aliases)
        w.key("start"); w.timestamp(t.start)
        w.key("duration_ms"); w.double(t.durationMS)
        w.key("root")
        w.beginObject()
        w.key("service"); w.string(t.rootService)
        w.key("route"); w.string(t.rootRoute)
        w.key("method"); w.string(t.rootMethod)
        w.endObject()
        w.key("status"); w.int(t.status)
        w.key("hops")
        w.beginArray()
        for h in t.hops {
            w.beginObject()
            w.key("service"); w.string(h.service)
            w.key("deploy"); w.string(h.deploy?.rawValue)
            w.key("instance"); w.string(h.instance)
            w.key("offset_ms"); w.double(h.offsetMS)
            w.key("duration_ms"); w.double(h.durationMS)
            w.key("status"); w.int(h.status)
            w.key("span_id"); w.spanID(h.span)
            w.key("parent"); w.int(h.parent)
            w.key("critical"); w.bool(h.onCriticalPath)
            w.endObject()
        }
        w.endArray()
        w.key("cold_start")
        w.beginObject()
        w.key("hit"); w.bool(t.coldStart)
        w.key("init_ms"); w.double(t.coldStartInitMS)
        w.endObject()
        w.key("db_wait_ms"); w.double(t.dbWaitMS)
        w.key("flags"); w.strings(t.flags.names)
        w.key("complete"); w.bool(t.complete)
    }

    /// The members of one `insights` item, written into an object the caller opened.
    public static func writeInsightFields(_ i: Insight, into w: inout JSONWriter) {
        w.key("kind"); w.string(i.kind.rawValue)
        w.key("severity"); w.string(i.severity.rawValue)
        w.key("first_at"); w.timestamp(i.firstAt)
        w.key("last_at"); w.timestamp(i.lastAt)
        w.key("count"); w.int(i.count)
        w.key("message"); w.string(i.message)
        w.key("evidence")
        w.beginArray()
        for e in i.evidence {
            w.beginObject()
            w.key("at"); w.timestamp(e.at)
            w.key("service"); w.string(e.service)
            w.key("instance"); w.string(e.instance)
            w.key("trace_id"); w.string(e.traceID)
            w.key("detail"); w.string(e.detail)
            w.endObject()
        }
        w.endArray()
    }

    // MARK: Sections

    /// Indices of `traces` by start, then id: sorting indices keeps 100k summaries where they are.
    static func chronologicalOrder(_ traces: [TraceSummary]) -> [Int] {
        // By start, then id, then position: the starts are radix-sorted (stable, so equal starts keep
        // their positions; a comparison sort took 600 to 1,000 instructions per trace), then each
        // run of equal starts, rarely longer than one, is sorted by id.
        let n = traces.count
        guard n > 1 else { return Array(traces.indices) }
        var low = Int64.max, high = Int64.min
        for t in traces {
            low = min(low, t.start.nanos)
            high = max(high, t.start.nanos)
        }
        let span = UInt64(bitPattern: high &- low)
        var order = Array(0..<n)
        // The starts as offsets from the earliest, sorted along with `order`.
        var keys = traces.map { UInt64(bitPattern: $0.start.nanos &- low) }
        if span > 0 {
            var nextOrder = order, nextKeys = keys
            var counts = [Int](repeating: 0, count: 1 << 16)
            var shift: UInt64 = 0
            while shift < 64 && span >> shift != 0 {
                Self.radixPass(shift: shift, keys: keys, order: order, into: &nextKeys, &nextOrder, counts: &counts)
                swap(&order, &nextOrder)
                swap(&keys, &nextKeys)
                shift += 16
            }
        }
        var i = 0
        while i < n {
            var j = i + 1
            while j < n && keys[j] == keys[i] { j += 1 }
            if j - i > 1 {
                order[i..<j].sort { a, b in
                    let x = traces[a].id, y = traces[b].id
                    return x != y ? x < y : a < b
                }
            }
            i = j
        }
        return order
    }

    /// One stable pass of an LSD radix sort on 16 bits of `keys` from `shift`, carrying `order`.
    private static func radixPass(shift: UInt64, keys: [UInt64], order: [Int],
                                  into nextKeys: inout [UInt64], _ nextOrder: inout [Int], counts: inout [Int]) {
        keys.withUnsafeBufferPointer { k in
            order.withUnsafeBufferPointer { o in
                nextKeys.withUnsafeMutableBufferPointer { nk in
                    nextOrder.withUnsafeMutableBufferPointer { no in
                        counts.withUnsafeMutableBufferPointer { c in
                            c.update(repeating: 0)
                            for x in k { c[Int(truncatingIfNeeded: (x >> shift) & 0xffff)] += 1 }
                            var sum = 0
                            for d in 0..<c.count {
                                let x = c[d]
                                c[d] = sum
                                sum += x
                            }
                            for i in 0..<k.count {
                                let d = Int(truncatingIfNeeded: (k[i] >> shift) & 0xffff)
                                let to = c[d]
                                nk[to] = k[i]
                                no[to] = o[i]
                                c[d] = to + 1
                            }
                        }
                    }
                }
            }
        }
    }

    private static func writeInput(_ input: InputStats, into w: inout JSONWriter) {
        w.beginObject()
        w.key("lines"); w.int(input.lines)
        w.key("events"); w.int(input.events)
        w.key("malformed"); w.int(input.malformed)
        w.key("dropped"); w.int(input.dropped)
        w.key("malformed_by_reason"); w.counts(input.malformedByReason)
        w.key("sources")
        w.beginArray()
        for s in input.sources {
            w.beginObject()
            w.key("name"); w.string(s.name)
            w.key("lines"); w.int(s.lines)
            w.key("events"); w.int(s.events)
            w.key("malformed"); w.int(s.malformed)
            w.key("formats"); w.counts(s.formats)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    private static func writeInstances(_ instances: [InstanceInfo], into w: inout JSONWriter) {
        var edge = 0, serverless = 0, server = 0
        for i in instances {
            switch i.deploy {
            case .edge: edge += 1
            case .serverless: serverless += 1
            case .server: server += 1
            case nil: break
            }
        }
        w.beginObject()
        w.key("count"); w.int(instances.count)
        w.key("by_deploy")
        w.beginObject()
        w.key("edge"); w.int(edge)
        w.key("serverless"); w.int(serverless)
        w.key("server"); w.int(server)
        w.endObject()
        w.key("list")
        w.beginArray()
        for i in instances {
            w.beginObject()
            w.key("service"); w.string(i.service)
            w.key("instance"); w.string(i.instance)
            w.key("deploy"); w.string(i.deploy?.rawValue)
            w.key("platform"); w.string(i.platform)
            w.key("runtime"); w.string(i.runtime)
            w.key("region"); w.string(i.region)
            w.key("state"); w.string(i.state.rawValue)
            w.key("first_seen"); w.timestamp(i.firstSeen)
            w.key("last_seen"); w.timestamp(i.lastSeen)
            w.key("invocations"); w.int(i.invocations)
            w.key("cold_start")
            if let c = i.coldStart {
                w.beginObject()
                w.key("at"); w.timestamp(c.at)
                w.key("init_ms"); w.double(c.initMS)
                w.key("inferred"); w.bool(c.inferred)
                w.endObject()
            } else {
                w.null()
            }
            w.key("db_open"); w.int(i.dbOpen)
            w.key("db_peak"); w.int(i.dbPeak)
            w.key("db_errors"); w.int(i.dbErrors)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    private static func writeColdStarts(_ c: ColdStartStats, into w: inout JSONWriter) {
        w.beginObject()
        w.key("count"); w.int(c.count)
        w.key("inferred"); w.int(c.inferred)
        w.key("by_runtime"); w.counts(c.byRuntime)
        w.key("by_service"); w.counts(c.byService)
        w.key("init_ms")
        w.beginObject()
        w.key("p50"); w.double(c.initMS.p50)
        w.key("p95"); w.double(c.initMS.p95)
        w.key("max"); w.double(c.initMS.max)
        w.endObject()
        w.key("latency_penalty")
        w.beginObject()
        w.key("cold_p95_ms"); w.double(c.coldLatencyMS.p95)
        w.key("warm_p95_ms"); w.double(c.warmLatencyMS.p95)
        w.key("penalty_p95_ms"); w.double(c.penaltyP95MS)
        w.key("cold_requests"); w.int(c.coldLatencyMS.count)
        w.key("warm_requests"); w.int(c.warmLatencyMS.count)
        w.endObject()
        w.endObject()
    }

    private static func writeDB(_ db: DBStats, into w: inout JSONWriter) {
        w.beginObject()
        w.key("open"); w.int(db.open)
        w.key("server_truth"); w.bool(db.serverTruth)
        w.key("peak_open"); w.int(db.peakOpen)
        w.key("peak_at"); w.timestamp(db.peakAt)
        w.key("max_connections"); w.int(db.maxConnections)
        w.key("max_source"); w.string(db.maxSource?.rawValue)
        w.key("superuser_reserved_connections"); w.int(db.reservedConnections)
        w.key("reserved_connections"); w.int(db.rolesReservedConnections)
        w.key("errors"); w.int(db.errors)
        w.key("errors_by_kind"); w.counts(db.errorsByKind)
        w.key("first_exhaustion_at"); w.timestamp(db.firstExhaustionAt)
        w.key("pool_waits")
        w.beginObject()
        w.key("count"); w.int(db.poolWaits)
        w.key("p50_ms"); w.double(db.poolWait.p50)
        w.key("p95_ms"); w.double(db.poolWait.p95)
        w.key("max_ms"); w.double(db.poolWait.max)
        w.endObject()
        w.key("by_service"); w.counts(db.byService)
        w.key("by_application"); w.counts(db.byApplication)
        w.key("pooler")
        if let p = db.pooler { writePooler(p, into: &w) } else { w.null() }
        w.endObject()
    }

    /// PgBouncer's pools: the latest reading, and per pool the worst queue seen.
    private static func writePooler(_ p: PoolerStats, into w: inout JSONWriter) {
        w.beginObject()
        w.key("sampled_at"); w.timestamp(p.sampledAt)
        w.key("clients_active"); w.int(p.clientsActive)
        w.key("clients_waiting"); w.int(p.clientsWaiting)
        w.key("servers_active"); w.int(p.serversActive)
        w.key("servers_idle"); w.int(p.serversIdle)
        w.key("max_wait_ms"); w.double(p.maxWaitMS)
        w.key("peak_waiting"); w.int(p.peakWaiting)
        w.key("peak_waiting_at"); w.timestamp(p.peakWaitingAt)
        w.key("peak_wait_ms"); w.double(p.peakWaitMS)
        w.key("max_client_conn"); w.int(p.maxClientConn)
        w.key("used_clients"); w.int(p.usedClients)
        w.key("default_pool_size"); w.int(p.defaultPoolSize)
        w.key("pools")
        w.beginArray()
        for x in p.pools {
            w.beginObject()
            w.key("pooler"); w.string(x.pooler)
            w.key("database"); w.string(x.database)
            w.key("user"); w.string(x.user)
            w.key("cl_active"); w.int(x.clientsActive)
            w.key("cl_waiting"); w.int(x.clientsWaiting)
            w.key("sv_active"); w.int(x.serversActive)
            w.key("sv_idle"); w.int(x.serversIdle)
            w.key("sv_used"); w.int(x.serversUsed)
            w.key("maxwait_ms"); w.double(x.maxWaitMS)
            w.key("pool_size"); w.int(x.poolSize)
            w.key("pool_mode"); w.string(x.poolMode)
            w.key("peak_waiting"); w.int(x.peakWaiting)
            w.key("peak_wait_ms"); w.double(x.peakWaitMS)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}

/// Buffers rendered on worker threads, each slot written by exactly one of them and read only after
/// `concurrentPerform` returns (which orders the writes before the reads).
private final class RenderedParts: @unchecked Sendable {
    private var first: ByteBuffer?
    private var second: ByteBuffer?
    /// Each part's buffer once written out, emptied, for the next round's part.
    private var spareFirst: ByteBuffer?
    private var spareSecond: ByteBuffer?

    /// An empty buffer for part `k` with room for `capacity` bytes: the last round's, or a new one.
    func spare(_ k: Int, capacity: Int) -> ByteBuffer {
        var b = (k == 0 ? spareFirst.take() : spareSecond.take()) ?? ByteBuffer(capacity: capacity)
        b.reserve(capacity)
        return b
    }

    func store(_ buffer: consuming ByteBuffer, at k: Int) {
        if k == 0 {
            firstCount = buffer.count
            first = .some(buffer)
        } else {
            secondCount = buffer.count
            second = .some(buffer)
        }
    }

    /// Bytes in both parts (each count is its part's slot: one writer each, like the parts).
    var byteCount: Int { firstCount + secondCount }
    private var firstCount = 0
    private var secondCount = 0

    func write(_ k: Int, to sink: ByteSink) throws {
        let taken = k == 0 ? first.take() : second.take()
        guard var b = taken else { return }
        try b.write(to: sink)
        b.removeAll()
        if k == 0 { spareFirst = .some(consume b) } else { spareSecond = .some(consume b) }
    }
}

/// Cache hints for the report's writers. A summary's text lives in other objects (the hops' array,
/// the id's and the aliases' storage), each a cache miss away: about 400 ns a summary on this
/// machine, most of the report's time after the last line. Reading ahead cut that part 53 -> 41 ms
/// for 133k summaries (median of eight runs each). Prefetches are hints: a wrong address is never
/// read or faulted, so the storage layouts assumed here (an array is one pointer to its buffer; a
/// native string's second word holds its storage's address under a 4-bit discriminator, the bytes
/// 32 bytes in) cost nothing where they do not hold.
enum SummaryPrefetch {
    private static let id = MemoryLayout<TraceSummary>.offset(of: \TraceSummary.id)!

    /// The summary itself (three cache lines).
    @inline(__always) static func summary(_ p: UnsafePointer<TraceSummary>) {
        let r = UnsafeRawPointer(p)
        for line in stride(from: 0, to: MemoryLayout<TraceSummary>.size, by: 64) { skein_prefetch(r + line) }
    }

    /// What the summary points to: its hops' arrays, its id's bytes, its aliases.
    @inline(__always) static func referenced(_ p: UnsafePointer<TraceSummary>) {
        let r = UnsafeRawPointer(p)
        TraceSummary.prefetchHops(of: p)
        #if arch(x86_64) || arch(arm64)
        let idStorage = r.load(fromByteOffset: id + 8, as: UInt.self) & 0x0FFF_FFFF_FFFF_FFFF
        skein_prefetch(UnsafeRawPointer(bitPattern: idStorage &+ 32))
        #endif
        TraceSummary.prefetchAliases(of: p)
    }
}
