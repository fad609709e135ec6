import SkeinCore

/// RFC 5424 syslog lines: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`, as log
/// drains and forwarders send them (Heroku's Logplex drains, rsyslog, Render); and classic RFC 3164
/// lines as rsyslog and syslog-ng write them to files (`Nov 25 10:00:00 host app[123]: MSG`, with
/// rsyslog's RFC 3339 time or a leading `<PRI>` too: `BSDSyslog` reads the header).
///
/// The severity (PRI modulo 8) is the level, when the line has one; the app's message is decoded
/// like a container's line (its JSON, logfmt or text). Heroku's frames (`app`/`heroku` with a dyno
/// as PROCID) are read as `heroku logs` lines are (`HerokuDecoder`): router lines become request
/// ends. Otherwise APP-NAME (RFC 3164's tag) is the service and `host[procid]` the instance, as for
/// the journal. An RFC 3164 date has no year: `BSDSyslog.resolve` places it by the source's last
/// time, or the injected clock before the source gave one. (Postgres' and PgBouncer's own lines
/// through syslog are their decoders', which come first in detection.)
public struct SyslogDecoder: StandaloneTextDecoder {
    public let name = "syslog"
    private var tape = JSONTape()
    public var standaloneContext = DecodeContext()

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        SyslogDecoder.parse(frame) != nil || BSDSyslog.parse(frame) != nil
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        func field(_ r: Range<Int>?) -> UnsafeBufferPointer<UInt8> {
            r.map { ByteText.slice(frame, $0.lowerBound, $0.upperBound) } ?? ByteText.slice(frame, 0, 0)
        }
        if let f = SyslogDecoder.parse(frame) {
            return decode(time: f.time, severity: f.severity, host: field(f.host), app: field(f.app), proc: field(f.procID),
                          message: field(f.message), source: source, context: &context, into: &events)
        }
        guard let h = BSDSyslog.parse(frame) else { return .malformed(.unrecognised) }
        // A yearless date the source's times cannot place (no time before it, no clock) is no time.
        guard let time = h.timestamp(reference: context.lastTime, clock: context.clock) else {
            return .malformed(.missingFields)
        }
        var pid = h.pid.map(String.init) ?? ""
        return pid.withUTF8 { proc in
            decode(time: time, severity: h.severity, host: field(h.host), app: field(h.ident), proc: proc,
                   message: ByteText.slice(frame, min(h.message, frame.count), frame.count), source: source,
                   context: &context, into: &events)
        }
    }

    /// One line's event from its header's fields (either form; `severity` nil when the line gave
    /// no `<PRI>`).
    private mutating func decode(time: Timestamp?, severity: Int?, host: UnsafeBufferPointer<UInt8>,
                                 app: UnsafeBufferPointer<UInt8>, proc: UnsafeBufferPointer<UInt8>,
                                 message raw: UnsafeBufferPointer<UInt8>, source: SourceID,
                                 context: inout DecodeContext, into events: inout [Event]) -> DecodeOutcome {
        var message = raw
        // A UTF-8 byte order mark may open the message (RFC 5424 §6.4).
        if message.count >= 3, message[0] == 0xef, message[1] == 0xbb, message[2] == 0xbf {
            message = ByteText.slice(message, 3, message.count)
        }
        message = ByteText.slice(message, 0, ByteText.trimmedEnd(message, 0, message.count))
        let heroku = (ByteText.equal(app, "app") || ByteText.equal(app, "heroku")) && !proc.isEmpty
        var event = Event(time: time ?? context.lastTime ?? .zero, source: source, deploy: .server,
                          platform: heroku ? "heroku" : "syslog")
        if let severity { event.level = JournaldJSONLineDecoder.level(priority: severity) }
        if heroku {
            HerokuDecoder.map(origin: app, dyno: proc, message: message, into: &event, tape: &tape, context: &context)
        } else {
            if !app.isEmpty { event.service = context.interner.intern(app) }
            if !host.isEmpty || !proc.isEmpty {
                let instance = proc.isEmpty ? String(decoding: host, as: UTF8.self)
                    : host.isEmpty ? String(decoding: proc, as: UTF8.self)
                    : "\(String(decoding: host, as: UTF8.self))[\(String(decoding: proc, as: UTF8.self))]"
                event.instance = context.interner.intern(instance)
            }
            _ = ContainerLine.apply(message, tape: &tape, to: &event, context: &context)
        }
        guard ConventionMapper.settleTime(&event, found: time != nil, context: &context) else {
            return .malformed(.missingFields)
        }
        DBErrorClassifier.apply(to: &event)
        events.append(event)
        return .events(1)
    }

    struct Fields {
        var severity: Int
        var time: Timestamp?
        var host: Range<Int>?
        var app: Range<Int>?
        var procID: Range<Int>?
        var message: Range<Int>
    }

    /// The header of an RFC 5424 line; `-` fields are nil. Structured data is skipped.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Fields? {
        guard b.count > 6, b[0] == UInt8(ascii: "<") else { return nil }
        var p = 1
        var pri = 0
        while p < b.count, p <= 4, ByteText.isDigit(b[p]) { pri = pri * 10 + Int(b[p] - 0x30); p += 1 }
        guard p > 1, pri <= 191, p + 2 < b.count, b[p] == UInt8(ascii: ">"), b[p + 1] == UInt8(ascii: "1"),
              b[p + 2] == 0x20 else { return nil }
        p += 3
        // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each a token or `-`.
        var tokens: [Range<Int>?] = []
        for _ in 0..<5 {
            guard p < b.count else { return nil }
            let e = ByteText.tokenEnd(b, p)
            guard e > p else { return nil }
            tokens.append(e - p == 1 && b[p] == UInt8(ascii: "-") ? nil : p..<e)
            p = e + 1
        }
        var time: Timestamp?
        if let t = tokens[0] {
            guard let (parsed, end) = PlatformTime.parse(ByteText.slice(b, t.lowerBound, t.upperBound)),
                  end == t.count else { return nil }
            time = parsed
        }
        // STRUCTURED-DATA: `-` or `[id k="v" …]…` (a `]` inside a quoted value is escaped).
        if p < b.count, b[p] == UInt8(ascii: "-") {
            p += 1
        } else if p < b.count, b[p] == UInt8(ascii: "[") {
            var quoted = false
            while p < b.count {
                let c = b[p]
                if c == UInt8(ascii: "\\") && quoted { p += 2; continue }
                if c == UInt8(ascii: "\"") { quoted.toggle() }
                p += 1
                if c == UInt8(ascii: "]") && !quoted && (p >= b.count || b[p] != UInt8(ascii: "[")) { break }
            }
        }
        if p < b.count, b[p] == 0x20 { p += 1 }
        return Fields(severity: pri & 7, time: time, host: tokens[1], app: tokens[2], procID: tokens[3],
                      message: min(p, b.count)..<b.count)
    }
}
