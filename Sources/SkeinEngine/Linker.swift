import SkeinCore
import CSkeinSys

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

    /// The trace `text` names, read in place, not retained (see `IDTable.traceRef`), and the id's
    /// fingerprint (`FastText.hash(text)`).
    func lookupRef(_ text: String) -> (trace: Unmanaged<TraceState>?, fingerprint: UInt64) {
        table.traceRef(text: text)
    }

    var count: Int { table.count }

    /// Starts bringing the table's slot for the id an event holds at `id` into the cache, unless
    /// it is a recent id (read in place: a recent id costs no reference count).
    @inline(__always)
    func prefetch(at id: UnsafePointer<String?>) { table.prefetch(at: id) }

    /// Room for `count` ids in all without the table growing on the way (see `IDTable.reserve`).
    func reserve(_ count: Int) { table.reserve(count) }

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

    /// Ids looked up lately, by the identity of the table's own copy of the id (its string's two
    /// words), with their fingerprint and trace: the decoder hands every line of a request the same
    /// string object for its id (its cache of recent strings), which is also the one the table
    /// keeps, so most look-ups find their id here by two word comparisons, without hashing its
    /// bytes or probing the table (which misses the processor's caches: a million lines make some
    /// 270k ids). Nothing here is retained: an entry is trusted only while `generation` is the one
    /// it was made in, and every change that could free a kept id or point one elsewhere (a
    /// removal, a re-pointing) starts a new generation. Adding an id changes no other's trace.
    private struct Recent {
        var word0: UInt64 = 0
        var word1: UInt64 = 0
        var fingerprint: UInt64 = 0
        var trace: Unmanaged<TraceState>?
        var generation = 0
    }
    private static let recentSlots = 1024
    private var recent: UnsafeMutablePointer<Recent>
    private var generation = 1

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
        recent = .allocate(capacity: IDTable.recentSlots)
        recent.initialize(repeating: Recent(), count: IDTable.recentSlots)
    }

    deinit {
        for i in 0..<capacity where tags[i] != 0 { (entries + i).deinitialize(count: 1) }
        tags.deallocate()
        entries.deallocate()
        recent.deallocate()
    }

    @inline(__always) private static func recentSlot(_ w: (UInt64, UInt64)) -> Int {
        Int(truncatingIfNeeded: ((w.0 ^ w.1) &* 0x9e37_79b9_7f4a_7c15) >> 54)
    }

    @inline(__always) private static func tag(_ key: IDKey) -> UInt64 { key.fingerprint | 1 }
    @inline(__always) private static func tag(_ fingerprint: UInt64) -> UInt64 { fingerprint | 1 }

    /// Fibonacci hashing: the tag's top bits after one multiply.
    @inline(__always) private func home(_ tag: UInt64) -> Int {
        Int(truncatingIfNeeded: (tag &* 0x9e37_79b9_7f4a_7c15) >> shift)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always) private func probe(_ key: IDKey, tag: UInt64) -> (slot: Int, found: Bool) {
        probe(key.text, tag: tag)
    }

    @inline(__always) private func probe(_ text: String, tag: UInt64) -> (slot: Int, found: Bool) {
        let mask = capacity - 1
        var i = home(tag)
        while true {
            let t = tags[i]
            if t == 0 { return (i, false) }
            if t == tag && FastText.same(entries[i].text, text) { return (i, true) }
            i = (i + 1) & mask
        }
    }

    func trace(for key: IDKey) -> TraceState? { trace(text: key.text, fingerprint: key.fingerprint) }

    /// The trace `text` names, not retained (the table holds it, and the caller only compares it
    /// or takes it before anything can change the table), and `FastText.hash(text)`.
    func traceRef(text: String) -> (trace: Unmanaged<TraceState>?, fingerprint: UInt64) {
        if FastText.stringsAreTwoWords {
            let w = FastText.words(text)
            let r = recent[IDTable.recentSlot(w)]
            if r.generation == generation && r.word0 == w.0 && r.word1 == w.1 { return (r.trace, r.fingerprint) }
        }
        let fingerprint = FastText.hash(text)
        let (i, found) = probe(text, tag: IDTable.tag(fingerprint))
        guard found else { return (nil, fingerprint) }
        let trace = Unmanaged.passUnretained(entries[i].trace)
        remember(UnsafeRawPointer(entries + i).load(as: (UInt64, UInt64).self), fingerprint: fingerprint, trace: trace)
        return (trace, fingerprint)
    }

    /// Remembers an id under the words of the table's own copy (alive for as long as the
    /// generation lasts; read from the entry's memory, as `FastText.words` would, without a retain).
    @inline(__always) private func remember(_ kept: (UInt64, UInt64), fingerprint: UInt64, trace: Unmanaged<TraceState>) {
        guard FastText.stringsAreTwoWords else { return }
        recent[IDTable.recentSlot(kept)] = Recent(word0: kept.0, word1: kept.1, fingerprint: fingerprint,
                                                  trace: trace, generation: generation)
    }

    /// Starts bringing the home slot (its tag and entry) of the id at `id` into the cache when a
    /// look-up would not find it among the recent ids: a later `traceRef` of it then probes warm
    /// lines. The id is read in place: whether it is a recent one is told from its two words
    /// without copying it (a copy retains it, and releases it after: two atomic operations on a
    /// string the decoding thread also counts references to); only an id that is not recent is
    /// copied, to hash its bytes.
    @inline(__always)
    func prefetch(at id: UnsafePointer<String?>) {
        guard id.pointee != nil else { return }
        if FastText.stringsAreTwoWords {
            let w = UnsafeRawPointer(id).load(as: (UInt64, UInt64).self)
            let r = recent[IDTable.recentSlot(w)]
            if r.generation == generation && r.word0 == w.0 && r.word1 == w.1 { return }
        }
        guard let text = id.pointee else { return }
        let i = home(IDTable.tag(FastText.hash(text)))
        skein_prefetch(tags + i)
        skein_prefetch(entries + i)
    }

    func trace(text: String, fingerprint: UInt64) -> TraceState? {
        let (i, found) = probe(text, tag: IDTable.tag(fingerprint))
        return found ? entries[i].trace : nil
    }

    func set(_ key: IDKey, to trace: TraceState) {
        let tag = IDTable.tag(key)
        let (i, found) = probe(key, tag: tag)
        if found {
            if entries[i].trace !== trace { generation += 1 }
            entries[i].trace = trace
            return
        }
        (entries + i).initialize(to: Entry(text: key.text, trace: trace))
        tags[i] = tag
        count += 1
        // The id's next look-up (the request's next line) finds it remembered.
        remember(UnsafeRawPointer(entries + i).load(as: (UInt64, UInt64).self), fingerprint: key.fingerprint,
                 trace: Unmanaged.passUnretained(trace))
        if count * 4 > capacity * 3 { grow() }
    }

    func repoint(_ key: IDKey, from: TraceState, to: TraceState) {
        let (i, found) = probe(key, tag: IDTable.tag(key))
        if found && entries[i].trace === from {
            entries[i].trace = to
            generation += 1
        }
    }

    func remove(_ key: IDKey, ifPointingAt trace: TraceState) {
        let (i, found) = probe(key, tag: IDTable.tag(key))
        guard found, entries[i].trace === trace else { return }
        generation += 1
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

    /// Room for `count` entries without growing: an export knows roughly how many ids its input
    /// holds, and each doubling on the way there moved every id to a new place (a cache miss each)
    /// in freshly faulted memory.
    func reserve(_ count: Int) {
        while count * 4 > capacity * 3 { grow() }
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

    init(_ text: String, fingerprint: UInt64) {
        self.text = text
        self.fingerprint = fingerprint
    }
}

extension Stitcher {
    /// The trace an event belongs to, creating, adopting or merging traces as its ids require.
    ///
    /// Returns nil when the event carries no id at all.
    ///
    /// The trace comes unretained: `traces` holds it, and nothing the caller does with the event
    /// before it completes or evicts traces can drop it (a retain and a release per event, atomic,
    /// were a measurable part of the engine's time).
    func resolve(_ e: Event, now: Timestamp) -> Unmanaged<TraceState>? {
        // The ids are read where they are, in the event: a copy of one is a reference count on a
        // string the decoding thread made (its cache line), and most events only look theirs up.
        // A string is copied only to be bound. The weak ids: the correlation id unless it is the
        // trace id; the request id unless it is either (byte comparisons: `String ==` on two
        // different ids takes the Unicode-aware path). The first of them is `w1`.
        let hasStrong = e.traceID != nil
        let corr = e.correlationID != nil && !FastText.same(e.correlationID, e.traceID)
        let req = e.requestID != nil && !FastText.same(e.requestID, e.traceID)
            && !(corr && FastText.same(e.requestID, e.correlationID))
        guard hasStrong || corr || req else { return nil }

        // One probe per id; binding below skips ids already pointing at the target. The probes
        // give the traces unretained: most events' ids all name one trace already linked, which is
        // then taken once (the path below took and released each id's trace several times over).
        let (sRef, sFP) = hasStrong ? linker.lookupRef(e.traceID.unsafelyUnwrapped) : (nil, 0)
        let (w1Ref, w1FP) = corr ? linker.lookupRef(e.correlationID.unsafelyUnwrapped)
            : req ? linker.lookupRef(e.requestID.unsafelyUnwrapped) : (nil, 0)
        let hasW2 = corr && req
        let (w2Ref, w2FP) = hasW2 ? linker.lookupRef(e.requestID.unsafelyUnwrapped) : (nil, 0)
        // Every id this event carries already names one trace, and (with a trace id) that trace has
        // its strong id: nothing to link, attach, merge or bind.
        if let only = hasStrong ? sRef : w1Ref,
           !(corr || req) || w1Ref?.toOpaque() == only.toOpaque(),
           !hasW2 || w2Ref?.toOpaque() == only.toOpaque(),
           !hasStrong || only._withUnsafeGuaranteedRef({ $0.strongID != nil }) {
            return only
        }
        let sTrace = sRef?.takeUnretainedValue()
        let w1Trace = w1Ref?.takeUnretainedValue()
        let w2Trace = w2Ref?.takeUnretainedValue()
        let target: TraceState
        if hasStrong {
            var t = sTrace
            if let w = w1Trace { t = attachWeak(w, to: t) }
            if let w = w2Trace { t = attachWeak(w, to: t) }
            if let found = t {
                target = found
                if found.strongID == nil { found.strongID = e.traceID }
            } else {
                target = create(now: now)
                target.strongID = e.traceID
            }
            if sTrace !== target { linker.bind(IDKey(e.traceID.unsafelyUnwrapped, fingerprint: sFP), to: target) }
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
        if (corr || req) && w1Trace !== target {
            linker.bind(IDKey(corr ? e.correlationID.unsafelyUnwrapped : e.requestID.unsafelyUnwrapped, fingerprint: w1FP),
                        to: target)
        }
        if hasW2 && w2Trace !== target { linker.bind(IDKey(e.requestID.unsafelyUnwrapped, fingerprint: w2FP), to: target) }
        return Unmanaged.passUnretained(target)
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
