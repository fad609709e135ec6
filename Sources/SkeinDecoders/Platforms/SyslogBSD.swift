import SkeinCore

/// Classic syslog lines (RFC 3164, "BSD syslog"), as rsyslog and syslog-ng write them to files and
/// as `log_destination = 'syslog'` (Postgres) or `syslog = 1` (PgBouncer) send them:
///
/// - `Nov 25 10:00:00 db-host postgres[1234]: [3-1] …` — rsyslog's `RSYSLOG_TraditionalFileFormat`
///   (`%TIMESTAMP% %HOSTNAME% %syslogtag%%msg%`): the month's English abbreviation, the day padded
///   with a space (`Nov  5`), no year, no zone;
/// - `2026-11-25T10:00:00.123456+00:00 db-host postgres[1234]: …` — `RSYSLOG_FileFormat`, the same
///   with RFC 3339 time;
/// - `<134>Nov 25 10:00:00 db-host postgres[1234]: …` — the network form (`<PRI>` first), as
///   forwarded raw; without the host when read off the local socket.
///
/// The tag is `ident[pid]:` (both daemons open syslog with `LOG_PID`) or `ident:` without a pid.
/// Only the header is read here; what the message says is the Postgres and PgBouncer decoders'
/// business (`PostgresLogDecoder`, `PgBouncerLogDecoder`), which read it as they read their own files.
enum BSDSyslog {
    /// RFC 3164's `Mmm dd hh:mm:ss`: a date without its year.
    struct Date: Equatable {
        var month: Int64
        var day: Int64
        var secondOfDay: Int64
    }

    enum Time: Equatable {
        /// RFC 3339 (`RSYSLOG_FileFormat`): complete.
        case full(Timestamp)
        /// `Mmm dd hh:mm:ss`: the year is decided by `resolve`.
        case yearless(Date)
    }

    struct Header {
        /// `<PRI>` when the line carries one (the network form): facility × 8 + severity.
        var priority: Int?
        var time: Time
        var host: Range<Int>?
        var ident: Range<Int>
        var pid: Int?
        /// Where the message starts (after `tag: `); may be the line's end.
        var message: Int

        /// syslog's severity (0 emerg … 7 debug), when the line says.
        var severity: Int? { priority.map { $0 & 7 } }

        /// The line's time: a full one as it is, a date without its year placed by `resolve` (nil
        /// when neither the source's last time nor a clock can place it).
        func timestamp(reference: Timestamp?, clock: (any Clock)?) -> Timestamp? {
            switch time {
            case .full(let t): t
            case .yearless(let d): BSDSyslog.resolve(d, reference: reference, clock: clock)
            }
        }
    }

    private static let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                                  "Nov", "Dec"]
    /// Longest ident read (RFC 3164 allows 32 characters; rsyslog's `%syslogtag%` keeps more).
    static let maxIdent = 64

    /// The header of a classic syslog line, or nil when the line is not one. Cheap to refuse: the
    /// first byte must be `<`, a digit or an upper-case letter.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Header? {
        let n = b.count
        guard n > 16 else { return nil }
        var p = 0
        var priority: Int?
        if b[0] == UInt8(ascii: "<") {
            var v = 0
            p = 1
            while p < n, p <= 3, ByteText.isDigit(b[p]) { v = v * 10 + Int(b[p] - 0x30); p += 1 }
            guard p > 1, v <= 191, p < n, b[p] == UInt8(ascii: ">") else { return nil }
            priority = v
            p += 1
        }
        guard p < n else { return nil }
        let time: Time
        if ByteText.isDigit(b[p]) {
            // RFC 3339 only, with its `T`: `2026-11-23 10:00:00.123 UTC [1] LOG:` is Postgres' own
            // stderr line, never a syslog header.
            guard p + 10 < n, b[p + 10] == UInt8(ascii: "T"), let (t, e) = PlatformTime.parse(b, at: p),
                  e < n, b[e] == 0x20 else { return nil }
            time = .full(t)
            p = e + 1
        } else {
            guard let (date, e) = yearless(b, at: p), e < n, b[e] == 0x20 else { return nil }
            time = .yearless(date)
            p = e + 1
        }
        // HOSTNAME then TAG, or only TAG (the local socket's form).
        guard p < n, b[p] != 0x20 else { return nil }
        var host: Range<Int>?
        var tag = Self.tag(b, at: p)
        if tag == nil {
            let e = ByteText.tokenEnd(b, p)
            guard e < n, b[e] == 0x20, e + 1 < n else { return nil }
            host = p..<e
            tag = Self.tag(b, at: e + 1)
        }
        guard let (ident, pid, end) = tag else { return nil }
        var message = end
        if message < n, b[message] == 0x20 { message += 1 }
        return Header(priority: priority, time: time, host: host, ident: ident, pid: pid, message: message)
    }

    /// `ident[pid]:` or `ident:` at `p`, followed by a space or the line's end: the ident's range,
    /// the pid, and the index just past the colon.
    private static func tag(_ b: UnsafeBufferPointer<UInt8>, at p: Int) -> (Range<Int>, Int?, Int)? {
        let n = b.count
        var e = p
        while e < n, e - p <= maxIdent {
            let c = b[e]
            if c == UInt8(ascii: "[") || c == UInt8(ascii: ":") || c == 0x20 || c == 0x09 || c < 0x20 { break }
            e += 1
        }
        guard e > p, e < n, e - p <= maxIdent else { return nil }
        let ident = p..<e
        var pid: Int?
        if b[e] == UInt8(ascii: "[") {
            var q = e + 1
            var v = 0
            while q < n, q - e <= 10, ByteText.isDigit(b[q]) { v = v * 10 + Int(b[q] - 0x30); q += 1 }
            guard q > e + 1, q < n, b[q] == UInt8(ascii: "]") else { return nil }
            pid = v
            e = q + 1
        }
        guard e < n, b[e] == UInt8(ascii: ":"), e + 1 == n || b[e + 1] == 0x20 else { return nil }
        return (ident, pid, e + 1)
    }

    /// `Mmm dd hh:mm:ss` at `p` (the day padded with a space, `Nov  5`, or unpadded, `Nov 5`); the
    /// date and the index just past it.
    static func yearless(_ b: UnsafeBufferPointer<UInt8>, at p0: Int) -> (Date, Int)? {
        let n = b.count
        var p = p0
        guard p + 3 < n, b[p + 3] == 0x20 else { return nil }
        var month: Int64 = 0
        for (i, name) in months.enumerated() where ByteText.hasPrefix(b, name, at: p) { month = Int64(i + 1); break }
        guard month > 0 else { return nil }
        p += 4
        if p < n, b[p] == 0x20 { p += 1 }
        var day: Int64 = 0
        let dayStart = p
        while p < n, p - dayStart < 2, ByteText.isDigit(b[p]) { day = day * 10 + Int64(b[p] - 0x30); p += 1 }
        guard p > dayStart, p < n, b[p] == 0x20 else { return nil }
        p += 1
        func two(_ at: Int) -> Int64? {
            guard at + 1 < n, ByteText.isDigit(b[at]), ByteText.isDigit(b[at + 1]) else { return nil }
            return Int64(b[at] - 0x30) * 10 + Int64(b[at + 1] - 0x30)
        }
        guard let h = two(p), p + 2 < n, b[p + 2] == UInt8(ascii: ":"), let m = two(p + 3), p + 5 < n,
              b[p + 5] == UInt8(ascii: ":"), let s = two(p + 6) else { return nil }
        guard (1...31).contains(day), h < 24, m < 60, s < 61 else { return nil }
        return (Date(month: month, day: day, secondOfDay: h * 3600 + m * 60 + s), p + 8)
    }

    /// The time of a date logged without its year.
    ///
    /// RFC 3164 leaves the year out, and the time zone too: the time is read as UTC (as Skein reads
    /// other zone-less times, e.g. `wrangler tail`'s), and the year is decided the way the rest of
    /// Skein decides what a line leaves out — from the source itself:
    ///
    /// 1. `reference`, the last time this source gave (`DecodeContext.lastTime`: a Postgres prefix
    ///    with `%m`, an RFC 3339 line, an earlier line of this kind already placed): the year, of
    ///    that one's year, the one before and the one after, that puts the line nearest to it. A
    ///    file read in order thus rolls from `Dec 31` into the next year's `Jan  1`, and a line a
    ///    little out of order stays where it was written.
    /// 2. Only when the source has given no time at all, the injected clock (`DecodeContext.clock`:
    ///    the wall clock, which the sources set; nothing in a bare decoder): the latest such date not
    ///    more than a day after now (a host east of UTC writes its local time ahead of UTC), as
    ///    syslog readers do. Logs are read after they are written: `Dec 31` read on 2 January is
    ///    last year's.
    /// 3. With neither, nil: the line has no time (`missingFields`), as an untimed line in a source
    ///    that never gave one.
    ///
    /// A date that no candidate year has (`Feb 29` far from a leap year, `Apr 31`) is nil too.
    static func resolve(_ d: Date, reference: Timestamp?, clock: (any Clock)?) -> Timestamp? {
        func at(_ year: Int64) -> Timestamp? {
            let days = Timestamp.days(year: year, month: d.month, day: d.day)
            let (y, m, dd) = Timestamp.civil(fromDays: days)
            guard y == year, m == d.month, dd == d.day else { return nil }
            return Timestamp.fromSeconds(days * 86_400 + d.secondOfDay, nanos: 0)
        }
        func year(of t: Timestamp) -> Int64 {
            var days = t.nanos / 86_400_000_000_000
            if t.nanos < 0, t.nanos % 86_400_000_000_000 != 0 { days -= 1 }
            return Timestamp.civil(fromDays: days).0
        }
        if let r = reference {
            let y = year(of: r)
            var best: Timestamp?
            for candidate in [y - 1, y, y + 1] {
                guard let t = at(candidate) else { continue }
                if let b = best, abs(b.ms(since: r)) <= abs(t.ms(since: r)) { continue }
                best = t
            }
            return best
        }
        guard let now = clock?.now() else { return nil }
        let latest = now.adding(ms: 86_400_000)
        let y = year(of: now)
        for candidate in [y + 1, y, y - 1, y - 2, y - 3, y - 4] {
            if let t = at(candidate), t <= latest { return t }
        }
        return nil
    }

    /// Postgres' sequence marker at `p`: `[N-M] ` (`syslog_sequence_numbers` on, the message split
    /// into parts by `syslog_split_messages`: N the message's number, M the part) or `[N] ` (one of
    /// the two alone). Returns the numbers and where the text after the marker starts.
    static func marker(_ b: UnsafeBufferPointer<UInt8>, at p: Int) -> (first: Int, part: Int?, end: Int)? {
        let n = b.count
        guard p < n, b[p] == UInt8(ascii: "[") else { return nil }
        func number(_ s: Int) -> (Int, Int)? {
            var q = s
            var v = 0
            while q < n, q - s < 18, ByteText.isDigit(b[q]) { v = v * 10 + Int(b[q] - 0x30); q += 1 }
            return q > s ? (v, q) : nil
        }
        guard let (first, e1) = number(p + 1), e1 < n else { return nil }
        var part: Int?
        var e = e1
        if b[e] == UInt8(ascii: "-") {
            guard let (m, e2) = number(e + 1) else { return nil }
            part = m
            e = e2
        }
        guard e < n, b[e] == UInt8(ascii: "]") else { return nil }
        e += 1
        guard e == n || b[e] == 0x20 else { return nil }
        return (first, part, e == n ? n : e + 1)
    }

    /// Whether the ident starts with `word` (lower case), ignoring case: `postgres`, `pgbouncer`.
    static func ident(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, startsWith word: StaticString) -> Bool {
        ByteText.hasPrefixIgnoringCase(b, word, at: h.ident.lowerBound)
    }

    /// Bytes from a syslog line with rsyslog's escape of a tab (`#011`: `$EscapeControlCharactersOnReceive`
    /// writes every control byte as `#` and three octal digits) read back as the tab Postgres wrote;
    /// nil when there is none. Other escaped control bytes stay escaped, as sanitized text.
    static func unescapingTabs(_ b: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let first = ByteText.find(b, "#011", from: 0) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var p = 0
        var next: Int? = first
        while let k = next {
            out.append(contentsOf: ByteText.slice(b, p, k))
            out.append(0x09)
            p = k + 4
            next = ByteText.find(b, "#011", from: p)
        }
        out.append(contentsOf: ByteText.slice(b, p, b.count))
        return out
    }

    /// `b` as text, tabs unescaped (`unescapingTabs`).
    static func text(_ b: UnsafeBufferPointer<UInt8>) -> String {
        guard let bytes = unescapingTabs(b) else { return String(decoding: b, as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
