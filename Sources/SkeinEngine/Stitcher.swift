import Collections
import SkeinCore
import CSkeinSys

/// A queued completion check: when `serial`'s trace may be complete.
struct Deadline: Comparable {
    var due: Timestamp
    var serial: Int
    /// The trace itself, so a check needs no look-up by serial (a trace merged away or evicted
    /// since has no pending due, or is not open: its entry is stale).
    let trace: TraceState
    static func < (a: Deadline, b: Deadline) -> Bool { (a.due, a.serial) < (b.due, b.serial) }
    static func == (a: Deadline, b: Deadline) -> Bool { a.due == b.due && a.serial == b.serial }
}

/// Finished traces with the `finishSeq` they had when queued (see `Stitcher.retained`).
typealias RetainedQueue = Deque<(trace: TraceState, seq: Int)>

/// Groups events into traces and decides when a trace is complete.
///
/// Completion is driven by a heap of deadlines rather than a scan of open traces: each trace keeps
/// one live entry (`pendingDue`); an entry whose time no longer matches is stale and skipped.
/// (Exclusivity checks are off for its state: see `Engine`.)
final class Stitcher {
    let config: EngineConfig
    @exclusivity(unchecked) var traces = SerialMap()
    let linker = Linker()
    @exclusivity(unchecked) var skew = ClockSkew()
    @exclusivity(unchecked) private var nextSerial = 0
    @exclusivity(unchecked) private(set) var openCount = 0
    @exclusivity(unchecked) private var openOrder: Deque<Int> = []
    @exclusivity(unchecked) private var deadlines = Heap<Deadline>()
    /// The earliest deadline's due time (`.max` when there is none), kept beside the heap: asking
    /// the heap for its minimum copies the entry, a reference count on its trace, and most events
    /// only ask whether anything is due.
    @exclusivity(unchecked) private var nextDue = Timestamp(nanos: .max)
    /// Finished traces in completion order; entries whose `finishSeq` no longer matches are stale
    /// (the trace reopened, or was merged away or evicted: both bump it). The trace itself, not its
    /// serial: listing 135k finished traces for an export's report was a dictionary probe each.
    @exclusivity(unchecked) private(set) var retained = RetainedQueue()
    @exclusivity(unchecked) private(set) var liveRetained = 0
    /// The finished traces' summaries, in the order `retained` lists them: a trace's slot is
    /// `summarySlot - summaryBase`. When a `retained` entry goes stale its summary is vacated (left
    /// empty, `eventCount` -1), so the live summaries and the live entries line up one to one.
    ///
    /// Kept together rather than each in its trace object: an export hands all of them over at
    /// the end (`takeSummariesNewestFirst`), and moving 135k summaries out of their traces into a new
    /// array wrote 21 MB of fresh memory after the last line, which this machine took 13 to 60 ms
    /// to fault in.
    @exclusivity(unchecked) private var summaries: [TraceSummary] = []
    /// The slot number of `summaries[0]` (slots handed out before the last take are no longer held).
    @exclusivity(unchecked) private var summaryBase = 0
    @exclusivity(unchecked) private var vacatedSummaries = 0
    /// Where a finishing trace's hops are packed before they are copied out (`FrozenHops`).
    let freezeScratch = FreezeScratch()
    /// Finished traces still holding their lines, oldest first (same staleness rule as `retained`).
    @exclusivity(unchecked) private var withLines: Deque<(serial: Int, seq: Int)> = []

    // Counters for TraceStats and EvictionStats.
    @exclusivity(unchecked) var created = 0
    @exclusivity(unchecked) var merged = 0
    @exclusivity(unchecked) var completeCount = 0
    @exclusivity(unchecked) var errorCount = 0
    @exclusivity(unchecked) var reopened = 0
    @exclusivity(unchecked) var evictedTraces = 0
    @exclusivity(unchecked) var evictedLines = 0

    private let quietNanos: Int64
    private let timeoutNanos: Int64

    init(config: EngineConfig) {
        self.config = config
        quietNanos = Int64((config.quietPeriodMS * 1_000_000).rounded())
        timeoutNanos = Int64((config.traceTimeoutMS * 1_000_000).rounded())
    }

    /// A trace's hops at most (a line past them joins the last hop): as many as `FrozenHops` packs.
    var maxHops: Int { FrozenHops.maxHops }

    func create(now: Timestamp) -> TraceState {
        let t = TraceState(serial: nextSerial, now: now)
        // A trace id, a correlation id and a platform request id: one allocation, not three.
        t.ids.reserveCapacity(3)
        nextSerial += 1
        traces[t.serial] = t
        openCount += 1
        created += 1
        openOrder.append(t.serial)
        schedule(t, due: now.adding(nanos: quietNanos))
        return t
    }

    func schedule(_ t: TraceState, due: Timestamp) {
        if let p = t.pendingDue, p <= due { return }
        t.pendingDue = due
        deadlines.insert(Deadline(due: due, serial: t.serial, trace: t))
        if due < nextDue { nextDue = due }
    }

    /// Notes activity on a trace; an ended hop may make it complete after the quiet period.
    func touch(_ t: TraceState, now: Timestamp, endedHop: Bool) {
        t.lastActivity = max(t.lastActivity, now)
        t.eventCount += 1
        if endedHop { schedule(t, due: now.adding(nanos: quietNanos)) }
    }

    /// Appends a line to the trace, within its budget.
    func addLine(_ line: TraceLine, hop: Int, to t: TraceState) {
        if t.lines.count < config.maxLinesPerTrace {
            if t.lines.isEmpty {
                // Most traces have a handful of lines: one allocation instead of four.
                t.lines.reserveCapacity(min(8, config.maxLinesPerTrace))
                t.lineHops.reserveCapacity(min(8, config.maxLinesPerTrace))
            }
            t.lines.append(line)
            t.lineHops.append(Int32(hop))
        } else {
            t.droppedLines += 1
            evictedLines += 1
        }
    }

    /// A line the trace does not keep (`EngineConfig.keepsTraceLines` off): counted against the same
    /// per-trace budget, so evictions read as they would with lines kept.
    func countLine(to t: TraceState) {
        if t.linesNotKept < config.maxLinesPerTrace && t.linesNotKept < Int32.max {
            t.linesNotKept += 1
        } else {
            t.droppedLines += 1
            evictedLines += 1
        }
    }

    /// Whether the trace's root has ended and nothing else is still in flight.
    func rootEnded(_ t: TraceState) -> Bool {
        guard !t.hops.isEmpty else { return false }
        // Nothing changed since the last check (a deadline popped again): same answer.
        if t.rootCheckedAt == Int32(truncatingIfNeeded: t.eventCount) { return t.rootEndedCache }
        var ended = true
        for i in t.hops.indices where t.hops[i].inFlight { ended = false; break }
        if ended {
            // Read through the array's buffer: a copy of the array was a reference count each time.
            ended = t.hops.withUnsafeBufferPointer { hops in
                hops[chooseRoot(hops, offsetMS: { skew.offsetMS(service: hops[$0].service, instance: hops[$0].instance) })]
                    .hasExplicitEnd
            }
        }
        t.rootCheckedAt = Int32(truncatingIfNeeded: t.eventCount)
        t.rootEndedCache = ended
        return ended
    }

    /// The next trace whose completion time has come, if any (open traces only).
    func popDue(now: Timestamp) -> TraceState? {
        while nextDue <= now, let top = deadlines.popMin() {
            nextDue = deadlines.min?.due ?? Timestamp(nanos: .max)
            let t = top.trace
            guard t.phase == .open, t.pendingDue == top.due else { continue }
            t.pendingDue = nil
            let due: Timestamp
            if rootEnded(t) || t.finishSeq > 0 {
                // A reopened trace completes on quiet alone, or late lines would re-emit it forever.
                due = t.lastActivity.adding(nanos: quietNanos)
            } else {
                due = t.firstActivity.adding(nanos: timeoutNanos)
            }
            if due <= now { return t }
            schedule(t, due: due)
        }
        return nil
    }

    /// The oldest open trace, when there are more open traces than the budget allows.
    func popOverflow() -> TraceState? {
        guard openCount > config.maxOpenTraces else { return nil }
        while let s = openOrder.popFirst() {
            if let t = traces[s], t.phase == .open { return t }
        }
        return nil
    }

    /// Every open trace, oldest first (end of input).
    func openTraces() -> [TraceState] {
        var out: [TraceState] = []
        var seen = Set<Int>()
        for s in openOrder {
            if let t = traces[s], t.phase == .open, seen.insert(s).inserted { out.append(t) }
        }
        return out
    }

    /// Moves a trace to the finished list, taking its summary (the caller's is left empty).
    func finish(_ t: TraceState, taking summary: inout TraceSummary) {
        t.phase = .finished
        // Moved, an empty summary left behind: a copy retained (and the caller's later released)
        // each of its strings and arrays.
        var moved = TraceSummary(id: "", start: .zero)
        swap(&moved, &summary)
        t.freeze(moved.frozen)
        // (A trace finishing again left its older summary's slot when it reopened.)
        summaries.append(consume moved)
        if summaries.count & (Stitcher.summaryRoomStep - 1) == 0 { publishSummaryRoom() }
        t.summarySlot = summaryBase + summaries.count - 1
        t.pendingDue = nil
        t.finishSeq += 1
        openCount -= 1
        retained.append((t, t.finishSeq))
        liveRetained += 1
        if let limit = config.retainedTraceLines, !t.lines.isEmpty {
            withLines.append((t.serial, t.finishSeq))
            while withLines.count > limit, let (serial, seq) = withLines.popFirst() {
                guard let old = traces[serial], old.phase == .finished, old.finishSeq == seq else { continue }
                old.droppedLines += old.lines.count
                old.lines = []
                old.lineHops = []
                old.placementShift = []
            }
        }
        // Finished traces leave their serial in the open queue; drop those now and then.
        if openOrder.count > 2 * openCount + 1024 {
            openOrder = Deque(openOrder.filter { traces[$0]?.phase == .open })
        }
    }

    /// Drops the oldest finished traces past the retention budget; their ids are forgotten.
    func evictRetained() {
        guard let limit = config.retainedTraces else { return }
        while liveRetained > limit, let (t, seq) = retained.popFirst() {
            guard t.phase == .finished, t.finishSeq == seq else { continue }
            vacateSummary(of: t)
            linker.forget(t)
            traces.removeValue(forKey: t.serial)
            // Any other entry of it goes stale.
            t.finishSeq += 1
            liveRetained -= 1
            evictedTraces += 1
        }
        // Stale entries are dropped lazily; keep the queue from growing without bound.
        if retained.count > 2 * max(limit, 16) {
            retained = RetainedQueue(retained.filter { $0.trace.phase == .finished && $0.trace.finishSeq == $0.seq })
        }
        // Evicted traces leave their slots at the store's front: close them up once they are half.
        if vacatedSummaries > 16 && vacatedSummaries * 2 > summaries.count { compactSummaries() }
    }

    /// The finished trace's summary (the latest, for one reopened since), if the store holds it.
    func summary(of t: TraceState) -> TraceSummary? {
        let i = t.summarySlot - summaryBase
        return t.summarySlot >= 0 && i >= 0 && i < summaries.count ? summaries[i] : nil
    }

    func reserveSummaries(_ count: Int) {
        summaries.reserveCapacity(summaries.count + max(0, count))
        publishSummaryRoom()
    }

    /// Summaries between two announcements of the store's room to heap population.
    static let summaryRoomStep = 512

    /// Tells heap population (when a process has it on: an export) where the store's room lies
    /// and how far ahead of its filling to populate it: room reserved up front is mapped apart
    /// from the heap, and its pages were faulted in one by one as summaries landed in them (5-7%
    /// of the engine thread's samples). Populated by the threads' steps instead (a third cheaper a
    /// page, and often while one of them waits), 4,096 summaries (640 KB) ahead.
    private func publishSummaryRoom() {
        summaries.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            let stride = MemoryLayout<TraceSummary>.stride
            let raw = UnsafeRawPointer(base)
            let ahead = min(summaries.capacity, b.count + 8 * Stitcher.summaryRoomStep)
            skein_populate_block_ahead(raw, summaries.capacity * stride, raw + b.count * stride, raw + ahead * stride)
        }
    }

    /// Warms the id table for an event about to be resolved (see `IDTable.prefetch`).
    @inline(__always)
    func prefetchIDs(of e: UnsafePointer<Event>) {
        let raw = UnsafeRawPointer(e)
        linker.prefetch(at: (raw + Stitcher.traceIDOffset).assumingMemoryBound(to: String?.self))
        linker.prefetch(at: (raw + Stitcher.correlationIDOffset).assumingMemoryBound(to: String?.self))
    }

    private static let traceIDOffset = MemoryLayout<Event>.offset(of: \Event.traceID)!
    private static let correlationIDOffset = MemoryLayout<Event>.offset(of: \Event.correlationID)!

    func reserveIDs(_ count: Int) {
        linker.reserve(linker.count + max(0, count))
    }

    /// Slots the store holds, vacated ones included.
    var heldSummaries: Int { summaries.count }

    /// Every held summary, newest first, moved out: the store is left empty, and the traces' slots
    /// name nothing any more (`summary(of:)` is nil for them). Works in place (closing up vacated
    /// slots, then reversing), so handing over 135k summaries touches no new memory.
    func takeSummariesNewestFirst() -> [TraceSummary] {
        var out: [TraceSummary] = []
        swap(&out, &summaries)
        summaryBase += out.count
        if vacatedSummaries > 0 {
            out.removeAll { $0.eventCount < 0 }
            vacatedSummaries = 0
        }
        // Element by element as moves: `reverse()` swapped copies, retaining and releasing each
        // summary's strings and arrays (about 30 ms for 135k).
        out.withUnsafeMutableBufferPointer { b in
            guard var lo = b.baseAddress else { return }
            var hi = lo + (b.count - 1)
            while lo < hi {
                let t = lo.move()
                lo.moveInitialize(from: hi, count: 1)
                hi.initialize(to: t)
                lo += 1
                hi -= 1
            }
        }
        return out
    }

    /// Empties the trace's summary slot (its `retained` entry is going stale); the slot stays, so
    /// later ones keep their numbers, until `compactSummaries`.
    private func vacateSummary(of t: TraceState) {
        let i = t.summarySlot - summaryBase
        t.summarySlot = -1
        guard i >= 0 && i < summaries.count else { return }
        summaries[i] = Self.vacated
        vacatedSummaries += 1
    }

    private static let vacated: TraceSummary = {
        var s = TraceSummary(id: "", start: .zero)
        s.eventCount = -1
        return s
    }()

    /// Closes up vacated slots: the live entries of `retained`, in order, are exactly the live
    /// slots' owners, so each is renumbered as its summary moves down.
    private func compactSummaries() {
        guard vacatedSummaries > 0 else { return }
        var w = 0
        for e in retained where e.trace.phase == .finished && e.trace.finishSeq == e.seq {
            let t = e.trace
            let i = t.summarySlot - summaryBase
            guard t.summarySlot >= 0, i >= 0, i < summaries.count else { continue }
            if i != w { summaries.swapAt(i, w) }
            t.summarySlot = summaryBase + w
            w += 1
        }
        summaries.removeSubrange(w...)
        vacatedSummaries = 0
    }

    /// Finished traces still retained, newest first.
    func retainedNewestFirst(limit: Int?) -> [TraceState] {
        var out: [TraceState] = []
        for e in retained.reversed() {
            if let limit, out.count >= limit { break }
            guard e.trace.phase == .finished, e.trace.finishSeq == e.seq else { continue }
            out.append(e.trace)
        }
        return out
    }

    /// A late event for a finished trace opens it again; it will be completed (and emitted) again.
    func reopen(_ t: TraceState, now: Timestamp) {
        guard t.phase == .finished else { return }
        t.thaw()
        t.frozen = FrozenHops()
        t.phase = .open
        // Its `retained` entry goes stale; the summary, read only while it is finished, goes too.
        vacateSummary(of: t)
        openCount += 1
        liveRetained -= 1
        reopened += 1
        openOrder.append(t.serial)
        schedule(t, due: now.adding(nanos: quietNanos))
    }

    /// Folds `from` into `into` (the linker found they name one request).
    func merge(_ from: TraceState, into: TraceState) {
        if into.strongID == nil { into.strongID = from.strongID }
        from.thaw()
        into.thaw()
        linker.move(from, into: into)
        var map: [Int] = []
        map.reserveCapacity(from.hops.count)
        for h in from.hops {
            var found = -1
            for i in into.hops.indices {
                let o = into.hops[i]
                let same = (h.spanID != nil && o.spanID == h.spanID)
                    || (h.spanID == nil && o.spanID == nil && o.service == h.service && o.instance == h.instance)
                if same { found = i; break }
            }
            if found >= 0 {
                into.hops[found].absorb(h)
            } else if into.hops.count >= maxHops {
                // As a line past the limit does (`TraceState.hopIndex`): into the last hop.
                found = into.hops.count - 1
                into.hops[found].absorb(h)
            } else {
                into.hops.append(h)
                found = into.hops.count - 1
            }
            map.append(found)
        }
        for (i, line) in from.lines.enumerated() {
            addLine(line, hop: map[Int(from.lineHops[i])], to: into)
        }
        for _ in 0..<from.linesNotKept { countLine(to: into) }
        into.droppedLines += from.droppedLines
        into.eventCount += from.eventCount
        into.firstActivity = min(into.firstActivity, from.firstActivity)
        into.lastActivity = max(into.lastActivity, from.lastActivity)
        if from.phase == .open { openCount -= 1 } else { liveRetained -= 1 }
        if from.counted {
            completeCount -= 1
            if from.countedError { errorCount -= 1 }
        }
        merged += 1
        // Its completion entries go stale (`popDue` checks the pending due), and so do its entries
        // in the retained queue.
        from.pendingDue = nil
        from.finishSeq += 1
        vacateSummary(of: from)
        traces.removeValue(forKey: from.serial)
        if into.phase == .finished { reopen(into, now: into.lastActivity) }
    }
}

/// Live traces by serial, in an array from the oldest serial still held.
///
/// Serials are handed out in order and a trace is stored once, when it is created, so the next
/// serial always goes at the end; a removed trace leaves an empty slot, and the empty slots at the
/// front are dropped (the array moved down once they are half of it). A dictionary hashed the
/// serial and probed a table on every store and look-up (its store was 1.7 % of the engine
/// thread's samples). Its size is the span of serials still held: bounded retention evicts the
/// oldest finished traces first, and an open trace finishes by its timeout at the latest.
struct SerialMap {
    /// Slot `i` holds serial `base + i - head`; slots before `head` are dropped ones not yet reclaimed.
    private var slots: ContiguousArray<TraceState?> = []
    private var head = 0
    private var base = 0

    /// Traces held.
    private(set) var count = 0

    subscript(_ serial: Int) -> TraceState? {
        get {
            let i = serial - base + head
            return i >= head && i < slots.count ? slots[i] : nil
        }
        set {
            guard let t = newValue else { removeValue(forKey: serial); return }
            store(t, at: serial)
        }
    }

    private mutating func store(_ t: TraceState, at serial: Int) {
        if slots.count == head {
            // Nothing held: start over at this serial.
            slots.removeAll(keepingCapacity: true)
            head = 0
            base = serial
        } else if serial < base {
            // An older serial than any held (not how the stitcher stores them): room at the front.
            slots.insert(contentsOf: repeatElement(nil, count: base - serial), at: head)
            base = serial
        }
        let i = serial - base + head
        while slots.count <= i { slots.append(nil) }
        if slots[i] == nil { count += 1 }
        slots[i] = t
    }

    mutating func removeValue(forKey serial: Int) {
        let i = serial - base + head
        guard i >= head && i < slots.count, slots[i] != nil else { return }
        slots[i] = nil
        count -= 1
        guard i == head else { return }
        // Drop the empty slots at the front, and reclaim them once they are half the array.
        while head < slots.count && slots[head] == nil { head += 1; base += 1 }
        if head == slots.count {
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= slots.count {
            slots.removeSubrange(0..<head)
            head = 0
        }
    }
}
