import SkeinCore

/// A finished trace's hops, packed into one byte buffer: every field of each hop's state
/// (`HopState`, so a late line that reopens the trace gets them back exactly) and where stitching
/// placed it (`PlacedHop`, what the summary's `Hop`s are read from).
///
/// An export holds every finished trace to its end. As a 192-byte `HopState` array shared by the
/// trace and its summary, plus an array of `PlacedHop`s, a million lines' 360k hops took 93 MB of
/// the 240 live at the end (two allocations a trace); packed, a hop takes about 110 bytes and a
/// trace one allocation. The hop arrays of open traces are freed at completion, so the traces that
/// follow reuse their memory instead of faulting in new pages.
///
/// Layout: the hop count (UInt16), then one record per summary hop, in summary order. A record
/// opens with a fixed head (`headSize` bytes): its length and a mask of what it holds (UInt32
/// each); the hop's index among the trace's hops, its summary parent and its deploy model (a byte
/// each, and a spare); the placed and the hop's own flags (UInt16 each); the service, instance and
/// runtime symbols and the status (4 bytes each, 0 when absent or, for the status, too wide); the
/// placed offset and duration, the first time and the packed span id (8 bytes each, the span 0
/// when absent or text). What the reports read is all in the head. Then, in this order and only
/// when the mask says so: the last time and the four optional times, each as its difference from
/// the first time, zigzag LEB128, in milliseconds when all of them are whole milliseconds (logs
/// that write milliseconds: two bytes for most hops) and in nanoseconds otherwise; the span id's
/// text; the parent span id (the number of the earlier record whose span it is, one byte; else 8
/// packed bytes, or its text); route (none when it is the previous record's, as a trace's hops
/// mostly log the same) and method (text); cold-start, CPU and DB-wait milliseconds (8 bytes
/// each); a status too wide for the head (8 bytes); background tasks still open (4 bytes). Text is
/// its UTF-8 length (one byte under 255, else 255 and a UInt32) and its bytes. Multi-byte numbers
/// are little-endian and unaligned.
///
/// Sendable without the compiler's check: `ManagedBuffer` (the bytes' class) opts out of it, and
/// the bytes are written once, before the value is made, and only read after.
struct FrozenHops: @unchecked Sendable {
    /// The packed bytes (none for a trace without hops, or a summary built from values).
    private var storage: FrozenBytes?

    init() {}

    var isEmpty: Bool { storage == nil }

    var count: Int {
        guard let storage else { return 0 }
        return storage.withBytes { Int($0.loadUnaligned(as: UInt16.self).littleEndian) }
    }

    /// The packed bytes as an array (tests compare two packings).
    var packedBytes: [UInt8] {
        guard let storage else { return [] }
        return storage.withBytes { Array(UnsafeRawBufferPointer(start: $0, count: storage.header)) }
    }

    // Mask bits.
    private static let hasSpan: UInt32 = 1 << 0, spanText: UInt32 = 1 << 1
    private static let hasParentSpan: UInt32 = 1 << 2, parentSpanText: UInt32 = 1 << 3
    private static let hasRoute: UInt32 = 1 << 4, hasMethod: UInt32 = 1 << 5
    /// The four optional times: start, end, response, last work (shifted by 0...3).
    private static let hasStart: UInt32 = 1 << 6
    private static let hasColdStartMS: UInt32 = 1 << 10, hasCPUMS: UInt32 = 1 << 11
    private static let hasDBWait: UInt32 = 1 << 12, hasStatus: UInt32 = 1 << 13
    private static let hasInstance: UInt32 = 1 << 14, hasRuntime: UInt32 = 1 << 15
    private static let hasBGOpen: UInt32 = 1 << 16, coldStart: UInt32 = 1 << 17
    private static let exceededCPU: UInt32 = 1 << 18, inFlight: UInt32 = 1 << 19
    private static let invocationCounted: UInt32 = 1 << 20, critical: UInt32 = 1 << 21
    private static let hasPlacedParent: UInt32 = 1 << 22
    /// The time differences are in milliseconds (else nanoseconds).
    private static let millisecondDeltas: UInt32 = 1 << 23
    /// The route is the previous record's (no text here).
    private static let routeAsBefore: UInt32 = 1 << 24
    /// The parent span id is an earlier record's span id (that record's number here).
    private static let parentIsRecord: UInt32 = 1 << 25
    /// The status is too wide for the head (8 bytes among the optional fields).
    private static let wideStatus: UInt32 = 1 << 28

    /// The most hops a trace may have packed (`Stitcher.maxHops`): a hop's index, its parent and
    /// its parent span's record are a byte each.
    static let maxHops = 256

    /// Bytes before a record's optional fields, and where the head's fields lie.
    private static let headSize = 64
    private static let indexAt = 8, parentAt = 9, deployAt = 10, placedFlagsAt = 12, flagsAt = 14
    private static let serviceAt = 16, instanceAt = 20, statusAt = 24, runtimeAt = 28
    private static let offsetAt = 32, durationAt = 40, firstAtAt = 48, spanAt = 56

    /// Packs `states` as `placed` places them (summary order; each names its state by index),
    /// written in `scratch` first and then copied out at their size.
    init(states: UnsafeBufferPointer<HopState>, placed: UnsafeBufferPointer<PlacedHop>, scratch: FreezeScratch) {
        let n = placed.count
        guard n > 0, let first = states.baseAddress else { return }
        // Indices, parents and parent records are one byte each.
        precondition(n <= Self.maxHops && states.count <= Self.maxHops, "FrozenHops: \(n) hops, at most \(Self.maxHops)")
        scratch.ensure(2)
        scratch.base.storeBytes(of: UInt16(truncatingIfNeeded: n).littleEndian, as: UInt16.self)
        var at = 2
        // Each record's packed span id (0 with no packed one; a record that has it is marked):
        // the parents are looked for among the earlier records' without copying their ids again.
        withUnsafeTemporaryAllocation(of: (packed: UInt64, isPacked: Bool).self, capacity: n) { spans in
            for k in 0..<n {
                let h = first + Int(placed[k].index)
                var packed: (packed: UInt64, isPacked: Bool) = (0, false)
                if let span = h.pointee.spanID, span.text == nil { packed = (span.packed, true) }
                spans.initializeElement(at: k, to: packed)
                // The earlier record whose span is this hop's parent, by packed id.
                var parentRecord = -1
                if let parent = h.pointee.parentSpanID, parent.text == nil {
                    for j in 0..<k where spans[j].isPacked && spans[j].packed == parent.packed {
                        parentRecord = j
                        break
                    }
                }
                var sameRoute = false
                if k > 0 {
                    let before = first + Int(placed[k - 1].index)
                    if h.pointee.route != nil && before.pointee.route != nil {
                        sameRoute = FastText.same(h.pointee.route.unsafelyUnwrapped, before.pointee.route.unsafelyUnwrapped)
                    }
                }
                at = Self.write(h, placed[k], parentRecord: parentRecord, sameRoute: sameRoute, into: scratch, at: at)
            }
        }
        let bytes = FrozenBytes.make(count: at)
        bytes.withUnsafeMutablePointerToElements { $0.initialize(from: scratch.base.assumingMemoryBound(to: UInt8.self), count: at) }
        storage = bytes
    }

    /// Packs `states` as `placed` places them, with scratch room of its own.
    init(states: UnsafeBufferPointer<HopState>, placed: UnsafeBufferPointer<PlacedHop>) {
        self.init(states: states, placed: placed, scratch: FreezeScratch())
    }

    // MARK: Writing

    private static func deployCode(_ d: DeployModel?) -> UInt8 {
        switch d {
        case .none: 0
        case .edge: 1
        case .serverless: 2
        case .server: 3
        }
    }

    private static func deploy(code: UInt8) -> DeployModel? {
        switch code {
        case 1: .edge
        case 2: .serverless
        case 3: .server
        default: nil
        }
    }

    /// Writes one record at `start` and returns where it ends. `parentRecord`: the earlier record
    /// whose span is this hop's parent (or -1); `sameRoute`: its route is the previous record's.
    private static func write(_ h: UnsafePointer<HopState>, _ p: PlacedHop, parentRecord: Int, sameRoute: Bool,
                              into scratch: FreezeScratch, at start: Int) -> Int {
        var w = Writer(scratch: scratch, at: start)
        w.ensure(start + headSize)
        w.at = start + headSize
        var mask: UInt32 = 0
        let first = h.pointee.firstAt.nanos
        // The last time and the four optional ones as differences from the first, in whole
        // milliseconds when every one of them is.
        let start0 = h.pointee.start, end = h.pointee.end, response = h.pointee.responseAt, work = h.pointee.lastWorkAt
        let deltas = (h.pointee.lastAt.nanos &- first, start0.map { $0.nanos &- first }, end.map { $0.nanos &- first },
                      response.map { $0.nanos &- first }, work.map { $0.nanos &- first })
        @inline(__always) func whole(_ d: Int64?) -> Bool { d.map { $0 % 1_000_000 == 0 } ?? true }
        let scale: Int64 = whole(deltas.0) && whole(deltas.1) && whole(deltas.2) && whole(deltas.3) && whole(deltas.4)
            ? 1_000_000 : 1
        if scale != 1 { mask |= millisecondDeltas }
        w.put(varint: deltas.0 / scale)
        if let d = deltas.1 { mask |= hasStart; w.put(varint: d / scale) }
        if let d = deltas.2 { mask |= hasStart << 1; w.put(varint: d / scale) }
        if let d = deltas.3 { mask |= hasStart << 2; w.put(varint: d / scale) }
        if let d = deltas.4 { mask |= hasStart << 3; w.put(varint: d / scale) }
        var spanPacked: UInt64 = 0
        if let s = h.pointee.spanID {
            mask |= hasSpan
            if let text = s.text { mask |= spanText; w.put(text: text) } else { spanPacked = s.packed }
        }
        if let s = h.pointee.parentSpanID {
            mask |= hasParentSpan
            if let text = s.text {
                mask |= parentSpanText
                w.put(text: text)
            } else if parentRecord >= 0 {
                mask |= parentIsRecord
                w.put(byte: UInt8(truncatingIfNeeded: parentRecord))
            } else {
                w.put(s.packed)
            }
        }
        if let r = h.pointee.route {
            mask |= hasRoute
            if sameRoute { mask |= routeAsBefore } else { w.put(text: r) }
        }
        if let m = h.pointee.method { mask |= hasMethod; w.put(text: m) }
        if let c = h.pointee.coldStartMS { mask |= hasColdStartMS; w.put(c.bitPattern) }
        if let c = h.pointee.cpuMS { mask |= hasCPUMS; w.put(c.bitPattern) }
        if h.pointee.dbWaitMS.bitPattern != 0 { mask |= hasDBWait; w.put(h.pointee.dbWaitMS.bitPattern) }
        var narrowStatus: Int32 = 0
        if let s = h.pointee.status {
            mask |= hasStatus
            if let narrow = Int32(exactly: s) { narrowStatus = narrow } else { mask |= wideStatus; w.put(UInt64(bitPattern: Int64(s))) }
        }
        if h.pointee.bgOpen != 0 { mask |= hasBGOpen; w.put(UInt32(bitPattern: h.pointee.bgOpen)) }
        if h.pointee.instance != nil { mask |= hasInstance }
        if h.pointee.runtime != nil { mask |= hasRuntime }
        if h.pointee.coldStart { mask |= coldStart }
        if h.pointee.exceededCPU { mask |= exceededCPU }
        if h.pointee.inFlight { mask |= inFlight }
        if h.pointee.invocationCounted { mask |= invocationCounted }
        if p.critical { mask |= critical }
        if p.parent >= 0 { mask |= hasPlacedParent }

        let base = w.base + start
        base.storeBytes(of: UInt32(w.at - start).littleEndian, as: UInt32.self)
        (base + 4).storeBytes(of: mask.littleEndian, as: UInt32.self)
        (base + indexAt).storeBytes(of: UInt8(truncatingIfNeeded: p.index), as: UInt8.self)
        (base + parentAt).storeBytes(of: p.parent >= 0 ? UInt8(truncatingIfNeeded: p.parent) : 0, as: UInt8.self)
        (base + deployAt).storeBytes(of: deployCode(h.pointee.deploy), as: UInt8.self)
        (base + deployAt + 1).storeBytes(of: 0, as: UInt8.self)
        (base + placedFlagsAt).storeBytes(of: p.flags.rawValue.littleEndian, as: UInt16.self)
        (base + flagsAt).storeBytes(of: h.pointee.flags.rawValue.littleEndian, as: UInt16.self)
        (base + serviceAt).storeBytes(of: h.pointee.service.raw.littleEndian, as: UInt32.self)
        (base + instanceAt).storeBytes(of: (h.pointee.instance?.raw ?? 0).littleEndian, as: UInt32.self)
        (base + statusAt).storeBytes(of: narrowStatus.littleEndian, as: Int32.self)
        (base + runtimeAt).storeBytes(of: (h.pointee.runtime?.raw ?? 0).littleEndian, as: UInt32.self)
        (base + offsetAt).storeBytes(of: p.offsetMS.bitPattern.littleEndian, as: UInt64.self)
        (base + durationAt).storeBytes(of: p.durationMS.bitPattern.littleEndian, as: UInt64.self)
        (base + firstAtAt).storeBytes(of: UInt64(bitPattern: first).littleEndian, as: UInt64.self)
        (base + spanAt).storeBytes(of: spanPacked.littleEndian, as: UInt64.self)
        return w.at
    }

    private struct Writer {
        /// Not retained: the caller holds the scratch for the writer's whole life. Its room is
        /// read once and again only after it grows (a class's fields read per store were a
        /// retain and a release each).
        unowned(unsafe) let scratch: FreezeScratch
        private(set) var base: UnsafeMutableRawPointer
        private var capacity: Int
        var at: Int

        init(scratch: FreezeScratch, at: Int) {
            self.scratch = scratch
            base = scratch.base
            capacity = scratch.capacity
            self.at = at
        }

        @inline(__always)
        mutating func ensure(_ needed: Int) {
            if needed > capacity { grow(needed) }
        }

        @inline(never)
        private mutating func grow(_ needed: Int) {
            scratch.ensure(needed)
            base = scratch.base
            capacity = scratch.capacity
        }

        @inline(__always)
        mutating func put(_ v: UInt32) {
            ensure(at + 4)
            base.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt32.self)
            at += 4
        }

        @inline(__always)
        mutating func put(_ v: UInt64) {
            ensure(at + 8)
            base.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt64.self)
            at += 8
        }

        @inline(__always)
        mutating func put(byte v: UInt8) {
            ensure(at + 1)
            base.storeBytes(of: v, toByteOffset: at, as: UInt8.self)
            at += 1
        }

        /// A signed number, zigzag LEB128: seven bits a byte, low first (1 to 10 bytes).
        @inline(__always)
        mutating func put(varint v: Int64) {
            ensure(at + 10)
            var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
            while z >= 0x80 {
                base.storeBytes(of: UInt8(truncatingIfNeeded: z) | 0x80, toByteOffset: at, as: UInt8.self)
                at += 1
                z >>= 7
            }
            base.storeBytes(of: UInt8(truncatingIfNeeded: z), toByteOffset: at, as: UInt8.self)
            at += 1
        }

        mutating func put(text: String) {
            if let done: Void = text.utf8.withContiguousStorageIfAvailable({ put(bytes: $0) }) { return done }
            var copy = text
            copy.withUTF8 { put(bytes: $0) }
        }

        private mutating func put(bytes u: UnsafeBufferPointer<UInt8>) {
            let n = u.count
            ensure(at + 5 + n)
            if n < 255 {
                base.storeBytes(of: UInt8(n), toByteOffset: at, as: UInt8.self)
                at += 1
            } else {
                base.storeBytes(of: 255, toByteOffset: at, as: UInt8.self)
                base.storeBytes(of: UInt32(n).littleEndian, toByteOffset: at + 1, as: UInt32.self)
                at += 5
            }
            if let b = u.baseAddress { (base + at).copyMemory(from: b, byteCount: n) }
            at += n
        }
    }

    // MARK: Reading

    /// Where summary hop `k`'s record starts.
    @inline(__always)
    private static func record(_ raw: UnsafeRawPointer, _ k: Int) -> Int {
        var at = 2
        for _ in 0..<k { at += Int(raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian) }
        return at
    }

    /// A record: its head read in place, its optional fields taken in order.
    private struct Reader {
        /// The whole buffer, and this record in it.
        let blob: UnsafeRawPointer
        let base: UnsafeRawPointer
        let mask: UInt32
        var at: Int

        @inline(__always)
        init(_ raw: UnsafeRawPointer, record: Int) {
            blob = raw
            base = raw + record
            mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            at = FrozenHops.headSize
        }

        @inline(__always) func has(_ bit: UInt32) -> Bool { mask & bit != 0 }
        @inline(__always) func u8(_ off: Int) -> UInt8 { base.load(fromByteOffset: off, as: UInt8.self) }
        @inline(__always) func u16(_ off: Int) -> UInt16 { base.loadUnaligned(fromByteOffset: off, as: UInt16.self).littleEndian }
        @inline(__always) func u32(_ off: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: off, as: UInt32.self).littleEndian }
        @inline(__always) func u64(_ off: Int) -> UInt64 { base.loadUnaligned(fromByteOffset: off, as: UInt64.self).littleEndian }

        var length: Int { Int(u32(0)) }
        var service: Symbol { Symbol(unchecked: u32(FrozenHops.serviceAt)) }
        var instance: Symbol? { has(FrozenHops.hasInstance) ? Symbol(unchecked: u32(FrozenHops.instanceAt)) : nil }
        var runtime: Symbol? { has(FrozenHops.hasRuntime) ? Symbol(unchecked: u32(FrozenHops.runtimeAt)) : nil }
        var deploy: DeployModel? { FrozenHops.deploy(code: u8(FrozenHops.deployAt)) }
        var index: Int { Int(u8(FrozenHops.indexAt)) }
        var placedParent: Int? { has(FrozenHops.hasPlacedParent) ? Int(u8(FrozenHops.parentAt)) : nil }
        var placedFlags: TraceFlags { TraceFlags(rawValue: u16(FrozenHops.placedFlagsAt)) }
        var flags: TraceFlags { TraceFlags(rawValue: u16(FrozenHops.flagsAt)) }
        var offsetMS: Double { Double(bitPattern: u64(FrozenHops.offsetAt)) }
        var durationMS: Double { Double(bitPattern: u64(FrozenHops.durationAt)) }
        var firstAt: Int64 { Int64(bitPattern: u64(FrozenHops.firstAtAt)) }
        /// The span id when it is packed (`spanText` clear).
        var packedSpan: UInt64 { u64(FrozenHops.spanAt) }
        /// The status when it fits the head (`wideStatus` clear).
        var narrowStatus: Int { Int(Int32(bitPattern: u32(FrozenHops.statusAt))) }

        @inline(__always)
        mutating func take32() -> UInt32 {
            let v = base.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian
            at += 4
            return v
        }

        @inline(__always)
        mutating func take64() -> UInt64 {
            let v = base.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian
            at += 8
            return v
        }

        /// A zigzag LEB128 number, taken.
        @inline(__always)
        mutating func varint() -> Int64 {
            var z: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = u8(at)
                at += 1
                z |= UInt64(b & 0x7f) << shift
                if b < 0x80 { break }
                shift += 7
            }
            return Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1)
        }

        /// A text's bytes, skipped past.
        mutating func textBytes() -> UnsafeRawBufferPointer {
            var n = Int(u8(at))
            at += 1
            if n == 255 { n = Int(take32()) }
            defer { at += n }
            return UnsafeRawBufferPointer(start: base + at, count: n)
        }

        mutating func text() -> String { String(decoding: textBytes(), as: UTF8.self) }

        /// The times, taken: the last time and the four optional ones, in nanoseconds.
        mutating func times() -> (last: Int64, optional: OptionalTimes) {
            let first = firstAt
            // Whole milliseconds scaled back exactly (they were nanoseconds divisible by a million).
            let scale: Int64 = has(FrozenHops.millisecondDeltas) ? 1_000_000 : 1
            let last = first &+ varint() &* scale
            var optional = OptionalTimes()
            if has(FrozenHops.hasStart) { optional.start = first &+ varint() &* scale }
            if has(FrozenHops.hasStart << 1) { optional.end = first &+ varint() &* scale }
            if has(FrozenHops.hasStart << 2) { optional.responseAt = first &+ varint() &* scale }
            if has(FrozenHops.hasStart << 3) { optional.lastWorkAt = first &+ varint() &* scale }
            return (last, optional)
        }

        /// The span ids, taken (after the times).
        mutating func spans() -> (span: SpanID?, parent: SpanID?) {
            var span: SpanID? = nil
            if has(FrozenHops.hasSpan) { span = has(FrozenHops.spanText) ? SpanID(text()) : SpanID(packed: packedSpan) }
            var parent: SpanID? = nil
            if has(FrozenHops.hasParentSpan) {
                if has(FrozenHops.parentSpanText) {
                    parent = SpanID(text())
                } else if has(FrozenHops.parentIsRecord) {
                    let j = Int(u8(at))
                    at += 1
                    let other = FrozenHops.record(blob, j)
                    parent = SpanID(packed: blob.loadUnaligned(fromByteOffset: other + FrozenHops.spanAt, as: UInt64.self).littleEndian)
                } else {
                    parent = SpanID(packed: take64())
                }
            }
            return (span, parent)
        }

        /// The route's text, skipped past (none when it is the previous record's).
        mutating func skipRoute() {
            if has(FrozenHops.hasRoute) && !has(FrozenHops.routeAsBefore) { _ = textBytes() }
        }

        /// The status (after the numbers before it are taken when it is wide).
        mutating func status() -> Int? {
            guard has(FrozenHops.hasStatus) else { return nil }
            return has(FrozenHops.wideStatus) ? Int(Int64(bitPattern: take64())) : narrowStatus
        }
    }

    /// A record's optional times, in nanoseconds.
    private struct OptionalTimes {
        var start: Int64?
        var end: Int64?
        var responseAt: Int64?
        var lastWorkAt: Int64?
    }

    /// The summary's hop `k`.
    func hop(at k: Int) -> Hop {
        guard let storage else { preconditionFailure("FrozenHops: no hop \(k)") }
        return storage.withBytes { raw in
            var r = Reader(raw, record: Self.record(raw, k))
            var hop = Hop(service: r.service, offsetMS: r.offsetMS, durationMS: r.durationMS)
            hop.deploy = r.deploy
            hop.instanceSymbol = r.instance
            hop.runtimeSymbol = r.runtime
            let (_, optional) = r.times()
            (hop.span, hop.parentSpan) = r.spans()
            r.skipRoute()
            if r.has(Self.hasMethod) { _ = r.textBytes() }
            if r.has(Self.hasColdStartMS) { hop.coldStartMS = Double(bitPattern: r.take64()) }
            if r.has(Self.hasCPUMS) { r.at += 8 }
            if r.has(Self.hasDBWait) { hop.dbWaitMS = Double(bitPattern: r.take64()) }
            hop.status = r.status()
            hop.parent = r.placedParent
            if let response = optional.responseAt {
                let rawStart = Timestamp(nanos: optional.start ?? r.firstAt)
                hop.responseAtMS = Timestamp(nanos: response).ms(since: rawStart)
            }
            hop.onCriticalPath = r.has(Self.critical)
            hop.flags = r.placedFlags
            return hop
        }
    }

    /// What a report writes of hop `k` (`TraceSummary.hopFields`): all in the record's head but a
    /// status too wide for it.
    func fields(at k: Int) -> HopFields {
        guard let storage else { preconditionFailure("FrozenHops: no hop \(k)") }
        return storage.withBytes { raw in Self.fields(Reader(raw, record: Self.record(raw, k))) }
    }

    /// Every hop's `fields(at:)`, in order, into `out` (at least `count` elements, uninitialized):
    /// one pass over the records rather than a walk from the first for each.
    func fields(into out: UnsafeMutablePointer<HopFields>) {
        guard let storage else { return }
        storage.withBytes { raw in
            let n = Int(raw.loadUnaligned(as: UInt16.self).littleEndian)
            var at = 2
            for k in 0..<n {
                let r = Reader(raw, record: at)
                at += r.length
                (out + k).initialize(to: Self.fields(r))
            }
        }
    }

    @inline(__always)
    private static func fields(_ r: Reader) -> HopFields {
        var span = HopFields.Span.none
        if r.has(hasSpan) { span = r.has(spanText) ? .text : .packed(r.packedSpan) }
        var status: Int? = nil
        if r.has(hasStatus) { status = r.has(wideStatus) ? wideStatus(r) : r.narrowStatus }
        return HopFields(service: r.service, instance: r.instance, deploy: r.deploy, offsetMS: r.offsetMS,
                         durationMS: r.durationMS, status: status, span: span, parent: r.placedParent,
                         critical: r.has(critical))
    }

    /// A status too wide for the record's head, read past the fields before it.
    @inline(never)
    private static func wideStatus(_ record: Reader) -> Int? {
        var r = record
        _ = r.times()
        _ = r.spans()
        r.skipRoute()
        if r.has(hasMethod) { _ = r.textBytes() }
        if r.has(hasColdStartMS) { r.at += 8 }
        if r.has(hasCPUMS) { r.at += 8 }
        if r.has(hasDBWait) { r.at += 8 }
        return r.status()
    }

    /// What the engine's completion checks ask of hop `k` (`TraceSummary.hopBasics`).
    func basics(at k: Int) -> (deploy: DeployModel?, flags: TraceFlags, durationMS: Double) {
        guard let storage else { preconditionFailure("FrozenHops: no hop \(k)") }
        return storage.withBytes { raw in
            let r = Reader(raw, record: Self.record(raw, k))
            return (r.deploy, r.placedFlags, r.durationMS)
        }
    }

    /// The hops' states again, in the trace's own order (by index), as they were packed.
    func states() -> [HopState] {
        guard let storage else { return [] }
        let n = count
        return storage.withBytes { raw in
            var out = [HopState?](repeating: nil, count: n)
            var at = 2
            var previousRoute: String? = nil
            for _ in 0..<n {
                var r = Reader(raw, record: at)
                at += r.length
                var h = HopState(service: r.service, instance: r.instance, at: Timestamp(nanos: r.firstAt))
                h.runtime = r.runtime
                h.deploy = r.deploy
                let (last, optional) = r.times()
                h.lastAt = Timestamp(nanos: last)
                h.start = optional.start.map { Timestamp(nanos: $0) }
                h.end = optional.end.map { Timestamp(nanos: $0) }
                h.responseAt = optional.responseAt.map { Timestamp(nanos: $0) }
                h.lastWorkAt = optional.lastWorkAt.map { Timestamp(nanos: $0) }
                (h.spanID, h.parentSpanID) = r.spans()
                if r.has(Self.hasRoute) { h.route = r.has(Self.routeAsBefore) ? previousRoute : r.text() }
                previousRoute = h.route
                if r.has(Self.hasMethod) { h.method = r.text() }
                if r.has(Self.hasColdStartMS) { h.coldStartMS = Double(bitPattern: r.take64()) }
                if r.has(Self.hasCPUMS) { h.cpuMS = Double(bitPattern: r.take64()) }
                if r.has(Self.hasDBWait) { h.dbWaitMS = Double(bitPattern: r.take64()) }
                h.status = r.status()
                if r.has(Self.hasBGOpen) { h.bgOpen = Int32(bitPattern: r.take32()) }
                h.coldStart = r.has(Self.coldStart)
                h.exceededCPU = r.has(Self.exceededCPU)
                h.inFlight = r.has(Self.inFlight)
                h.invocationCounted = r.has(Self.invocationCounted)
                h.flags = r.flags
                out[r.index] = h
            }
            return out.compactMap { $0 }
        }
    }
}

/// The bytes of a `FrozenHops`: a class of its own rather than `[UInt8]`, whose storage's generic
/// metadata was looked up on every allocation (340 instructions, once per finished trace).
/// Written once, before it is shared; read only after.
final class FrozenBytes: ManagedBuffer<Int, UInt8> {
    static func make(count: Int) -> FrozenBytes {
        unsafeDowncast(FrozenBytes.create(minimumCapacity: count) { _ in count }, to: FrozenBytes.self)
    }

    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawPointer) -> R) -> R {
        withUnsafeMutablePointerToElements { body(UnsafeRawPointer($0)) }
    }
}

/// Room to pack a trace's hops in before they are copied out at their size: one per stitcher,
/// grown as a trace needs.
final class FreezeScratch {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func ensure(_ needed: Int) {
        if needed > capacity { grow(needed) }
    }

    @inline(never)
    private func grow(_ needed: Int) {
        let bigger = max(needed, capacity * 2)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
        fresh.copyMemory(from: base, byteCount: capacity)
        base.deallocate()
        base = fresh
        capacity = bigger
    }
}
