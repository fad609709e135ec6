import SkeinCore

/// A decoder for text lines (logfmt, Lambda's tab-separated lines, Postgres' stderr log) that the
/// auto-detector offers lines to after JSON.
///
/// Multi-line records (a stack trace under its first line, Lambda's `XRAY` line after `REPORT`) work
/// through `continueFrame`: the decoder that took the previous line sees each new line first and may
/// claim it. Whenever a line is not claimed, the auto-detector calls `flush` on that decoder before
/// decoding the line elsewhere, so a decoder can hold one pending event until then and order is kept.
public protocol TextFrameDecoder: FrameDecoder {
    /// Cheap: whether this line is in the decoder's format (it will then be asked to decode it).
    func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool
    /// Decodes with the source's shared context (interner, last time, learnt facts).
    mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                         into events: inout [Event]) -> DecodeOutcome
    /// Offered each line before detection when this decoder took the previous line; returns true when
    /// the line belongs to its record (it may append events, e.g. releasing the finished record).
    mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> Bool
}

/// A text decoder that also decodes on its own, outside an `AutoDecoder`: it keeps a context for
/// that, and `decode(_:source:into:)` runs its contextual decode with it.
public protocol StandaloneTextDecoder: TextFrameDecoder {
    /// The context used when no `AutoDecoder` lends one.
    var standaloneContext: DecodeContext { get set }
}

extension StandaloneTextDecoder {
    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                into events: inout [Event]) -> DecodeOutcome {
        var context = standaloneContext
        defer { standaloneContext = context }
        return decode(frame, source: source, context: &context, into: &events)
    }
}

extension TextFrameDecoder {
    /// Text decoders hold at most one record and report nothing late, unless they say so.
    public var mayHaveLateMalformed: Bool { false }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        decode(frame, source: source, into: &events)
    }

    public mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                       context: inout DecodeContext, into events: inout [Event]) -> Bool {
        false
    }
}

/// Detects each frame's format and hands it to the decoder that knows it; one per source.
///
/// Per frame: binary bytes (NUL and other controls except tab, CR, LF and ESC) are `binary`; blank
/// lines are absorbed; `{` is parsed once and offered to the JSON record decoders in order (Skein's
/// convention last, taking any object); `[` is an array of such records; anything else goes to the
/// text decoders in order (logfmt last); text with invalid UTF-8 is `invalidUTF8`; a line nobody
/// recognises is `unrecognised`.
///
/// Pretty-printed JSON (`wrangler tail`, `jq .`): a `{` or `[` line that ends inside the value *and*
/// whose last byte opens something (`{`, `[`, `,`, `:`) starts an accumulation; following lines are
/// joined until the value completes, then decoded as one record (several values back to back work).
/// Inner lines of pretty-printed JSON are indented, so a line starting at column 0 with anything but
/// `}` or `]` ends the accumulation as truncated and is decoded on its own. Held lines are reported
/// `absorbed` when they arrive; if the value never completes (abandoned, invalid, past `maxPendingBytes`
/// or `maxPendingLines`, or at `flush`), they are counted afterwards through `drainLateMalformed()`,
/// one per line.
///
/// The outcome describes the frame itself. A text decoder's held record may be released while a
/// later frame is decoded, so a frame reported `absorbed` (it starts a new held record) or `malformed`
/// can still have appended that earlier record: ingest everything appended, whatever the outcome.
/// `.events(n)` counts all that was appended.
public struct AutoDecoder: FrameDecoder {
    public let name: String
    /// The decoder that took the most recent frame (`skein`, `logfmt`, ...); nil when that frame was
    /// blank, malformed or held as part of an unfinished multi-line value. For per-source format counts.
    public private(set) var lastFormat: String?
    /// The per-source state every decoder here shares.
    public var context: DecodeContext

    public let maxPendingBytes: Int
    public let maxPendingLines: Int

    private var records: [any JSONRecordDecoder]
    /// Built from `records` once; the order of both never changes.
    private let signatures: KeySignatures
    private var texts: [any TextFrameDecoder]
    private var tape = JSONTape()
    private var elementTape = JSONTape()
    /// The one-pass path for flat convention lines, when the convention is the catch-all decoder
    /// (tests turn it off to compare it with the general path).
    var flat: FlatConvention?
    /// The keys `flat` has seen, each with the keys that followed it (`KeyShapes`).
    private var shapes = KeyShapes()
    /// Index into `texts` of the decoder that took the previous line (it may claim continuations).
    private var holder: Int?
    private var pending: [UInt8] = []
    private var pendingLines = 0
    private var late: [MalformedReason: Int] = [:]

    /// Every known decoder, in detection order; the one place to register a format.
    public static func standard(forced: String? = nil) -> AutoDecoder {
        let texts: [any TextFrameDecoder] = [
            LambdaTextDecoder(),
            PostgresCSVLogDecoder(),
            PostgresLogDecoder(),
            PgBouncerLogDecoder(),
            CRIDecoder(),
            HerokuDecoder(),
            SyslogDecoder(),
            WranglerPrettyDecoder(),
            // logfmt takes any `key=` line: it stays last.
            LogfmtDecoder(),
        ]
        return AutoDecoder(records: standardRecords, texts: texts, forced: forced)
    }

    /// The JSON record decoders of `standard()`, in detection order.
    static var standardRecords: [any JSONRecordDecoder] {
        // Most specific first: Vercel records also carry Lambda's four app-record keys.
        [
            CloudWatchLogsDecoder(),
            VercelDecoder(),
            CloudflareWorkersDecoder(),
            OTLPJSONLineDecoder(),
            LambdaJSONLineDecoder(),
            DockerJSONLineDecoder(),
            PostgresJSONLogDecoder(),
            JournaldJSONLineDecoder(),
            // Skein's convention takes any object: it stays last.
            ConventionDecoder(),
        ]
    }

    /// The standard decoders, or only the one `--format` names (`standard(forced:)`).
    public init(forced: String?) {
        self = AutoDecoder.standard(forced: forced)
    }

    /// The names `--format` accepts: every decoder of `standard()`, plus `json` (all JSON decoders).
    public static var formatNames: [String] { standard().formatNames }

    /// `forced`: keep only the decoder of that name (`json`: only the JSON record decoders). An unknown
    /// name leaves no decoder, so every line is `unrecognised`; check against `formatNames` first.
    public init(records: [any JSONRecordDecoder], texts: [any TextFrameDecoder], forced: String? = nil,
                context: DecodeContext = DecodeContext(), maxPendingBytes: Int = 1 << 20, maxPendingLines: Int = 10_000) {
        let kept: [any JSONRecordDecoder]
        if let forced {
            kept = forced == "json" ? records : records.filter { $0.name == forced }
            self.texts = texts.filter { $0.name == forced }
        } else {
            kept = records
            self.texts = texts
        }
        self.records = kept
        signatures = KeySignatures(kept)
        flat = FlatConvention(records: kept, signatures: signatures, maxNodes: JSONTape().maxNodes)
        name = forced ?? "auto"
        self.context = context
        self.maxPendingBytes = maxPendingBytes
        self.maxPendingLines = maxPendingLines
    }

    public var formatNames: [String] {
        // One name may cover a JSON and a text decoder (`aws-lambda`: text lines and CloudWatch payloads).
        var seen: Set<String> = []
        return (["json"] + records.map(\.name) + texts.map(\.name)).filter { seen.insert($0).inserted }
    }

    public var mayHaveLateMalformed: Bool { !late.isEmpty }

    /// Lines reported `absorbed` earlier that turned out malformed (an unfinished multi-line value).
    /// The pipeline should count these after each `decode` and `flush`; empty almost always.
    public mutating func drainLateMalformed() -> [(reason: MalformedReason, count: Int)] {
        if late.isEmpty { return [] }
        let out = late.sorted { $0.key.rawValue < $1.key.rawValue }.map { (reason: $0.key, count: $0.value) }
        late.removeAll()
        return out
    }

    public mutating func decode(_ frame0: UnsafeBufferPointer<UInt8>, source: SourceID,
                                into events: inout [Event]) -> DecodeOutcome {
        var frame = frame0
        while let last = frame.last, last == 0x0d || last == 0x0a {
            frame = UnsafeBufferPointer(rebasing: frame[..<(frame.count - 1)])
        }
        lastFormat = nil
        let before = events.count
        if pending.isEmpty, holder == nil, let first = FrameScan.firstNonSpace(frame),
           first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            // Most lines are one JSON value of their own: parsed straight away. A line that parses
            // holds no binary byte (the tape takes no control byte but whitespace, and checks
            // UTF-8), so the frame scan that tells binary, broken JSON and text apart is needed
            // only when the parse fails, and the line then takes the general path below.
            // Called in place (`flat?.`): binding it copied its blank event, retains and all, per line.
            if let outcome = flat?.decode(frame, source: source, context: &context, shapes: &shapes, into: &events) ?? nil {
                if case .malformed = outcome { return outcome }
                lastFormat = flat?.name
                return outcome
            }
            var parsed = true
            do throws(JSONTape.Failure) { try tape.parse(frame) } catch { parsed = false }
            if parsed {
                let outcome = offer(JSONDocument(tape: tape, bytes: frame), source: source, into: &events)
                if case .events = outcome { return .events(events.count - before) }
                return outcome
            }
        }
        let scan = FrameScan(frame)
        if !pending.isEmpty {
            if let outcome = continuePending(frame, scan, source: source, into: &events) { return outcome }
        }
        if scan.binary {
            release(source: source, into: &events)
            return .malformed(.binary)
        }
        if let h = holder {
            if texts[h].continueFrame(frame, source: source, context: &context, into: &events) {
                collectLate(h)
                lastFormat = texts[h].name
                return counted(events.count - before)
            }
            release(source: source, into: &events)
        }
        // A blank line is absorbed, even when it released a held record.
        guard let first = scan.firstNonSpace else { return .absorbed }
        let outcome: DecodeOutcome
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            outcome = decodeJSON(frame, scan, source: source, into: &events, startedAt: before)
        } else {
            outcome = decodeText(frame, scan, source: source, into: &events)
        }
        if case .events = outcome { return .events(events.count - before) }
        return outcome
    }

    public mutating func flush(source: SourceID, into events: inout [Event]) {
        release(source: source, into: &events)
        if !pending.isEmpty {
            late[.truncatedJSON, default: 0] += pendingLines
            pending.removeAll(keepingCapacity: false)
            pendingLines = 0
        }
    }

    // MARK: - Paths

    private mutating func release(source: SourceID, into events: inout [Event]) {
        guard let h = holder else { return }
        texts[h].flush(source: source, into: &events)
        collectLate(h)
        holder = nil
    }

    /// A text decoder's own late malformed lines (a `csvlog` record whose quote never closed).
    @inline(__always)
    private mutating func collectLate(_ h: Int) {
        guard texts[h].mayHaveLateMalformed else { return }
        for (reason, count) in texts[h].drainLateMalformed() { late[reason, default: 0] += count }
    }

    @inline(__always)
    private func counted(_ n: Int) -> DecodeOutcome { n > 0 ? .events(n) : .absorbed }

    private mutating func decodeJSON(_ frame: UnsafeBufferPointer<UInt8>, _ scan: FrameScan, source: SourceID,
                                     into events: inout [Event], startedAt before: Int) -> DecodeOutcome {
        do throws(JSONTape.Failure) {
            try tape.parse(frame)
            return offer(JSONDocument(tape: tape, bytes: frame), source: source, into: &events)
        } catch {
            switch error {
            case .truncated:
                if opensSomething(frame), !records.isEmpty {
                    hold(frame)
                    return .absorbed
                }
                return .malformed(.truncatedJSON)
            case .trailingData:
                // Two values on one line is a broken writer (interleaved output), not a format:
                // counted, never half-decoded. Values back to back across lines still stream.
                return .malformed(.trailingData)
            case .invalid:
                // `{` opens some text formats too; let them try before calling it broken JSON.
                let text = decodeText(frame, scan, source: source, into: &events)
                if case .malformed(.unrecognised) = text { return .malformed(.invalidJSON) }
                return text
            default:
                return .malformed(MalformedReason(error))
            }
        }
    }

    /// Offers a parsed value to the record decoders: an object to the first that matches, an array
    /// element by element.
    private mutating func offer(_ doc: JSONDocument, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        if doc.kind(doc.root) == .array {
            return offerArray(doc, source: source, into: &events)
        }
        let candidates = signatures.candidates(doc)
        for i in records.indices where asks(i, candidates, doc) {
            let outcome = records[i].decode(doc, source: source, context: &context, into: &events)
            if case .malformed = outcome {} else { lastFormat = records[i].name }
            return outcome
        }
        return .malformed(.unrecognised)
    }

    private mutating func offerArray(_ doc: JSONDocument, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        let before = events.count
        var failure: DecodeOutcome?
        var elements: [Range<Int>] = []
        doc.forEachElement(doc.root) { i in
            let nd = doc.tape.node(i)
            elements.append(Int(nd.start)..<Int(nd.end))
        }
        for range in elements {
            let bytes = UnsafeBufferPointer(rebasing: doc.bytes[range])
            guard bytes.first == UInt8(ascii: "{") else { failure = .malformed(.unrecognised); continue }
            do throws(JSONTape.Failure) {
                try elementTape.parse(bytes)
            } catch {
                failure = .malformed(MalformedReason(error))
                continue
            }
            let element = JSONDocument(tape: elementTape, bytes: bytes)
            var matched = false
            let candidates = signatures.candidates(element)
            for i in records.indices where asks(i, candidates, element) {
                matched = true
                let outcome = records[i].decode(element, source: source, context: &context, into: &events)
                if case .malformed = outcome { failure = outcome } else { lastFormat = records[i].name }
                break
            }
            if !matched { failure = .malformed(.unrecognised) }
        }
        if events.count > before { return .events(events.count - before) }
        return failure ?? .absorbed
    }

    /// Whether record decoder `i` takes `doc`: `matches`, unless the line lacks all its signature keys.
    @inline(__always)
    private func asks(_ i: Int, _ candidates: UInt64, _ doc: JSONDocument) -> Bool {
        if i < KeySignatures.limit && candidates & (1 << UInt64(i)) == 0 {
            assert(!records[i].matches(doc), "\(records[i].name) matches a record without its signature keys")
            return false
        }
        return records[i].matches(doc)
    }

    private mutating func decodeText(_ frame: UnsafeBufferPointer<UInt8>, _ scan: FrameScan, source: SourceID,
                                     into events: inout [Event]) -> DecodeOutcome {
        if scan.nonASCII && !FrameScan.isValidUTF8(frame) { return .malformed(.invalidUTF8) }
        for i in texts.indices where texts[i].recognises(frame) {
            let outcome = texts[i].decode(frame, source: source, context: &context, into: &events)
            if case .malformed = outcome { return outcome }
            holder = i
            lastFormat = texts[i].name
            return outcome
        }
        return .malformed(.unrecognised)
    }

    // MARK: - Multi-line JSON

    private mutating func hold(_ frame: UnsafeBufferPointer<UInt8>) {
        pending.removeAll(keepingCapacity: true)
        pending.append(contentsOf: frame)
        pendingLines = 1
    }

    /// Feeds a line to an unfinished value; nil when the line is not part of it (it is then decoded on its own).
    private mutating func continuePending(_ frame: UnsafeBufferPointer<UInt8>, _ scan: FrameScan, source: SourceID,
                                          into events: inout [Event]) -> DecodeOutcome? {
        let startsInside = frame.isEmpty || frame[0] == 0x20 || frame[0] == 0x09
            || frame[0] == UInt8(ascii: "}") || frame[0] == UInt8(ascii: "]")
        if scan.binary || !startsInside {
            abandonPending(.truncatedJSON)
            return nil
        }
        if pending.count + frame.count + 1 > maxPendingBytes || pendingLines + 1 > maxPendingLines {
            abandonPending(.tooComplex)
            return .malformed(.tooComplex)
        }
        pending.append(0x0a)
        pending.append(contentsOf: frame)
        pendingLines += 1
        guard scan.firstNonSpace != nil else { return .absorbed }
        let before = events.count
        let joined = pending
        return joined.withUnsafeBufferPointer { all -> DecodeOutcome in
            var offset = 0
            var failure: DecodeOutcome?
            while FrameScan.hasContent(all, from: offset) {
                let end: Int
                do throws(JSONTape.Failure) {
                    end = try tape.parsePrefix(all, from: offset)
                } catch {
                    if error == .truncated {
                        // Still open: keep what is left and wait for more lines.
                        pending = Array(all[offset...])
                        if events.count > before { return .events(events.count - before) }
                        return failure ?? .absorbed
                    }
                    late[MalformedReason(error), default: 0] += pendingLines - 1
                    pending = []
                    pendingLines = 0
                    return .malformed(MalformedReason(error))
                }
                let one = UnsafeBufferPointer(rebasing: all[offset..<end])
                offset = end
                let outcome: DecodeOutcome
                do throws(JSONTape.Failure) {
                    try tape.parse(one)
                    outcome = offer(JSONDocument(tape: tape, bytes: one), source: source, into: &events)
                } catch {
                    outcome = .malformed(MalformedReason(error))
                }
                if case .malformed = outcome { failure = outcome }
            }
            pending = []
            pendingLines = 0
            if events.count > before { return .events(events.count - before) }
            return failure ?? .absorbed
        }
    }

    private mutating func abandonPending(_ reason: MalformedReason) {
        late[reason, default: 0] += pendingLines
        pending.removeAll(keepingCapacity: false)
        pendingLines = 0
    }

    /// Whether a truncated line ends where pretty-printed JSON breaks lines: after `{ [ , :`.
    private func opensSomething(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        var e = frame.count
        while e > 0, frame[e - 1] == 0x20 || frame[e - 1] == 0x09 { e -= 1 }
        guard e > 0 else { return false }
        switch frame[e - 1] {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ","), UInt8(ascii: ":"): return true
        default: return false
        }
    }
}

/// Which record decoders a JSON object may be for, from one pass over its top-level keys.
///
/// Keys are bucketed by (length, first byte); a key no decoder signs for costs one table load.
/// A class, built once and never changed, so copying an `AutoDecoder` costs one retain for it.
final class KeySignatures {
    /// Decoders past this index are always asked (a mask has 64 bits).
    static let limit = 64
    private let buckets: [UInt64]
    /// The signature keys' bytes back to back, and where each sits, with its decoders.
    private let storage: [UInt8]
    private let entries: [(start: Int, count: Int, mask: UInt64)]
    /// Decoders with no signature keys, which are asked about every object.
    let always: UInt64

    init(_ records: [any JSONRecordDecoder]) {
        var buckets = Array(repeating: UInt64(0), count: 1024)
        var storage: [UInt8] = []
        var entries: [(start: Int, count: Int, mask: UInt64)] = []
        var always: UInt64 = 0
        for (i, record) in records.enumerated() {
            let bit: UInt64 = i < KeySignatures.limit ? 1 << UInt64(i) : 0
            guard let names = record.signatureKeys else { always |= bit; continue }
            for name in names {
                let bytes = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
                guard let first = bytes.first, let last = bytes.last else { always |= bit; continue }
                buckets[KeySignatures.bucket(bytes.count, first, last)] |= bit
                entries.append((storage.count, bytes.count, bit))
                storage.append(contentsOf: bytes)
            }
        }
        self.buckets = buckets
        self.storage = storage
        self.entries = entries
        self.always = always
    }

    @inline(__always)
    private static func bucket(_ length: Int, _ first: UInt8, _ last: UInt8) -> Int {
        (length & 31) << 5 | Int((first &+ last) & 31)
    }

    /// The decoders that sign for `key` (an unescaped top-level key), as a mask.
    @inline(__always)
    func bits(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 { bits(key, besides: 0) }

    /// The decoders outside `known` that sign for `key`: one bucket load for a key nobody signs for,
    /// or whose decoders are all known already; the bytes are compared only past that.
    @inline(__always)
    private func bits(_ key: UnsafeBufferPointer<UInt8>, besides known: UInt64) -> UInt64 {
        guard let first = key.first, let last = key.last else { return 0 }
        let bucket = buckets.withUnsafeBufferPointer { $0[KeySignatures.bucket(key.count, first, last)] }
        if bucket & ~known == 0 { return 0 }
        var mask: UInt64 = 0
        for entry in entries where entry.mask & ~known != 0 && entry.count == key.count {
            let same = storage.withUnsafeBufferPointer { ByteText.same($0.baseAddress! + entry.start, key.baseAddress!, key.count) }
            if same { mask |= entry.mask }
        }
        return mask
    }

    /// A mask of the decoders worth asking about `doc`.
    func candidates(_ doc: JSONDocument) -> UInt64 {
        let tape = doc.tape
        let root = tape.node(doc.root)
        guard root.kind == .object else { return ~0 }
        var seen = always
        let end = Int(root.next)
        // Members are key/value pairs ending at `end`, and `next` never leaves the object (as in
        // `ConventionMapper.mapMembers`): one check covers every node read below.
        precondition(end <= tape.nodeCount)
        let nodes = tape.nodeBase
        var k = doc.root + 1
        while k < end {
            let key = nodes[k]
            // An escaped key may spell a signature key; let every decoder look at it.
            if key.flag { return ~0 }
            k = Int(nodes[k + 1].next)
            seen |= bits(doc.raw(node: key), besides: seen)
        }
        return seen
    }
}

/// One pass over a frame's bytes: where the content starts, and whether it is binary or non-ASCII.
struct FrameScan {
    var firstNonSpace: UInt8?
    var binary = false
    var nonASCII = false

    /// The first byte that is not a space, tab, CR or LF.
    @inline(__always)
    static func firstNonSpace(_ b: UnsafeBufferPointer<UInt8>) -> UInt8? {
        for c in b where c != 0x20 && c != 0x09 && c != 0x0d && c != 0x0a { return c }
        return nil
    }

    init(_ b: UnsafeBufferPointer<UInt8>) {
        guard let base = b.baseAddress else { return }
        let n = b.count
        var p = 0
        // Eight bytes at a time: most lines are plain ASCII with no control bytes but tab.
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        // A byte below 0x20 or at/above 0x80 sets its top bit in `suspicious` (a borrow may flag more
        // bytes, never fewer; `classify` then looks at each). Two words per turn halve the loop's cost.
        while p + 16 <= n {
            let w0 = UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self)
            let w1 = UnsafeRawPointer(base + p + 8).loadUnaligned(as: UInt64.self)
            let suspicious = ((w0 &- ones &* 0x20) | w0 | (w1 &- ones &* 0x20) | w1) & high
            if suspicious != 0 { classify(base, p, p + 16) }
            p += 16
        }
        while p + 8 <= n {
            let w = UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self)
            let suspicious = ((w &- ones &* 0x20) | w) & high
            if suspicious != 0 { classify(base, p, p + 8) }
            p += 8
        }
        classify(base, p, n)
        firstNonSpace = FrameScan.firstNonSpace(b)
    }

    @inline(__always)
    private mutating func classify(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) {
        for i in s..<e {
            let c = b[i]
            if c >= 0x80 { nonASCII = true } else if c < 0x20 {
                switch c {
                case 0x09, 0x0a, 0x0d, 0x1b: break
                default: binary = true
                }
            }
        }
    }

    static func hasContent(_ b: UnsafeBufferPointer<UInt8>, from offset: Int) -> Bool {
        var p = offset
        while p < b.count {
            let c = b[p]
            if c != 0x20 && c != 0x09 && c != 0x0d && c != 0x0a { return true }
            p += 1
        }
        return false
    }

    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var it = b.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
