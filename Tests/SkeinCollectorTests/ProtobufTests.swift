import SkeinCore
import XCTest
@testable import SkeinCollector

final class ProtobufTests: XCTestCase {
    let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    func testVarintsFixedAndSkippedFields() throws {
        var w = ProtobufWriter()
        w.varintField(1, 300)
        w.fixed64Field(2, 0x0102_0304_0506_0708)
        w.key(3, 5)
        var bytes = w.bytes + [0x78, 0x56, 0x34, 0x12]
        var tail = ProtobufWriter()
        tail.varintField(4, UInt64.max)
        bytes += tail.bytes
        try bytes.withUnsafeBytes { b in
            var r = ProtobufReader(b)
            XCTAssertEqual(try r.nextField()?.number, 1)
            XCTAssertEqual(try r.varint(), 300)
            XCTAssertEqual(try r.nextField()?.wire, .fixed64)
            XCTAssertEqual(try r.fixed64(), 0x0102_0304_0506_0708)
            let f = try XCTUnwrap(try r.nextField())
            XCTAssertEqual(f.wire, .fixed32)
            XCTAssertEqual(try r.fixed32(), 0x1234_5678)
            XCTAssertEqual(try r.nextField()?.number, 4)
            XCTAssertEqual(try r.varint(), UInt64.max)
            XCTAssertNil(try r.nextField())
        }
    }

    func testTruncatedAndHostileInputIsRefusedNotTrapped() {
        let cases: [[UInt8]] = [
            [0x0a, 0x05, 0x01],                     // length past the end
            [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // varint past 64 bits
            [0x0b],                                 // start group
            [0x0f],                                 // wire type 7
            [0x09, 0x01, 0x02],                     // fixed64 cut short
        ]
        for bytes in cases {
            var decoder = OTLPProtobufDecoder()
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try decoder.decode(.traces, $0, source: SourceID(0)) }, "\(bytes)")
        }
        // Nesting deeper than the reader allows: AnyValue inside ArrayValue inside ..., 100 levels.
        var nested = PB.anyString("x")
        for _ in 0..<100 { nested = PB.message { $0.bytesField(5, PB.message { $0.bytesField(1, nested) }) } }
        let request = PB.traces([(attributes: [PB.keyValue("deep", nested)], spans: [])])
        var decoder = OTLPProtobufDecoder()
        XCTAssertThrowsError(try request.withUnsafeBytes { try decoder.decode(.traces, $0, source: SourceID(0)) }) {
            XCTAssertEqual($0 as? ProtobufReader.Failure, .tooDeep)
        }
    }

    func testExportTraceServiceRequestMapsToEvents() throws {
        let start: UInt64 = 1_795_428_000_120_000_000 // 2026-11-23T10:00:00.120Z
        let root = PB.span(PB.Span(traceID: traceID, spanID: "00f067aa0ba902b7", name: "GET /api/feed", kind: 2,
                                   start: start, end: start + 182_400_000,
                                   attributes: [PB.keyValue("http.route", PB.anyString("/api/feed")),
                                                PB.keyValue("http.response.status_code", PB.anyInt(200)),
                                                PB.keyValue("faas.coldstart", PB.anyBool(true))]))
        let child = PB.span(PB.Span(traceID: traceID, spanID: "A3CE929D0E0E4736".lowercased(), parentSpanID: "00f067aa0ba902b7",
                                    name: "SELECT posts", kind: 3, start: start + 10_000_000, end: start + 60_000_000,
                                    statusCode: 2))
        let request = PB.traces([(attributes: [PB.keyValue("service.name", PB.anyString("feed-api")),
                                               PB.keyValue("cloud.platform", PB.anyString("aws_lambda")),
                                               PB.keyValue("faas.instance", PB.anyString("2026/11/23/[$LATEST]9f1c")),
                                               PB.keyValue("cloud.region", PB.anyString("us-east-1"))],
                                  spans: [root, child])])
        var decoder = OTLPProtobufDecoder()
        let result = try request.withUnsafeBytes { try decoder.decode(.traces, $0, source: SourceID(3)) }
        XCTAssertEqual(result.records, 2)
        XCTAssertEqual(result.rejected, 0)
        XCTAssertEqual(result.events.count, 2)
        let r = result.events[0], c = result.events[1]
        XCTAssertEqual(r.kind, .span)
        XCTAssertEqual(r.service, "feed-api")
        XCTAssertEqual(r.instance, "2026/11/23/[$LATEST]9f1c")
        XCTAssertEqual(r.deploy, .serverless)
        XCTAssertEqual(r.platform, "aws-lambda")
        XCTAssertEqual(r.region, "us-east-1")
        XCTAssertEqual(r.traceID, traceID)
        XCTAssertEqual(r.spanID, "00f067aa0ba902b7")
        XCTAssertNil(r.parentSpanID)
        XCTAssertEqual(r.time, Timestamp(nanos: Int64(start)))
        XCTAssertEqual(try XCTUnwrap(r.durationMS), 182.4, accuracy: 1e-9)
        XCTAssertEqual(r.route, "/api/feed")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.coldStart, true)
        XCTAssertEqual(r.source, SourceID(3))
        XCTAssertEqual(c.parentSpanID, "00f067aa0ba902b7")
        XCTAssertEqual(c.spanID, "a3ce929d0e0e4736")
        XCTAssertEqual(c.level, .error)
        XCTAssertNil(c.coldStart)
        XCTAssertEqual(try XCTUnwrap(c.durationMS), 50, accuracy: 1e-9)
    }

    /// A span's `exception` events (field 11) are read as OTLP/JSON reads them: a DB failure named
    /// there gives the span a DB error and one `db.error` event per trace and request, though both
    /// the DB client span and the handler above it recorded it.
    func testExceptionEventsGiveOneDBErrorPerTrace() throws {
        let start: UInt64 = 1_795_428_000_120_000_000
        func exception(_ type: String, _ message: String) -> [UInt8] {
            PB.message { w in
                w.bytesField(11, PB.message { ev in
                    ev.fixed64Field(1, start + 40_000_000)
                    ev.stringField(2, "exception")
                    ev.bytesField(3, PB.keyValue("exception.type", PB.anyString(type)))
                    ev.bytesField(3, PB.keyValue("exception.message", PB.anyString(message)))
                })
                // Another kind of event is not an exception.
                w.bytesField(11, PB.message { ev in ev.stringField(2, "retry"); ev.bytesField(3, PB.keyValue("exception.message", PB.anyString("x"))) })
            }
        }
        let root = PB.span(PB.Span(traceID: traceID, spanID: "00f067aa0ba902b7", name: "GET /api/feed", kind: 2,
                                   start: start, end: start + 90_000_000, statusCode: 2))
            + exception("Error", "sorry, too many clients already")
        let db = PB.span(PB.Span(traceID: traceID, spanID: "a3ce929d0e0e4736", parentSpanID: "00f067aa0ba902b7",
                                 name: "pg.connect", kind: 3, start: start + 10_000_000, end: start + 40_000_000, statusCode: 2))
            + exception("error", "sorry, too many clients already")
        let request = PB.traces([(attributes: [PB.keyValue("service.name", PB.anyString("feed-api"))], spans: [db, root])])
        var decoder = OTLPProtobufDecoder()
        let result = try request.withUnsafeBytes { try decoder.decode(.traces, $0, source: SourceID(0)) }
        XCTAssertEqual(result.records, 2)
        XCTAssertEqual(result.events.map(\.kind), [.span, .dbError, .span])
        XCTAssertEqual(result.events[0].dbError, .tooManyClients)
        XCTAssertEqual(result.events[0].attribute("exception"), "error: sorry, too many clients already")
        XCTAssertEqual(result.events[1].dbError, .tooManyClients)
        XCTAssertEqual(result.events[1].time, Timestamp(nanos: Int64(start + 40_000_000)), "at the span's end")
        XCTAssertEqual(result.events[1].traceID, traceID)
        XCTAssertEqual(result.events[2].dbError, .tooManyClients)
    }

    func testResourceColdStartMarksTheInstancesRecords() throws {
        let span = PB.span(PB.Span(traceID: traceID, spanID: "00f067aa0ba902b7", name: "handler", start: 1_000_000_000, end: 2_000_000_000))
        let request = PB.traces([(attributes: [PB.keyValue("service.name", PB.anyString("checkout")),
                                               PB.keyValue("faas.coldstart", PB.anyBool(true))], spans: [span])])
        var decoder = OTLPProtobufDecoder()
        let events = try request.withUnsafeBytes { try decoder.decode(.traces, $0, source: SourceID(0)) }.events
        XCTAssertEqual(events.first?.coldStart, true)
    }

    func testLogRecordsAndRecordsWithoutTimeAreRejectedPartially() throws {
        let record = PB.message { w in
            w.fixed64Field(1, 1_795_428_000_000_000_000)
            w.varintField(2, 17) // ERROR
            w.bytesField(5, PB.anyString("connection refused"))
            w.bytesField(9, PB.hex(traceID))
            w.bytesField(10, PB.hex("00f067aa0ba902b7"))
        }
        let untimed = PB.message { $0.bytesField(5, PB.anyString("no time")) }
        let request = PB.logs(attributes: [PB.keyValue("service.name", PB.anyString("chat"))], records: [record, untimed])
        var decoder = OTLPProtobufDecoder()
        let result = try request.withUnsafeBytes { try decoder.decode(.logs, $0, source: SourceID(0)) }
        XCTAssertEqual(result.records, 2)
        XCTAssertEqual(result.rejected, 1)
        XCTAssertEqual(result.events.count, 1)
        XCTAssertEqual(result.events[0].level, .error)
        XCTAssertEqual(result.events[0].message, "connection refused")
        XCTAssertEqual(result.events[0].traceID, traceID)
        XCTAssertEqual(result.events[0].service, "chat")
    }

    func testPoolMetricGaugeBecomesAReading() throws {
        // NumberDataPoint { time_unix_nano = 3, as_int = 6 (sfixed64), attributes = 7 }
        var p = ProtobufWriter()
        p.fixed64Field(3, 1_795_428_000_000_000_000)
        p.fixed64Field(6, 7)
        p.bytesField(7, PB.keyValue("db.client.connection.pool.name", PB.anyString("main")))
        let gauge = PB.message { $0.bytesField(1, p.bytes) }
        let metric = PB.message { $0.stringField(1, "db.client.connection.max"); $0.bytesField(5, gauge) }
        let other = PB.message { $0.stringField(1, "http.server.duration"); $0.bytesField(5, gauge) }
        let resource = PB.message { $0.bytesField(1, PB.keyValue("service.name", PB.anyString("api"))) }
        let scope = PB.message { $0.bytesField(2, metric); $0.bytesField(2, other) }
        let request = PB.message { w in w.bytesField(1, PB.message { $0.bytesField(1, resource); $0.bytesField(2, scope) }) }
        var decoder = OTLPProtobufDecoder()
        let result = try request.withUnsafeBytes { try decoder.decode(.metrics, $0, source: SourceID(0)) }
        XCTAssertEqual(result.records, 2)
        XCTAssertEqual(result.events.count, 1)
        XCTAssertEqual(result.events[0].attribute("db.pool.max"), "7")
        XCTAssertNil(result.events[0].dbMax, "the pool's maximum, not Postgres' max_connections")
        XCTAssertEqual(result.events[0].dbPool, "main")
        XCTAssertEqual(result.events[0].service, "api")
    }

    /// Mutated and random bytes: every outcome is an answer (events or a failure), never a trap.
    func testMutatedRequestsNeverTrap() {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        let span = PB.span(PB.Span(traceID: traceID, spanID: "00f067aa0ba902b7", name: "GET /", start: 1_000_000_000, end: 2_000_000_000,
                                   attributes: [PB.keyValue("k", PB.message { $0.bytesField(6, PB.message { $0.bytesField(1, PB.keyValue("a", PB.anyInt(1))) }) })]))
        let valid = PB.traces([(attributes: [PB.keyValue("service.name", PB.anyString("api"))], spans: [span, span])])
        var outcomes = (decoded: 0, refused: 0)
        for round in 0..<3000 {
            var bytes = valid
            if round % 3 == 0 {
                bytes = (0..<Int(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                for _ in 0..<(1 + Int(next() % 4)) { bytes[Int(next()) % bytes.count] = UInt8(truncatingIfNeeded: next()) }
                if round % 5 == 0 { bytes.removeLast(Int(next()) % bytes.count) }
            }
            for signal in [OTLPProtobufDecoder.Signal.traces, .logs, .metrics] {
                var decoder = OTLPProtobufDecoder()
                do {
                    _ = try bytes.withUnsafeBytes { try decoder.decode(signal, $0, source: SourceID(0)) }
                    outcomes.decoded += 1
                } catch {
                    outcomes.refused += 1
                }
            }
        }
        XCTAssertGreaterThan(outcomes.decoded, 0)
        XCTAssertGreaterThan(outcomes.refused, 0)
    }
}
