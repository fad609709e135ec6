import SkeinCore

/// Maps every id (W3C trace id, correlation id, platform request id) to the trace it names.
///
/// Ids seen on one event are linked: a union-find kept flat, where a union re-points the smaller
/// trace's few ids at the surviving trace right away, so a lookup is one dictionary probe. Unlike a
/// textbook union-find, a set holds at most one strong id (the W3C trace id): two retries that reuse
/// an `x-request-id` but carry different trace ids stay two traces, and the shared weak id follows
/// the trace it was most recently seen with. Ids of evicted traces are forgotten.
final class Linker {
    /// Live traces only: merged traces hand their ids over, evicted ones forget them.
    private let table = IDTable()

    func lookup(_ key: IDKey) -> TraceState? { table.trace(for: key) }

    var count: Int { table.count }

    /// Points `key` at `trace`, recording it among the trace's ids (callers bind only ids that moved).
    func bind(_ key: IDKey, to trace: TraceState) {
        table.set(key, to: trace)
        if !trace.hasID(key.text) { trace.ids.append(key.text) }
    }

    /// Forgets the ids that still point at `trace` (an id re-pointed elsewhere stays).
    func forget(_ trace: TraceState) {
        for id in trace.ids { table.remove(IDKey(id), ifPointingAt: trace) }
    }

    /// Re-points ids of a trace being merged away.
    func move(_ from: TraceState, into: TraceState) {
        for id in from.ids {
            table.repoint(IDKey(id), from: from, to: into)
            if !into.hasID(id) { into.ids.append(id) }
        }
    }
}

/// The id → trace map under `Linker`: open addressing with linear probing, at most three quarters
/// full (as `Dictionary`), and removal by shifting later entries back (no tombstones).
///
/// A `Dictionary<IDKey, TraceState>` did the same job; its generic probe, hash mixing and `==`
/// behind a call were half of linking an event's ids (callgrind). Here a probe compares the
/// fingerprints kept in their own array and reads the id's bytes only when they match.
final class IDTable {
    private struct Entry {
        var text: String
        var trace: TraceState
    }

    /// A slot's fingerprint with the low bit set (so 0 marks an empty slot), or 0.
    private var tags: UnsafeMutablePointer<UInt64>
    private var entries: UnsafeMutablePointer<Entry>
    private var capacity: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity initial: Int = 1024) {
        var c = 16
        while c < initial { c <<= 1 }
        capacity = c
        shift = UInt64(64 - c.trailingZeroBitCount)
        tags = .allocate(capacity: c)
        tags.initialize(repeating: 0, count: c)
        entries = .allocate(capacity: c)
    }

    deinit {
        for i in 0..<capacity where tags[i] != 0 { (entries + i).deinitialize(count: 1) }
        tags.deallocate()
        entries.deallocate()
    }

    @inline(__always) private static func tag(_ key: IDKey) -> UInt64 { key.fingerprint | 1 }

    /// Fibonacci hashing: the tag's top bits after one multiply.
    @inline(__always) private func home(_ tag: UInt64) -> Int {
        Int(truncatingIfNeeded: (tag &* 0x9e37_79b9_7f4a_7c15) >> shift)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always) private func probe(_ key: IDKey, tag: UInt64) -> (slot: Int, found: Bool) {
        let mask = capacity - 1
        var i = home(tag)
        while true {
            let t = tags[i]
            if t == 0 { return (i, false) }
            if t == tag && FastText.same(entries[i].text, key.text) { return (i, true) }
            i = (i + 1) & mask
        }
    }

    func trace(for key: IDKey) -> TraceState? {
        let (i, found) = probe(key, tag: IDTable.tag(key))
        return found ? entries[i].trace : nil
    }

    func set(_ key: IDKey, to trace: TraceState) {
        let tag = IDTable.tag(key)
        let (i, found) = probe(key, tag: tag)
        if found {
            entries[i].trace = trace
            return
        }
        (entries + i).initialize(to: Entry(text: key.text, trace: trace))
        tags[i] = tag
        count += 1
        if count * 4 > capacity * 3 { grow() }
    }

    func repoint(_ key: IDKey, from: TraceState, to: TraceState) {
        let (i, found) = probe(key, tag: IDTable.tag(key))
        if found && entries[i].trace === from { entries[i].trace = to }
    }

    func remove(_ key: IDKey, ifPointingAt trace: TraceState) {
        let (i, found) = probe(key, tag: IDTable.tag(key))
        guard found, entries[i].trace === trace else { return }
        (entries + i).deinitialize(count: 1)
        tags[i] = 0
        count -= 1
        // Close the gap: an entry further along the run moves back into it unless its home lies
        // cyclically after the gap (then it is already as close to home as it can get).
        let mask = capacity - 1
        var gap = i
        var j = (i + 1) & mask
        while tags[j] != 0 {
            let h = home(tags[j])
            let stays = gap <= j ? (gap < h && h <= j) : (gap < h || h <= j)
            if !stays {
                (entries + gap).moveInitialize(from: entries + j, count: 1)
                tags[gap] = tags[j]
                tags[j] = 0
                gap = j
            }
            j = (j + 1) & mask
        }
    }

    private func grow() {
        let oldTags = tags
        let oldEntries = entries
        let oldCapacity = capacity
        capacity <<= 1
        shift -= 1
        tags = .allocate(capacity: capacity)
        tags.initialize(repeating: 0, count: capacity)
        entries = .allocate(capacity: capacity)
        let mask = capacity - 1
        for k in 0..<oldCapacity where oldTags[k] != 0 {
            var i = home(oldTags[k])
            while tags[i] != 0 { i = (i + 1) & mask }
            tags[i] = oldTags[k]
            (entries + i).moveInitialize(from: oldEntries + k, count: 1)
        }
        oldTags.deallocate()
        oldEntries.deallocate()
    }
}

/// An id with its fingerprint computed once: the linker hashes 8 bytes instead of the whole id
/// (ids are 16–40 byte strings, and String hashing was the largest single cost of linking).
struct IDKey {
    let text: String
    let fingerprint: UInt64

    init(_ text: String) {
        self.text = text
        fingerprint = FastText.hash(text)
    }
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
