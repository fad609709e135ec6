import XCTest
import SkeinCore
@testable import SkeinDecoders

/// Postgres and PgBouncer through classic syslog (RFC 3164): the header's edge cases, the year a
/// date without one is given, and the events, which must be those of the same lines in the
/// daemons' own log files.
final class SyslogBSDTests: XCTestCase {
    private struct FixedClock: Clock {
        let at: Timestamp
        func now() -> Timestamp { at }
    }

    private func header(_ s: String) -> BSDSyslog.Header? {
        Array(s.utf8).withUnsafeBufferPointer { BSDSyslog.parse($0) }
    }

    private func time(_ s: String) -> Timestamp {
        guard let t = TimeParsing.parse(s) else { fatalError("not a time: \(s)") }
        return t
    }

    private func date(_ s: String) -> BSDSyslog.Date? {
        Array(s.utf8).withUnsafeBufferPointer { BSDSyslog.yearless($0, at: 0)?.0 }
    }

    func testSpacePaddedDayUnpaddedDayAndTwoDigits() throws {
        let padded = try XCTUnwrap(header("Nov  5 10:00:00 db-host postgres[1234]: [3-1] LOG:  checkpoint starting: time"))
        XCTAssertEqual(padded.time, .yearless(BSDSyslog.Date(month: 11, day: 5, secondOfDay: 36_000)))
        XCTAssertNil(padded.priority)
        XCTAssertEqual(padded.pid, 1234)
        XCTAssertEqual(padded.host, 16..<23)
        XCTAssertEqual(padded.ident, 24..<32)
        XCTAssertEqual(padded.message, 40)
        XCTAssertEqual(header("Nov 5 10:00:00 db-host postgres[1234]: x")?.time,
                       .yearless(BSDSyslog.Date(month: 11, day: 5, secondOfDay: 36_000)))
        XCTAssertEqual(header("Dec 31 23:59:59 db-host postgres[1234]: x")?.time,
                       .yearless(BSDSyslog.Date(month: 12, day: 31, secondOfDay: 86_399)))
        XCTAssertEqual(date("Jan  1 00:00:00"), BSDSyslog.Date(month: 1, day: 1, secondOfDay: 0))
        // Three spaces, a three-digit day, a day 0 or 32, a lower-case month, 24 o'clock: no date.
        for bad in ["Nov   5 10:00:00", "Nov 123 10:00:00", "Nov 0 10:00:00", "Nov 32 10:00:00", "nov 25 10:00:00",
                    "Nov 25 24:00:00", "Nov 25 10:60:00", "Nov 25 10:00", "Nov 25 1:00:00", "Sept 5 10:00:00"] {
            XCTAssertNil(date(bad), bad)
        }
    }

    func testTagWithoutPidBracketsWithoutHostAndWithPriority() throws {
        // syslog_ident set to `postgresql-11`, and no LOG_PID brackets.
        let noPID = try XCTUnwrap(header("Nov 24 16:38:58 my-db-8 postgresql-11: [901-1] user=app LOG:  duration: 1.0 ms"))
        XCTAssertNil(noPID.pid)
        XCTAssertEqual(noPID.ident, 24..<37)
        // Read off the local socket: `<PRI>` and no host.
        let local = try XCTUnwrap(header("<134>Nov 25 10:00:00 postgres[12345]: [7-1] LOG:  x"))
        XCTAssertNil(local.host)
        XCTAssertEqual(local.priority, 134)
        XCTAssertEqual(local.severity, 6)
        XCTAssertEqual(local.pid, 12345)
        // rsyslog's high-precision file format.
        let precise = try XCTUnwrap(header("2026-11-25T10:00:00.123456+01:00 db-host pgbouncer[812]: stats: 1 xacts/s"))
        XCTAssertEqual(precise.time, .full(time("2026-11-25T09:00:00.123456Z")))
        // A tag at the line's end leaves an empty message.
        let bare = "Nov 25 10:00:00 db-host postgres[12345]:"
        XCTAssertEqual(header(bare)?.message, bare.utf8.count)
    }

    func testRefusedHeaders() {
        for bad in [
            "Nov 25 10:0",
            "Nov 25 10:00:00 db-host",
            "Nov 25 10:00:00 db-host postgres[12",
            "Nov 25 10:00:00 db-host postgres[12345]",
            "Nov 25 10:00:00 db-host postgres[12a]: x",
            "Nov 25 10:00:00 db-host postgres[]: x",
            "Nov 25 10:00:00 db-host postgres:x",
            "Nov 25 10:00:00  db-host postgres[1]: x",
            "<13",
            "<192>Nov 25 10:00:00 db-host postgres[1]: x",
            "<1a>Nov 25 10:00:00 db-host postgres[1]: x",
            "Nov 25 10:00:00 db-host " + String(repeating: "p", count: 80) + "[1]: x",
            // Postgres' own stderr line and Heroku's: not syslog.
            "2026-11-23 10:00:00.123 UTC [12345] LOG:  connection received: host=10.0.0.5 port=51234",
            "2026-11-23T10:00:00.123456+00:00 app[web.1]: GET /",
        ] {
            XCTAssertNil(header(bad), bad)
        }
    }

    func testYearFromTheSourcesLastTimeRollsOverTheNewYear() {
        let jan1 = BSDSyslog.Date(month: 1, day: 1, secondOfDay: 1)
        let dec31 = BSDSyslog.Date(month: 12, day: 31, secondOfDay: 86_398)
        XCTAssertEqual(BSDSyslog.resolve(jan1, reference: time("2026-12-31T23:59:58Z"), clock: nil), time("2027-01-01T00:00:01Z"))
        // A line a little out of order stays in the year before.
        XCTAssertEqual(BSDSyslog.resolve(dec31, reference: time("2027-01-01T00:00:05Z"), clock: nil), time("2026-12-31T23:59:58Z"))
        let nov25 = BSDSyslog.Date(month: 11, day: 25, secondOfDay: 36_000)
        XCTAssertEqual(BSDSyslog.resolve(nov25, reference: time("2026-11-24T10:00:00Z"), clock: FixedClock(at: time("2031-01-01T00:00:00Z"))),
                       time("2026-11-25T10:00:00Z"), "the source's own time comes before the clock")
        // 29 February only in a leap year near the reference; 31 April never.
        let feb29 = BSDSyslog.Date(month: 2, day: 29, secondOfDay: 0)
        XCTAssertEqual(BSDSyslog.resolve(feb29, reference: time("2028-03-01T00:00:00Z"), clock: nil), time("2028-02-29T00:00:00Z"))
        XCTAssertNil(BSDSyslog.resolve(feb29, reference: time("2026-06-01T00:00:00Z"), clock: nil))
        XCTAssertNil(BSDSyslog.resolve(BSDSyslog.Date(month: 4, day: 31, secondOfDay: 0), reference: time("2026-04-01T00:00:00Z"), clock: nil))
    }

    func testYearFromTheClockWhenTheSourceGaveNoTime() {
        let clock = FixedClock(at: time("2027-01-02T00:00:00Z"))
        // Read on 2 January: 31 December is last year's, 2 and 3 January this year's (a host ahead of
        // UTC may write tomorrow's date), 4 January last year's.
        XCTAssertEqual(BSDSyslog.resolve(BSDSyslog.Date(month: 12, day: 31, secondOfDay: 0), reference: nil, clock: clock),
                       time("2026-12-31T00:00:00Z"))
        XCTAssertEqual(BSDSyslog.resolve(BSDSyslog.Date(month: 1, day: 3, secondOfDay: 0), reference: nil, clock: clock),
                       time("2027-01-03T00:00:00Z"))
        XCTAssertEqual(BSDSyslog.resolve(BSDSyslog.Date(month: 1, day: 4, secondOfDay: 0), reference: nil, clock: clock),
                       time("2026-01-04T00:00:00Z"))
        XCTAssertEqual(BSDSyslog.resolve(BSDSyslog.Date(month: 2, day: 29, secondOfDay: 0), reference: nil, clock: clock),
                       time("2024-02-29T00:00:00Z"))
        // Neither: no time, and the line is missing its time, as any untimed line of a source that gave none.
        XCTAssertNil(BSDSyslog.resolve(BSDSyslog.Date(month: 1, day: 1, secondOfDay: 0), reference: nil, clock: nil))
        var d = AutoDecoder.standard()
        var events: [Event] = []
        for line in ["Nov 25 10:00:00 db-host postgres[1]: [1-1] LOG:  checkpoint starting: time",
                     "Nov 25 10:00:01 db-host postgres[1]: [2-1] 2026-11-25 10:00:01.000 UTC [1] LOG:  checkpoint complete",
                     "Nov 25 10:00:02 db-host postgres[1]: [3-1] LOG:  checkpoint starting: time"] {
            let outcome = Array(line.utf8).withUnsafeBufferPointer { d.decode($0, source: SourceID(0), into: &events) }
            if line.contains("[1-1]") { XCTAssertEqual(outcome, .malformed(.missingFields)) }
        }
        d.flush(source: SourceID(0), into: &events)
        XCTAssertEqual(events.map(\.time), [time("2026-11-25T10:00:01Z"), time("2026-11-25T10:00:02Z")])
    }

    /// Any program's lines through classic syslog are the generic syslog decoder's (`--format
    /// syslog` too): the tag its service, the message its JSON, logfmt or text; an undated line before
    /// the source gave a time and without a clock is missing its time, as for Postgres above.
    func testOtherProgramsThroughSyslog() {
        let lines = [
            #"Nov 25 10:00:00 api-vm-2 orders-api[4123]: {"level":"warn","msg":"slow query","correlation_id":"req-1"}"#,
            "<11>Nov 25 10:00:01 api-vm-2 worker: batch 7 failed",
        ]
        for forced in [nil, "syslog"] {
            let (events, outcomes) = decode(lines, forced: forced)
            XCTAssertEqual(outcomes, [.events(1), .events(1)], forced ?? "auto")
            XCTAssertEqual(events.map(\.service), ["orders-api", "worker"])
            XCTAssertEqual(events.map(\.instance), ["api-vm-2[4123]", "api-vm-2"])
            XCTAssertEqual(events.map(\.level), [.warn, .error])
            XCTAssertEqual(events.first?.correlationID, "req-1")
            XCTAssertEqual(events.last?.time, time("2026-11-25T10:00:01Z"))
        }
        var bare = SyslogDecoder()
        var context = DecodeContext()
        var events: [Event] = []
        let outcome = Array(lines[1].utf8).withUnsafeBufferPointer {
            bare.decode($0, source: SourceID(0), context: &context, into: &events)
        }
        XCTAssertEqual(outcome, .malformed(.missingFields))
    }

    func testSequenceMarkers() {
        func marker(_ s: String) -> [Int?]? {
            Array(s.utf8).withUnsafeBufferPointer { b in BSDSyslog.marker(b, at: 0).map { [$0.first, $0.part, $0.end] } }
        }
        XCTAssertEqual(marker("[3-1] user=app"), [3, 1, 6])
        XCTAssertEqual(marker("[12] LOG:  x"), [12, nil, 5])
        XCTAssertEqual(marker("[3-2]"), [3, 2, 5])
        for bad in ["[3-] x", "[-1] x", "[x-1] x", "[3-1]x", "[3-1 x", "3-1] x", "[] x"] { XCTAssertNil(marker(bad), bad) }
    }

    /// Runs lines through the auto-detector with a clock, as the sources set one.
    private func decode(_ lines: [String], forced: String? = nil) -> (events: [Event], outcomes: [DecodeOutcome]) {
        var d = AutoDecoder.standard(forced: forced)
        d.context.clock = FixedClock(at: time("2026-12-01T00:00:00Z"))
        var events: [Event] = []
        var outcomes: [DecodeOutcome] = []
        for line in lines {
            outcomes.append(Array(line.utf8).withUnsafeBufferPointer { d.decode($0, source: SourceID(0), into: &events) })
        }
        d.flush(source: SourceID(0), into: &events)
        return (events, outcomes)
    }

    /// The same Postgres entries, written by the server to its own file (`log_line_prefix =
    /// '%t [%p]: user=%u,db=%d,app=%a,client=%h '`) and through syslog (the prefix without the time
    /// and pid, which syslog gives), are the same events: the too-many-clients FATAL counts as the
    /// same DB error, the split message's parts and its `#011` line join as the stderr lines do.
    func testPostgresThroughSyslogDecodesAsItsOwnLog() {
        let who = "user=app,db=shop,app=feed-api,client=10.0.0.5 "
        let stderr = [
            "2026-11-25 10:00:00 UTC [12345]: user=[unknown],db=[unknown],app=[unknown],client=10.0.0.5 LOG:  connection received: host=10.0.0.5 port=51234",
            "2026-11-25 10:00:00 UTC [12345]: \(who)LOG:  connection authorized: user=app database=shop application_name=feed-api",
            "2026-11-25 10:00:00 UTC [12346]: user=app,db=shop,app=[unknown],client=10.0.0.6 FATAL:  sorry, too many clients already",
            "2026-11-25 10:00:01 UTC [12345]: \(who)ERROR:  duplicate key value violates unique constraint \"orders_pkey\"",
            "2026-11-25 10:00:01 UTC [12345]: \(who)DETAIL:  Key (id)=(42) already exists.",
            "2026-11-25 10:00:01 UTC [12345]: \(who)STATEMENT:  INSERT INTO orders (id, total)",
            "\tVALUES (42, 10.5)",
            "2026-11-25 10:00:02 UTC [12345]: \(who)LOG:  disconnection: session time: 0:00:02.000 user=app database=shop host=10.0.0.5 port=51234",
        ]
        let syslog = [
            "Nov 25 10:00:00 db-host postgres[12345]: [5-1] user=[unknown],db=[unknown],app=[unknown],client=10.0.0.5 LOG:  connection received: host=10.0.0.5 port=51234",
            "Nov 25 10:00:00 db-host postgres[12345]: [6-1] \(who)LOG:  connection authorized: user=app database=shop application_name=feed-api",
            "<131>Nov 25 10:00:00 db-host postgres[12346]: [6-1] user=app,db=shop,app=[unknown],client=10.0.0.6 FATAL:  sorry, too many clients already",
            "Nov 25 10:00:01 db-host postgres[12345]: [7-1] \(who)ERROR:  duplicate key value violates unique constraint \"orders_pkey\"",
            "Nov 25 10:00:01 db-host postgres[12345]: [7-2] \(who)DETAIL:  Key (id)=(42) already exists.",
            "Nov 25 10:00:01 db-host postgres[12345]: [7-3] \(who)STATEMENT:  INSERT INTO orders (id, total)",
            "Nov 25 10:00:01 db-host postgres[12345]: [7-4] #011VALUES (42, 10.5)",
            "2026-11-25T10:00:02+00:00 db-host postgres[12345]: [8-1] \(who)LOG:  disconnection: session time: 0:00:02.000 user=app database=shop host=10.0.0.5 port=51234",
        ]
        let (own, through) = assertAlike(stderr, syslog, forced: "postgres")
        XCTAssertEqual(own.count, 5)
        XCTAssertEqual(through.filter { $0.kind == .dbError }.map(\.dbError), [.tooManyClients])
    }

    /// Decodes a daemon's own lines and the same lines through syslog, and checks that they give the
    /// same events, also with the syslog lines read under `--format forced`.
    private func assertAlike(_ own: [String], _ syslog: [String], forced: String,
                             file: StaticString = #filePath, line: UInt = #line) -> (own: [Event], through: [Event]) {
        let a = decode(own).events, b = decode(syslog).events
        XCTAssertEqual(b.map(GoldenRenderer.render), a.map(GoldenRenderer.render), file: file, line: line)
        XCTAssertEqual(decode(syslog, forced: forced).events.map(GoldenRenderer.render), a.map(GoldenRenderer.render),
                       "--format \(forced)", file: file, line: line)
        return (a, b)
    }

    /// PgBouncer's own log and the same lines through syslog (the level from `<PRI>`).
    func testPgBouncerThroughSyslogDecodesAsItsOwnLog() {
        let own = [
            "2026-11-25 10:00:00.000 UTC [812] LOG C-0x5586e3c0a8f0: shop/app@10.0.0.5:51234 login attempt: db=shop user=app tls=no",
            "2026-11-25 10:00:01.000 UTC [812] WARNING C-0x5586e3c0c3a0: (nodb)/(nouser)@10.0.0.6:51240 pooler error: no more connections allowed (max_client_conn)",
            "2026-11-25 10:00:02.000 UTC [812] ERROR S-0x5586e3c1b240: shop/app@10.0.0.9:5432 closing because: server conn crashed? (age=152s)",
            "2026-11-25 10:00:03.000 UTC [812] LOG S-0x5586e3c1b240: shop/app@10.0.0.9:5432 server login failed: FATAL: sorry, too many clients already",
        ]
        let syslog = [
            "<30>Nov 25 10:00:00 db-host pgbouncer[812]: C-0x5586e3c0a8f0: shop/app@10.0.0.5:51234 login attempt: db=shop user=app tls=no",
            "<28>Nov 25 10:00:01 db-host pgbouncer[812]: C-0x5586e3c0c3a0: (nodb)/(nouser)@10.0.0.6:51240 pooler error: no more connections allowed (max_client_conn)",
            "<27>Nov 25 10:00:02 db-host pgbouncer[812]: S-0x5586e3c1b240: shop/app@10.0.0.9:5432 closing because: server conn crashed? (age=152s)",
            "<30>Nov 25 10:00:03 db-host pgbouncer[812]: S-0x5586e3c1b240: shop/app@10.0.0.9:5432 server login failed: FATAL: sorry, too many clients already",
        ]
        XCTAssertEqual(assertAlike(own, syslog, forced: "pgbouncer").own.count, 4)
        // Postgres' decoder never takes them, though the last one quotes a FATAL.
        XCTAssertEqual(decode(syslog, forced: "postgres").outcomes, Array(repeating: .malformed(.unrecognised), count: 4))
    }
}
