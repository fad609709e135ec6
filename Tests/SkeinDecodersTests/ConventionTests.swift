import XCTest
import SkeinCore
@testable import SkeinDecoders

/// Decodes JSON lines with the convention decoder alone, sharing one context like one source would.
struct ConventionHarness {
    var decoder = ConventionDecoder()
    var context = DecodeContext()
    var tape = JSONTape()

    mutating func decode(_ line: String) -> (DecodeOutcome, [Event]) {
        var bytes = Array(line.utf8)
        var events: [Event] = []
        let outcome: DecodeOutcome = bytes.withUnsafeMutableBufferPointer { b in
            let buf = UnsafeBufferPointer(b)
            do throws(JSONTape.Failure) {
                try tape.parse(buf)
            } catch {
                return .malformed(MalformedReason(error))
            }
            return decoder.decode(JSONDocument(tape: tape, bytes: buf), source: SourceID(3), context: &context, into: &events)
        }
        return (outcome, events)
    }

    mutating func event(_ line: String, file: StaticString = #filePath, line l: UInt = #line) -> Event? {
        let (outcome, events) = decode(line)
        XCTAssertEqual(outcome, .events(1), file: file, line: l)
        return events.first
    }
}

final class ConventionTests: XCTestCase {
    func testBriefExampleLine() throws {
        var h = ConventionHarness()
        let e = try XCTUnwrap(h.event(#"{"ts":"2026-11-23T10:00:00.120Z","service":"feed-api","instance":"2026/11/23/[$LATEST]9f1c","deploy":"serverless","platform":"aws-lambda","runtime":"nodejs20","region":"us-east-1","correlation_id":"req-7f3a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_span_id":"a3ce929d0e0e4736","event":"request.end","route":"GET /api/feed","status":200,"duration_ms":182.4,"level":"info","msg":"done"}"#))
        XCTAssertEqual(e.time, TimeParsing.parse("2026-11-23T10:00:00.120Z"))
        XCTAssertEqual(e.source, SourceID(3))
        XCTAssertEqual(e.service, "feed-api")
        XCTAssertEqual(e.instance, "2026/11/23/[$LATEST]9f1c")
        XCTAssertEqual(e.deploy, .serverless)
        XCTAssertEqual(e.platform, "aws-lambda")
        XCTAssertEqual(e.runtime, "nodejs20")
        XCTAssertEqual(e.region, "us-east-1")
        XCTAssertEqual(e.correlationID, "req-7f3a")
        XCTAssertEqual(e.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(e.spanID, "00f067aa0ba902b7")
        XCTAssertEqual(e.parentSpanID, "a3ce929d0e0e4736")
        XCTAssertEqual(e.kind, .requestEnd)
        XCTAssertEqual(e.route, "GET /api/feed")
        XCTAssertEqual(e.status, 200)
        XCTAssertEqual(e.durationMS, 182.4)
        XCTAssertEqual(e.level, .info)
        XCTAssertEqual(e.message, "done")
        XCTAssertEqual(e.attributes, [])
    }

    func testRequestIDRule() throws {
        var h = ConventionHarness()
        let alone = try XCTUnwrap(h.event(#"{"ts":1795459204123,"request_id":"abc"}"#))
        XCTAssertEqual(alone.correlationID, "abc")
        XCTAssertNil(alone.requestID)
        let both = try XCTUnwrap(h.event(#"{"ts":1795459204123,"requestId":"abc","correlation_id":"c-1"}"#))
        XCTAssertEqual(both.correlationID, "c-1")
        XCTAssertEqual(both.requestID, "abc")
        let ranked = try XCTUnwrap(h.event(#"{"ts":1795459204123,"reqId":"r-1","x-request-id":"x-1","trace_id":"not-hex"}"#))
        XCTAssertEqual(ranked.correlationID, "x-1")
        XCTAssertEqual(Set(ranked.attributes), [Attribute("reqId", "r-1"), Attribute("trace_id", "not-hex")])
        XCTAssertNil(ranked.traceID)
        let platform = try XCTUnwrap(h.event(#"{"ts":1795459204123,"function_request_id":"aws-1","request_id":"app-1"}"#))
        XCTAssertEqual(platform.requestID, "aws-1")
        XCTAssertEqual(platform.correlationID, "app-1")
    }

    func testTraceparentAndXRay() throws {
        var h = ConventionHarness()
        let tp = try XCTUnwrap(h.event(#"{"ts":1795459204123,"traceparent":"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01","span_id":"1111111111111111"}"#))
        XCTAssertEqual(tp.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(tp.parentSpanID, "00f067aa0ba902b7")
        XCTAssertEqual(tp.spanID, "1111111111111111")
        let nested = try XCTUnwrap(h.event(#"{"ts":1795459204123,"req":{"headers":{"X-Request-Id":"xr-9","x-amzn-trace-id":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}}}"#))
        XCTAssertEqual(nested.correlationID, "xr-9")
        XCTAssertEqual(nested.traceID, "5759e988bd862e3fe1be46a994272793")
        XCTAssertEqual(nested.parentSpanID, "53995c3f42cd8ad8")
        let bad = try XCTUnwrap(h.event(#"{"ts":1795459204123,"traceparent":"00-0000-bad"}"#))
        XCTAssertNil(bad.traceID)
        XCTAssertEqual(bad.attributes, [Attribute("traceparent", "00-0000-bad")])
    }

    func testMissingTimeInheritsOrIsMalformed() throws {
        var h = ConventionHarness()
        XCTAssertEqual(h.decode(#"{"msg":"no time yet"}"#).0, .malformed(.missingFields))
        _ = h.event(#"{"ts":"2026-11-23T18:40:04Z","msg":"timed"}"#)
        let later = try XCTUnwrap(h.event(#"{"msg":"untimed","time":"yesterday"}"#))
        XCTAssertEqual(later.time, TimeParsing.parse("2026-11-23T18:40:04Z"))
        XCTAssertEqual(later.attribute("skein.time"), "inherited")
        XCTAssertEqual(later.attribute("time"), "yesterday", "an unreadable time is kept, not lost")
    }

    func testAttributeBounds() throws {
        var h = ConventionHarness()
        var fields = (0..<70).map { #""k\#($0)":\#($0)"# }
        fields.append(#""big":"\#(String(repeating: "é", count: 600))""#)
        let e = try XCTUnwrap(h.event(#"{"ts":1795459204123,"#+fields.joined(separator: ",")+"}"))
        XCTAssertEqual(e.attributes.count, 65)
        XCTAssertEqual(e.attribute("skein.truncated"), "7")
        XCTAssertNil(e.attribute("big"), "past the 64-attribute budget")
        var h2 = ConventionHarness()
        let big = try XCTUnwrap(h2.event(#"{"ts":1795459204123,"big":"\#(String(repeating: "é", count: 600))"}"#))
        XCTAssertEqual(big.attribute("big")?.utf8.count, 1024)
        XCTAssertEqual(big.attribute("skein.truncated"), "1")
    }

    func testInterningSharesRepeatedStrings() throws {
        var h = ConventionHarness()
        _ = h.event(#"{"ts":1795459204123,"service":"feed-api","route":"/a"}"#)
        let before = h.context.interner.count
        _ = h.event(#"{"ts":1795459204124,"service":"feed-api","route":"/a"}"#)
        XCTAssertEqual(h.context.interner.count, before)
    }
}

final class EmbeddedMessageTests: XCTestCase {
    private func apply(_ text: String, to event: inout Event, context: inout DecodeContext) -> ConventionMapper.EmbeddedFormat {
        var tape = JSONTape()
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer {
            ConventionMapper.applyMessage(UnsafeBufferPointer($0), tape: &tape, to: &event, context: &context)
        }
    }

    func testJSONMessageInsideAnEnvelopeKeepsEnvelopeFactsItDoesNotName() {
        var context = DecodeContext()
        let envelopeTime = Timestamp(millis: Int64(1_795_459_204_000))
        var e = Event(time: envelopeTime, level: .info, platform: "aws-lambda", requestID: "aws-req-1")
        let format = apply(#" {"level":"error","msg":"boom","correlation_id":"c-9"}"#, to: &e, context: &context)
        XCTAssertEqual(format, .json(timed: false))
        XCTAssertEqual(e.time, envelopeTime)
        XCTAssertEqual(e.level, .error)
        XCTAssertEqual(e.message, "boom")
        XCTAssertEqual(e.correlationID, "c-9")
        XCTAssertEqual(e.requestID, "aws-req-1")
        XCTAssertEqual(e.platform, "aws-lambda")
    }

    /// Serilog's compact JSON puts the exception in `@x` and only the template in `@mt`: the DB
    /// failure is named in the exception alone.
    func testSerilogCompactExceptionIsClassifiedAndKept() throws {
        var h = ConventionHarness()
        let tooMany = #"Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already\n   at Npgsql.Internal.NpgsqlConnector.Open(NpgsqlTimeout timeout, Boolean async, CancellationToken cancellationToken)"#
        let e = try XCTUnwrap(h.event(#"{"@t":"2026-11-23T10:00:01.1000000Z","@mt":"Failed executing DbCommand ({elapsed}ms)","@l":"Error","@x":"\#(tooMany)","elapsed":"3"}"#))
        XCTAssertEqual(e.message, "Failed executing DbCommand ({elapsed}ms)")
        XCTAssertEqual(e.dbError, .tooManyClients)
        XCTAssertEqual(e.kind, .dbError)
        XCTAssertEqual(e.level, .error)
        XCTAssertEqual(e.attribute("@x")?.hasPrefix("Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already\n   at "),
                       true, "the exception stays an attribute, unescaped")

        let reserved = try XCTUnwrap(h.event(#"{"@t":"2026-11-23T10:00:01.2000000Z","@mt":"An error occurred using the connection to database '{database}' on server '{server}'.","@l":"Error","@x":"Npgsql.PostgresException (0x80004005): 53300: remaining connection slots are reserved for non-replication superuser connections\n   at Npgsql.Internal.NpgsqlConnector.Open()","database":"shop"}"#))
        XCTAssertEqual(reserved.dbError, .reservedSlots)
        XCTAssertEqual(reserved.kind, .dbError)

        // A warning whose exception names a DB failure is raised to an error, as any classified line is.
        let warned = try XCTUnwrap(h.event(#"{"@t":"2026-11-23T10:00:01.2500000Z","@mt":"Retrying","@l":"Warning","@x":"Npgsql.NpgsqlException (0x80004005): Exception while reading from stream\n ---> System.IO.IOException: Unable to read data from the transport connection: Connection reset by peer."}"#))
        XCTAssertEqual(warned.dbError, .connectionLost)
        XCTAssertEqual(warned.level, .error)

        let unrelated = try XCTUnwrap(h.event(#"{"@t":"2026-11-23T10:00:01.3000000Z","@mt":"Failed to load order {OrderId}","@l":"Error","@x":"System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.ThrowHelper.ThrowNoElementsException()","OrderId":42}"#))
        XCTAssertNil(unrelated.dbError)
        XCTAssertEqual(unrelated.kind, .log)
        XCTAssertEqual(unrelated.attribute("@x"), "System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.ThrowHelper.ThrowNoElementsException()")
    }

    /// .NET's JSON console formatter (`AddJsonConsole`): `Timestamp` (when a `TimestampFormat` is set),
    /// `LogLevel`, `Message` and `Exception` are the convention's; `Category`, `EventId` and the
    /// `State` object stay attributes.
    func testDotNetJSONConsoleFields() throws {
        var h = ConventionHarness()
        let e = try XCTUnwrap(h.event(#"{"Timestamp":"2026-11-23T10:00:02.015+00:00","EventId":20004,"LogLevel":"Error","Category":"Microsoft.EntityFrameworkCore.Database.Connection","Message":"An error occurred using the connection to database 'shop' on server 'tcp://db:5432'.","Exception":"Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise 'Max Pool Size' (currently 100) or 'Timeout' (currently 15 seconds) in your connection string.  ---> System.TimeoutException: The operation has timed out.","State":{"Message":"An error occurred using the connection to database 'shop' on server 'tcp://db:5432'.","database":"shop","{OriginalFormat}":"An error occurred using the connection to database '{database}' on server '{server}'."}}"#))
        XCTAssertEqual(e.time, TimeParsing.parse("2026-11-23T10:00:02.015Z"))
        XCTAssertEqual(e.level, .error)
        XCTAssertEqual(e.message, "An error occurred using the connection to database 'shop' on server 'tcp://db:5432'.")
        XCTAssertEqual(e.dbError, .poolTimeout)
        XCTAssertEqual(e.kind, .dbError)
        XCTAssertEqual(e.attribute("Category"), "Microsoft.EntityFrameworkCore.Database.Connection")
        XCTAssertEqual(e.attribute("EventId"), "20004")
        XCTAssertEqual(e.attribute("State.database"), "shop")
        XCTAssertEqual(e.attribute("State.Message"), e.message, "the state's copy of the message stays an attribute")
        XCTAssertEqual(e.attribute("Exception")?.hasPrefix("Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted"), true)

        let levels: [(String, Level)] = [("Trace", .trace), ("Debug", .debug), ("Information", .info),
                                         ("Warning", .warn), ("Error", .error), ("Critical", .fatal)]
        for (name, level) in levels {
            let l = try XCTUnwrap(h.event(#"{"Timestamp":"2026-11-23T10:00:03.000Z","EventId":0,"LogLevel":"\#(name)","Category":"Orders.Api","Message":"m"}"#))
            XCTAssertEqual(l.level, level, name)
        }

        // Names match exactly: other spellings stay attributes, and the lower-case names keep their meaning.
        let other = try XCTUnwrap(h.event(#"{"ts":"2026-11-23T10:00:04Z","MESSAGE":"upper","LOGLEVEL":"Error","message":"lower","Level":"Warning"}"#))
        XCTAssertEqual(other.message, "lower")
        XCTAssertEqual(other.level, .warn)
        XCTAssertEqual(other.attribute("MESSAGE"), "upper")
        XCTAssertEqual(other.attribute("LOGLEVEL"), "Error")
    }

    /// Serilog's `JsonFormatter` (not the compact one): `Timestamp`, `Level`, `RenderedMessage` when
    /// rendering is on, `Exception`; the template and `Properties` stay attributes.
    func testSerilogJSONFormatterFields() throws {
        var h = ConventionHarness()
        let e = try XCTUnwrap(h.event(#"{"Timestamp":"2026-11-23T10:00:02.1000000+00:00","Level":"Warning","MessageTemplate":"Failed to load order {OrderId}","RenderedMessage":"Failed to load order 42","Exception":"System.InvalidOperationException: Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.\n   at Orders.Api.OrderService.LoadAsync(Int32 id)","Properties":{"OrderId":42}}"#))
        XCTAssertEqual(e.time, TimeParsing.parse("2026-11-23T10:00:02.1Z"))
        XCTAssertEqual(e.message, "Failed to load order 42")
        XCTAssertEqual(e.attribute("MessageTemplate"), "Failed to load order {OrderId}")
        XCTAssertEqual(e.attribute("Properties.OrderId"), "42")
        XCTAssertEqual(e.dbError, .poolTimeout)
        XCTAssertEqual(e.level, .error, "a warning naming a DB failure is raised to an error")
    }

    func testTextMessage() {
        var context = DecodeContext()
        var e = Event(time: .zero)
        XCTAssertEqual(apply("{user} logged in\n", to: &e, context: &context), .text)
        XCTAssertEqual(e.message, "{user} logged in")
        XCTAssertEqual(apply(#"{"ts":"2026-11-23T18:40:04Z"}"#, to: &e, context: &context), .json(timed: true))
        XCTAssertEqual(e.time, TimeParsing.parse("2026-11-23T18:40:04Z"))
    }
}
