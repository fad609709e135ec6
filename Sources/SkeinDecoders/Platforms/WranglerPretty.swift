import SkeinCore

/// `wrangler tail --format pretty` (the default on a terminal): one header line per invocation, then
/// its `console.*` calls and uncaught exceptions, indented.
///
/// ```
/// GET https://api.example.com/api/feed - Ok @ 11/23/2026, 10:00:00 AM
///   (log) GET /api/feed cache miss
///   (error) upstream failed { status: 502 }
///   Error: boom
/// "*/5 * * * *" @ 11/23/2026, 10:05:00 AM - Ok
/// Alarm @ 11/23/2026, 10:06:00 AM - Exceeded CPU Limit
/// Unknown Event - Exception Thrown @ 11/23/2026, 10:07:00 AM
/// [missing request] - Canceled @ 11/23/2026, 10:08:00 AM
/// ```
///
/// wrangler prints the time with `Date.toLocaleString()` in the terminal's own zone and locale; Skein
/// reads the en-US shape (`M/D/YYYY, h:mm:ss AM`) and the 24-hour `D/M/YYYY, HH:mm:ss` one, as UTC
/// (the line does not say its zone), to the second. The format drops what the JSON one has: the
/// Ray id and headers (so no ids to link an invocation to its origin's lines, unless a logged line
/// is JSON carrying them), the response status, per-log times and CPU time.
public struct WranglerPrettyDecoder: TextFrameDecoder {
    public let name = "cloudflare-workers"
    private var held: [Event] = []
    private var tape = JSONTape(maxDepth: 64, maxNodes: 1 << 16)
    private var ownContext = DecodeContext()

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        Self.header(frame) != nil
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                into events: inout [Event]) -> DecodeOutcome {
        var context = ownContext
        defer { ownContext = context }
        if continueFrame(frame, source: source, context: &context, into: &events) { return .absorbed }
        let n = held.count
        flush(source: source, into: &events)
        let outcome = decode(frame, source: source, context: &context, into: &events)
        if n > 0, case .absorbed = outcome { return .events(n) }
        return outcome
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let line = ByteText.slice(frame, 0, ByteText.trimmedEnd(frame, 0, frame.count))
        guard let h = Self.header(line) else { return .malformed(.unrecognised) }
        var scope = PlatformScope(deploy: .edge, platform: "cloudflare-workers", runtime: "workerd")
        if let s = context.facts[Self.scriptFact] { scope.service = s }
        var base = scope.event(h.time, source: source)
        base.attributes.append(Attribute("skein.time", "local"))
        if let url = h.url {
            // The pretty line has no script name; the host the Worker answered for stands in.
            if scope.service == nil, let host = Self.host(url) { base.service = context.interner.intern(host) }
            base.route = context.interner.intern(EmbeddedJSON.pathOnly(url))
            base.attributes.append(Attribute("url", url))
        } else if let what = h.what {
            base.route = context.interner.intern(what)
        }
        if let m = h.method { base.method = context.interner.intern(m) }
        var start = base
        start.kind = .requestStart
        let what = [base.method, base.route].compactMap { $0 }.joined(separator: " ")
        start.message = what.isEmpty ? "[missing request]" : what
        var end = base
        end.kind = .requestEnd
        end.attributes.append(Attribute("outcome", h.outcome))
        switch h.outcome {
        case "ok": break
        case "exceededCpu", "exceededMemory":
            end.level = .error
            end.status = 503
        case "exception":
            end.level = .error
            end.status = 500
        default:
            end.level = .warn
        }
        end.message = h.outcome
        context.lastTime = h.time
        held = [start, end]
        return .absorbed
    }

    /// The indented lines under a header: `  (level) message…` and `  Name: message` (an exception).
    public mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                       context: inout DecodeContext, into events: inout [Event]) -> Bool {
        guard held.count >= 2 else { return false }
        let line = ByteText.slice(frame, 0, ByteText.trimmedEnd(frame, 0, frame.count))
        guard line.count > 2, line[0] == 0x20, line[1] == 0x20 else { return false }
        var e = held[0]
        e.kind = .log
        e.message = nil
        e.attributes = []
        let body = ByteText.slice(line, 2, line.count)
        if body.first == UInt8(ascii: "("), let close = ByteText.find(body, ")", from: 0), close > 1 {
            let level = ByteText.string(body, 1, close)
            e.level = Level(name: level) ?? .info
            let text = ByteText.string(body, ByteText.skipSpaces(body, close + 1), body.count)
            if !EmbeddedJSON.mergeIfJSON(text, tape: &tape, into: &e, context: &context) { e.message = text }
            // The line's own ids name the invocation: they go on its start and end too.
            for k in held.indices {
                if held[k].traceID == nil { held[k].traceID = e.traceID }
                if held[k].correlationID == nil { held[k].correlationID = e.correlationID }
                if held[k].requestID == nil { held[k].requestID = e.requestID }
            }
        } else if body.first != 0x20 {
            // An uncaught exception, `Name: message`; or the continuation of a multi-line log.
            e.level = .error
            e.message = String(decoding: body, as: UTF8.self)
            e.attributes = [Attribute("outcome", "exception")]
        } else {
            PlatformEvent.appendLine(ByteText.slice(line, ByteText.skipSpaces(line, 0), line.count), to: &held[held.count - 2])
            return true
        }
        held.insert(e, at: held.count - 1)
        return true
    }

    public mutating func flush(source: SourceID, into events: inout [Event]) {
        for e in held { PlatformEvent.emit(e, into: &events) }
        held.removeAll(keepingCapacity: true)
    }

    static let scriptFact = "cloudflare.script"

    struct Header {
        var time: Timestamp
        var method: String?
        var url: String?
        /// What ran when it was no request: the cron pattern, `Alarm`, `Email`.
        var what: String?
        /// The outcome as the JSON format spells it (`ok`, `exceededCpu`, …).
        var outcome: String
    }

    private static let outcomes: [(StaticString, String)] = [
        ("Ok", "ok"), ("Canceled", "canceled"), ("Exceeded CPU Limit", "exceededCpu"),
        ("Exceeded Memory Limit", "exceededMemory"), ("Exception Thrown", "exception"), ("Unknown", "unknown"),
    ]

    /// `<what> - <Outcome> @ <date>` (requests, unknown events) or `<what> @ <date> - <Outcome>`
    /// (cron, alarm, email).
    static func header(_ b: UnsafeBufferPointer<UInt8>) -> Header? {
        guard b.count >= 20, b[0] != 0x20, b[0] != 0x09, let at = lastIndex(b, " @ ") else { return nil }
        let left = ByteText.slice(b, 0, at)
        let right = ByteText.slice(b, at + 3, b.count)
        var outcome: String?
        var what = left
        var date = right
        if let dash = lastIndex(left, " - "), let o = outcomeName(ByteText.slice(left, dash + 3, left.count)) {
            outcome = o
            what = ByteText.slice(left, 0, dash)
        } else if let dash = lastIndex(right, " - "), let o = outcomeName(ByteText.slice(right, dash + 3, right.count)) {
            outcome = o
            date = ByteText.slice(right, 0, dash)
        }
        guard let outcome, let time = localeTime(date) else { return nil }
        var h = Header(time: time, outcome: outcome)
        let sp = ByteText.tokenEnd(what, 0)
        if sp < what.count, isMethod(ByteText.slice(what, 0, sp)), ByteText.hasPrefix(what, "http", at: sp + 1) {
            h.method = ByteText.string(what, 0, sp)
            h.url = ByteText.string(what, sp + 1, what.count)
        } else if ByteText.hasPrefix(what, "[missing request]") {
            h.what = nil
        } else if what.first == UInt8(ascii: "\""), what.count >= 2, what[what.count - 1] == UInt8(ascii: "\"") {
            h.what = "cron " + ByteText.string(what, 1, what.count - 1)
        } else if ByteText.hasPrefix(what, "Email ") {
            h.what = "email"
        } else {
            h.what = String(decoding: what, as: UTF8.self)
        }
        return h
    }

    static func host(_ url: String) -> String? {
        guard let scheme = url.firstRange(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != ":" }
        return host.isEmpty ? nil : String(host)
    }

    private static func isMethod(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard (3...7).contains(b.count) else { return false }
        for c in b where !(c >= 0x41 && c <= 0x5a) { return false }
        return true
    }

    private static func outcomeName(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        for (text, name) in outcomes where b.count == text.utf8CodeUnitCount && ByteText.hasPrefix(b, text) { return name }
        return nil
    }

    private static func lastIndex(_ b: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Int? {
        var found: Int?
        var from = 0
        while let i = ByteText.find(b, needle, from: from) {
            found = i
            from = i + 1
        }
        return found
    }

    /// `11/23/2026, 10:00:00 AM` (en-US) or `23/11/2026, 10:00:00` (24-hour, day first), as UTC.
    static func localeTime(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var nums: [Int64] = []
        var cur: Int64 = -1
        var pm: Bool?
        for c in b {
            if ByteText.isDigit(c) {
                cur = (cur < 0 ? 0 : cur * 10) + Int64(c - 0x30)
                if cur > 99_999 { return nil }
            } else {
                if cur >= 0 { nums.append(cur); cur = -1 }
                switch c {
                case UInt8(ascii: "A"): pm = false
                case UInt8(ascii: "P"): pm = true
                case UInt8(ascii: "/"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "M"), 0xe2, 0x80, 0xaf:
                    // (U+202F, the narrow no-break space newer ICU puts before AM/PM.)
                    break
                default: return nil
                }
            }
        }
        if cur >= 0 { nums.append(cur) }
        guard nums.count == 6 else { return nil }
        var (month, day, year, hour) = (nums[0], nums[1], nums[2], nums[3])
        if let pm {
            guard (1...12).contains(hour) else { return nil }
            hour = hour % 12 + (pm ? 12 : 0)
        } else {
            // No AM/PM: a day-first 24-hour locale (en-GB, de-DE prints dots and is not read).
            swap(&month, &day)
        }
        guard (1...12).contains(month), (1...31).contains(day), year >= 1970, hour < 24, nums[4] < 60, nums[5] < 61 else { return nil }
        let days = Timestamp.days(year: year, month: month, day: day)
        // A year up to 99999 reads: past 2262 it is no time (it trapped before).
        return Timestamp.fromSeconds((days * 86_400) + hour * 3600 + nums[4] * 60 + nums[5], nanos: 0)
    }
}
