import SkeinCore

/// Per-service clock offsets learned from parent/child pairs, kept as a running median.
///
/// A child cannot start before its parent, and a synchronous child (no longer than its parent)
/// cannot end after it. Each pair gives the smallest shift of the child's clock that satisfies
/// both; the estimate is the median of the last `window` shifts, so one odd pair (a retry, an
/// async child) does not move it. Services that are never children keep offset 0: every clock is
/// corrected towards the clocks of the services that call it.
struct ClockSkew {
    static let window = 31
    private struct Estimate {
        var ring: [Double] = []
        var next = 0
        var value: Double = 0
    }
    private var byService: [String: Estimate] = [:]

    func offsetMS(_ service: String) -> Double { byService[service]?.value ?? 0 }

    mutating func learn(service: String, shiftMS: Double) {
        var e = byService[service] ?? Estimate()
        if e.ring.count < ClockSkew.window {
            e.ring.append(shiftMS)
        } else {
            e.ring[e.next] = shiftMS
            e.next = (e.next + 1) % ClockSkew.window
        }
        let sorted = e.ring.sorted()
        e.value = sorted[sorted.count / 2]
        byService[service] = e
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
func chooseRoot(_ hops: [HopState], offsetMS: (String) -> Double) -> Int {
    guard hops.count > 1 else { return 0 }
    var tier = [Int](repeating: 0, count: hops.count)
    for i in hops.indices {
        if let p = hops[i].parentSpanID {
            tier[i] = hops.contains(where: { $0.spanID == p }) ? 0 : 1
        } else {
            tier[i] = 2
        }
    }
    var cands = hops.indices.filter { tier[$0] == tier.max() }
    if cands.isEmpty { return 0 }
    let edge = cands.filter { hops[$0].deploy == .edge }
    if !edge.isEmpty { cands = edge }
    let measured = cands.filter { hops[$0].start != nil && hops[$0].hasExplicitEnd }
    if !measured.isEmpty { cands = measured }
    if cands.count == 1 { return cands[0] }
    let base = hops[cands[0]].rawStart
    func start(_ i: Int) -> Double { hops[i].rawStart.ms(since: base) + offsetMS(hops[i].service) }
    func length(_ i: Int) -> Double { hops[i].rawEnd.ms(since: hops[i].rawStart) }
    var a = cands[0]
    for i in cands.dropFirst() {
        let (si, sa) = (start(i), start(a))
        if si < sa || (si == sa && length(i) > length(a)) { a = i }
    }
    var best = a
    for b in cands where b != a {
        let gap = start(b) - start(a)
        let fits = length(a) <= length(b) && start(a) + length(a) <= start(b) + length(b)
        if gap > 50 && gap <= 2_000 && fits && length(b) > length(best) { best = b }
    }
    return best
}

/// What the stitcher hands back for a trace: its summary and its lines in corrected time order.
struct StitchedTrace {
    var summary: TraceSummary
    var lines: [TraceLine]
    /// The hop of each line, in the same order as `lines`.
    var lineHops: [Int32]
}

extension Stitcher {
    /// Builds a trace's summary: parents, skew correction, waterfall offsets, critical path, flags.
    ///
    /// `learn` feeds this trace's parent/child pairs into the skew estimate (completion only, so a
    /// detail view of an open trace never changes the engine's state).
    func stitch(_ t: TraceState, complete: Bool, incomplete: Bool, learn: Bool) -> StitchedTrace {
        let hops = t.hops
        let n = hops.count
        var summary = TraceSummary(id: t.canonicalID, start: hops.first?.rawStart ?? .zero)
        summary.aliases = t.ids.filter { $0 != summary.id }
        summary.complete = complete
        summary.eventCount = t.eventCount
        guard n > 0 else { return StitchedTrace(summary: summary, lines: t.lines, lineHops: t.lineHops) }

        let root = chooseRoot(hops, offsetMS: skew.offsetMS)
        // Milliseconds from the earliest raw start: epoch milliseconds in a Double lose sub-µs precision.
        let base = hops.reduce(hops[0].rawStart) { min($0, $1.rawStart) }
        let rawStart = hops.map { $0.rawStart.ms(since: base) }
        let rawEnd = hops.map { $0.rawEnd.ms(since: base) }

        // Parents from span ids first.
        var parent = [Int?](repeating: nil, count: n)
        for i in 0..<n where i != root {
            if let p = hops[i].parentSpanID, let j = hops.firstIndex(where: { $0.spanID == p }), j != i {
                parent[i] = j
            }
        }
        // Hops without a span parent: the innermost earlier hop that contains their start, else the root.
        var offset = hops.map { skew.offsetMS($0.service) }
        var corrStart = (0..<n).map { rawStart[$0] + offset[$0] }
        var corrEnd = (0..<n).map { rawEnd[$0] + offset[$0] }
        let order = (0..<n).sorted { a, b in
            if a == root || b == root { return a == root && b != root }
            return (corrStart[a], a) < (corrStart[b], b)
        }
        for (pos, i) in order.enumerated() where i != root && parent[i] == nil {
            var best: Int? = nil
            var bestLen = Double.infinity
            for k in 0..<pos {
                let j = order[k]
                if corrStart[j] <= corrStart[i] && corrStart[i] <= corrEnd[j] {
                    let len = corrEnd[j] - corrStart[j]
                    if len < bestLen { bestLen = len; best = j }
                }
            }
            parent[i] = best ?? root
        }
        // Break any cycle (malformed span ids) by hanging the hop under the root.
        for i in 0..<n where i != root {
            var steps = 0
            var c = parent[i]
            while let p = c, steps <= n { c = parent[p]; steps += 1 }
            if steps > n { parent[i] = root }
        }
        parent[root] = nil

        // Learn clock skew from pairs on different services, then correct with the updated estimate.
        if learn {
            for i in 0..<n {
                guard let p = parent[i], hops[i].service != hops[p].service,
                      hops[i].start != nil, hops[i].hasExplicitEnd, hops[p].start != nil, hops[p].hasExplicitEnd
                else { continue }
                let s = ClockSkew.shift(parentStart: corrStart[p], parentEnd: corrEnd[p],
                                        childStart: rawStart[i], childEnd: rawEnd[i])
                skew.learn(service: hops[i].service, shiftMS: s)
            }
            offset = hops.map { skew.offsetMS($0.service) }
            corrStart = (0..<n).map { rawStart[$0] + offset[$0] }
            corrEnd = (0..<n).map { rawEnd[$0] + offset[$0] }
        }

        // Children lists, by corrected start.
        var children = [[Int]](repeating: [], count: n)
        for i in 0..<n { if let p = parent[i] { children[p].append(i) } }
        for p in 0..<n where children[p].count > 1 {
            children[p].sort { (corrStart[$0], $0) < (corrStart[$1], $1) }
        }
        // Preorder from the root (then any other parentless hop): parents always before children.
        // Whatever the estimate missed, a child still starting before its parent is moved to the
        // parent's start (with the rest of its service's hops below it, which share its clock).
        var shift = [Double](repeating: 0, count: n)
        var preorder: [Int] = []
        preorder.reserveCapacity(n)
        var stack: [Int] = [root]
        for i in (0..<n).reversed() where parent[i] == nil && i != root { stack.insert(i, at: 0) }
        while let i = stack.popLast() {
            if let p = parent[i] {
                if hops[i].service == hops[p].service { shift[i] = shift[p] }
                let s = corrStart[i] + shift[i]
                let ps = corrStart[p] + shift[p]
                if s < ps { shift[i] += ps - s }
            }
            preorder.append(i)
            for c in children[i].reversed() { stack.append(c) }
        }
        let finalStart = (0..<n).map { corrStart[$0] + shift[$0] }
        let finalEnd = (0..<n).map { corrEnd[$0] + shift[$0] }
        let traceStart = finalStart.min() ?? 0
        var newIndex = [Int](repeating: 0, count: n)
        for (k, i) in preorder.enumerated() { newIndex[i] = k }

        // Critical path: from the root, the child that ends last, and so on down.
        var critical = [Bool](repeating: false, count: n)
        var c: Int? = root
        while let i = c {
            critical[i] = true
            c = children[i].max { (finalEnd[$0], -$0) < (finalEnd[$1], -$1) }
        }

        var flags: TraceFlags = []
        var out: [Hop] = []
        out.reserveCapacity(n)
        var initMS: Double? = nil
        for i in preorder {
            let h = hops[i]
            var hop = Hop(service: h.service, offsetMS: finalStart[i] - traceStart,
                          durationMS: max(0, finalEnd[i] - finalStart[i]))
            hop.deploy = h.deploy
            hop.instance = h.instance
            hop.runtime = h.runtime
            hop.spanID = h.spanID
            hop.parentSpanID = h.parentSpanID
            hop.parent = parent[i].map { newIndex[$0] }
            hop.status = h.status
            hop.coldStartMS = h.coldStartMS
            hop.dbWaitMS = h.dbWaitMS
            if let r = h.responseAt { hop.responseAtMS = r.ms(since: h.rawStart) }
            hop.onCriticalPath = critical[i]
            var f = h.flags
            if h.coldStart {
                f.insert(.cold)
                if let ms = h.coldStartMS { initMS = (initMS ?? 0) + ms }
            }
            if h.deploy == .serverless || h.deploy == .edge {
                let responded = h.responseAt ?? h.end
                if let r = responded, let w = h.lastWorkAt, w > r { f.insert(.afterResponse) }
                if h.bgOpen > 0 && complete { f.insert(.afterResponse) }
            }
            hop.flags = f
            flags.formUnion(f)
            out.append(hop)
        }
        if incomplete { flags.insert(.incomplete) }

        let r = hops[root]
        summary.start = base.adding(ms: traceStart)
        summary.rootService = r.service
        summary.rootRoute = r.route
        summary.rootMethod = r.method
        summary.status = r.status
        summary.hops = out
        summary.coldStart = flags.contains(.cold)
        summary.coldStartInitMS = initMS
        summary.dbWaitMS = hops.reduce(0) { $0 + $1.dbWaitMS }
        summary.flags = flags
        if r.start != nil && r.hasExplicitEnd {
            summary.durationMS = max(0, finalEnd[root] - finalStart[root])
        } else {
            summary.durationMS = max(0, (finalEnd.max() ?? traceStart) - traceStart)
        }

        // Lines in corrected time order (ties keep arrival order).
        var lines = t.lines
        var keyed: [(Double, Int)] = []
        keyed.reserveCapacity(lines.count)
        for k in lines.indices {
            let h = Int(t.lineHops[k])
            let corrected = lines[k].time.ms(since: base) + offset[h] + shift[h]
            lines[k].offsetMS = corrected - traceStart
            keyed.append((lines[k].offsetMS, k))
        }
        keyed.sort { $0 < $1 }
        return StitchedTrace(summary: summary, lines: keyed.map { lines[$0.1] },
                             lineHops: keyed.map { t.lineHops[$0.1] })
    }
}
