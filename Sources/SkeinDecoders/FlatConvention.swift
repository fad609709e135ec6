import SkeinCore

/// The convention decoder's one-pass path for the commonest line: one flat JSON object (string,
/// number, `true`/`false`/`null` values), no escaped keys, none of another format's signature keys.
///
/// The general path parses the line into a `JSONTape`, walks the tape's keys once to pick a
/// decoder, then again to map them. Here each member is mapped as soon as it is scanned, with
/// the same `ConventionBuilder.take` and the same value bytes the tape would give, in the same
/// order, so the event is the one the general path builds. Anything else (a nested value, an
/// escaped key, a signature key, anything the tape would reject) gives up with `nil` before the
/// line counts for anything, and the caller takes the general path from the start: the only
/// state a give-up leaves behind is what the interner and the id cache remembered.
struct FlatConvention {
    let signatures: KeySignatures
    /// The decoders whose signature keys send a line to the general path: all but the convention.
    let others: UInt64
    let maxNodes: Int
    let name: String
    /// Held in a box, not inline: `AutoDecoder` copies this struct out of itself for each line it
    /// decodes (it lends its other fields inout alongside), and an inline event made that two
    /// 336-byte copies per line.
    private let blank = BlankEvent()

    /// Nil unless the convention is the last record decoder and the only one asked about every object.
    init?(records: [any JSONRecordDecoder], signatures: KeySignatures, maxNodes: Int) {
        guard let last = records.last, last is ConventionDecoder else { return nil }
        let conventionBit: UInt64 = records.count - 1 < KeySignatures.limit ? 1 << UInt64(records.count - 1) : 0
        guard conventionBit != 0, signatures.always == conventionBit else { return nil }
        self.signatures = signatures
        others = ~conventionBit
        self.maxNodes = maxNodes
        name = last.name
    }

    /// The outcome, or nil when the line is not one this path takes (nothing was counted).
    func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                shapes: inout KeyShapes, into events: inout [Event]) -> DecodeOutcome? {
        guard let b = frame.baseAddress else { return nil }
        let n = frame.count
        let p = JSONTape.skipWS(b, 0, n)
        guard p < n, b[p] == UInt8(ascii: "{") else { return nil }
        blank.append(to: &events)
        let at = events.count - 1
        events[at].source = source
        guard let timed = map(b, from: p + 1, n, event: &events[at], context: &context, shapes: &shapes) else {
            events.removeLast()
            return nil
        }
        return ConventionDecoder.finish(&events, at: at, timed: timed, context: &context)
    }

    /// Scans and maps the members after the opening brace: whether the line had a time, or nil to
    /// give up.
    private func map(_ b: UnsafePointer<UInt8>, from p0: Int, _ n: Int, event: inout Event,
                     context: inout DecodeContext, shapes: inout KeyShapes) -> Bool? {
        // Whatever the tape's scanners reject, the general path reports.
        do throws(JSONTape.Failure) {
            return try mapMembers(b, from: p0, n, event: &event, context: &context, shapes: &shapes)
        } catch {
            return nil
        }
    }

    private func mapMembers(_ b: UnsafePointer<UInt8>, from p0: Int, _ n: Int, event: inout Event,
                            context: inout DecodeContext, shapes: inout KeyShapes) throws(JSONTape.Failure) -> Bool? {
        var builder = ConventionBuilder(attributeBase: event.attributes.count, notableTextOnly: !context.keepsEveryMessage)
        let aliases = ConventionField.table
        var p = JSONTape.skipWS(b, p0, n)
        guard p < n else { return nil }
        // The tape's node count: the object, then a key and a value per member.
        var nodes = 1
        var previousKey = KeyShapes.lineStart
        if b[p] == UInt8(ascii: "}") {
            p += 1
        } else {
            while true {
                guard p < n, b[p] == UInt8(ascii: "\"") else { return nil }
                // The key: the one that followed the previous key last time (`KeyShapes`), or scanned.
                let keyBytes: UnsafeBufferPointer<UInt8>
                let field: ConventionField?
                let known = shapes.match(after: &previousKey, b, p, n)
                if known != 0 {
                    keyBytes = UnsafeBufferPointer(start: b + p + 1, count: known - 3)
                    field = shapes.field(previousKey)
                    p += known
                } else {
                    let key = try JSONTape.scanString(b, p, n)
                    guard !key.escaped, !key.nonASCII else { return nil }
                    keyBytes = UnsafeBufferPointer(start: b + p + 1, count: key.end - p - 1)
                    if signatures.bits(keyBytes) & others != 0 { return nil }
                    field = aliases.lookup(keyBytes)
                    let colon = JSONTape.skipWS(b, key.end + 1, n)
                    guard colon < n, b[colon] == UInt8(ascii: ":") else { return nil }
                    if colon == key.end + 1 {
                        shapes.learn(after: &previousKey, b + p, colon + 1 - p, field: field)
                    } else {
                        previousKey = KeyShapes.unknown
                    }
                    p = colon + 1
                }
                p = JSONTape.skipWS(b, p, n)
                guard p < n else { return nil }
                let value: FieldValue
                switch b[p] {
                case UInt8(ascii: "\""):
                    let s = try JSONTape.scanString(b, p, n)
                    value = .text(UnsafeBufferPointer(start: b + p + 1, count: s.end - p - 1), escaped: s.escaped)
                    p = s.end + 1
                case UInt8(ascii: "t"):
                    try JSONTape.literal(b, p, n, "true")
                    value = .bool(true)
                    p += 4
                case UInt8(ascii: "f"):
                    try JSONTape.literal(b, p, n, "false")
                    value = .bool(false)
                    p += 5
                case UInt8(ascii: "n"):
                    try JSONTape.literal(b, p, n, "null")
                    value = .null
                    p += 4
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let end = try JSONTape.scanNumber(b, p, n)
                    value = .number(UnsafeBufferPointer(start: b + p, count: end - p))
                    p = end
                default:
                    // Objects and arrays (flattened or kept whole by the general path), and errors.
                    return nil
                }
                nodes += 2
                if nodes > maxNodes { return nil }
                builder.take(field, value, key: keyBytes, event: &event, context: &context)
                p = JSONTape.skipWS(b, p, n)
                guard p < n else { return nil }
                if b[p] == UInt8(ascii: ",") { p = JSONTape.skipWS(b, p + 1, n); continue }
                if b[p] == UInt8(ascii: "}") { p += 1; break }
                return nil
            }
        }
        // One value per line: anything after it is the general path's to report.
        guard JSONTape.skipWS(b, p, n) == n else { return nil }
        return builder.finish(&event, context: &context)
    }
}
