import XCTest
import SkeinCore
@testable import SkeinSim

final class LineWriterTests: XCTestCase {
    private func text(_ body: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        body(&out)
        return String(decoding: out, as: UTF8.self)
    }

    func testStringsAreEscaped() {
        XCTAssertEqual(text { LineWriter.string(&$0, "plain") }, #""plain""#)
        XCTAssertEqual(text { LineWriter.string(&$0, "a\"b\\c") }, #""a\"b\\c""#)
        XCTAssertEqual(text { LineWriter.string(&$0, "l1\nl2\tx\r\u{1}") }, #""l1\nl2\tx\r\u0001""#)
        XCTAssertEqual(text { LineWriter.string(&$0, "héllo ✓") }, "\"héllo ✓\"")
    }

    func testNumbersAreFormattedDeterministically() {
        XCTAssertEqual(text { LineWriter.decimal1(&$0, 182.44) }, "182.4")
        XCTAssertEqual(text { LineWriter.decimal1(&$0, 0.04) }, "0.0")
        XCTAssertEqual(text { LineWriter.decimal1(&$0, 9.96) }, "10.0")
        XCTAssertEqual(text { LineWriter.decimal1(&$0, -1.25) }, "-1.3")
        XCTAssertEqual(text { LineWriter.integer(&$0, 0) }, "0")
        XCTAssertEqual(text { LineWriter.integer(&$0, -503) }, "-503")
        XCTAssertEqual(text { LineWriter.integer(&$0, 1_234_567) }, "1234567")
    }

    func testTimestampsMatchCoreFormatting() {
        for nanos: Int64 in [0, 1_795_428_000_120_000_000, 1_795_428_059_999_999_999, 951_782_400_000_000_000] {
            XCTAssertEqual(text { LineWriter.rfc3339(&$0, nanos) }, Timestamp(nanos: nanos).rfc3339)
        }
    }

    func testRecordKeepsConventionOrder() {
        let prefix = LineWriter.instancePrefix(service: "feed-api", instance: "2026/11/23/[$LATEST]9f1c", deploy: .serverless,
                                               platform: "aws-lambda", runtime: "nodejs20", region: "us-east-1")
        var r = LineRecord(.requestEnd)
        r.correlationID = "req-7f3a"
        r.traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        r.spanID = "00f067aa0ba902b7"
        r.parentSpanID = "a3ce929d0e0e4736"
        r.route = "GET /api/feed"
        r.status = 200
        r.durationMS = 182.4
        r.msg = "done"
        let line = String(decoding: LineWriter.render(ts: 1_795_428_000_120_000_000, prefix: prefix, r), as: UTF8.self)
        // The example line of the brief, byte for byte.
        XCTAssertEqual(line, #"{"ts":"2026-11-23T10:00:00.120Z","service":"feed-api","instance":"2026/11/23/[$LATEST]9f1c","deploy":"serverless","platform":"aws-lambda","runtime":"nodejs20","region":"us-east-1","correlation_id":"req-7f3a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_span_id":"a3ce929d0e0e4736","event":"request.end","route":"GET /api/feed","status":200,"duration_ms":182.4,"level":"info","msg":"done"}"#)
    }

    func testRandomIsReproducibleAndWellFormed() {
        var a = SimRandom(seed: 9)
        var b = SimRandom(seed: 9)
        XCTAssertEqual((0..<100).map { _ in a.next() }, (0..<100).map { _ in b.next() })
        let u = a.uuid()
        XCTAssertEqual(u.count, 36)
        XCTAssertEqual(Array(u)[14], "4")
        XCTAssertEqual(a.traceID().count, 32)
        for _ in 0..<1000 {
            let x = a.unit()
            XCTAssertTrue(x >= 0 && x < 1)
            let n = a.int(1, 5)
            XCTAssertTrue((1...5).contains(n))
        }
    }
}
