import SkeinCore

/// Maps every id (W3C trace id, correlation id, platform request id) to the trace it names.
///
/// Ids seen on one event are linked: a union-find kept flat, where a union re-points the smaller
/// trace's few ids at the surviving trace right away, so a lookup is one dictionary probe. Unlike a
/// textbook union-find, a set holds at most one strong id (the W3C trace id): two retries that reuse
/// an `x-request-id` but carry different trace ids stay two traces, and the shared weak id follows
/// the trace it was most recently seen with. Ids of evicted traces are forgotten.
struct Linker {
    /// Live traces only: merged traces hand their ids over, evicted ones forget them.
    private(set) var traceOf: [IDKey: TraceState] = [:]

    func lookup(_ key: IDKey) -> TraceState? { traceOf[key] }

    var count: Int { traceOf.count }

    /// Points `key` at `trace`, recording it among the trace's ids (callers bind only ids that moved).
    mutating func bind(_ key: IDKey, to trace: TraceState) {
        traceOf[key] = trace
        if !trace.hasID(key.text) { trace.ids.append(key.text) }
    }

    /// Forgets the ids that still point at `trace` (an id re-pointed elsewhere stays).
    mutating func forget(_ trace: TraceState) {
        for id in trace.ids {
            let key = IDKey(id)
            if let i = traceOf.index(forKey: key), traceOf[i].value === trace { traceOf.remove(at: i) }
        }
    }

    /// Re-points ids of a trace being merged away.
    mutating func move(_ from: TraceState, into: TraceState) {
        for id in from.ids {
            let key = IDKey(id)
            if traceOf[key] === from { traceOf[key] = into }
            if !into.hasID(id) { into.ids.append(id) }
        }
    }
}

/// An id with its fingerprint computed once: the linker hashes 8 bytes instead of the whole id
/// (ids are 16–40 byte strings, and String hashing was the largest single cost of linking).
struct IDKey: Hashable {
    let text: String
    let fingerprint: UInt64

    init(_ text: String) {
        self.text = text
        fingerprint = FastText.hash(text)
    }

    static func == (a: IDKey, b: IDKey) -> Bool { a.fingerprint == b.fingerprint && FastText.same(a.text, b.text) }
    func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
    /// The fingerprint is already a good hash: skip SipHash for every probe of the id table.
    func _rawHashValue(seed: Int) -> Int { FastText.mix(fingerprint, seed: seed) }
}

extension Stitcher {
    /// The trace an event belongs to, creating, adopting or merging traces as its ids require.
    ///
    /// Returns nil when the event carries no id at all.
    func resolve(_ e: Event, now: Timestamp) -> TraceState? {
        let strong = e.traceID
        var w1 = e.correlationID
        var w2 = e.requestID
        // Byte comparisons: `String ==` on two different ids takes the Unicode-aware path.
        if w1 != nil && FastText.same(w1, strong) { w1 = nil }
        if w2 != nil && (FastText.same(w2, strong) || FastText.same(w2, w1)) { w2 = nil }
        if w1 == nil { w1 = w2; w2 = nil }
        guard strong != nil || w1 != nil else { return nil }

        // One probe per id; `bind` below skips ids already pointing at the target.
        let sKey = strong.map(IDKey.init)
        let w1Key = w1.map(IDKey.init)
        let w2Key = w2.map(IDKey.init)
        let sTrace = sKey.flatMap(linker.lookup)
        let w1Trace = w1Key.flatMap(linker.lookup)
        let w2Trace = w2Key.flatMap(linker.lookup)
        let target: TraceState
        if let s = strong {
            var t = sTrace
            if let w = w1Trace { t = attachWeak(w, to: t) }
            if let w = w2Trace { t = attachWeak(w, to: t) }
            if let found = t {
                target = found
                if found.strongID == nil { found.strongID = s }
            } else {
                target = create(now: now)
                target.strongID = s
            }
            if sTrace !== target, let k = sKey { linker.bind(k, to: target) }
        } else {
            let a = w1Trace
            let b = w2Trace
            switch (a, b) {
            case (nil, nil): target = create(now: now)
            case (let x?, nil), (nil, let x?): target = x
            case (let x?, let y?):
                if x === y {
                    target = x
                } else if x.strongID != nil && y.strongID != nil {
                    // Two strong traces share these weak ids: the most recent one takes the weak-only line.
                    target = (x.lastActivity, x.serial) > (y.lastActivity, y.serial) ? x : y
                } else if x.strongID != nil {
                    merge(y, into: x); target = x
                } else if y.strongID != nil {
                    merge(x, into: y); target = y
                } else if x.serial < y.serial {
                    merge(y, into: x); target = x
                } else {
                    merge(x, into: y); target = y
                }
            }
        }
        if let k = w1Key, w1Trace !== target { linker.bind(k, to: target) }
        if let k = w2Key, w2Trace !== target { linker.bind(k, to: target) }
        return target
    }

    func trace(id: String) -> TraceState? {
        linker.lookup(IDKey(id))
    }

    /// Links the trace a weak id names into `target`: a weak-only trace is merged (or adopted when
    /// there is no target yet); a trace with its own strong id is left alone and the weak id re-pointed.
    private func attachWeak(_ t: TraceState, to target: TraceState?) -> TraceState? {
        // Both weak ids may name the same trace, already merged by the first call.
        guard t !== target, traces[t.serial] === t else { return target }
        if t.strongID != nil { return target }
        guard let target else { return t }
        merge(t, into: target)
        return target
    }
}
