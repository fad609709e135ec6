import Foundation
import XCTest

/// `skein tail --listen` fed by the real OpenTelemetry Python SDK (scripts/otel-e2e.py), then the
/// recording checked through `skein export`.
final class CollectorEndToEndTests: XCTestCase {
    func testOpenTelemetrySDKIntoTheCollector() throws {
        try XCTSkipUnless(Self.pythonHasOpenTelemetry(),
                          "python3 with opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http is not installed (pip install them to run this test)")
        let dir = try Binary.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let record = dir.appendingPathComponent("collected.ndjson").path
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)

        let skein = Process()
        skein.executableURL = URL(fileURLWithPath: Binary.path)
        let token = "e2e-\(UUID().uuidString)"
        skein.arguments = ["tail", "--listen", "127.0.0.1:0", "--token", token, "--no-tui", "--record", record]
        skein.standardOutput = try FileHandle(forWritingTo: outURL)
        skein.standardError = try FileHandle(forWritingTo: errURL)
        skein.standardInput = FileHandle.nullDevice
        try skein.run()
        defer { if skein.isRunning { skein.terminate() } }

        // Port 0: skein names the port it bound on stderr.
        var port: Int?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline && skein.isRunning {
            let err = try String(contentsOf: errURL, encoding: .utf8)
            if let r = err.range(of: "listening on http://127.0.0.1:") {
                port = Int(err[r.upperBound...].prefix { $0.isNumber })
            } else {
                usleep(50_000)
            }
        }
        let stderrText = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let bound = try XCTUnwrap(port, "skein did not report its port: \(stderrText)")

        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", Binary.packageRoot.appendingPathComponent("scripts/otel-e2e.py").path, "http://127.0.0.1:\(bound)", token]
        let pyOut = Pipe()
        py.standardOutput = pyOut
        try py.run()
        let sent = pyOut.fileHandleForReading.readDataToEndOfFile()
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: sent) as? [String: Any])
        let ids = try XCTUnwrap(report["trace_ids"] as? [String])
        // The SDK's logs API is still marked private (`_logs`); the script says whether it found it.
        let sentLogs = report["logs"] as? Bool ?? false
        XCTAssertEqual(ids.count, 3)

        // SIGTERM: the collector stops, hands over what it holds, the recording is flushed.
        skein.terminate()
        let stopBy = Date().addingTimeInterval(20)
        while skein.isRunning && Date() < stopBy { usleep(20_000) }
        XCTAssertFalse(skein.isRunning, "skein did not exit on SIGTERM")
        skein.waitUntilExit()
        XCTAssertEqual(skein.terminationStatus, 0)
        let printed = try String(contentsOf: outURL, encoding: .utf8)
        let diagnostics = try String(contentsOf: errURL, encoding: .utf8)
        XCTAssertFalse(printed.contains(token) || diagnostics.contains(token), "the token was printed")
        for id in ids { XCTAssertTrue(printed.contains(String(id.prefix(8))), "headless output lacks \(id): \(printed)") }

        // The SDK's log records (sent inside requests) are recorded too.
        let recorded = try String(contentsOfFile: record, encoding: .utf8)
        if sentLogs { XCTAssertTrue(recorded.contains("order 7 lookup failed"), "no log record from /v1/logs in the recording") }

        let export = try Binary.run(["export", "--format", "json", record])
        XCTAssertEqual(export.status, 0, export.stderr)
        let doc = try Binary.json(export)
        let traces = try XCTUnwrap(doc["traces"] as? [String: Any])
        XCTAssertEqual(traces["count"] as? Int, 3)
        let summaries = try XCTUnwrap(doc["trace_summaries"] as? [[String: Any]])
        XCTAssertEqual(Set(summaries.compactMap { $0["id"] as? String }), Set(ids))
        let checkout = try XCTUnwrap(summaries.first { $0["id"] as? String == ids[0] })
        let hops = try XCTUnwrap(checkout["hops"] as? [[String: Any]])
        XCTAssertEqual(Set(hops.compactMap { $0["service"] as? String }), ["edge-api", "orders"], "one trace across both services")
        XCTAssertEqual((checkout["cold_start"] as? [String: Any])?["hit"] as? Bool, true)

        let cold = try XCTUnwrap(doc["cold_starts"] as? [String: Any])
        XCTAssertEqual(cold["count"] as? Int, 1)
        XCTAssertEqual(cold["by_service"] as? [String: Int], ["orders": 1])
        let instances = try XCTUnwrap((doc["instances"] as? [String: Any])?["list"] as? [[String: Any]])
        XCTAssertEqual(Set(instances.compactMap { $0["instance"] as? String }), ["edge-1", "orders-a", "orders-b"])
        let a = try XCTUnwrap(instances.first { $0["instance"] as? String == "orders-a" })
        XCTAssertNotNil(a["cold_start"] as? [String: Any])
        XCTAssertEqual(a["deploy"] as? String, "serverless")
    }

    static func pythonHasOpenTelemetry() -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
