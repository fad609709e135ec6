import SkeinCore

/// PostgreSQL's server log (stderr format) with `log_connections` / `log_disconnections`.
///
/// Reads any `log_line_prefix` that starts with the time (`%m`/`%t`, or `%n`'s epoch seconds) and has the pid in brackets
/// (`%m [%p] `, the PG15 default; `%m [%p] %q%u@%d `; `%t [%p]: [%l-1] user=%u,db=%d,app=%a `):
/// the severity (`LOG:`, `FATAL:`, ...) is found after the prefix. Connections become `db.connect`
/// / `db.disconnect` (instance = the backend's pid, with `application_name` remembered from the
/// authorized line so the disconnection is attributed too); refusals and terminations become
/// `db.error`. `DETAIL:`/`HINT:`/`STATEMENT:` lines and tab-indented lines continue the entry
/// before them.
///
/// The same entries through classic syslog (`log_destination = 'syslog'`; `BSDSyslog` reads the
/// header) decode to the same events: `Nov 25 10:00:00 db-host postgres[1234]: [3-1] user=app,db=shop
/// FATAL:  sorry, too many clients already`. The message is read as the stderr line after the time:
/// `log_line_prefix` usually leaves the time out under syslog, so syslog's time is the entry's unless
/// the prefix has one of its own (`%m`), and the tag's pid is the backend's unless the prefix has
/// `[%p]`. Recognised by the message's shape (a sequence marker `[N-M]`, a severity word after the
/// prefix), not only by the ident, which `syslog_ident` may change. The parts of one message that
/// `syslog_split_messages` cut into lines (`[N-1]`, `[N-2]`, …: `DETAIL:`/`STATEMENT:` lines, the
/// tab-indented lines of a statement, which rsyslog writes as `#011`, and the rest of a line longer
/// than 900 bytes) continue it as they do in the stderr log.
public struct PostgresLogDecoder: TextFrameDecoder {
    public let name = "postgres"
    private var interner = Interner()
    private var pending: Event?
    /// The attribute that indented lines continue (a multi-line `STATEMENT:`), else the message.
    private var continuing: String?
    /// Who each live backend is, from its `connection authorized` line; bounded.
    private var sessions: [Int: Session] = [:]
    private static let maxSessions = 65_536
    /// The last line parsed and what it gave: the auto-detector has each line parsed up to three
    /// times (`continueFrame`, `recognises`, `decode`). A reference, since `recognises` cannot mutate;
    /// checked byte for byte, so any copy's answer is right.
    private let lastParse = RememberedLine<Entry?>()
    /// The held entry's syslog message (its number and process), when it came through syslog: only
    /// that message's parts continue it.
    private var pendingSyslog: SyslogThread?
    /// The last time this source gave, and the injected clock: the year of a syslog date
    /// (`BSDSyslog.resolve`).
    private var lastTime: Timestamp?
    private var clock: (any Clock)?

    private typealias Session = PostgresMapping.Session

    private struct SyslogThread {
        var seq: Int?
        var pid: Int?
    }

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let entry = parse(frame) else { return false }
        // Through syslog the shape was checked with the header (`parseSyslog`); the pid may be missing.
        if entry.syslog != nil { return true }
        guard entry.pid != nil else { return false }
        // PgBouncer's `<time> [<pid>] WARNING S-0x…: … server login failed: FATAL: …` quotes a
        // Postgres severity after its own level word: the pooler's line, not the server's.
        return entry.severityStart <= 40 || PgBouncerLogDecoder.parse(frame) == nil
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                into events: inout [Event]) -> DecodeOutcome {
        if continues(frame) { return .absorbed }
        let line = ByteText.slice(frame, 0, ByteText.trimmedEnd(frame, 0, frame.count))
        if line.isEmpty { return .absorbed }
        if line[0] == 0x09 || line[0] == 0x20 { return .malformed(.unrecognised) }
        guard let entry = parse(line) else { return .malformed(.unrecognised) }
        var out = 0
        if let p = pending {
            // Appended as mapped: `PostgresMapping` classifies DB errors by severity (ERROR, FATAL,
            // PANIC), so a LOG such as `could not receive data from client: Connection reset by peer`
            // (a client that went away) stays a log, as in `csvlog` and `jsonlog`.
            events.append(p)
            out += 1
        }
        pending = nil
        continuing = nil
        pendingSyslog = nil
        // A syslog date has no year: placed by the source's last time (`BSDSyslog.resolve`).
        guard let time = entry.syslog?.date.map({ BSDSyslog.resolve($0, reference: lastTime, clock: clock) }) ?? entry.time
        else { return .malformed(.missingFields) }
        lastTime = time
        pending = event(entry, time: time, line: line, source: source)
        if let mark = entry.syslog { pendingSyslog = SyslogThread(seq: mark.seq, pid: entry.pid) }
        return out > 0 ? .events(out) : .absorbed
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        if let t = context.lastTime { lastTime = t }
        clock = context.clock
        let outcome = decode(frame, source: source, into: &events)
        if let t = pending?.time { context.lastTime = t }
        return outcome
    }

    public mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                       context: inout DecodeContext, into events: inout [Event]) -> Bool {
        continues(frame)
    }

    /// Merges a line into the held entry when it continues it: an indented line, or a
    /// `DETAIL:`/`HINT:`/`STATEMENT:`/`CONTEXT:` line of the same backend.
    private mutating func continues(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        // The held entry is changed in place (`pending!`): a copy of it per line offered costs more
        // than the rest of the check.
        guard pending != nil else { return false }
        let line = ByteText.slice(frame, 0, ByteText.trimmedEnd(frame, 0, frame.count))
        if line.isEmpty { return false }
        if line[0] == 0x09 || line[0] == 0x20 {
            extend(String(decoding: line, as: UTF8.self), after: "\n")
            return true
        }
        if let thread = pendingSyslog {
            guard let header = BSDSyslog.parse(line) else { return false }
            return continuesSyslog(line, header, thread)
        }
        guard let entry = parse(line), entry.syslog == nil, entry.severity.isContinuation,
              pending!.attribute("pid") == entry.pid.map(String.init) else { return false }
        add(entry, line: line)
        return true
    }

    /// A `DETAIL:`/`HINT:`/`STATEMENT:`/… line of the held entry: its attribute (and the message's
    /// line, for a detail or hint).
    private mutating func add(_ entry: Entry, line: UnsafeBufferPointer<UInt8>) {
        let syslog = entry.syslog != nil
        let text = ByteText.slice(line, entry.textStart, line.count)
        pending!.attributes.append(Attribute(entry.severity.attributeKey,
                                             syslog ? BSDSyslog.text(text) : String(decoding: text, as: UTF8.self)))
        if entry.severity == .detail || entry.severity == .hint {
            let shown = ByteText.slice(line, entry.severityStart, line.count)
            if syslog, let bytes = BSDSyslog.unescapingTabs(shown) {
                bytes.withUnsafeBufferPointer { PlatformEvent.appendLine($0, to: &pending!) }
            } else {
                PlatformEvent.appendLine(shown, to: &pending!)
            }
        }
        continuing = entry.severity.attributeKey
    }

    /// Text that goes on from the held entry's last line: an indented line (`separator` a newline)
    /// or the rest of a line syslog had cut (no separator). Onto the attribute being continued (a
    /// multi-line `STATEMENT:`), else the message; within the bound.
    private mutating func extend(_ text: String, after separator: String) {
        if let key = continuing, let i = pending!.attributes.lastIndex(where: { $0.key == key }),
           pending!.attributes[i].value.utf8.count + text.utf8.count < PlatformEvent.maxMessageBytes {
            pending!.attributes[i].value += separator + text
        } else {
            var m = pending!.message ?? ""
            guard m.utf8.count + text.utf8.count < PlatformEvent.maxMessageBytes else { return }
            m += separator
            m += text
            pending!.message = m
        }
    }

    /// Whether a syslog line is a later part of the held entry's message: the same process and, with
    /// `syslog_sequence_numbers`, the same message number (`[N-2]`, `[N-3]`, … after `[N-1]`).
    private mutating func continuesSyslog(_ line: UnsafeBufferPointer<UInt8>, _ h: BSDSyslog.Header,
                                          _ thread: SyslogThread) -> Bool {
        if let a = h.pid, let b = thread.pid, a != b { return false }
        var content = h.message
        let mark = BSDSyslog.marker(line, at: content)
        if let m = mark {
            if let part = m.part {
                guard part > 1, m.first == thread.seq else { return false }
            } else if m.first <= 1 {
                // `[1]`: the first part of a message (sequence numbers off).
                return false
            }
            content = m.end
        }
        guard content < line.count else { return false }
        // A tab-indented line of a statement (`#011` as rsyslog writes the tab): the text goes on.
        if line[content] == 0x09 || ByteText.hasPrefix(line, "#011", at: content) {
            extend(BSDSyslog.text(ByteText.slice(line, content, line.count)), after: "\n")
            return true
        }
        if let entry = parse(line) {
            guard entry.syslog != nil, entry.severity.isContinuation,
                  pending!.attribute("pid") == entry.pid.map(String.init) else { return false }
            add(entry, line: line)
            return true
        }
        // The rest of a line longer than Postgres' syslog limit, cut at a space (which it starts with).
        if let part = mark?.part, part > 1 {
            extend(BSDSyslog.text(ByteText.slice(line, content, line.count)), after: "")
            return true
        }
        return false
    }

    /// `Self.parse(b)`, remembered for the next call with the same bytes.
    private func parse(_ b: UnsafeBufferPointer<UInt8>) -> Entry? {
        if let known = lastParse.result(for: b) { return known }
        let entry = Self.parse(b)
        lastParse.remember(b, entry)
        return entry
    }

    public mutating func flush(source: SourceID, into events: inout [Event]) {
        if let p = pending { events.append(p) }
        pending = nil
        pendingSyslog = nil
    }

    enum Severity: Equatable {
        case debug, info, notice, warning, error, log, fatal, panic
        case detail, hint, statement, context, query, location

        var isContinuation: Bool {
            switch self {
            case .detail, .hint, .statement, .context, .query, .location: return true
            default: return false
            }
        }

        var attributeKey: String {
            switch self {
            case .detail: "detail"
            case .hint: "hint"
            case .statement: "statement"
            case .context: "context"
            case .query: "query"
            case .location: "location"
            default: "message"
            }
        }

        /// FATAL ends one session, not the server: an error for Skein. PANIC takes the server down.
        var level: Level {
            switch self {
            case .debug: .debug
            case .info, .notice, .log: .info
            case .warning: .warn
            case .error, .fatal: .error
            case .panic: .fatal
            default: .info
            }
        }
    }

    struct Entry {
        var time: Timestamp
        var pid: Int?
        var user: String?
        var database: String?
        var application: String?
        var severity: Severity
        var severityStart: Int
        var textStart: Int
        /// Set when the entry came through classic syslog.
        var syslog: SyslogMark? = nil
    }

    /// What a syslog line adds to an entry.
    struct SyslogMark {
        /// The date still missing its year (RFC 3164), when neither syslog nor the prefix gave a full time.
        var date: BSDSyslog.Date?
        /// N of `[N-M]`: the message's number (`syslog_sequence_numbers`).
        var seq: Int?
        /// M of `[N-M]`, or the number of `[N]`.
        var part: Int?
    }

    /// Every severity word the stderr log is read with. Shared with `jsonlog` (`Severity(name:)`).
    ///
    /// The server writes `DEBUG` for every level from DEBUG1 to DEBUG5 (`error_severity()` in
    /// `elog.c`, used by stderr, csvlog and jsonlog alike); `DEBUG1:`…`DEBUG5:` are the setting's
    /// names, which the server never prints, read too for logs other tools rewrote.
    static let severities: [(StaticString, Severity)] = [
        ("LOG:", .log), ("FATAL:", .fatal), ("ERROR:", .error), ("WARNING:", .warning), ("DETAIL:", .detail),
        ("HINT:", .hint), ("STATEMENT:", .statement), ("CONTEXT:", .context), ("PANIC:", .panic),
        ("NOTICE:", .notice), ("INFO:", .info), ("QUERY:", .query), ("LOCATION:", .location), ("DEBUG:", .debug),
        ("DEBUG1:", .debug), ("DEBUG2:", .debug), ("DEBUG3:", .debug), ("DEBUG4:", .debug), ("DEBUG5:", .debug),
    ]

    /// The prefix's time, pid and session facts, and where the severity and text start.
    ///
    /// The prefix is whatever `log_line_prefix` printed between the time and the severity word,
    /// which Postgres always writes as `WORD:` and two spaces. Tokens in it are separated by spaces
    /// or colons: `[%p]` is the pid (`[%l-1]`, the line number, is not), `%u@%d[/%a]` and
    /// `user=%u,db=%d,app=%a` name the session, and `%c` (`6741a8b0.3039`: start time and pid in
    /// hex) gives the pid when no `[%p]` does. So RDS/Aurora's `%t:%r:%u@%d:[%p]:` and Azure's
    /// `%t-%c-` read as well as the defaults.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Entry? {
        if let entry = parseSyslog(b) { return entry }
        guard let (time, afterTime) = PlatformTime.parse(b) ?? epochPrefix(b) else { return nil }
        return parse(b, time: time, prefixFrom: afterTime)
    }

    /// An entry that came through classic syslog: the header (`BSDSyslog`), Postgres' sequence
    /// marker, then the stderr line after its time (`parse(_:time:prefixFrom:)`).
    ///
    /// Taken as Postgres' when the message has its shape: a sequence marker, or the severity word
    /// with the two spaces Postgres writes after it, or (one space) under an ident that starts with
    /// `postgres`/`postmaster`. PgBouncer's lines (its ident, its `C-0x…:` connections) are not.
    static func parseSyslog(_ b: UnsafeBufferPointer<UInt8>) -> Entry? {
        guard let h = BSDSyslog.parse(b), !PgBouncerLogDecoder.isSyslogMessage(b, h) else { return nil }
        var p = h.message
        let mark = BSDSyslog.marker(b, at: p)
        if let m = mark { p = m.end }
        // The prefix's own time (`%m`, `%t`, `%n`), when `log_line_prefix` kept it: exact, with its year.
        var prefixTime: Timestamp?
        if let (t, e) = PlatformTime.parse(b, at: p) ?? epochPrefix(ByteText.slice(b, p, b.count)).map({ ($0.0, $0.1 + p) }) {
            prefixTime = t
            p = e
        }
        guard var entry = parse(b, time: prefixTime ?? .zero, prefixFrom: p) else { return nil }
        if mark == nil {
            let colon = entry.severityStart + severityWordLength(b, entry.severityStart)
            let twoSpaces = colon + 1 < b.count && b[colon] == 0x20 && b[colon + 1] == 0x20
            guard twoSpaces || BSDSyslog.ident(b, h, startsWith: "postgres") || BSDSyslog.ident(b, h, startsWith: "postmaster")
            else { return nil }
        }
        var date: BSDSyslog.Date?
        if prefixTime == nil {
            switch h.time {
            case .full(let t): entry.time = t
            case .yearless(let d): date = d
            }
        }
        entry.pid = entry.pid ?? h.pid
        entry.syslog = SyslogMark(date: date, seq: mark?.part != nil ? mark?.first : nil,
                                  part: mark.map { $0.part ?? $0.first })
        return entry
    }

    /// The length of the severity word (with its colon) at `p`.
    private static func severityWordLength(_ b: UnsafeBufferPointer<UInt8>, _ p: Int) -> Int {
        var e = p
        while e < b.count, b[e] != UInt8(ascii: ":") { e += 1 }
        return e + 1 - p
    }

    /// The entry of a stderr line whose prefix (after the time) starts at `afterTime`.
    static func parse(_ b: UnsafeBufferPointer<UInt8>, time: Timestamp, prefixFrom afterTime: Int) -> Entry? {
        guard let (severity, severityStart, severityEnd) = findSeverity(b, from: afterTime) else { return nil }
        var pid: Int?
        var sessionPID: Int?
        var user: String?
        var database: String?
        var application: String?
        let prefix = ByteText.slice(b, afterTime, severityStart)
        var p = 0
        while p < prefix.count {
            let c = prefix[p]
            if c == 0x20 || c == 0x09 || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") && p == 0 { p += 1; continue }
            var e = p
            while e < prefix.count, prefix[e] != 0x20, prefix[e] != 0x09, prefix[e] != UInt8(ascii: ":") { e += 1 }
            let token = ByteText.slice(prefix, p, e)
            p = e
            if token[0] == UInt8(ascii: "[") {
                // `[12345]` (the pid), not `[3-1]` (the line number).
                if pid == nil, let close = ByteText.find(token, "]", from: 0),
                   let n = NumberParsing.int(ByteText.slice(token, 1, close)) { pid = n }
            } else if let at = ByteText.find(token, "@", from: 0), at > 0, at < token.count - 1,
                      ByteText.find(token, "=", from: 0) == nil {
                // `%u@%d`, or `%u@%d/%a`
                user = ByteText.string(token, 0, at)
                if let slash = ByteText.find(token, "/", from: at + 1) {
                    database = ByteText.string(token, at + 1, slash)
                    application = ByteText.string(token, slash + 1, token.count)
                } else {
                    database = ByteText.string(token, at + 1, token.count)
                }
            } else if ByteText.find(token, "=", from: 0) != nil {
                // `user=%u,db=%d,app=%a,client=%h`
                if let r = ByteText.field("user=", in: token, from: 0) { user = ByteText.string(token, r.lowerBound, r.upperBound) }
                if let r = ByteText.field("db=", in: token, from: 0) { database = ByteText.string(token, r.lowerBound, r.upperBound) }
                if let r = ByteText.field("app=", in: token, from: 0) { application = ByteText.string(token, r.lowerBound, r.upperBound) }
            } else if sessionPID == nil {
                // `%t-%c-` runs the session id into dashes.
                var s = 0, e = token.count
                while s < e, token[s] == UInt8(ascii: "-") { s += 1 }
                while e > s, token[e - 1] == UInt8(ascii: "-") { e -= 1 }
                sessionPID = Self.sessionPID(ByteText.slice(token, s, e))
            }
        }
        return Entry(time: time, pid: pid ?? sessionPID, user: user, database: database, application: application,
                     severity: severity, severityStart: severityStart,
                     textStart: ByteText.skipSpaces(b, severityEnd))
    }

    /// `%n`: the time as Unix epoch seconds with milliseconds (`1795428000.123`), then a space. Past
    /// 2262 no Timestamp holds it (ten digits reach 2286): no time, as for other epochs.
    static func epochPrefix(_ b: UnsafeBufferPointer<UInt8>) -> (Timestamp, Int)? {
        guard b.count > 15, b[10] == UInt8(ascii: "."), b[14] == 0x20,
              let t = TimeParsing.epoch(text: ByteText.slice(b, 0, 14)) else { return nil }
        return (t, 14)
    }

    /// The first severity word (`LOG:`, `FATAL:`, ...) after the time that starts a token and is
    /// followed by a space: the end of the prefix. Looked for within the first 512 bytes. Returns
    /// the severity, where its word starts and where it ends.
    private static func findSeverity(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> (Severity, Int, Int)? {
        let end = min(b.count, start + 512)
        var p = start
        while p < end {
            let c = b[p]
            if c >= 0x41 && c <= 0x5a, p == start || Self.separates(b[p - 1]) {
                for (word, sev) in severities where ByteText.hasPrefix(b, word, at: p) {
                    let after = p + word.utf8CodeUnitCount
                    if after == b.count || b[after] == 0x20 || b[after] == 0x09 { return (sev, p, after) }
                }
            }
            p += 1
        }
        return nil
    }

    @inline(__always)
    private static func separates(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") || c == UInt8(ascii: "]")
            || c == UInt8(ascii: ",") || c == UInt8(ascii: ")")
    }

    /// The pid inside a session id (`%c`: the backend's start time and pid in hex, `6741a8b0.3039`).
    static func sessionPID(_ token: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let dot = ByteText.find(token, ".", from: 0), dot >= 6, dot < token.count - 1,
              token.count - dot - 1 <= 8 else { return nil }
        func hex(_ s: UnsafeBufferPointer<UInt8>) -> Int? {
            var v = 0
            for c in s {
                switch c {
                case 0x30...0x39: v = v << 4 | Int(c - 0x30)
                case 0x61...0x66: v = v << 4 | Int(c - 0x61 + 10)
                default: return nil
                }
            }
            return v
        }
        guard hex(ByteText.slice(token, 0, dot)) != nil, let pid = hex(ByteText.slice(token, dot + 1, token.count)),
              pid > 0 else { return nil }
        return pid
    }

    private mutating func event(_ entry: Entry, time: Timestamp, line b: UnsafeBufferPointer<UInt8>,
                                source: SourceID) -> Event {
        var session = entry.pid.flatMap { sessions[$0] } ?? Session()
        session.learn(user: entry.user, database: entry.database, application: entry.application)
        let message = ByteText.slice(b, entry.severityStart, b.count)
        let text = ByteText.slice(b, entry.textStart, b.count)
        let e: Event
        if entry.syslog != nil, let shown = BSDSyslog.unescapingTabs(message) {
            // rsyslog's `#011` read back as the tab Postgres wrote.
            let said = BSDSyslog.unescapingTabs(text) ?? Array(text)
            e = shown.withUnsafeBufferPointer { m in
                said.withUnsafeBufferPointer { t in
                    PostgresMapping.event(time: time, pid: entry.pid, severity: entry.severity, message: m, text: t,
                                          session: &session, source: source, interner: &interner)
                }
            }
        } else {
            e = PostgresMapping.event(time: time, pid: entry.pid, severity: entry.severity, message: message,
                                      text: text, session: &session, source: source, interner: &interner)
        }
        switch e.kind {
        case .dbConnect: remember(entry.pid, session)
        case .dbDisconnect: if let pid = entry.pid { sessions[pid] = nil }
        default: break
        }
        return e
    }

    private mutating func remember(_ pid: Int?, _ session: Session) {
        guard let pid else { return }
        if sessions.count >= Self.maxSessions, sessions[pid] == nil { sessions.removeAll(keepingCapacity: true) }
        sessions[pid] = session
    }

    /// `0:00:01.234` (hours:minutes:seconds) → milliseconds.
    static func sessionMS(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        var parts: [Double] = []
        var s = 0
        for i in 0...b.count where i == b.count || b[i] == UInt8(ascii: ":") {
            guard let v = NumberParsing.double(ByteText.slice(b, s, i)) else { return nil }
            parts.append(v)
            s = i + 1
        }
        guard parts.count == 3 else { return nil }
        return ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000
    }
}

/// What Postgres says in one log entry, whichever format carried it (the stderr log with its
/// prefix, or `jsonlog`): connections, disconnections and refusals, with who the backend serves.
enum PostgresMapping {
    /// Who a backend serves: from its `connection authorized` line, or the entry's own fields.
    struct Session {
        var user: String?
        var database: String?
        var application: String?

        /// Takes what a prefix or record names; `[unknown]` is what `%u`/`%d`/`%a` print before
        /// authentication.
        mutating func learn(user u: String?, database d: String?, application a: String?) {
            if let u, u != "[unknown]", !u.isEmpty { user = u }
            if let d, d != "[unknown]", !d.isEmpty { database = d }
            if let a, a != "[unknown]", !a.isEmpty { application = a }
        }
    }

    /// The event of one entry. `message` is the entry as shown (`FATAL:  sorry, too many clients
    /// already`), `text` what follows the severity; `session` is updated from a connection line.
    static func event(time: Timestamp, pid: Int?, severity: PostgresLogDecoder.Severity,
                      message: UnsafeBufferPointer<UInt8>, text: UnsafeBufferPointer<UInt8>,
                      session: inout Session, source: SourceID, interner: inout Interner) -> Event {
        var e = Event(time: time, kind: .log, level: severity.level, source: source, service: "postgres",
                      deploy: .server, platform: "postgres")
        e.message = String(decoding: message, as: UTF8.self)
        if let pid {
            e.instance = interner.intern(String(pid))
            e.attributes.append(Attribute("pid", String(pid)))
        }
        if ByteText.hasPrefix(text, "connection authorized: ") {
            e.kind = .dbConnect
            if let r = ByteText.field("user=", in: text, from: 0) { session.user = ByteText.string(text, r.lowerBound, r.upperBound) }
            if let r = ByteText.field("database=", in: text, from: 0) { session.database = ByteText.string(text, r.lowerBound, r.upperBound) }
            if let r = ByteText.field("application_name=", in: text, from: 0) {
                session.application = ByteText.string(text, r.lowerBound, r.upperBound)
            }
            if ByteText.find(text, "SSL enabled", from: 0) != nil { e.attributes.append(Attribute("ssl", "true")) }
        } else if ByteText.hasPrefix(text, "disconnection: ") {
            e.kind = .dbDisconnect
            if let r = ByteText.value(after: "session time: ", in: text) {
                e.durationMS = PostgresLogDecoder.sessionMS(ByteText.slice(text, r.lowerBound, r.upperBound))
            }
            if let r = ByteText.field("user=", in: text, from: 0) { session.user = ByteText.string(text, r.lowerBound, r.upperBound) }
            if let r = ByteText.field("database=", in: text, from: 0) { session.database = ByteText.string(text, r.lowerBound, r.upperBound) }
            if let r = ByteText.field("host=", in: text, from: 0) { e.attributes.append(Attribute("client_host", ByteText.string(text, r.lowerBound, r.upperBound))) }
        } else if ByteText.hasPrefix(text, "connection received: ") {
            if let r = ByteText.field("host=", in: text, from: 0) { e.attributes.append(Attribute("client_host", ByteText.string(text, r.lowerBound, r.upperBound))) }
            e.level = .debug
        } else if severity == .fatal || severity == .error || severity == .panic,
                  let kind = DBErrorClassifier.classify(bytes: text) {
            e.kind = .dbError
            e.dbError = kind
        }
        if let u = session.user { e.attributes.append(Attribute("user", u)) }
        if let d = session.database { e.attributes.append(Attribute("database", d)) }
        if let a = session.application, !a.isEmpty {
            e.attributes.append(Attribute("application_name", interner.intern(a)))
        }
        return e
    }
}
