import Foundation
import NIOCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SkeinCore
import SkeinSources
import XCTest
@testable import SkeinCollector

/// Every answer the collector gives, over real HTTP/1.1 bytes through an `EmbeddedChannel`.
final class HTTPTests: XCTestCase {
    let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    let protobuf = [("Content-Type", "application/x-protobuf")]
    let json = [("Content-Type", "application/json")]

    func traceRequest(spans: Int = 1) -> [UInt8] {
        let list = (0..<spans).map { i in
            PB.span(PB.Span(traceID: traceID, spanID: String(format: "%016x", i + 1), name: "GET /x",
                            start: 1_795_428_000_000_000_000 + UInt64(i), end: 1_795_428_000_100_000_000))
        }
        return PB.traces([(attributes: [PB.keyValue("service.name", PB.anyString("api"))], spans: list)])
    }

    let jsonTraces = """
    {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"edge"}}]},
     "scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",
     "name":"GET /","kind":2,"startTimeUnixNano":"1795428000000000000","endTimeUnixNano":"1795428000050000000"}]}]}]}
    """

    func testProtobufTracesAre200WithAnEmptyProtobufAnswer() throws {
        let c = try Connection()
        let a = try c.send("/v1/traces", headers: protobuf, body: traceRequest(spans: 2))
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(a.headers["content-type"], "application/x-protobuf")
        XCTAssertEqual(a.body, [UInt8]())
        let sink = c.drain()
        XCTAssertEqual(sink.names, ["listen test"])
        XCTAssertEqual(sink.events.count, 2)
        XCTAssertEqual(sink.events.map(\.traceID), [traceID, traceID])
        XCTAssertEqual(sink.formats, ["otlp-protobuf": 1])
        // Keep-alive: the same connection takes another request.
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: traceRequest()).status, 200)
    }

    func testJSONTracesAre200WithAnEmptyJSONAnswer() throws {
        let c = try Connection()
        let a = try c.send("/v1/traces", headers: json, body: Array(jsonTraces.utf8))
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(a.headers["content-type"], "application/json")
        XCTAssertEqual(a.text, "{}")
        let sink = c.drain()
        XCTAssertEqual(sink.events.count, 1)
        XCTAssertEqual(sink.events[0].service, "edge")
        XCTAssertEqual(sink.events[0].spanID, "00f067aa0ba902b7")
        XCTAssertEqual(try XCTUnwrap(sink.events[0].durationMS), 50, accuracy: 1e-9)
    }

    func testPartialSuccessNamesTheRejectedRecords() throws {
        let untimed = PB.message { $0.bytesField(5, PB.anyString("no time")) }
        let timed = PB.message { $0.fixed64Field(1, 1_795_428_000_000_000_000); $0.bytesField(5, PB.anyString("ok")) }
        let c = try Connection()
        let a = try c.send("/v1/logs", headers: protobuf, body: PB.logs(attributes: [], records: [timed, untimed]))
        XCTAssertEqual(a.status, 200)
        // ExportLogsServiceResponse { partial_success = 1 { rejected_log_records = 1: 1, error_message = 2 } }
        try a.body.withUnsafeBytes { b in
            var r = ProtobufReader(b)
            XCTAssertEqual(try r.nextField()?.number, 1)
            var inner = try r.message()
            XCTAssertEqual(try inner.nextField()?.number, 1)
            XCTAssertEqual(try inner.varint(), 1)
        }
        XCTAssertEqual(c.drain().malformed, ["missing_fields": 1])
    }

    func testUndecodableProtobufIs400WithAStatus() throws {
        let c = try Connection()
        var body = traceRequest()
        body.removeLast(5)
        let a = try c.send("/v1/traces", headers: protobuf, body: body)
        XCTAssertEqual(a.status, 400)
        XCTAssertEqual(a.headers["content-type"], "application/x-protobuf")
        // google.rpc.Status { code = 1: INVALID_ARGUMENT (3) }
        XCTAssertEqual(Array(a.body.prefix(2)), [0x08, 0x03])
        let sink = c.drain()
        XCTAssertEqual(sink.events.count, 0)
        XCTAssertEqual(sink.malformed, ["invalid_protobuf": 1])
    }

    func testBadJSONIs400() throws {
        let c = try Connection()
        let a = try c.send("/v1/logs", headers: json, body: Array("{\"resourceLogs\":[".utf8))
        XCTAssertEqual(a.status, 400)
        XCTAssertTrue(a.text.contains("\"code\":3"), a.text)
        XCTAssertEqual(c.drain().malformed, ["truncated_json": 1])
        XCTAssertEqual(try c.send("/v1/logs", headers: json, body: Array("[1,2]".utf8)).status, 400)
    }

    func testOversizeBodiesAre413DeclaredOrChunked() throws {
        var config = CollectorConfig()
        config.maxBody = 2048
        let c = try Connection(config: config)
        let big = [UInt8](repeating: 0x41, count: 5000)
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: big).status, 413)
        XCTAssertEqual(try c.send("/ingest", body: big, chunked: true).status, 413)
        // A gzip body small on the wire that inflates past the limit is oversize too.
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf + [("Content-Encoding", "gzip")], body: gzip(big)).status, 413)
        // The connection is still usable after the refusals.
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: traceRequest()).status, 200)
        XCTAssertEqual(c.drain().events.count, 1)
    }

    func testUnknownContentTypeIs415() throws {
        let c = try Connection()
        let a = try c.send("/v1/logs", headers: [("Content-Type", "text/plain")], body: Array("hello".utf8))
        XCTAssertEqual(a.status, 415)
        XCTAssertEqual(try c.send("/v1/logs", body: Array("hello".utf8)).status, 415)
        XCTAssertEqual(try c.send("/v1/logs", headers: json + [("Content-Encoding", "br")], body: Array("{}".utf8)).status, 415)
        XCTAssertEqual(c.drain().events.count, 0)
    }

    func testTokenIsRequiredWhenSet() throws {
        var config = CollectorConfig()
        config.token = "s3cret"
        let c = try Connection(config: config)
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: traceRequest()).status, 401)
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf + [("Authorization", "Bearer s3creT")], body: traceRequest()).status, 401)
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf + [("Authorization", "Bearer s3cret2")], body: traceRequest()).status, 401)
        XCTAssertEqual(try c.send("/ingest", body: Array("{}".utf8)).status, 401)
        XCTAssertEqual(try c.get("/metrics").status, 401)
        XCTAssertEqual(c.drain().events.count, 0)
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf + [("Authorization", "Bearer s3cret")], body: traceRequest()).status, 200)
        XCTAssertEqual(try c.get("/healthz").status, 200)
        XCTAssertEqual(c.drain().events.count, 1)
    }

    func testFullQueueIs429WithRetryAfterAndCountsTheRefusal() throws {
        let c = try Connection(capacity: 3)
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: traceRequest(spans: 2)).status, 200)
        let a = try c.send("/v1/traces", headers: protobuf, body: traceRequest(spans: 2))
        XCTAssertEqual(a.status, 429)
        XCTAssertEqual(a.headers["retry-after"], "1")
        XCTAssertEqual(Array(a.body.prefix(2)), [0x08, 0x08]) // RESOURCE_EXHAUSTED
        let sink = c.drain()
        XCTAssertEqual(sink.events.count, 2)
        // Refused, not lost: the exporter keeps the batch and retries. The queue had no room for
        // a batch like the last one, so the body was not even decoded.
        XCTAssertEqual(sink.dropped, 0)
        XCTAssertEqual(c.state.metrics.totals.rejected, 0)
        // Drained: room again.
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: traceRequest(spans: 2)).status, 200)
    }

    func testShuttingDownIs503WithRetryAfter() throws {
        let c = try Connection()
        c.state.stopping = true
        let a = try c.send("/v1/traces", headers: json, body: Array(jsonTraces.utf8))
        XCTAssertEqual(a.status, 503)
        XCTAssertEqual(a.headers["retry-after"], "1")
        XCTAssertEqual(c.drain().events.count, 0)
    }

    func testGzipBodies() throws {
        let c = try Connection()
        let a = try c.send("/v1/traces", headers: protobuf + [("Content-Encoding", "gzip")], body: gzip(traceRequest(spans: 3)))
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(c.drain().events.count, 3)
        let bad = try c.send("/v1/traces", headers: protobuf + [("Content-Encoding", "gzip")], body: Array("not gzip".utf8))
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(c.drain().malformed, ["invalid_gzip": 1])
        let ndjson = (0..<50).map { #"{"ts":"2026-11-23T10:00:00.\#(100 + $0)Z","service":"api","event":"log","msg":"line \#($0)"}"# }
            .joined(separator: "\n")
        let drain = try c.send("/ingest", headers: [("Content-Encoding", "gzip")], body: gzip(Array(ndjson.utf8)))
        XCTAssertEqual(drain.status, 200)
        XCTAssertEqual(c.drain().events.count, 50)
    }

    func testIngestTakesNDJSONAndJSONArrays() throws {
        let c = try Connection()
        let ndjson = """
        {"ts":"2026-11-23T10:00:00.120Z","service":"feed-api","event":"request.end","trace_id":"\(traceID)","status":200}
        not json at all {
        {"ts":"2026-11-23T10:00:00.130Z","service":"feed-api","event":"log","msg":"done"}

        """
        let a = try c.send("/ingest", headers: [("Content-Type", "application/x-ndjson")], body: Array(ndjson.utf8))
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(a.text, #"{"accepted":2,"malformed":1}"#)
        var sink = c.drain()
        XCTAssertEqual(sink.events.count, 2)
        XCTAssertEqual(sink.events[0].traceID, traceID)
        XCTAssertEqual(sink.lines, 3)
        XCTAssertEqual(sink.malformed.values.reduce(0, +), 1)
        // A Vercel log drain posts a JSON array of records.
        let vercel = """
        [{"id":"1","message":"hello","timestamp":1795428000000,"type":"stdout","source":"lambda","projectId":"p","deploymentId":"dpl_1","host":"app.vercel.app","requestId":"r1"},
         {"id":"2","message":"world","timestamp":1795428000100,"type":"stdout","source":"lambda","projectId":"p","deploymentId":"dpl_1","host":"app.vercel.app","requestId":"r1"}]
        """
        XCTAssertEqual(try c.send("/ingest", headers: json, body: Array(vercel.utf8)).status, 200)
        sink = c.drain()
        XCTAssertEqual(sink.events.count, 2)
        XCTAssertEqual(sink.events.map(\.message), ["hello", "world"])
        XCTAssertEqual(try c.send("/ingest", body: Array("garbage\n\u{1}\u{2}".utf8)).status, 400)
    }

    /// Postgres through classic syslog (RFC 3164, no year in its dates) posted as a client's first
    /// lines: the year is the collector's (the wall clock's), and the refusal is a DB error.
    func testIngestTakesPostgresThroughSyslogWithoutAYear() throws {
        let c = try Connection()
        let line = "Nov 25 10:00:00 db-1 postgres[4242]: [7-1] user=app,db=shop FATAL:  sorry, too many clients already\n"
        let r = try c.send("/ingest", body: Array(line.utf8))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, #"{"accepted":1,"malformed":0}"#)
        let events = c.drain().events
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events.first?.dbError, .tooManyClients)
        XCTAssertNotEqual(events.first?.time, .zero)
    }

    func testHealthMetricsAndUnknownRoutes() throws {
        let c = try Connection()
        XCTAssertEqual(try c.send("/v1/traces", headers: protobuf, body: traceRequest(spans: 4)).status, 200)
        let h = try c.get("/healthz")
        XCTAssertEqual(h.status, 200)
        XCTAssertEqual(h.text, "ok\n")
        let m = try c.get("/metrics")
        XCTAssertEqual(m.status, 200)
        XCTAssertTrue(m.text.contains(#"skein_collector_requests_total{endpoint="/v1/traces",code="200"} 1"#), m.text)
        XCTAssertTrue(m.text.contains(#"skein_collector_events_total{endpoint="/v1/traces"} 4"#), m.text)
        XCTAssertTrue(m.text.contains("skein_collector_queue_depth 4"), m.text)
        XCTAssertEqual(try c.get("/nope").status, 404)
        XCTAssertEqual(try c.get("/v1/traces").status, 405)
    }

    /// Framing holds however the bytes arrive: a protobuf request fed one byte at a time, twice.
    func testRequestsFedByteByByte() throws {
        let c = try Connection()
        let body = traceRequest(spans: 3)
        let head = "POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-protobuf\r\nContent-Length: \(body.count)\r\n\r\n"
        let request = Array(head.utf8) + body
        var out: [UInt8] = []
        for byte in request + request {
            try c.channel.writeInbound(ByteBuffer(bytes: [byte]))
            while let b = try c.channel.readOutbound(as: ByteBuffer.self) { out += Array(b.readableBytesView) }
        }
        let text = String(decoding: out, as: UTF8.self)
        XCTAssertEqual(text.components(separatedBy: "HTTP/1.1 200 OK").count - 1, 2, text)
        XCTAssertEqual(c.drain().events.count, 6)
    }

    func testSilentConnectionsAreClosed() throws {
        let c = try Connection()
        XCTAssertEqual(try c.get("/healthz").status, 200)
        XCTAssertTrue(c.channel.isActive)
        // NIO's IdleStateHandler times reads on the real clock, so its event is fired here directly.
        c.channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.write)
        XCTAssertTrue(c.channel.isActive, "only a silent reader is closed")
        c.channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        XCTAssertFalse(c.channel.isActive)
    }

    func testMalformedHTTPIsAnsweredNotTrapped() throws {
        let c = try Connection()
        _ = try? c.channel.writeInbound(ByteBuffer(string: "NOT HTTP AT ALL\r\n\r\n"))
        var out: [UInt8] = []
        while let b = try c.channel.readOutbound(as: ByteBuffer.self) { out += Array(b.readableBytesView) }
        XCTAssertEqual(Connection.parse(out)?.status, 400)
    }

    func testAddressParsingAndLoopback() {
        XCTAssertEqual(CollectorConfig.parseAddress("127.0.0.1:4318")?.port, 4318)
        XCTAssertEqual(CollectorConfig.parseAddress(":9000")?.host, "127.0.0.1")
        XCTAssertEqual(CollectorConfig.parseAddress("[::1]:4318")?.host, "::1")
        XCTAssertEqual(CollectorConfig.parseAddress("0.0.0.0:80")?.host, "0.0.0.0")
        XCTAssertNil(CollectorConfig.parseAddress("host:notaport"))
        XCTAssertNil(CollectorConfig.parseAddress("host:70000"))
        XCTAssertTrue(CollectorConfig.isLoopback("127.0.0.1"))
        XCTAssertFalse(CollectorConfig.isLoopback("0.0.0.0"))
        var config = CollectorConfig()
        config.host = "0.0.0.0"
        config.port = 0
        XCTAssertThrowsError(try Collector(config: config, queue: IngestQueue())) {
            XCTAssertEqual($0 as? CollectorError, .tokenRequired(host: "0.0.0.0"))
        }
    }

    func testRealListenerOnLoopback() throws {
        var config = CollectorConfig()
        config.port = 0
        let queue = IngestQueue()
        let collector = try Collector(config: config, queue: queue)
        defer { collector.close() }
        XCTAssertGreaterThan(collector.boundPort, 0)
        let url = URL(string: "http://127.0.0.1:\(collector.boundPort)/v1/traces")!
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/x-protobuf", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(traceRequest(spans: 2))
        let done = expectation(description: "answer")
        nonisolated(unsafe) var status = 0
        URLSession.shared.dataTask(with: request) { _, response, _ in
            status = (response as? HTTPURLResponse)?.statusCode ?? -1
            done.fulfill()
        }.resume()
        wait(for: [done], timeout: 10)
        XCTAssertEqual(status, 200)
        let sink = MemorySink()
        queue.drain(into: sink)
        XCTAssertEqual(sink.events.count, 2)
        XCTAssertEqual(sink.names, ["listen 127.0.0.1:0"])
    }
}
