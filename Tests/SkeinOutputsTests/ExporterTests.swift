import Foundation
import SkeinCore
import SkeinEngine
import SkeinOutputs
import XCTest

final class JSONExporterTests: XCTestCase {
    func testGoldenPrettyExport() {
        let bytes = JSONExporter(pretty: true).render(Fixtures.snapshot())
        assertGolden(String(decoding: bytes, as: UTF8.self), named: "export.json")
    }

    func testExportParsesAndHasTheSchema() throws {
        let bytes = JSONExporter().render(Fixtures.snapshot())
        XCTAssertEqual(bytes.last, UInt8(ascii: "\n"))
        XCTAssertEqual(bytes.filter { $0 == UInt8(ascii: "\n") }.count, 1, "compact output is one line")
        let doc = try XCTUnwrap(parseJSON(bytes) as? [String: Any])
        XCTAssertEqual(Set(doc.keys), ["input", "traces", "trace_summaries", "instances", "cold_starts", "db", "routes", "insights", "evicted"])

        let input = try XCTUnwrap(doc["input"] as? [String: Any])
        XCTAssertEqual(Set(input.keys), ["lines", "events", "malformed", "dropped", "malformed_by_reason", "sources"])
        let sources = try XCTUnwrap(input["sources"] as? [[String: Any]])
        XCTAssertEqual(Set(sources[0].keys), ["name", "lines", "events", "malformed", "formats"])
        XCTAssertEqual(sources[0]["formats"] as? [String: Int], ["skein": 11_700, "aws-lambda-text": 100])

        let traces = try XCTUnwrap(doc["trace_summaries"] as? [[String: Any]])
        XCTAssertEqual(traces.map { $0["id"] as? String }, ["corr-9", "4bf92f3577b34da6a3ce929d0e0e4736", "req-\"x\"|1,2"],
                       "oldest first")
        let cold = traces[1]
        XCTAssertEqual(Set(cold.keys), ["id", "aliases", "start", "duration_ms", "root", "status", "hops", "cold_start",
                                        "db_wait_ms", "flags", "complete"])
        XCTAssertEqual(cold["start"] as? String, "2026-11-23T10:00:01.120Z")
        XCTAssertEqual(cold["flags"] as? [String], ["COLD", "DB-WAIT"])
        let hops = try XCTUnwrap(cold["hops"] as? [[String: Any]])
        XCTAssertEqual(Set(hops[0].keys), ["service", "deploy", "instance", "offset_ms", "duration_ms", "status", "span_id",
                                           "parent", "critical"])
        XCTAssertEqual(hops.map { $0["deploy"] as? String }, ["edge", "serverless", "server"])
        XCTAssertTrue(hops[0]["parent"] is NSNull)
        XCTAssertEqual(hops[2]["parent"] as? Int, 1)
        XCTAssertEqual((hops[2]["duration_ms"] as? NSNumber)?.doubleValue, 8)
        let bare = traces[0]
        XCTAssertTrue(bare["status"] is NSNull)
        XCTAssertTrue((bare["root"] as? [String: Any])?["service"] is NSNull)

        let instances = try XCTUnwrap(doc["instances"] as? [String: Any])
        XCTAssertEqual(instances["by_deploy"] as? [String: Int], ["edge": 1, "serverless": 2, "server": 1])
        let list = try XCTUnwrap(instances["list"] as? [[String: Any]])
        XCTAssertEqual(list.count, 5)
        XCTAssertEqual(Set((list[0]["cold_start"] as? [String: Any])?.keys.map { $0 } ?? []), ["at", "init_ms", "inferred"])
        XCTAssertTrue(list[1]["cold_start"] is NSNull)

        let db = try XCTUnwrap(doc["db"] as? [String: Any])
        XCTAssertEqual(Set(db.keys), ["open", "server_truth", "peak_open", "peak_at", "max_connections", "max_source",
                                      "superuser_reserved_connections", "reserved_connections", "errors",
                                      "errors_by_kind", "first_exhaustion_at", "pool_waits", "by_service", "by_application", "pooler"])
        XCTAssertEqual(db["max_source"] as? String, "sampler")
        XCTAssertEqual(db["superuser_reserved_connections"] as? Int, 3)
        XCTAssertTrue(db["reserved_connections"] is NSNull)
        let pooler = try XCTUnwrap(db["pooler"] as? [String: Any])
        XCTAssertEqual(pooler["peak_waiting"] as? Int, 9)
        let pools = try XCTUnwrap(pooler["pools"] as? [[String: Any]])
        XCTAssertEqual(pools.map { "\($0["database"] ?? "")/\($0["user"] ?? "") \($0["cl_waiting"] ?? "") of \($0["pool_size"] ?? "")" },
                       ["shop/app 4 of 20"])

        let cs = try XCTUnwrap(doc["cold_starts"] as? [String: Any])
        let penalty = try XCTUnwrap(cs["latency_penalty"] as? [String: Any])
        XCTAssertEqual((penalty["penalty_p95_ms"] as? NSNumber)?.doubleValue, 304.75)

        let insights = try XCTUnwrap(doc["insights"] as? [[String: Any]])
        XCTAssertEqual(insights.first?["message"] as? String,
                       "Postgres refused connections: 97 of 100 open, mostly from feed-api (serverless)\u{1B}[31m!",
                       "JSON keeps the text exactly; escaping is what makes it safe")
        XCTAssertEqual(doc["evicted"] as? [String: Int], ["traces": 5, "instances": 0, "lines": 120])
    }

    func testEmptySnapshotKeepsEveryMember() throws {
        let doc = try XCTUnwrap(parseJSON(JSONExporter().render(Snapshot(now: .zero))) as? [String: Any])
        let instances = try XCTUnwrap(doc["instances"] as? [String: Any])
        XCTAssertEqual(instances["by_deploy"] as? [String: Int], ["edge": 0, "serverless": 0, "server": 0])
        let db = try XCTUnwrap(doc["db"] as? [String: Any])
        XCTAssertTrue(db["peak_at"] is NSNull)
        XCTAssertTrue(db["max_connections"] is NSNull)
        XCTAssertEqual((doc["trace_summaries"] as? [Any])?.count, 0)
    }

    func testPrettyAndCompactCarryTheSameDocument() throws {
        let s = Fixtures.snapshot()
        let a = try XCTUnwrap(parseJSON(JSONExporter(pretty: true).render(s)) as? NSDictionary)
        let b = try XCTUnwrap(parseJSON(JSONExporter(pretty: false).render(s)) as? NSDictionary)
        XCTAssertEqual(a, b)
    }

    func testStreamsInChunksWithoutChangingTheBytes() throws {
        var s = Fixtures.snapshot()
        let base = Fixtures.coldTrace()
        s.recentTraces = (0..<500).map { k in
            var t = base
            t.id = String(format: "%032x", k)
            t.start = Fixtures.at(Double(k))
            return t
        }
        let whole = JSONExporter().render(s)
        let sink = MemorySink()
        try JSONExporter(chunkSize: 4096).write(s, to: sink)
        XCTAssertEqual(sink.bytes, whole)
        XCTAssertGreaterThan(sink.writeSizes.count, 10)
        XCTAssertLessThan(sink.writeSizes.max() ?? 0, 4096 + 2048)
        let doc = try XCTUnwrap(parseJSON(whole) as? [String: Any])
        XCTAssertEqual((doc["trace_summaries"] as? [Any])?.count, 500)
    }

    /// Long trace lists are rendered in parts on two threads; the bytes must be one writer's, in
    /// both layouts, whatever the round size (odd sizes leave an uneven split and a sequential tail).
    func testParallelRenderingWritesTheSameBytes() throws {
        var s = Fixtures.snapshot()
        let kinds = [Fixtures.coldTrace(), Fixtures.errorTrace(), Fixtures.bareTrace()]
        s.recentTraces = (0..<1_001).map { k in
            var t = kinds[k % 3]
            t.id = String(format: "%032x", 7_919 * k % 1_001)
            t.start = Fixtures.at(Double(k / 2))
            return t
        }
        for pretty in [false, true] {
            let sequential = JSONExporter(pretty: pretty, parallelThreshold: .max).render(s)
            for (threshold, round) in [(2, 2), (2, 7), (100, 333), (500, 16_384)] {
                let sink = MemorySink()
                try JSONExporter(pretty: pretty, chunkSize: 4096, parallelThreshold: threshold, parallelRound: round)
                    .write(s, to: sink)
                XCTAssertEqual(sink.bytes, sequential, "pretty \(pretty), threshold \(threshold), round \(round)")
            }
        }
        let doc = try XCTUnwrap(parseJSON(JSONExporter(parallelThreshold: 2, parallelRound: 7).render(s)) as? [String: Any])
        XCTAssertEqual((doc["trace_summaries"] as? [Any])?.count, 1_001)
    }
}

final class CSVExporterTests: XCTestCase {
    func testQuotesOnlyWhenNeeded() {
        XCTAssertEqual(CSVExporter.quote("plain"), "plain")
        XCTAssertEqual(CSVExporter.quote("a,b"), "\"a,b\"")
        XCTAssertEqual(CSVExporter.quote("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(CSVExporter.quote("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(CSVExporter.quote("cr\rhere"), "\"cr\rhere\"")
        XCTAssertEqual(CSVExporter.quote("café|λ"), "café|λ")
        XCTAssertEqual(CSVExporter.quote(""), "")
    }

    func testRowsPerTraceOldestFirst() {
        let csv = CSVExporter().render(Fixtures.snapshot())
        let rows = csv.components(separatedBy: "\r\n")
        XCTAssertEqual(rows, [
            "id,start,duration_ms,root_service,root_route,method,status,hops,hop_path,cold_start,init_ms,db_wait_ms,flags,complete",
            "corr-9,2026-11-23T10:00:00.900Z,0.4,,,,,0,,false,,0,INCOMPLETE,false",
            "4bf92f3577b34da6a3ce929d0e0e4736,2026-11-23T10:00:01.120Z,182.4,edge-api,/api/feed,GET,200,3,◆edge-api›λfeed-api›chat,true,120,12.5,COLD DB-WAIT,true",
            "\"req-\"\"x\"\"|1,2\",2026-11-23T10:00:02.500Z,5012,feed-api,\"POST /api/post|\"\"new\"\"\",POST,503,1,λfeed-api,false,,0,DB-REFUSED ERR,true",
            "",
        ])
    }
}

final class MarkdownExporterTests: XCTestCase {
    func testGoldenReport() {
        assertGolden(MarkdownExporter().render(Fixtures.snapshot()), named: "report.md")
    }

    func testDataNeverBreaksATableOrTheTerminal() {
        let md = MarkdownExporter().render(Fixtures.snapshot())
        XCTAssertFalse(md.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "no control characters")
        XCTAssertFalse(md.contains("\u{1B}"))
        for line in md.split(separator: "\n") where line.hasPrefix("|") {
            // Every row of a table has the header's number of unescaped pipes.
            let pipes = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            XCTAssertTrue([3, 5, 8].contains(pipes), "row breaks its table: \(line)")
        }
    }

    func testEmptySnapshotSaysSo() {
        let md = MarkdownExporter().render(Snapshot(now: .zero))
        XCTAssertTrue(md.hasPrefix("# Skein report: no events\n"))
        XCTAssertTrue(md.contains("## Insights\n\nNone raised."))
        XCTAssertTrue(md.contains("## Slowest traces\n\nNone."))
    }

    func testErrorTracesListsTheFirstOnes() {
        var s = Fixtures.snapshot()
        let base = Fixtures.errorTrace()
        s.recentTraces = (0..<15).reversed().map { k in
            var t = base
            t.id = "err-\(k)"
            t.start = Fixtures.at(Double(k) * 10)
            return t
        }
        let md = MarkdownExporter(topTraces: 3).render(s)
        let section = md.components(separatedBy: "## Error traces")[1]
        XCTAssertTrue(section.contains("The first 3 of 15."))
        XCTAssertTrue(section.contains("`err-0`") && section.contains("`err-2`"))
        XCTAssertFalse(section.contains("`err-3`"))
    }
}

final class ExportFormatTests: XCTestCase {
    func testNamesAndPaths() {
        XCTAssertEqual(ExportFormat(name: "JSON"), .json)
        XCTAssertEqual(ExportFormat(name: "md"), .markdown)
        XCTAssertNil(ExportFormat(name: "xml"))
        XCTAssertEqual(ExportFormat(path: "out/report.md"), .markdown)
        XCTAssertEqual(ExportFormat(path: "traces.csv"), .csv)
        XCTAssertNil(ExportFormat(path: "dir.json/file"))
        XCTAssertNil(ExportFormat(path: "noextension"))
    }

    func testEachFormatWritesWhatItsExporterRenders() throws {
        let s = Fixtures.snapshot()
        let json = MemorySink(), csv = MemorySink(), md = MemorySink()
        try ExportFormat.json.write(s, to: json, pretty: true)
        try ExportFormat.csv.write(s, to: csv)
        try ExportFormat.markdown.write(s, to: md)
        XCTAssertEqual(json.bytes, JSONExporter(pretty: true).render(s))
        XCTAssertEqual(csv.text, CSVExporter().render(s))
        XCTAssertEqual(md.text, MarkdownExporter().render(s))
    }
}
