import XCTest
import SkeinCore
@testable import SkeinDecoders

final class DBErrorClassifierTests: XCTestCase {
    func testClientAndServerMessages() {
        let cases: [(String, DBErrorKind?)] = [
            ("FATAL:  sorry, too many clients already", .tooManyClients),
            ("Invalid `prisma.user.findMany()` invocation: Timed out fetching a new connection from the connection pool. (Current connection pool timeout: 10, connection limit: 5)", .poolTimeout),
            ("PrismaClientKnownRequestError: code P2024", .poolTimeout),
            ("Error querying the database: Too many database connections opened: FATAL: sorry, too many clients already", .tooManyClients),
            ("{\"code\":\"P2037\",\"clientVersion\":\"5.22.0\"}", .tooManyClients),
            ("Error: timeout exceeded when trying to connect", .poolTimeout),
            ("Error: Connection terminated unexpectedly", .connectionLost),
            ("psycopg.OperationalError: connection failed: connection to server at \"10.0.0.5\", port 5432 failed: FATAL:  sorry, too many clients already", .tooManyClients),
            ("psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec", .poolTimeout),
            ("failed to connect to `host=db user=app database=shop`: server error (FATAL: sorry, too many clients already (SQLSTATE 53300))", .tooManyClients),
            ("pq: error code 53300", .tooManyClients),
            ("FATAL:  remaining connection slots are reserved for non-replication superuser connections", .reservedSlots),
            ("FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute", .reservedSlots),
            ("server error (FATAL: remaining connection slots are reserved for roles with the SUPERUSER attribute (SQLSTATE 53300))", .reservedSlots),
            ("FATAL:  terminating connection due to administrator command", .connectionLost),
            ("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally", .connectionLost),
            ("TOO MANY CLIENTS", .tooManyClients),
            // Client-side pools that waited too long: Npgsql (3.2+ and older wording, 2.x) and ADO.NET / SqlClient.
            ("Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise 'Max Pool Size' (currently 100) or 'Timeout' (currently 15 seconds) in your connection string.", .poolTimeout),
            ("Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise MaxPoolSize (currently 100) or Timeout (currently 15 seconds)", .poolTimeout),
            ("System.Exception: Timeout while getting a connection from pool.", .poolTimeout),
            ("System.InvalidOperationException: Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.  This may have occurred because all pooled connections were in use and max pool size was reached.", .poolTimeout),
            // Not DB failures.
            // SqlClient's query timeout and Npgsql's read timeout are slow commands, not a starved pool.
            ("Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.  The timeout period elapsed prior to completion of the operation or the server is not responding.", nil),
            ("Npgsql.NpgsqlException (0x80004005): Exception while reading from stream ---> System.TimeoutException: Timeout during reading attempt", nil),
            ("Npgsql.NpgsqlException: The connection pool has been shut down.", nil),
            ("the connection pool has been drained", nil),
            ("connection authorized: user=app database=shop", nil),
            ("processed 53300 rows", nil),
            ("order P20245 shipped", nil),
            ("request timed out after 30s", nil),
            ("HTTP 503 from upstream", nil),
            ("", nil),
        ]
        for (message, expected) in cases {
            XCTAssertEqual(DBErrorClassifier.classify(message), expected, message)
        }
    }

    func testApplyTurnsLogLinesIntoDBErrorsAndKeepsKnownErrors() {
        var e = Event(time: .zero, message: "acquire failed")
        e.attributes = [Attribute("err.message", "timeout exceeded when trying to connect")]
        DBErrorClassifier.apply(to: &e)
        XCTAssertEqual(e.kind, .dbError)
        XCTAssertEqual(e.dbError, .poolTimeout)
        XCTAssertEqual(e.level, .error)

        var end = Event(time: .zero, kind: .requestEnd, level: .warn, message: "sorry, too many clients already")
        DBErrorClassifier.apply(to: &end)
        XCTAssertEqual(end.kind, .requestEnd, "only plain log lines change kind")
        XCTAssertEqual(end.dbError, .tooManyClients)

        var known = Event(time: .zero, dbError: .other, message: "too many clients")
        DBErrorClassifier.apply(to: &known)
        XCTAssertEqual(known.dbError, .other)

        var unrelated = Event(time: .zero, message: "fine")
        unrelated.attributes = [Attribute("user.name", "too many clients")]
        DBErrorClassifier.apply(to: &unrelated)
        XCTAssertNil(unrelated.dbError, "only error-like fields are searched")
    }

    /// Exception and stack-trace fields are read when the message names nothing.
    func testApplyReadsExceptionFields() {
        let cases: [(String, String, DBErrorKind?)] = [
            ("@x", "Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already\n   at Npgsql.Internal.NpgsqlConnector.Open()", .tooManyClients),
            ("@x", "Npgsql.PostgresException (0x80004005): 53300: remaining connection slots are reserved for roles with the SUPERUSER attribute", .reservedSlots),
            ("@x", "System.InvalidOperationException: Sequence contains no elements", nil),
            ("error.stack_trace", "org.postgresql.util.PSQLException: FATAL: sorry, too many clients already\n\tat org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:693)", .tooManyClients),
            ("exception", "Traceback (most recent call last):\n  ...\npsycopg.OperationalError: connection failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections", .reservedSlots),
            ("err.stack", "Error: Connection terminated unexpectedly\n    at Connection.<anonymous> (/app/node_modules/pg/lib/client.js:132:73)", .connectionLost),
            // .NET's JSON console formatter and Serilog's JsonFormatter: `Exception`, newlines folded to spaces.
            ("Exception", "Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise 'Max Pool Size' (currently 100) or 'Timeout' (currently 15 seconds) in your connection string.  ---> System.TimeoutException: The operation has timed out.    --- End of inner exception stack trace ---", .poolTimeout),
            ("Exception", "System.InvalidOperationException: Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.", .poolTimeout),
            ("Exception", "Npgsql.NpgsqlException (0x80004005): Exception while reading from stream  ---> System.TimeoutException: Timeout during reading attempt", nil),
            // The same text under a key no logger uses for errors is not read.
            ("@X", "Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already", nil),
            ("EXCEPTION", "Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted", nil),
            ("detail", "Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already", nil),
        ]
        for (key, value, expected) in cases {
            var e = Event(time: .zero, level: .error, message: "Failed executing DbCommand")
            e.attributes = [Attribute("SourceContext", "Microsoft.EntityFrameworkCore.Database.Command"), Attribute(key, value)]
            DBErrorClassifier.apply(to: &e)
            XCTAssertEqual(e.dbError, expected, key)
            XCTAssertEqual(e.kind, expected == nil ? .log : .dbError, key)
            XCTAssertEqual(e.attribute(key), value, "\(key) is kept as an attribute")
        }
    }
}

final class PlatformDetectionTests: XCTestCase {
    func testEachLineOfAMixedFileGoesToItsDecoder() throws {
        let r = PlatformFeed.auto(try PlatformFeed.fixture("detection", "mixed"))
        XCTAssertEqual(r.formats, [
            "aws-lambda", "aws-lambda", "aws-lambda-json", "cloudflare-workers", "vercel", "otlp-json", "postgres",
            "skein", "logfmt", "aws-lambda", "postgres", nil,
        ])
        XCTAssertEqual(r.events.map(\.platform), [
            "aws-lambda", "aws-lambda", "aws-lambda", "cloudflare-workers", "cloudflare-workers", "vercel", nil,
            "postgres", nil, nil, "aws-lambda", "postgres",
        ])
    }

    func testFormatNamesCoverEveryPlatform() {
        for name in ["aws-lambda", "aws-lambda-json", "cloudflare-workers", "vercel", "otlp-json", "postgres"] {
            XCTAssertTrue(AutoDecoder.formatNames.contains(name), name)
        }
    }

    func testForcedPlatformFormatTakesOnlyItsLines() {
        var d = AutoDecoder.standard(forced: "postgres")
        var events: [Event] = []
        let lines = [
            #"{"ts":"2026-11-23T10:00:00Z","msg":"convention"}"#,
            "2026-11-23 10:00:00.201 UTC [12346] FATAL:  sorry, too many clients already",
        ]
        var outcomes: [DecodeOutcome] = []
        for var l in lines.map({ Array($0.utf8) }) {
            outcomes.append(l.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &events) })
        }
        d.flush(source: SourceID(0), into: &events)
        XCTAssertEqual(outcomes[0], .malformed(.unrecognised))
        XCTAssertEqual(events.map(\.dbError), [.tooManyClients])

        var lambda = AutoDecoder.standard(forced: "aws-lambda")
        var cw: [Event] = []
        var payload = Array(#"{"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/fn","logStream":"2026/11/23/[$LATEST]ab","logEvents":[{"id":"1","timestamp":1795428000000,"message":"START RequestId: 9d2e1f0a-5b6c-4d7e-8f90-a1b2c3d4e5f6 Version: $LATEST\n"}]}"#.utf8)
        _ = payload.withUnsafeMutableBufferPointer { lambda.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &cw) }
        XCTAssertEqual(cw.map(\.kind), [.requestStart], "--format aws-lambda also reads CloudWatch payloads")
        XCTAssertEqual(cw.first?.service, "fn")
    }
}

final class LambdaDecoderTests: XCTestCase {
    func testColdStartReportXRayAndLinkedIDs() throws {
        let r = PlatformFeed.auto(try PlatformFeed.fixture("aws-lambda", "node-cold-start"))
        let cold = try XCTUnwrap(r.events.first { $0.kind == .instanceStart })
        XCTAssertEqual(cold.initMS, 171.35)
        XCTAssertEqual(cold.coldStart, true)
        XCTAssertEqual(cold.instance, "2026/11/23/checkout[$LATEST]0123456789abcdef0123456789abcdef")
        let end = try XCTUnwrap(r.events.first { $0.kind == .requestEnd })
        XCTAssertEqual(end.durationMS, 102.25)
        XCTAssertEqual(end.requestID, "6f1c2a4e-8d3b-4c55-9a71-0e2f3b4c5d6e")
        // The XRAY line continued the REPORT: its root becomes the W3C trace id.
        XCTAssertEqual(end.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        // The app's JSON line carries its correlation id beside the Lambda request id: one trace.
        let app = try XCTUnwrap(r.events.first { $0.correlationID == "req-7f3a" })
        XCTAssertEqual(app.requestID, end.requestID)
        XCTAssertEqual(app.traceID, end.traceID, "traceparent and X-Ray root name the same trace")
        // Init lines log `undefined` for the request id.
        let initLine = try XCTUnwrap(r.events.first { $0.message == "connecting pool max=5" })
        XCTAssertNil(initLine.requestID)
        XCTAssertEqual(initLine.runtime, "nodejs20")
        XCTAssertEqual(initLine.region, "us-east-1")
        // A multi-line ERROR keeps its stack in the message and is classified.
        let err = try XCTUnwrap(r.events.first { $0.kind == .dbError })
        XCTAssertEqual(err.dbError, .poolTimeout)
        XCTAssertTrue(err.message?.contains("code: 'P2024'") == true)
        XCTAssertTrue(r.events.contains { $0.message?.contains("\u{1B}[33m") == true }, "ANSI codes stay in messages")
    }

    func testAppJSONKeepsItsOwnRequestIDBesideLambdas() {
        let r = PlatformFeed.auto("2026-11-23T10:00:00.230Z\t6f1c2a4e-8d3b-4c55-9a71-0e2f3b4c5d6e\tINFO\t"
            + #"{"msg":"charging","request_id":"app-req-1","correlation_id":"corr-9"}"#)
        XCTAssertEqual(r.events.count, 1)
        XCTAssertEqual(r.events.first?.requestID, "6f1c2a4e-8d3b-4c55-9a71-0e2f3b4c5d6e")
        XCTAssertEqual(r.events.first?.correlationID, "corr-9")
        XCTAssertEqual(r.events.first?.attribute("app.request_id"), "app-req-1")
        XCTAssertEqual(r.events.first?.message, "charging")
    }

    func testTimeoutAndExitErrors() throws {
        let r = PlatformFeed.auto(try PlatformFeed.fixture("aws-lambda", "python-timeout"))
        let ends = r.events.filter { $0.kind == .requestEnd }
        XCTAssertEqual(ends.map { $0.attribute("outcome") }, ["timeout", "error"])
        XCTAssertEqual(ends.map(\.level), [.error, .error])
        XCTAssertEqual(ends.last?.attribute("errorType"), "Runtime.ExitError")
        XCTAssertTrue(r.events.contains { $0.message == "Task timed out after 3.00 seconds" && $0.attribute("outcome") == "timeout" })
        XCTAssertEqual(r.events.first?.runtime, "python3.12")
    }

    /// A REPORT line's keys are read in one pass over its `: `s; each must still be its first
    /// occurrence, and the request's duration the first one that is not Billed/Init/Restore.
    func testReportKeysInAnyOrderTakeTheirFirstOccurrence() {
        let line = "REPORT RequestId: 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\tInit Duration: 250.5 ms\t"
            + "Billed Duration: 900 ms\tRestore Duration: 12 ms\tDuration: 812.25 ms\tMax Memory Used: 77 MB\t"
            + "Memory Size: 256 MB\tStatus: timeout\tError Type: Runtime.Timeout\tDuration: 1.0 ms\tStatus: error"
        var bytes = Array(line.utf8)
        let scope = PlatformScope(service: "fn", deploy: .serverless, platform: "aws-lambda")
        let out = bytes.withUnsafeMutableBufferPointer {
            LambdaText.report(UnsafeBufferPointer($0), scope: scope, time: Timestamp(millis: Int64(1000)), source: SourceID(0))
        }
        XCTAssertEqual(out.map(\.kind), [.instanceStart, .requestEnd])
        let end = out[1]
        XCTAssertEqual(end.requestID, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
        XCTAssertEqual(end.durationMS, 812.25)
        XCTAssertEqual(end.initMS, 250.5)
        XCTAssertEqual(out[0].initMS, 250.5)
        XCTAssertEqual(end.attribute("billed_ms"), "900")
        XCTAssertEqual(end.attribute("memory_mb"), "256")
        XCTAssertEqual(end.attribute("max_memory_used_mb"), "77")
        XCTAssertEqual(end.attribute("restore_ms"), "12")
        XCTAssertEqual(end.attribute("outcome"), "timeout")
        XCTAssertEqual(end.attribute("errorType"), "Runtime.Timeout")
        XCTAssertEqual(end.level, Level.error)

        // Only qualified durations, and a key with nothing after it: no duration, no id.
        var bare = Array("REPORT RequestId: \tBilled Duration: 3 ms\tInit Duration: 1 ms".utf8)
        let plain = bare.withUnsafeMutableBufferPointer {
            LambdaText.report(UnsafeBufferPointer($0), scope: scope, time: Timestamp(millis: Int64(1000)), source: SourceID(0))
        }
        XCTAssertNil(plain.last?.durationMS)
        XCTAssertNil(plain.last?.requestID)
        XCTAssertEqual(plain.last?.attribute("billed_ms"), "3")
    }

    func testDecoderOnItsOwnHoldsTheLastRecordUntilFlush() {
        var d = LambdaTextDecoder()
        var events: [Event] = []
        var line = Array("2026-11-23T10:00:00.100Z\t6f1c2a4e-8d3b-4c55-9a71-0e2f3b4c5d6e\tERROR\tboom".utf8)
        XCTAssertEqual(line.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &events) }, .absorbed)
        var cont = Array("    at handler (/var/task/index.js:1:1)".utf8)
        XCTAssertEqual(cont.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &events) }, .absorbed)
        XCTAssertTrue(events.isEmpty)
        d.flush(source: SourceID(0), into: &events)
        XCTAssertEqual(events.map(\.message), ["boom\n    at handler (/var/task/index.js:1:1)"])
        XCTAssertEqual(events.first?.level, .error)
    }

    func testRuntimeNames() {
        XCTAssertEqual(PlatformEvent.runtimeName("nodejs:20.v13"), "nodejs20")
        XCTAssertEqual(PlatformEvent.runtimeName("python:3.12.v30"), "python3.12")
        XCTAssertEqual(PlatformEvent.runtimeName("java:21.v10"), "java21")
        XCTAssertEqual(PlatformEvent.runtimeName("nodejs20.x"), "nodejs20")
        XCTAssertEqual(LambdaText.region(fromARN: "arn:aws:lambda:eu-west-1::runtime:abc"), "eu-west-1")
        XCTAssertEqual(LambdaText.function(fromGroup: "/aws/lambda/checkout"), "checkout")
        XCTAssertEqual(LambdaText.function(fromStream: "2026/11/23/checkout[$LATEST]0123"), "checkout")
        XCTAssertNil(LambdaText.function(fromStream: "2026/11/23/[$LATEST]0123"))
    }

    func testJSONFormatPlatformRecords() throws {
        let r = PlatformFeed.auto(try PlatformFeed.fixture("aws-lambda-json", "platform-and-app"))
        XCTAssertEqual(r.events.filter { $0.kind == .instanceStart }.map(\.initMS), [240.33])
        let start = try XCTUnwrap(r.events.first { $0.kind == .requestStart })
        XCTAssertEqual(start.traceID, "673e8b004bf92f3577b34da6a3ce929d")
        XCTAssertEqual(start.service, "orders")
        let app = try XCTUnwrap(r.events.first { $0.message == "order received" })
        XCTAssertEqual(app.correlationID, "ord-5521")
        XCTAssertEqual(app.requestID, start.requestID)
        XCTAssertEqual(r.events.filter { $0.kind == .requestEnd }.map { $0.attribute("outcome") }, ["error", "timeout"])
        XCTAssertNil(r.events.first { $0.message == "warming pool" }?.requestID)
    }
}

final class EdgeAndDrainDecoderTests: XCTestCase {
    func testWorkersLinkRayRequestIDAndTrace() throws {
        let tail = PlatformFeed.auto(try PlatformFeed.fixture("cloudflare-workers", "wrangler-tail"))
        let first = try XCTUnwrap(tail.events.first { $0.kind == .requestEnd })
        XCTAssertEqual(first.requestID, "8e2f1a3b4c5d6e7f", "the colo suffix is dropped")
        XCTAssertEqual(first.correlationID, "req-7f3a")
        XCTAssertEqual(first.traceID, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(first.region, "SJC")
        XCTAssertEqual(first.route, "/api/feed")
        let cpu = try XCTUnwrap(tail.events.first { $0.kind == .requestEnd && $0.attribute("outcome") == "exceededCpu" })
        XCTAssertEqual(cpu.status, 503)
        XCTAssertEqual(cpu.level, .error)

        let logpush = PlatformFeed.auto(try PlatformFeed.fixture("cloudflare-workers", "logpush"))
        let lpEnd = try XCTUnwrap(logpush.events.first { $0.kind == .requestEnd })
        XCTAssertEqual(lpEnd.requestID, first.requestID, "Logpush's RayID and the cf-ray header name one request")
        XCTAssertEqual(lpEnd.durationMS, 41)
        XCTAssertEqual(lpEnd.cpuMS, 3)

        let pretty = PlatformFeed.auto(try PlatformFeed.fixture("cloudflare-workers", "wrangler-tail-pretty"))
        XCTAssertEqual(pretty.events.filter { $0.kind == .requestEnd }.count, 2, "pretty-printed objects arrive whole")
    }

    /// A Vercel Function's timeout line ends its invocation with the duration it states (no REPORT
    /// follows on Vercel), in both wordings; other mentions of seconds do not.
    func testVercelTimeoutLineEndsTheInvocation() throws {
        let record = #"{"id":"1","message":"MSG","timestamp":1795430410000,"type":"stderr","source":"lambda","projectId":"prj_abc","projectName":"shop","deploymentId":"dpl_XYZ","host":"shop-abc123.vercel.app","path":"/api/slow","requestId":"iad1::abc-1","statusCode":504,"level":"error"}"#
        for (message, ms) in [("Task timed out after 10.02 seconds", 10_020.0),
                              ("Vercel Runtime Timeout Error: Task timed out after 300 seconds", 300_000.0)] {
            let feed = PlatformFeed.auto(record.replacingOccurrences(of: "MSG", with: message) + "\n")
            let e = try XCTUnwrap(feed.events.first, message)
            XCTAssertEqual(e.kind, .requestEnd, message)
            XCTAssertEqual(try XCTUnwrap(e.durationMS, message), ms, accuracy: 1e-6)
            XCTAssertEqual(e.attribute("outcome"), "timeout")
        }
        for message in ["Task timed out after a while", "Task timed out after 1e400 seconds", "took 10 seconds"] {
            let feed = PlatformFeed.auto(record.replacingOccurrences(of: "MSG", with: message) + "\n")
            XCTAssertEqual(feed.events.first?.kind, .log, message)
            XCTAssertNil(feed.events.first?.durationMS, message)
        }
    }

    func testVercelArrayAndNDJSON() throws {
        let array = PlatformFeed.auto(try PlatformFeed.fixture("vercel", "json-array"))
        XCTAssertEqual(array.events.count, 2)
        let served = try XCTUnwrap(array.events.first)
        XCTAssertEqual(served.requestID, "643af4e3-975a-4cc7-9e7a-1eda11539d90")
        XCTAssertEqual(served.traceID, "7e2b3c4d5f60718293a4b5c6d7e8f901", "requestId and traceId on one event")
        XCTAssertEqual(served.correlationID, "req-9a1c")
        XCTAssertEqual(served.deploy, .serverless)
        XCTAssertEqual(array.events.last?.dbError, .connectionLost)
        XCTAssertEqual(array.events.last?.attribute("outcome"), "crashed")

        let nd = PlatformFeed.auto(try PlatformFeed.fixture("vercel", "ndjson"))
        XCTAssertEqual(nd.events.first { $0.kind == .instanceStart }?.initMS, 318.02)
        XCTAssertEqual(nd.events.first { $0.attribute("type") == "middleware-invocation" }?.deploy, .edge)
    }
}

final class OTLPAndPostgresTests: XCTestCase {
    func testOTLPSpansLogsAndValues() throws {
        let spans = PlatformFeed.auto(try PlatformFeed.fixture("otlp-json", "spans"))
        // The failed `pg.connect` span also gives the `db.error` the engine counts, at the span's end.
        XCTAssertEqual(spans.events.map(\.kind), [.span, .span, .dbError])
        XCTAssertEqual(spans.events[2].dbError, .poolTimeout)
        XCTAssertEqual(spans.events[2].spanID, spans.events[1].spanID)
        XCTAssertEqual(spans.events[2].time, spans.events[1].time.adding(ms: 140))
        XCTAssertEqual(spans.events[0].durationMS, 182.4)
        XCTAssertEqual(spans.events[0].coldStart, true)
        XCTAssertEqual(spans.events[0].requestID, "af9b3c2d-1e0f-4a5b-9c8d-7e6f5a4b3c2d")
        XCTAssertEqual(spans.events[0].deploy, .serverless)
        XCTAssertEqual(spans.events[1].durationMS, 140, "19-digit nanoseconds are exact")
        XCTAssertEqual(spans.events[1].level, .error)
        XCTAssertEqual(spans.events[1].dbError, .poolTimeout)

        let logs = PlatformFeed.auto(try PlatformFeed.fixture("otlp-json", "logs"))
        XCTAssertEqual(logs.events.map(\.level), [.info, .error, .warn])
        XCTAssertEqual(logs.events[1].time, Timestamp(nanos: 1_795_428_020_200_000_000), "observed time when time is 0")
        XCTAssertEqual(logs.events[1].dbError, .tooManyClients)
        XCTAssertEqual(logs.events[2].dbPool, "main")
        XCTAssertEqual(logs.events[2].waitMS, 1250.5)

        XCTAssertEqual(OTLPValue.kvlist([OTLPKeyValue("a", .int(1)), OTLPKeyValue("b", .array([.bool(true), .double(1.5)]))]).text,
                       "{a:1,b:[true,1.5]}")
        XCTAssertEqual(OTLPMapping.runtime(name: "CPython", version: "3.12.1"), "python3.12")
        XCTAssertEqual(OTLPMapping.runtime(name: "nodejs", version: "v20.11.1"), "nodejs20")
    }

    func testPoolMetricsBecomeReadingsAndTimeoutErrors() throws {
        let r = PlatformFeed.auto(try PlatformFeed.fixture("otlp-json", "db-pool-metrics"))
        let readings = r.events.filter { $0.kind == .log }
        XCTAssertEqual(readings.map(\.dbOpen), [10, 10, 5, 1])
        XCTAssertEqual(readings.map { $0.attribute("db.pool.max") }, ["10", "10", "5", nil])
        XCTAssertEqual(readings.map(\.dbMax), [nil, nil, nil, nil], "a pool's maximum is not max_connections")
        XCTAssertEqual(readings.first?.waitMS, 250, "histogram mean in seconds → ms")
        XCTAssertEqual(readings.first?.attribute("db.pending_requests"), "3")
        // The first cumulative count is a baseline; the rise from 4 to 7 is three timeouts. A delta sum
        // counts its own value.
        let errors = r.events.filter { $0.kind == .dbError }
        XCTAssertEqual(errors.map { $0.attribute("db.timeouts") }, ["3", "2"])
        XCTAssertEqual(errors.first?.dbError, .poolTimeout)
        XCTAssertEqual(readings[2].dbPool, "postgresql://db.internal/billing", "old db.client.connections.* names")
    }

    func testPostgresSessionsAndRefusals() throws {
        let r = PlatformFeed.auto(try PlatformFeed.fixture("postgres", "default-prefix"))
        let disconnect = try XCTUnwrap(r.events.first { $0.kind == .dbDisconnect })
        XCTAssertEqual(disconnect.attribute("application_name"), "feed-api", "remembered from the authorized line")
        XCTAssertEqual(disconnect.durationMS, 1234)
        XCTAssertEqual(disconnect.instance, "12345")
        XCTAssertEqual(r.events.filter { $0.kind == .dbConnect }.count, 1)
        XCTAssertEqual(r.events.compactMap(\.dbError), [.tooManyClients, .reservedSlots, .reservedSlots, .connectionLost])
        let dup = try XCTUnwrap(r.events.first { $0.message?.hasPrefix("ERROR:") == true })
        XCTAssertEqual(dup.attribute("statement"), "INSERT INTO orders (id, total)\n\tVALUES (42, 10.5)")
        XCTAssertEqual(dup.attribute("detail"), "Key (id)=(42) already exists.")

        let q = PlatformFeed.auto(try PlatformFeed.fixture("postgres", "user-db-prefix"))
        XCTAssertEqual(q.events.first { $0.kind == .dbError }?.attribute("user"), "app", "from the %u@%d prefix")
    }

    /// The server writes `DEBUG` for every debug level (`error_severity()` in `elog.c`), in the
    /// stderr log and in `jsonlog` alike.
    func testPostgresDebugSeverity() throws {
        func entry(_ s: String) -> PostgresLogDecoder.Entry? {
            Array(s.utf8).withUnsafeBufferPointer { PostgresLogDecoder.parse($0) }
        }
        let plain = try XCTUnwrap(entry("2024-05-01 12:00:00.123 UTC [4242] DEBUG:  forked new backend, pid=4243 socket=9"))
        XCTAssertEqual(plain.severity, .debug)
        XCTAssertEqual(plain.pid, 4242)
        XCTAssertEqual(plain.textStart, "2024-05-01 12:00:00.123 UTC [4242] DEBUG:  ".utf8.count)
        let rds = try XCTUnwrap(entry("2024-05-01 12:00:00 UTC:10.0.0.5(51300):app@shop:[4243]:DEBUG:  StartTransaction(1) name: unnamed; blockState: DEFAULT; state: INPROGRESS, xid/subid/cid: 0/1/0"))
        XCTAssertEqual(rds.severity, .debug)
        XCTAssertEqual(rds.pid, 4243)
        XCTAssertEqual(rds.user, "app")
        XCTAssertEqual(rds.database, "shop")
        XCTAssertEqual(entry("2024-05-01 12:00:00.123 UTC [4242] DEBUG3:  shmem_exit(0): 4 before_shmem_exit callbacks to make")?.severity, .debug)
        // A severity word must be followed by a space: `DEBUG:x` is not one.
        XCTAssertNil(entry("2024-05-01 12:00:00.123 UTC [4242] DEBUG:x"))

        // jsonlog reads the same table: every stderr word, without its colon, means the same.
        for (word, severity) in PostgresLogDecoder.severities {
            let name = String(describing: word).dropLast()
            XCTAssertEqual(Array(name.utf8).withUnsafeBufferPointer { PostgresLogDecoder.Severity(name: $0) }, severity, String(name))
        }
        XCTAssertNil(Array("DEBUG:".utf8).withUnsafeBufferPointer { PostgresLogDecoder.Severity(name: $0) })
        XCTAssertNil(Array("DEBUG6".utf8).withUnsafeBufferPointer { PostgresLogDecoder.Severity(name: $0) })

        for fixture in ["default-prefix-debug", "rds-prefix-debug", "jsonlog-debug"] {
            let r = PlatformFeed.auto(try PlatformFeed.fixture("postgres", fixture))
            XCTAssertEqual(Set(r.formats), ["postgres"], fixture)
            XCTAssertFalse(r.outcomes.contains { if case .malformed = $0 { true } else { false } }, fixture)
            let debug = r.events.filter { $0.message?.hasPrefix("DEBUG:  ") == true }
            XCTAssertEqual(debug.count, fixture == "default-prefix-debug" ? 7 : fixture == "rds-prefix-debug" ? 4 : 3, fixture)
            XCTAssertTrue(debug.allSatisfy { $0.level == .debug && $0.kind == .log }, fixture)
            // A debug line of a backend keeps the session it belongs to.
            let inSession = try XCTUnwrap(debug.first { $0.message?.contains("StartTransaction") == true }, fixture)
            XCTAssertEqual(inSession.attribute("user"), "app", fixture)
            XCTAssertEqual(inSession.attribute("application_name"), "feed-api", fixture)
        }
    }

    func testSessionTime() {
        let v = Array("1:02:03.5".utf8).withUnsafeBufferPointer { PostgresLogDecoder.sessionMS($0) }
        XCTAssertEqual(v, 3_723_500)
    }
}

final class PlatformRobustnessTests: XCTestCase {
    func testLinePrefixTimes() {
        func parse(_ s: String) -> (Timestamp, Int)? {
            Array(s.utf8).withUnsafeBufferPointer { PlatformTime.parse($0) }
        }
        XCTAssertEqual(parse("2026-11-23 10:00:00.123 UTC [1] LOG:")?.0, TimeParsing.parse("2026-11-23T10:00:00.123Z"))
        XCTAssertEqual(parse("2026-11-23 10:00:00.123 UTC [1] LOG:")?.1, 27)
        XCTAssertEqual(parse("2026-11-23 11:00:00 CET [1] LOG:")?.0, TimeParsing.parse("2026-11-23T10:00:00Z"))
        XCTAssertEqual(parse("2026-11-23T10:00:00.123000+00:00 stream")?.1, 32)
        // An upper-case word after a zone-less time is not a zone.
        XCTAssertEqual(parse("2026-11-23 10:00:00 ERROR boom")?.1, 19)
        XCTAssertNil(parse("2026-13-23 10:00:00"))
        XCTAssertNil(parse("not a time"))
    }

    /// Every platform decoder, fed truncated and corrupted versions of every fixture line, neither
    /// crashes nor reports events it did not append.
    func testMutatedFixturesNeverCrash() throws {
        var seed: UInt64 = 0x5EED
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let folders = ["aws-lambda", "aws-lambda-json", "cloudflare-workers", "vercel", "otlp-json", "postgres", "detection",
                       "syslog-rfc3164"]
        var lines: [[UInt8]] = []
        for folder in folders {
            let dir = FixtureTests.root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".input") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                lines.append(contentsOf: PlatformFeed.lines(text))
            }
        }
        var d = AutoDecoder.standard()
        var lambda = LambdaTextDecoder()
        var pg = PostgresLogDecoder()
        for line in lines where !line.isEmpty {
            for _ in 0..<6 {
                var m = line
                switch next() % 3 {
                case 0: m = Array(m.prefix(Int(next() % UInt64(m.count))))
                case 1: m[Int(next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: next())
                default:
                    let at = Int(next() % UInt64(m.count))
                    m.insert(contentsOf: [0x22, 0x7b, 0x09, 0x5b, 0x3a], at: at)
                }
                for decoderIndex in 0..<3 {
                    var events: [Event] = []
                    let outcome: DecodeOutcome = m.withUnsafeBufferPointer { b in
                        switch decoderIndex {
                        case 0: return d.decode(b, source: SourceID(0), into: &events)
                        case 1: return lambda.decode(b, source: SourceID(0), into: &events)
                        default: return pg.decode(b, source: SourceID(0), into: &events)
                        }
                    }
                    if case .events(let n) = outcome { XCTAssertEqual(n, events.count) }
                }
            }
        }
        var tail: [Event] = []
        d.flush(source: SourceID(0), into: &tail)
        lambda.flush(source: SourceID(0), into: &tail)
        pg.flush(source: SourceID(0), into: &tail)
    }
}

final class CrossFormatLinkingTests: XCTestCase {
    /// One request crossing an edge Worker, a Lambda, a Vercel function and a Node server: every
    /// event carries ids that, joined pairwise as the engine's linker does, form a single trace.
    func testOneRequestAcrossFormatsFormsOneComponent() {
        let ray = "8e2f1a3b4c5d6e7f"
        let text = """
        {"outcome":"ok","scriptName":"edge-api","exceptions":[],"logs":[],"eventTimestamp":1795428000000,"event":{"request":{"url":"https://api.example.com/api/feed","method":"GET","headers":{"cf-ray":"\(ray)-SJC","x-request-id":"req-abc"},"cf":{"colo":"SJC"}},"response":{"status":200}}}
        2026-11-23T10:00:00.020000+00:00 2026/11/23/feed[$LATEST]aa START RequestId: 11111111-2222-4333-8444-555555555555 Version: $LATEST
        2026-11-23T10:00:00.030000+00:00 2026/11/23/feed[$LATEST]aa 2026-11-23T10:00:00.030Z\t11111111-2222-4333-8444-555555555555\tINFO\t{"msg":"fetching","correlation_id":"req-abc"}
        2026-11-23T10:00:00.090000+00:00 2026/11/23/feed[$LATEST]aa REPORT RequestId: 11111111-2222-4333-8444-555555555555\tDuration: 60.00 ms\tBilled Duration: 60 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t
        XRAY TraceId: 1-4bf92f35-77b34da6a3ce929d0e0e4736\tSegmentId: 53995c3f42cd8ad8\tSampled: true
        {"id":"1","message":"rendered","timestamp":1795428000100,"type":"stdout","source":"lambda","projectId":"p","deploymentId":"dpl_1","host":"x.vercel.app","requestId":"vrc-1","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","level":"info"}
        {"level":30,"time":1795428000120,"req":{"id":7,"method":"GET","url":"/internal","headers":{"cf-ray":"\(ray)-SJC","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},"res":{"statusCode":200},"msg":"request completed"}
        """
        let r = PlatformFeed.auto(text)
        var parent: [String: String] = [:]
        func find(_ x: String) -> String {
            var x = x
            while let p = parent[x], p != x { x = p }
            return x
        }
        func union(_ a: String, _ b: String) { parent[find(a)] = find(b) }
        var all: [String] = []
        for e in r.events {
            let ids = [e.traceID, e.correlationID, e.requestID].compactMap { $0 }
            XCTAssertFalse(ids.isEmpty, "every event of the request has an id: \(e.message ?? "")")
            for id in ids where parent[id] == nil { parent[id] = id; all.append(id) }
            for id in ids.dropFirst() { union(ids[0], id) }
        }
        XCTAssertEqual(Set(all.map(find)).count, 1, "ids \(all) should form one trace")
        XCTAssertTrue(all.contains(ray))
        XCTAssertTrue(all.contains("11111111-2222-4333-8444-555555555555"))
        XCTAssertTrue(all.contains("vrc-1"))
    }
}
