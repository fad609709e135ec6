import Foundation
import SkeinCore
import SkeinEngine
import SkeinOutputs
import XCTest

final class TracePrinterTests: XCTestCase {
    func testTextLineForATrace() {
        let p = TracePrinter()
        XCTAssertEqual(p.line(for: Fixtures.coldTrace()),
                       "2026-11-23T10:00:01.120Z 4bf92f35 GET /api/feed 200 182ms ◆edge-api›λfeed-api›chat COLD,DB-WAIT")
        XCTAssertEqual(p.line(for: Fixtures.bareTrace()), "2026-11-23T10:00:00.900Z corr-9 - - 0.4ms - INCOMPLETE")
        XCTAssertEqual(TracePrinter(fullIDs: true).line(for: Fixtures.coldTrace()).split(separator: " ")[1],
                       "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    func testTextDoesNotRepeatAMethodTheRouteCarries() {
        var t = Fixtures.coldTrace()
        t.rootRoute = "GET /api/feed"
        XCTAssertTrue(TracePrinter().line(for: t).contains(" 4bf92f35 GET /api/feed 200 "))
        t.rootMethod = nil
        XCTAssertTrue(TracePrinter().line(for: t).contains(" 4bf92f35 GET /api/feed 200 "))
    }

    func testTextIsSanitisedToOneLine() {
        var t = Fixtures.coldTrace()
        t.rootRoute = "/evil\n\u{1B}[2Jpath\r"
        t.hops[0].service = "edge\u{7}api"
        let line = TracePrinter().line(for: t)
        XCTAssertFalse(line.contains("\n") || line.contains("\r") || line.contains("\u{1B}") || line.contains("\u{7}"))
        XCTAssertTrue(line.contains("GET /evil path "))
        XCTAssertTrue(line.contains("◆edge?api›"))
    }

    func testTextLineForAnInsight() {
        let s = Fixtures.snapshot()
        XCTAssertEqual(TracePrinter().line(for: s.insights[0]),
                       "INSIGHT critical connection_exhaustion 2026-11-23T10:00:04.150Z Postgres refused connections: 97 of 100 open, mostly from feed-api (serverless)!")
        XCTAssertEqual(TracePrinter().line(for: s.insights[1]),
                       "INSIGHT warning cold_start_cascade 2026-11-23T10:00:01.003Z 2 cold starts in 1 s — café ☕ tab here")
    }

    func testJSONLinesCarryTheExportItemsAndAType() throws {
        let s = Fixtures.snapshot()
        let p = TracePrinter(style: .json)
        let line = p.line(for: Fixtures.coldTrace())
        XCTAssertFalse(line.contains("\n"))
        XCTAssertTrue(line.hasPrefix(#"{"type":"trace","id":"4bf92f3577b34da6a3ce929d0e0e4736","#))
        let obj = try XCTUnwrap(parseJSON(Array(line.utf8)) as? [String: Any])

        let doc = try XCTUnwrap(parseJSON(JSONExporter().render(s)) as? [String: Any])
        let items = try XCTUnwrap(doc["trace_summaries"] as? [[String: Any]])
        var expected = try XCTUnwrap(items.first { $0["id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736" })
        expected["type"] = "trace"
        XCTAssertEqual(obj as NSDictionary, expected as NSDictionary)

        let insightLine = p.line(for: s.insights[0])
        XCTAssertTrue(insightLine.hasPrefix(#"{"type":"insight","kind":"connection_exhaustion","#))
        XCTAssertFalse(insightLine.contains("\n"))
        let insight = try XCTUnwrap(parseJSON(Array(insightLine.utf8)) as? [String: Any])
        var expectedInsight = try XCTUnwrap((doc["insights"] as? [[String: Any]])?.first)
        expectedInsight["type"] = "insight"
        XCTAssertEqual(insight as NSDictionary, expectedInsight as NSDictionary)
    }

    func testWritesABatchInOneCall() throws {
        let sink = MemorySink()
        let s = Fixtures.snapshot()
        try TracePrinter(style: .json).write(traces: s.recentTraces, insights: s.insights, to: sink)
        try TracePrinter().write(traces: [], insights: [], to: sink)
        XCTAssertEqual(sink.writeSizes.count, 1)
        let lines = sink.text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 6)
        XCTAssertEqual(lines.last, "")
        for l in lines.dropLast() { XCTAssertNotNil(parseJSON(Array(l.utf8))) }
        XCTAssertTrue(lines[3].hasPrefix(#"{"type":"insight""#))
    }
}

final class ProgressBarTests: XCTestCase {
    func testDrawsAtMostTenTimesASecond() {
        var bar = ProgressBar(total: 10_000_000, label: "export", enabled: true)
        let t0 = Timestamp(seconds: 100)
        XCTAssertEqual(bar.frame(done: 0, now: t0), "\rexport  [........................]    0%  0.0/10.0 MB\u{1B}[K")
        XCTAssertNil(bar.frame(done: 1_000_000, now: t0.adding(ms: 50)))
        XCTAssertEqual(bar.frame(done: 5_000_000, now: t0.adding(ms: 1000)),
                       "\rexport  [############............]   50%  5.0/10.0 MB  5.0 MB/s\u{1B}[K")
        var drawn = 0
        for k in 1...100 where bar.frame(done: 5_000_000, now: t0.adding(ms: 1000 + Double(k) * 10)) != nil { drawn += 1 }
        XCTAssertEqual(drawn, 10)
        XCTAssertTrue(bar.isShowing)
        XCTAssertEqual(bar.clearFrame(), "\r\u{1B}[K")
        XCTAssertNil(bar.clearFrame())
    }

    func testWithoutATotalShowsBytesAndRate() {
        var bar = ProgressBar(total: nil, enabled: true)
        _ = bar.frame(done: 0, now: .zero)
        XCTAssertEqual(bar.frame(done: 2_500_000, now: Timestamp(seconds: 0.5)), "\r2.5 MB  5.0 MB/s\u{1B}[K")
    }

    func testDisabledNeverDraws() {
        var bar = ProgressBar(total: 100, enabled: false)
        XCTAssertNil(bar.frame(done: 1, now: .zero))
        XCTAssertNil(bar.frame(done: 100, now: Timestamp(seconds: 5)))
        XCTAssertNil(bar.clearFrame())
    }
}
