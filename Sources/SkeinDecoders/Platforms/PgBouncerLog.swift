import SkeinCore

/// PgBouncer's own log (`logfile` or stderr): `<time> [<pid>] <LEVEL> <message>`, where client and
/// server connections are named `C-0x…: db/user@host:port` and `S-0x…: db/user@host:port`. Older
/// releases print the pid without brackets (`<time> <pid> <LEVEL> …`) and spell `Pooler Error:`.
///
/// What it shows of a pooled setup: clients logging in and leaving (`db.connect`/`db.disconnect` on
/// the pooler, not on Postgres), clients refused because the pooler is full (`no more connections
/// allowed (max_client_conn)`, a refusal by the pooler) and clients that waited too long for a
/// server (`query_wait_timeout`, a pool timeout), each from its `pooler error:` line. Events have
/// platform `pgbouncer`, so the engine
/// books them to the pooler and never to Postgres' own count.
///
/// The same lines through classic syslog (`syslog = 1`; `BSDSyslog` reads the header) decode to the
/// same events: PgBouncer sends syslog only its message (`Nov 25 10:00:00 db-host pgbouncer[812]:
/// C-0x…: shop/app@10.0.0.5:51234 login attempt: …`), so the time is syslog's, the pid the tag's,
/// and the level the `<PRI>`'s severity when the line carries one (libusual's `log_level_list`: LOG
/// is LOG_INFO, WARNING LOG_WARNING, ERROR LOG_ERR, FATAL LOG_CRIT, DEBUG and NOISE LOG_DEBUG), else
/// info. A line is PgBouncer's when its ident starts with `pgbouncer` or, whatever `syslog_ident`
/// says, its message names a connection (`C-0x…:`, `S-0x…:`).
public struct PgBouncerLogDecoder: StandaloneTextDecoder {
    public let name = "pgbouncer"
    public var standaloneContext = DecodeContext()

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        if PgBouncerLogDecoder.parse(frame) != nil { return true }
        guard let h = BSDSyslog.parse(frame) else { return false }
        return PgBouncerLogDecoder.isSyslogMessage(frame, h)
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let line: Line
        if let own = PgBouncerLogDecoder.parse(frame) {
            line = own
        } else if let h = BSDSyslog.parse(frame), PgBouncerLogDecoder.isSyslogMessage(frame, h) {
            guard let time = h.timestamp(reference: context.lastTime, clock: context.clock) else {
                return .malformed(.missingFields)
            }
            line = Line(time: time, pid: h.pid, level: h.severity.map(JournaldJSONLineDecoder.level(priority:)) ?? .info,
                        message: h.message)
        } else {
            return .malformed(.unrecognised)
        }
        let text = ByteText.slice(frame, line.message, ByteText.trimmedEnd(frame, line.message, frame.count))
        var e = Event(time: line.time, level: line.level, source: source, service: "pgbouncer",
                      instance: line.pid.map { context.interner.intern(String($0)) }, deploy: .server,
                      platform: "pgbouncer")
        e.message = String(decoding: text, as: UTF8.self)
        var rest = text
        if text.count > 4, ByteText.hasPrefix(text, "C-0x") || ByteText.hasPrefix(text, "S-0x"),
           let colon = ByteText.find(text, ": ", from: 0) {
            let client = text[0] == UInt8(ascii: "C")
            e.attributes.append(Attribute("connection", client ? "client" : "server"))
            // `db/user@host:port`, then what happened.
            var p = colon + 2
            let peerEnd = ByteText.tokenEnd(text, p)
            let peer = ByteText.slice(text, p, peerEnd)
            if let slash = ByteText.find(peer, "/", from: 0), let at = ByteText.find(peer, "@", from: slash) {
                e.attributes.append(Attribute("database", ByteText.string(peer, 0, slash)))
                e.attributes.append(Attribute("user", ByteText.string(peer, slash + 1, at)))
                let hostPort = ByteText.slice(peer, at + 1, peer.count)
                let host = ByteText.find(hostPort, ":", from: 0).map { ByteText.slice(hostPort, 0, $0) } ?? hostPort
                e.attributes.append(Attribute(client ? "client_host" : "server_host", String(decoding: host, as: UTF8.self)))
                p = ByteText.skipSpaces(text, peerEnd)
            }
            rest = ByteText.slice(text, p, text.count)
            if client && ByteText.hasPrefix(rest, "login attempt") {
                e.kind = .dbConnect
            } else if client && ByteText.hasPrefix(rest, "closing because") {
                e.kind = .dbDisconnect
            }
        }
        // A refusal or a timeout is logged twice, `closing because: …` then `pooler error: …`: the
        // second is the error, the first the connection's end.
        if e.kind != .dbDisconnect, ByteText.find(rest, "pooler error:", from: 0) != nil
            || ByteText.find(rest, "Pooler Error:", from: 0) != nil || e.level >= .error {
            if ByteText.find(rest, "no more connections allowed", from: 0) != nil {
                e.dbError = .tooManyClients
            } else if ByteText.find(rest, "query_wait_timeout", from: 0) != nil {
                e.dbError = .poolTimeout
            } else {
                e.dbError = DBErrorClassifier.classify(bytes: rest)
            }
            if e.dbError != nil { e.kind = .dbError }
        }
        if e.kind == .log, ByteText.hasPrefix(rest, "server login failed: "),
           let kind = DBErrorClassifier.classify(bytes: rest) {
            // Postgres refusing the pooler's own login (`FATAL: sorry, too many clients already`):
            // a DB error in which PgBouncer is Postgres' client, not a refusal of PgBouncer's own
            // clients. `server_error` tells the engine so (it counts it on the clients' side, where
            // Postgres' own log line of the same refusal does not count it twice).
            e.kind = .dbError
            e.dbError = kind
            e.attributes.append(Attribute("server_error", kind.rawValue))
        }
        if e.kind == .dbError && e.level < .warn { e.level = .warn }
        _ = ConventionMapper.settleTime(&e, found: true, context: &context)
        events.append(e)
        return .events(1)
    }

    struct Line {
        var time: Timestamp
        /// Always there in PgBouncer's own log; through syslog, when the tag has it.
        var pid: Int?
        var level: Level
        var message: Int
    }

    /// Whether a classic syslog line is PgBouncer's: its ident (`syslog_ident`, `pgbouncer` unless
    /// set) and a message, or any ident with a message that names a client or server connection
    /// (`C-0x55…: db/user@host:port …`), which is PgBouncer's own spelling.
    static func isSyslogMessage(_ b: UnsafeBufferPointer<UInt8>, _ h: BSDSyslog.Header) -> Bool {
        let m = h.message
        guard ByteText.trimmedEnd(b, m, b.count) > m else { return false }
        if BSDSyslog.ident(b, h, startsWith: "pgbouncer") { return true }
        guard ByteText.hasPrefix(b, "C-0x", at: m) || ByteText.hasPrefix(b, "S-0x", at: m) else { return false }
        var p = m + 4
        while p < b.count, ByteText.isHex(b, p, p + 1) { p += 1 }
        return p > m + 4 && ByteText.hasPrefix(b, ": ", at: p)
    }

    private static let levels: [(StaticString, Level)] = [
        ("LOG ", .info), ("WARNING ", .warn), ("ERROR ", .error), ("FATAL ", .fatal), ("DEBUG ", .debug), ("NOISE ", .trace),
    ]

    /// `<time> [<pid>] <LEVEL> ` (PgBouncer writes its level without Postgres' colon), or in older
    /// releases `<time> <pid> <LEVEL> `.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Line? {
        guard !b.isEmpty, ByteText.isDigit(b[0]), let (time, afterTime) = PlatformTime.parse(b),
              afterTime + 3 < b.count, b[afterTime] == 0x20 else { return nil }
        let bracketed = b[afterTime + 1] == UInt8(ascii: "[")
        var p = afterTime + (bracketed ? 2 : 1)
        var pid = 0
        let digits = p
        while p < b.count, p - digits < 10, ByteText.isDigit(b[p]) { pid = pid * 10 + Int(b[p] - 0x30); p += 1 }
        guard p > digits else { return nil }
        if bracketed {
            guard p + 1 < b.count, b[p] == UInt8(ascii: "]"), b[p + 1] == 0x20 else { return nil }
            p += 2
        } else {
            guard p < b.count, b[p] == 0x20 else { return nil }
            p += 1
        }
        for (word, level) in levels where ByteText.hasPrefix(b, word, at: p) {
            return Line(time: time, pid: pid, level: level, message: p + word.utf8CodeUnitCount)
        }
        return nil
    }
}
