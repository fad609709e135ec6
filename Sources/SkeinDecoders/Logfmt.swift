import SkeinCore

/// Decodes logfmt lines (`time=… level=info msg="quoted \" value" status=200 cached`): Go's slog
/// TextHandler, logrus, Heroku's router, Grafana's tools.
///
/// Keys go through the same alias table as JSON (`ConventionMapper`), so `ts=`, `trace_id=`,
/// `duration=12ms` mean what they mean there. A bare word is a flag (`cached` → `cached=true`).
public struct LogfmtDecoder: StandaloneTextDecoder {
    public let name = "logfmt"
    /// Used only when called as a plain `FrameDecoder`; the auto-detector passes its own.
    public var standaloneContext = DecodeContext()
    private let blank = BlankEvent()

    public init() {}

    /// A line is logfmt when it opens with `key=`, the key made of letters, digits and `_ . - @ /`.
    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0
        let n = frame.count
        while p < n, frame[p] == 0x20 || frame[p] == 0x09 { p += 1 }
        let start = p
        while p < n, LogfmtDecoder.isKeyByte(frame[p]) { p += 1 }
        return p > start && p < n && frame[p] == UInt8(ascii: "=")
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        guard recognises(frame) else { return .malformed(.unrecognised) }
        var event = blank.event
        event.source = source
        let timed = LogfmtDecoder.apply(frame, to: &event, context: &context)
        guard ConventionMapper.settleTime(&event, found: timed, context: &context) else { return .malformed(.missingFields) }
        DBErrorClassifier.apply(to: &event)
        events.append(consume event)
        return .events(1)
    }

    /// Maps the pairs of one logfmt line onto `event` (the rules of `ConventionMapper.apply`); returns
    /// whether the line carried a usable time. For platform decoders whose messages are logfmt.
    @discardableResult
    public static func apply(_ line: UnsafeBufferPointer<UInt8>, to event: inout Event,
                             context: inout DecodeContext) -> Bool {
        var builder = ConventionBuilder(attributeBase: event.attributes.count)
        forEachPair(line) { key, value in
            let field = ConventionField.classify(key) ?? ConventionField.classifyHeader(key)
            builder.take(field, value, key: key, event: &event, context: &context)
        }
        return builder.finish(&event, context: &context)
    }

    /// Splits a line into pairs. Lenient: an unterminated quote runs to the end of the line, and a
    /// stray `=` or quote where a key should be is skipped rather than failing the line.
    static func forEachPair(_ b: UnsafeBufferPointer<UInt8>,
                            _ body: (UnsafeBufferPointer<UInt8>, FieldValue) -> Void) {
        let n = b.count
        var p = 0
        while p < n {
            while p < n, b[p] == 0x20 || b[p] == 0x09 { p += 1 }
            guard p < n else { break }
            let keyStart = p
            while p < n, b[p] != UInt8(ascii: "=") && b[p] != 0x20 && b[p] != 0x09 && b[p] != UInt8(ascii: "\"") { p += 1 }
            let key = UnsafeBufferPointer(rebasing: b[keyStart..<p])
            if key.isEmpty {
                // A `=` or quote with no key: not a pair; skip the token.
                p = skipToken(b, p)
                continue
            }
            guard p < n, b[p] == UInt8(ascii: "=") else {
                if p < n, b[p] == UInt8(ascii: "\"") { p = skipToken(b, p); continue }
                body(key, .bool(true))
                continue
            }
            p += 1
            if p < n, b[p] == UInt8(ascii: "\"") {
                p += 1
                let valueStart = p
                var escaped = false
                while p < n, b[p] != UInt8(ascii: "\"") {
                    if b[p] == UInt8(ascii: "\\") { escaped = true; p += 1 }
                    p += 1
                }
                let end = min(p, n)
                body(key, .text(UnsafeBufferPointer(rebasing: b[valueStart..<end]), escaped: escaped))
                p = end + 1
            } else {
                let valueStart = p
                while p < n, b[p] != 0x20 && b[p] != 0x09 { p += 1 }
                body(key, .text(UnsafeBufferPointer(rebasing: b[valueStart..<p]), escaped: false))
            }
        }
    }

    /// Past the current token, honouring a quoted part so spaces inside it do not split it.
    private static func skipToken(_ b: UnsafeBufferPointer<UInt8>, _ p0: Int) -> Int {
        var p = p0
        var quoted = false
        while p < b.count {
            let c = b[p]
            if c == UInt8(ascii: "\"") { quoted.toggle() }
            else if c == UInt8(ascii: "\\") && quoted { p += 1 }
            else if (c == 0x20 || c == 0x09) && !quoted { break }
            p += 1
        }
        return p
    }

    @inline(__always)
    static func isKeyByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "@"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}
