import Foundation
import XCTest

/// The built binary, as a user runs it.
final class CommandTests: XCTestCase {
    func testHelpAndVersion() throws {
        let help = try Binary.run(["--help"])
        XCTAssertEqual(help.status, 0)
        for verb in ["demo", "tail", "replay", "export"] { XCTAssertTrue(help.text.contains(verb), verb) }
        let version = try Binary.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertFalse(version.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    func testExportJSONOfABundledIncident() throws {
        let r = try Binary.run(["export", "--format", "json", Binary.sample("burst.ndjson")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try Binary.json(r)
        for key in ["input", "traces", "trace_summaries", "instances", "cold_starts", "db", "routes", "insights"] {
            XCTAssertNotNil(doc[key], key)
        }
        let db = try XCTUnwrap(doc["db"] as? [String: Any])
        XCTAssertEqual(db["peak_open"] as? Int, 100)
        XCTAssertEqual(db["max_connections"] as? Int, 100)
        XCTAssertNotNil(db["first_exhaustion_at"] as? String)
        let summaries = try XCTUnwrap(doc["trace_summaries"] as? [[String: Any]])
        XCTAssertEqual(summaries.count, 2322)
        let first = try XCTUnwrap(summaries.first)
        for key in ["id", "aliases", "start", "duration_ms", "root", "status", "hops", "cold_start", "db_wait_ms", "flags"] {
            XCTAssertNotNil(first[key], key)
        }
    }

    func testExportCSVAndMarkdownToAFile() throws {
        let dir = try Binary.tempDir()
        let csv = dir.appendingPathComponent("t.csv").path
        let r = try Binary.run(["export", "--format", "csv", "--output", csv, Binary.sample("after-response.ndjson")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(whereSeparator: \.isNewline)
        XCTAssertEqual(rows.count, 173, "a header and one row per trace")
        XCTAssertTrue(rows[0].hasPrefix("id,start,duration_ms"))
        let md = try Binary.run(["export", "--format", "markdown", Binary.sample("incident.ndjson")])
        XCTAssertEqual(md.status, 0)
        XCTAssertTrue(md.text.contains("connection_exhaustion"))
        XCTAssertTrue(md.text.contains("| route |"))
    }

    /// Bad input is counted per source, never crashes, never hides the good lines around it.
    func testBadInputIsCountedAndTheRestGoesOn() throws {
        var bytes = Data()
        func line(_ s: String) { bytes.append(Data((s + "\n").utf8)) }
        line(#"{"ts":"2026-11-23T10:00:00Z","service":"a","correlation_id":"r1","event":"request.start","route":"GET /"}"#)
        line(#"{"ts":"2026-11-23T10:00:00Z","service":"a","#)                          // truncated JSON
        bytes.append(Data([0x00, 0x01, 0x02, 0xff, 0x0a]))                              // binary
        bytes.append(Data(#"{"ts":"2026-11-23T10:00:00Z","msg":""#.utf8) + Data([0xc3, 0x28]) + Data("\"}\n".utf8)) // bad UTF-8
        line(#"{"ts":1,"msg":"a"}{"ts":2,"msg":"b"}"#)                                  // two objects on one line
        line("")                                                                        // blank
        line("{\"ts\":\"2026-11-23T10:00:00Z\",\"msg\":\"" + String(repeating: "x", count: 2 << 20) + "\"}") // 2 MiB line
        line(#"{"ts":"2026-11-23T10:00:00.100Z","service":"a","correlation_id":"r1","event":"request.end","status":200,"duration_ms":100}"#)
        let r = try Binary.run(["export", "-"], stdin: bytes)
        XCTAssertEqual(r.status, 0, r.stderr)
        let input = try XCTUnwrap(try Binary.json(r)["input"] as? [String: Any])
        XCTAssertEqual(input["events"] as? Int, 2)
        XCTAssertEqual(input["malformed"] as? Int, 5)
        let reasons = try XCTUnwrap(input["malformed_by_reason"] as? [String: Int])
        XCTAssertEqual(reasons.values.reduce(0, +), 5)
        XCTAssertEqual(reasons["line_too_long"], 1)
        XCTAssertEqual(reasons["trailing_data"], 1)
        let traces = try XCTUnwrap(try Binary.json(r)["traces"] as? [String: Any])
        XCTAssertEqual(traces["count"] as? Int, 1)
    }

    func testUnknownFormatIsAUserError() throws {
        let r = try Binary.run(["export", "--format", "yaml", Binary.sample("steady.ndjson")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("json, csv or markdown"), r.stderr)
    }

    func testReplaySnapshotRendersTheDashboardAsText() throws {
        let r = try Binary.run(["replay", Binary.sample("burst.ndjson"), "--snapshot", "120x40", "--at", "+40s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 40)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 120 })
        for pane in ["Instances", "Cold starts", "DB connections", "Traces", "Insights"] {
            XCTAssertTrue(r.text.contains(pane), pane)
        }
        XCTAssertTrue(r.text.contains("REPLAY"))
        XCTAssertTrue(r.text.contains("10:00:40"), "the virtual time asked for")
        XCTAssertTrue(r.text.contains("100/100") || r.text.contains("too many"), "the burst has exhausted Postgres by +40s")
    }

    func testDemoIsDeterministicAndPrintsOneLinePerTrace() throws {
        let dir = try Binary.tempDir()
        let a = dir.appendingPathComponent("a.ndjson").path, b = dir.appendingPathComponent("b.ndjson").path
        let r1 = try Binary.run(["demo", "--scenario", "steady", "--seed", "7", "--speed", "max", "--duration", "30s",
                                 "--no-tui", "--record", a])
        let r2 = try Binary.run(["demo", "--scenario", "steady", "--seed", "7", "--speed", "max", "--duration", "30s",
                                 "--no-tui", "--record", b])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
        XCTAssertEqual(r1.text, r2.text)
        let traceLines = r1.text.split(separator: "\n").filter { !$0.hasPrefix("INSIGHT") }
        XCTAssertGreaterThan(traceLines.count, 50)
        XCTAssertTrue(traceLines.allSatisfy { $0.hasPrefix("2026-11-23T10:00:") }, "one line per trace, time first")
        let json = try Binary.run(["demo", "--scenario", "steady", "--speed", "max", "--duration", "10s", "--no-tui", "--json"])
        for l in json.text.split(separator: "\n") {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(l.utf8)), String(l))
        }
    }

    func testTailFollowsStdinWithoutATerminal() throws {
        let log = try Data(contentsOf: URL(fileURLWithPath: Binary.sample("after-response.ndjson")))
        let r = try Binary.run(["tail", "-", "--no-tui"], stdin: log)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.text.split(separator: "\n")
        XCTAssertEqual(lines.filter { !$0.hasPrefix("INSIGHT") }.count, 172, "every trace printed once input ends")
        XCTAssertTrue(lines.contains { $0.contains("work_after_response") })
    }
}
