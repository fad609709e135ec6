import Foundation
import SkeinCore
import SkeinOutputs
import XCTest

final class RecorderTests: XCTestCase {
    private func fullEvent() -> Event {
        Event(time: Timestamp(millis: Int64(1_795_428_000_120)), kind: .requestEnd, level: .warn,
              service: "feed-api", instance: "2026/11/23/[$LATEST]9f1c", deploy: .serverless,
              platform: "aws-lambda", runtime: "nodejs20", region: "us-east-1",
              traceID: "4bf92f3577b34da6a3ce929d0e0e4736", correlationID: "req-7f3a", requestID: "c0ffee-1",
              spanID: "00f067aa0ba902b7", parentSpanID: "a3ce929d0e0e4736",
              route: "GET /api/feed", method: "GET", status: 200, durationMS: 182.4, cpuMS: 12.25, initMS: 0.1 + 0.2,
              coldStart: true, dbPool: "main", dbOpen: 3, dbMax: 100, waitMS: 4, dbError: .poolTimeout,
              message: "done \"ok\"\n", attributes: [Attribute("req.headers.host", "example.com"), Attribute("status", "teapot"),
                                                  Attribute("time", "later")])
    }

    func testEventLineUsesTheConventionFieldNames() throws {
        let line = Recorder.line(for: fullEvent())
        XCTAssertEqual(line, #"{"ts":"2026-11-23T10:00:00.120Z","event":"request.end","level":"warn","service":"feed-api","#
            + #""instance":"2026/11/23/[$LATEST]9f1c","deploy":"serverless","platform":"aws-lambda","runtime":"nodejs20","#
            + #""region":"us-east-1","correlation_id":"req-7f3a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","#
            + #""span_id":"00f067aa0ba902b7","parent_span_id":"a3ce929d0e0e4736","request_id":"c0ffee-1","#
            + #""route":"GET /api/feed","method":"GET","status":200,"duration_ms":182.4,"cpu_ms":12.25,"#
            + #""init_ms":0.30000000000000004,"cold_start":true,"db_pool":"main","db_open":3,"db_max":100,"wait_ms":4,"#
            + #""db_error":"pool_timeout","msg":"done \"ok\"\n","req.headers.host":"example.com","attr.status":"teapot","#
            + #""attr.time":"later"}"#)
        let obj = try XCTUnwrap(parseJSON(Array(line.utf8)) as? [String: Any])
        XCTAssertEqual(obj["msg"] as? String, "done \"ok\"\n")
    }

    func testOnlySetFieldsAreWritten() {
        let e = Event(time: Timestamp(nanos: 1_795_428_000_123_456_789), kind: .log)
        XCTAssertEqual(Recorder.line(for: e), #"{"ts":"2026-11-23T10:00:00.123456789Z","event":"log","level":"info"}"#)
        let micro = Event(time: Timestamp(nanos: 1_795_428_000_123_456_000), kind: .dbSample, dbOpen: 97, dbMax: 100)
        XCTAssertEqual(Recorder.line(for: micro),
                       #"{"ts":"2026-11-23T10:00:00.123456Z","event":"db.sample","level":"info","db_open":97,"db_max":100}"#)
    }

    func testBuffersWholeLinesAndFlushesWhenFull() throws {
        let sink = MemorySink()
        let rec = Recorder(sink: sink, bufferSize: 1024)
        for k in 0..<200 {
            var e = fullEvent()
            e.message = String(repeating: "x", count: k % 37)
            try rec.record(e)
        }
        XCTAssertGreaterThan(sink.writeSizes.count, 5)
        XCTAssertTrue(sink.writeSizes.allSatisfy { $0 <= 1024 })
        try rec.close()
        XCTAssertTrue(sink.isClosed)
        XCTAssertEqual(rec.linesWritten, 200)
        // Every write ends exactly at a line end.
        var offset = 0
        for size in sink.writeSizes {
            offset += size
            XCTAssertEqual(sink.bytes[offset - 1], UInt8(ascii: "\n"))
        }
        let lines = sink.text.split(separator: "\n")
        XCTAssertEqual(lines.count, 200)
        for l in lines { XCTAssertNotNil(parseJSON(Array(l.utf8))) }
    }

    func testFlushesAfterAnIntervalOnTheInjectedClock() throws {
        let sink = MemorySink()
        let rec = Recorder(sink: sink)
        let t0 = Timestamp(seconds: 50)
        try rec.flushIfDue(now: t0)
        try rec.record(fullEvent())
        try rec.flushIfDue(now: t0.adding(ms: 400))
        try rec.flushIfDue(now: t0.adding(ms: 999))
        XCTAssertTrue(sink.bytes.isEmpty, "not due yet")
        XCTAssertGreaterThan(rec.pendingBytes, 0)
        try rec.flushIfDue(now: t0.adding(ms: 1000))
        XCTAssertEqual(sink.writeSizes.count, 1)
        XCTAssertEqual(rec.pendingBytes, 0)

        // Idle: an empty buffer restarts the window, so a new line waits at most one interval.
        try rec.flushIfDue(now: t0.adding(ms: 5000))
        try rec.record(fullEvent())
        try rec.flushIfDue(now: t0.adding(ms: 5900))
        XCTAssertEqual(sink.writeSizes.count, 1)
        try rec.flushIfDue(now: t0.adding(ms: 6000))
        XCTAssertEqual(sink.writeSizes.count, 2)
    }

    func testCloseFlushesAndLaterRecordsAreRejected() throws {
        let sink = MemorySink()
        let rec = Recorder(sink: sink)
        try rec.record(fullEvent())
        XCTAssertTrue(sink.bytes.isEmpty)
        try rec.close()
        XCTAssertEqual(sink.writeSizes.count, 1)
        try rec.record(fullEvent())
        try rec.close()
        XCTAssertEqual(rec.rejected, 1)
        XCTAssertEqual(sink.writeSizes.count, 1)
    }

    func testRawLinesAreKeptUnchanged() throws {
        let sink = MemorySink()
        let rec = Recorder(rawLines: sink)
        XCTAssertEqual(rec.mode, .rawLines)
        try rec.record(line: #"{"ts":1795428000120,"msg":"a"}"#)
        try rec.record(line: "START RequestId: 8f5c Version: $LATEST\n")
        try rec.record(line: Array("not json at all\r\n".utf8))
        try rec.record(line: "two\nlines")
        try rec.record(fullEvent())
        try rec.close()
        XCTAssertEqual(sink.text, "{\"ts\":1795428000120,\"msg\":\"a\"}\nSTART RequestId: 8f5c Version: $LATEST\nnot json at all\r\ntwo\n")
        XCTAssertEqual(rec.truncatedLines, 1)
        XCTAssertEqual(rec.rejected, 1, "an event to a raw recorder is counted, not written")
        XCTAssertEqual(rec.linesWritten, 4)
    }

    func testALineLongerThanTheBufferGoesOutWholeInOneWrite() throws {
        let sink = MemorySink()
        let rec = Recorder(rawLines: sink, bufferSize: 256)
        try rec.record(line: "short")
        let long = String(repeating: "y", count: 1000)
        try rec.record(line: long)
        try rec.record(line: "after")
        try rec.close()
        XCTAssertEqual(sink.writeSizes, [6, 1001, 6])
        XCTAssertEqual(sink.text, "short\n" + long + "\nafter\n")
    }

    func testWritesAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("skein-rec-\(getpid()).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rec = Recorder(sink: try FileSink(path: path))
        try rec.record(fullEvent())
        try rec.record(Event(time: .zero))
        try rec.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 2)
        XCTAssertTrue(text.hasSuffix(#"{"ts":"1970-01-01T00:00:00.000Z","event":"log","level":"info"}"# + "\n"))
        XCTAssertThrowsError(try FileSink(path: "/nonexistent-dir/x.ndjson")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot open /nonexistent-dir/x.ndjson for writing: "))
        }
    }
}
