import SkeinCore

/// One clock: a service's instance (a Lambda log stream, an isolate, a pod); the fleet's key, two
/// symbols, since the skew tables are probed several times per hop at completion.
typealias ClockKey = InstanceKey

/// A name hashed once from its bytes (keys of the per-route table).
struct TextKey: Hashable {
    let name: String
    let fingerprint: UInt64

    init(_ name: String) {
        self.name = name
        fingerprint = FastText.hash(name)
    }

    static func == (a: TextKey, b: TextKey) -> Bool { a.fingerprint == b.fingerprint && a.name == b.name }
    func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
    func _rawHashValue(seed: Int) -> Int { FastText.mix(fingerprint, seed: seed) }
}

/// Clock offsets learned from parent/child pairs: per instance, with a per-service fallback.
///
/// Skew belongs to a host, not to a service: two instances of one service can be ±300 ms apart.
/// Each synchronous pair bounds the difference of the two clocks' corrections from both sides:
/// the child starts at or after its parent's start and (when the parent awaited it) answers at or
/// before its parent's end. Bounds are kept per (parent, child) instance pair over the last
/// `window` samples (the tightest start bound; the tightest end bound that is consistent with it,
/// so an async child that outlives its parent drops out), and each new sample moves both
/// instances' corrections half-way into their pair's bounds. Moving both keeps the corrections
/// centred (there is no absolute clock to align to) and lets a root, which has no parent, be
/// corrected by its children. An instance with fewer than `minInstanceSamples` samples uses its
/// service's running median (the smallest shift into the parent per pair, as before).
struct ClockSkew {
    static let window = 31
    static let minInstanceSamples = 3
    /// Most instance pairs (and instances) kept; each pair is a few hundred bytes.
    static let maxPairs = 50_000
    private struct Estimate {
        /// The last `window` shifts in arrival order, and the same values kept sorted.
        var ring: [Double] = []
        var sorted: [Double] = []
        var next = 0
        var value: Double = 0

        mutating func add(_ x: Double) {
            if ring.count < ClockSkew.window {
                ring.append(x)
            } else {
                let old = ring[next]
                ring[next] = x
                next = (next + 1) % ClockSkew.window
                if let i = sorted.firstIndex(of: old) { sorted.remove(at: i) }
            }
            var i = sorted.count
            while i > 0 && sorted[i - 1] > x { i -= 1 }
            sorted.insert(x, at: i)
            value = sorted[sorted.count / 2]
        }
    }

    /// Bounds on `correction(child) - correction(parent)` from one instance pair's recent samples.
    private struct PairBounds {
        var lows: [Double] = []
        var highs: [Double] = []
        var next = 0
        var low = -Double.infinity
        var high = Double.infinity

        mutating func add(low l: Double, high h: Double) {
            if lows.count < ClockSkew.window {
                lows.append(l); highs.append(h)
            } else {
                lows[next] = l; highs[next] = h
                next = (next + 1) % ClockSkew.window
            }
            low = lows.max() ?? -Double.infinity
            high = Double.infinity
            for x in highs where x >= low && x < high { high = x }
        }
    }

    private struct InstanceEstimate {
        var value: Double
        var samples = 0
    }

    private var byService: [Symbol: Estimate] = [:]
    private var byInstance: [ClockKey: InstanceEstimate] = [:]
    private var pairs: [PairKey: PairBounds] = [:]

    private struct PairKey: Hashable {
        var parent: ClockKey
        var child: ClockKey
        func hash(into hasher: inout Hasher) { hasher.combine(parent.fingerprint &* 0x9e37_79b9 &+ child.fingerprint) }
        func _rawHashValue(seed: Int) -> Int {
            FastText.mix(parent.fingerprint &* 0x9e37_79b9 &+ child.fingerprint, seed: seed)
        }
    }

    func offsetMS(_ service: Symbol) -> Double {
        // Most fleets never need a correction: skip the lookup.
        if byService.isEmpty { return 0 }
        return byService[service]?.value ?? 0
    }

    /// The correction for one instance's clock, or its service's while the instance has few samples.
    func offsetMS(service: Symbol, instance: Symbol?) -> Double {
        if byInstance.isEmpty { return offsetMS(service) }
        if let instance, let e = byInstance[ClockKey(service: service, instance: instance)],
           e.samples >= ClockSkew.minInstanceSamples {
            return e.value
        }
        return offsetMS(service)
    }

    /// The correction for a hop's clock.
    func offsetMS(_ hop: HopState) -> Double { offsetMS(service: hop.service, instance: hop.instance) }

    mutating func learn(service: Symbol, shiftMS: Double) {
        guard shiftMS.isFinite else { return }
        byService[service, default: Estimate()].add(shiftMS)
    }

    /// Learns from one parent/child pair on two clocks, from raw (uncorrected) milliseconds.
    ///
    /// `childAnsweredMS` is when the child's response went out (its end when it did not say):
    /// work after the response is not something the parent waited for. `synchronous` says the
    /// parent awaited the child, so the end bound applies.
    mutating func learn(parent: ClockKey, child: ClockKey,
                        parentStartMS: Double, parentEndMS: Double,
                        childStartMS: Double, childAnsweredMS: Double, synchronous: Bool) {
        let low = parentStartMS - childStartMS
        let high = synchronous && (childAnsweredMS - childStartMS) <= (parentEndMS - parentStartMS)
            ? parentEndMS - childAnsweredMS : Double.infinity
        guard low.isFinite, !high.isNaN else { return }
        // Bounded: instances come and go (every cold start is a new clock). Past the cap, start
        // over; the per-service medians carry the correction while instances re-learn.
        if pairs.count >= ClockSkew.maxPairs || byInstance.count >= ClockSkew.maxPairs {
            pairs.removeAll(keepingCapacity: true)
            byInstance.removeAll(keepingCapacity: true)
        }
        let key = PairKey(parent: parent, child: child)
        var b = pairs[key] ?? PairBounds()
        b.add(low: low, high: high)
        pairs[key] = b
        // Aim inside the bounds, not onto them: a quarter of the room, at most 2 ms, from each side.
        let margin = b.high.isFinite ? min(2, (b.high - b.low) / 4) : 0
        var p = byInstance[parent] ?? InstanceEstimate(value: offsetMS(parent.service))
        var c = byInstance[child] ?? InstanceEstimate(value: offsetMS(child.service))
        let r = c.value - p.value
        var delta = 0.0
        if r < b.low + margin {
            delta = b.low + margin - r
        } else if r > b.high - margin {
            delta = b.high - margin - r
        }
        c.value += delta / 2
        p.value -= delta / 2
        c.samples += 1
        p.samples += 1
        byInstance[child] = c
        byInstance[parent] = p
    }

    /// The smallest shift of a child's clock that puts it inside its parent.
    static func shift(parentStart: Double, parentEnd: Double, childStart: Double, childEnd: Double) -> Double {
        let lo = parentStart - childStart
        let synchronous = (childEnd - childStart) <= (parentEnd - parentStart)
        let hi = synchronous ? parentEnd - childEnd : Double.infinity
        if lo > 0 { return lo }
        if hi < 0 { return max(hi, lo) }
        return 0
    }
}

/// The hop a trace starts from.
///
/// Span ids decide when they can: a span without a parent, else one whose parent is not in the
/// trace. Without them the choice is a judgement: an edge hop is the entry point of a hybrid
/// request; otherwise the earliest hop (on skew-corrected clocks), unless a longer hop that starts
/// 50 ms–2 s after it could contain it with a clock shift: then the earlier one is a child whose
/// clock runs behind. A child starting a few ms after its caller (the usual network gap, or a
/// function still running after its caller timed out) never takes the root's place.
func chooseRoot(_ hops: UnsafeBufferPointer<HopState>, offsetMS: (Int) -> Double) -> Int {
    let n = hops.count
    guard n > 1 else { return 0 }
    // Scratch on the stack: this runs for every completion check, and heap arrays dominated it.
    return withUnsafeTemporaryAllocation(of: RootCandidate.self, capacity: n) { c in
        var maxTier: Int8 = 0
        for i in 0..<n {
            var tier: Int8 = 2
            if hops[i].parentSpanID != nil {
                tier = 1
                for j in 0..<n where SpanID.bothEqual(hops[j].spanID, hops[i].parentSpanID) { tier = 0; break }
            }
            c.initializeElement(at: i, to: RootCandidate(tier: tier))
            maxTier = max(maxTier, tier)
        }
        var anyEdge = false
        for i in 0..<n where c[i].tier == maxTier && hops[i].deploy == .edge { anyEdge = true; break }
        for i in 0..<n { c[i].eligible = c[i].tier == maxTier && (!anyEdge || hops[i].deploy == .edge) }
        var anyMeasured = false
        for i in 0..<n where c[i].eligible && hops[i].start != nil && hops[i].hasExplicitEnd { anyMeasured = true; break }
        let base = hops[0].rawStart
        for i in 0..<n where c[i].eligible {
            if anyMeasured && !(hops[i].start != nil && hops[i].hasExplicitEnd) { c[i].eligible = false; continue }
            // The skew offset is a dictionary probe: once per hop.
            c[i].start = hops[i].rawStart.ms(since: base) + offsetMS(i)
            c[i].length = hops[i].rawEnd.ms(since: hops[i].rawStart)
        }
        var a = -1
        for i in 0..<n where c[i].eligible {
            if a < 0 || c[i].start < c[a].start || (c[i].start == c[a].start && c[i].length > c[a].length) { a = i }
        }
        guard a >= 0 else { return 0 }
        var best = a
        for b in 0..<n where b != a && c[b].eligible {
            let gap = c[b].start - c[a].start
            let fits = c[a].length <= c[b].length && c[a].start + c[a].length <= c[b].start + c[b].length
            if gap > 50 && gap <= 2_000 && fits && c[b].length > c[best].length { best = b }
        }
        return best
    }
}

/// Scratch for `chooseRoot`.
private struct RootCandidate {
    var tier: Int8
    var eligible = false
    var start: Double = 0
    var length: Double = 0
}

/// What the stitcher hands back for a trace: its summary and how to place its lines.
struct StitchedTrace {
    var summary: TraceSummary
    /// The earliest raw start: line offsets are measured from it.
    var base: Timestamp
    /// Per hop (by `TraceState.hops` index): skew offset plus clamp shift minus the trace start.
    var hopShiftMS: [Double]
}

/// Per-hop working values while stitching (one array, so a trace costs few allocations).
private struct HopCalc {
    var rawStart: Double
    var rawEnd: Double
    var offset: Double = 0
    var start: Double = 0
    var end: Double = 0
    var parent = -1
    var firstChild = -1
    var nextSibling = -1
    var shift: Double = 0
    var critical = false
    var newIndex = -1
}

extension Stitcher {
    /// Builds a trace's summary: parents, skew correction, waterfall offsets, critical path, flags.
    ///
    /// `learn` feeds this trace's parent/child pairs into the skew estimate (completion only, so a
    /// detail view of an open trace never changes the engine's state).
    /// `placesLines`: whether the result's `hopShiftMS` is wanted (to place the trace's lines); when
    /// not (a trace that keeps no lines), it is left empty.
    func stitch(_ t: TraceState, complete: Bool, incomplete: Bool, learn: Bool, placesLines: Bool = true) -> StitchedTrace {
        // Scratch on the stack: per-trace heap arrays were most of the cost of completing a trace.
        let n = max(1, t.hops.count)
        return withUnsafeTemporaryAllocation(of: HopCalc.self, capacity: n) { c in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: n) { pre in
                withUnsafeTemporaryAllocation(of: PlacedHop.self, capacity: n) { placed in
                    stitch(t, complete: complete, incomplete: incomplete, learn: learn, placesLines: placesLines,
                           c: c, pre: pre, placed: placed)
                }
            }
        }
    }

    private func stitch(_ t: TraceState, complete: Bool, incomplete: Bool, learn: Bool, placesLines: Bool,
                        c: UnsafeMutableBufferPointer<HopCalc>, pre: UnsafeMutableBufferPointer<Int>,
                        placed: UnsafeMutableBufferPointer<PlacedHop>) -> StitchedTrace {
        let hops = t.hops
        let n = hops.count
        var summary = TraceSummary(id: t.canonicalID, start: hops.first?.rawStart ?? .zero)
        if t.ids.count > 1 {
            // The trace's ids themselves, and which is the summary's id. (Ids are distinct as bytes;
            // two spellings of one text, which `==` equates, leave the summary a filtered copy.)
            var at = -1, equal = 0
            for k in t.ids.indices where t.ids[k] == summary.id { at = k; equal += 1 }
            if equal <= 1 {
                summary.setAliases(linked: t.ids, idIndex: at)
            } else {
                summary.aliases = t.ids.filter { $0 != summary.id }
            }
        }
        summary.complete = complete
        summary.eventCount = t.eventCount
        guard n > 0 else { return StitchedTrace(summary: summary, base: .zero, hopShiftMS: []) }

        let root = n == 1 ? 0 : hops.withUnsafeBufferPointer { hops in
            chooseRoot(hops, offsetMS: { skew.offsetMS(service: hops[$0].service, instance: hops[$0].instance) })
        }
        // Milliseconds from the earliest raw start: epoch milliseconds in a Double lose sub-µs precision.
        var base = hops[0].rawStart
        // Indexing fields, not binding whole hops: a copied HopState retains seven strings.
        for k in 0..<n where hops[k].rawStart < base { base = hops[k].rawStart }
        for k in 0..<n {
            let rs = hops[k].rawStart.ms(since: base), re = hops[k].rawEnd.ms(since: base)
            c.initializeElement(at: k, to: HopCalc(rawStart: rs, rawEnd: re, start: rs, end: re))
        }
        if n > 1 {
            link(hops, c, pre, root: root, learn: learn)
        } else {
            c[0].critical = true
            pre[0] = 0
        }
        var traceStart = Double.infinity
        for k in 0..<n { traceStart = min(traceStart, c[k].start) }

        var flags: TraceFlags = []
        // Where each hop goes, packed with the trace's own hop states (`FrozenHops`): the summary's
        // `Hop`s are read from both.
        let out = placed
        var initMS: Double? = nil
        var dbWait = 0.0
        for k in 0..<n {
            let i = pre[k]
            var hop = PlacedHop(offsetMS: c[i].start - traceStart, durationMS: max(0, c[i].end - c[i].start),
                                index: Int32(i), parent: c[i].parent >= 0 ? Int32(c[c[i].parent].newIndex) : -1,
                                flags: [], critical: c[i].critical)
            dbWait += hops[i].dbWaitMS
            var f = hops[i].flags
            if hops[i].coldStart {
                f.insert(.cold)
                if let ms = hops[i].coldStartMS { initMS = (initMS ?? 0) + ms }
            }
            if hops[i].deploy == .serverless || hops[i].deploy == .edge {
                let responded = hops[i].responseAt ?? hops[i].end
                if let r = responded, let w = hops[i].lastWorkAt, w > r { f.insert(.afterResponse) }
                if hops[i].bgOpen > 0 && complete { f.insert(.afterResponse) }
            }
            hop.flags = f
            flags.formUnion(f)
            out.initializeElement(at: k, to: hop)
        }
        if incomplete { flags.insert(.incomplete) }

        summary.start = base.adding(ms: traceStart)
        summary.rootService = hops[root].service.string
        // The root's own facts; when its lines did not carry them, the nearest hop's (in preorder).
        summary.rootRoute = hops[root].route
        summary.rootMethod = hops[root].method
        summary.status = hops[root].status
        for k in 0..<n {
            let i = pre[k]
            if summary.rootRoute == nil { summary.rootRoute = hops[i].route }
            if summary.rootMethod == nil { summary.rootMethod = hops[i].method }
            if summary.status == nil { summary.status = hops[i].status }
        }
        summary.frozen = hops.withUnsafeBufferPointer { FrozenHops(states: $0, placed: UnsafeBufferPointer(out), scratch: freezeScratch) }
        summary.coldStart = flags.contains(.cold)
        summary.coldStartInitMS = initMS
        summary.dbWaitMS = dbWait
        summary.flags = flags
        if hops[root].start != nil && hops[root].hasExplicitEnd {
            summary.durationMS = max(0, c[root].end - c[root].start)
        } else {
            var last = traceStart
            for k in 0..<n { last = max(last, c[k].end) }
            summary.durationMS = last - traceStart
        }

        var shift: [Double] = []
        if placesLines {
            shift.reserveCapacity(n)
            for k in 0..<n { shift.append(c[k].offset + c[k].shift - traceStart) }
        }
        return StitchedTrace(summary: summary, base: base, hopShiftMS: shift)
    }

    /// The lines of a trace with their corrected offsets, in corrected time order (ties keep
    /// arrival order), leaving the trace untouched.
    func placedLines(_ t: TraceState, base: Timestamp, hopShiftMS: [Double]) -> [TraceLine] {
        guard !hopShiftMS.isEmpty else { return t.lines }
        var lines = t.lines
        var sorted = true
        for k in lines.indices {
            let h = Int(t.lineHops[k])
            lines[k].offsetMS = lines[k].time.ms(since: base) + (h < hopShiftMS.count ? hopShiftMS[h] : 0)
            if k > 0 && lines[k].offsetMS < lines[k - 1].offsetMS { sorted = false }
        }
        if sorted { return lines }
        return lines.indices.sorted { (lines[$0].offsetMS, $0) < (lines[$1].offsetMS, $1) }.map { lines[$0] }
    }

    /// Parents, skew correction, clamping and the critical path for a trace of several hops.
    /// Fills `pre` with the hops in preorder from the root (parents before children).
    private func link(_ hops: [HopState], _ c: UnsafeMutableBufferPointer<HopCalc>, _ pre: UnsafeMutableBufferPointer<Int>,
                      root: Int, learn: Bool) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: hops.count) { order in
            link(hops, c, pre, order, root: root, learn: learn)
        }
    }

    private func link(_ hops: [HopState], _ c: UnsafeMutableBufferPointer<HopCalc>, _ pre: UnsafeMutableBufferPointer<Int>,
                      _ order: UnsafeMutableBufferPointer<Int>, root: Int, learn: Bool) {
        let n = hops.count
        for i in 0..<n {
            c[i].offset = skew.offsetMS(service: hops[i].service, instance: hops[i].instance)
            c[i].start = c[i].rawStart + c[i].offset
            c[i].end = c[i].rawEnd + c[i].offset
        }
        // Parents from span ids first.
        for i in 0..<n where i != root {
            guard hops[i].parentSpanID != nil else { continue }
            for j in 0..<n where j != i && SpanID.bothEqual(hops[j].spanID, hops[i].parentSpanID) { c[i].parent = j; break }
        }
        // Hops without a span parent: the innermost earlier hop that contains their start, else the root.
        var order = order
        for k in 0..<n { order[k] = k }
        order.sort { a, b in
            if a == root || b == root { return a == root && b != root }
            return (c[a].start, a) < (c[b].start, b)
        }
        for pos in 0..<n {
            let i = order[pos]
            guard i != root && c[i].parent < 0 else { continue }
            var best = root
            var bestLen = Double.infinity
            for k in 0..<pos {
                let j = order[k]
                if c[j].start <= c[i].start && c[i].start <= c[j].end {
                    let len = c[j].end - c[j].start
                    if len < bestLen { bestLen = len; best = j }
                }
            }
            c[i].parent = best
        }
        c[root].parent = -1
        // Break any cycle (malformed span ids) by hanging the hop under the root.
        for i in 0..<n where i != root {
            var steps = 0
            var p = c[i].parent
            while p >= 0 && steps <= n { p = c[p].parent; steps += 1 }
            if steps > n { c[i].parent = root }
        }

        // Learn clock skew from pairs on different services, then correct with the updated estimate.
        if learn {
            var learned = false
            for i in 0..<n {
                let p = c[i].parent
                guard p >= 0 else { continue }
                let sameService = hops[i].service == hops[p].service
                guard !sameService || hops[i].instance != hops[p].instance,
                      hops[i].start != nil, hops[i].hasExplicitEnd, hops[p].start != nil, hops[p].hasExplicitEnd
                else { continue }
                let s = ClockSkew.shift(parentStart: c[p].start, parentEnd: c[p].end,
                                        childStart: c[i].rawStart, childEnd: c[i].rawEnd)
                if !sameService { skew.learn(service: hops[i].service, shiftMS: s) }
                if let ci = hops[i].instance, let pi = hops[p].instance {
                    let answered = hops[i].responseAt.map { $0.ms(since: hops[i].rawStart) + c[i].rawStart } ?? c[i].rawEnd
                    skew.learn(parent: ClockKey(service: hops[p].service, instance: pi),
                               child: ClockKey(service: hops[i].service, instance: ci),
                               parentStartMS: c[p].rawStart, parentEndMS: c[p].rawEnd,
                               childStartMS: c[i].rawStart, childAnsweredMS: min(answered, c[i].rawEnd),
                               synchronous: true)
                }
                learned = true
            }
            if learned {
                for i in 0..<n {
                    c[i].offset = skew.offsetMS(service: hops[i].service, instance: hops[i].instance)
                    c[i].start = c[i].rawStart + c[i].offset
                    c[i].end = c[i].rawEnd + c[i].offset
                }
            }
        }

        // Children lists, each sorted by corrected start.
        for pos in (0..<n).reversed() {
            let i = order[pos]
            let p = c[i].parent
            guard p >= 0 else { continue }
            // Insert keeping (start, index) order; `order` is nearly that order already.
            if c[p].firstChild < 0 || (c[i].start, i) < (c[c[p].firstChild].start, c[p].firstChild) {
                c[i].nextSibling = c[p].firstChild
                c[p].firstChild = i
            } else {
                var k = c[p].firstChild
                while c[k].nextSibling >= 0 && (c[c[k].nextSibling].start, c[k].nextSibling) < (c[i].start, i) {
                    k = c[k].nextSibling
                }
                c[i].nextSibling = c[k].nextSibling
                c[k].nextSibling = i
            }
        }
        // Preorder without a stack: down to the first child, else on to the next sibling up the tree.
        var count = 0
        var i = root
        while true {
            c[i].newIndex = count
            pre[count] = i
            count += 1
            if c[i].firstChild >= 0 { i = c[i].firstChild; continue }
            while i != root && c[i].nextSibling < 0 { i = c[i].parent }
            if i == root { break }
            i = c[i].nextSibling
        }
        // Unreachable only if the parent links were inconsistent; every hop must still be placed.
        for k in 0..<n where c[k].newIndex < 0 {
            c[k].newIndex = count
            pre[count] = k
            count += 1
        }
        // Whatever the estimate missed, a child still starting before its parent is moved to the
        // parent's start (with the rest of its instance's hops below it, which share its clock).
        for k in 0..<count {
            let i = pre[k]
            let p = c[i].parent
            guard p >= 0 else { continue }
            if hops[i].service == hops[p].service && hops[i].instance == hops[p].instance {
                c[i].shift = c[p].shift
            }
            let s = c[i].start + c[i].shift
            let ps = c[p].start + c[p].shift
            if s < ps { c[i].shift += ps - s }
        }
        for i in 0..<n {
            c[i].start += c[i].shift
            c[i].end += c[i].shift
        }
        // Critical path: from the root, the child that ends last, and so on down.
        var at = root
        while true {
            c[at].critical = true
            var best = -1
            var k = c[at].firstChild
            while k >= 0 {
                if best < 0 || c[k].end > c[best].end { best = k }
                k = c[k].nextSibling
            }
            if best < 0 { break }
            at = best
        }
    }
}
