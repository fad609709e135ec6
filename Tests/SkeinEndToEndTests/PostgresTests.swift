import Foundation
import XCTest

/// `skein tail --pg` against the throwaway cluster of `scripts/pg-test-cluster.sh`
/// (`eval "$(scripts/pg-test-cluster.sh start)"` exports `SKEIN_TEST_PG_URL`).
final class PostgresTests: SamplerTestCase {

    private func url() throws -> String {
        guard let u = ProcessInfo.processInfo.environment["SKEIN_TEST_PG_URL"] else {
            throw XCTSkip("SKEIN_TEST_PG_URL is not set: run eval \"$(scripts/pg-test-cluster.sh start)\" first (.ci/run does)")
        }
        return u
    }

    private static let password = "skein-test-secret"

    /// Opens `count` idle psql sessions named `application`; they live until the test ends.
    private func open(_ count: Int, as application: String, url: String, verify: Bool = true) throws {
        for _ in 0..<count {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["psql", "-X", "-q", url]
            var env = ProcessInfo.processInfo.environment
            env["PGAPPNAME"] = application
            p.environment = env
            // An open pipe that never sends a line: psql connects and waits, an idle session.
            p.standardInput = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            clients.append(p)
        }
        if verify { try waitUntil("\(count) \(application) sessions") { try self.backends(application, url: url) >= count } }
    }

    private func backends(_ application: String, url: String) throws -> Int {
        let out = try psql(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(application)'")
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    private func psql(_ url: String, _ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["psql", "-X", "-tA", url, "-c", sql]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `scripts/pg-test-cluster.sh VERB` on the same cluster directory.
    private func cluster(_ verb: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binary.packageRoot.appendingPathComponent("scripts/pg-test-cluster.sh").path)
        p.arguments = [verb]
        var env = ProcessInfo.processInfo.environment
        if let dir = env["SKEIN_TEST_PG_DIR"] { env["SKEIN_PG_DIR"] = dir }
        p.environment = env
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "pg-test-cluster.sh \(verb)")
    }

    private func samples(_ path: String) throws -> [[String: Any]] {
        try recorded(path).filter { $0["event"] as? String == "db.sample" && $0["platform"] as? String == "postgres" }
    }

    func testSamplesCountConnectionsPerApplicationAndWarnNearMaxConnections() throws {
        let url = try url()
        let dir = try Binary.tempDir()
        let rec = dir.appendingPathComponent("pg.ndjson").path
        try open(3, as: "api", url: url)
        try open(2, as: "worker", url: url)
        let p = try startSkein(["tail", "--pg", url, "--pg-interval", "0.2", "--no-tui", "--record", rec], in: dir)
        try waitUntil("a first sample") { try FileManager.default.fileExists(atPath: rec) && !samples(rec).isEmpty }
        // 12 more: 17 client backends (Skein's own not counted) of max_connections 20 is 85 %.
        try open(12, as: "burst", url: url)
        try waitUntil("a sample with the burst") {
            try samples(rec).contains { ($0["application_name.burst"] as? String ?? "\($0["application_name.burst"] ?? "")") == "12" }
        }
        XCTAssertTrue(p.isRunning)
        stop(p)

        let r = try Binary.run(["export", "--format", "json", rec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try Binary.json(r)
        let db = try XCTUnwrap(doc["db"] as? [String: Any])
        XCTAssertEqual(db["max_connections"] as? Int, 20)
        XCTAssertEqual(db["max_source"] as? String, "sampler")
        // Other tests' leftovers (a pooler's idle server connections) may add a few; ours are 17.
        let peak = try XCTUnwrap(db["peak_open"] as? Int)
        XCTAssertGreaterThanOrEqual(peak, 17)
        XCTAssertLessThan(peak, 20)
        XCTAssertEqual(db["server_truth"] as? Bool, true)
        let apps = try XCTUnwrap(db["by_application"] as? [String: Any])
        XCTAssertEqual(apps["api"] as? Int, 3)
        XCTAssertEqual(apps["worker"] as? Int, 2)
        XCTAssertEqual(apps["burst"] as? Int, 12)
        XCTAssertNil(apps["skein"], "the sampler's own connection is not counted")
        let insights = try XCTUnwrap(doc["insights"] as? [[String: Any]])
        let exhaustion = try XCTUnwrap(insights.first { $0["kind"] as? String == "connection_exhaustion" }, "\(insights)")
        let message = exhaustion["message"] as? String ?? ""
        XCTAssertTrue(message.contains("/20 connections"), message)
        // Raised when the count first crossed 80 %: a sample may catch the burst half-open (10 or 11 of 12).
        XCTAssertNotNil(message.range(of: "burst holds 1[0-2]", options: .regularExpression), message)

        // The password never leaves the URL it came in.
        let everything = try String(contentsOfFile: rec, encoding: .utf8)
            + (try String(contentsOf: dir.appendingPathComponent("stdout"), encoding: .utf8))
            + (try String(contentsOf: dir.appendingPathComponent("stderr"), encoding: .utf8)) + r.text
        XCTAssertFalse(everything.contains(PostgresTests.password))
    }

    func testADatabaseThatGoesDownIsReportedAndSampledAgainWhenItReturns() throws {
        let url = try url()
        let dir = try Binary.tempDir()
        let rec = dir.appendingPathComponent("restart.ndjson").path
        let p = try startSkein(["tail", "--pg", url, "--pg-interval", "0.2", "--no-tui", "--record", rec], in: dir)
        defer { try? cluster("resume") }
        try waitUntil("a first sample") { try FileManager.default.fileExists(atPath: rec) && !samples(rec).isEmpty }
        try cluster("pause")
        // The recorder flushes on a timer; the notice must reach the file while the server is down.
        try waitUntil("the outage notice") {
            try recorded(rec).contains { ($0["level"] as? String) == "warn" && ($0["msg"] as? String ?? "").contains("unreachable") }
        }
        XCTAssertTrue(p.isRunning, "skein keeps running while its database is down")
        let before = try samples(rec).count
        try cluster("resume")
        try waitUntil("a sample after the restart", timeout: 30) { try samples(rec).count > before }
        try waitUntil("the reconnect notice") {
            try recorded(rec).contains { ($0["msg"] as? String ?? "").contains("connected again") }
        }
        stop(p)
        let lines = try recorded(rec)
        let down = try XCTUnwrap(lines.firstIndex { ($0["msg"] as? String ?? "").contains("unreachable") })
        let back = try XCTUnwrap(lines.lastIndex { $0["event"] as? String == "db.sample" })
        XCTAssertLessThan(down, back, "sampled again after the outage")
        let everything = try String(contentsOfFile: rec, encoding: .utf8)
        XCTAssertFalse(everything.contains(PostgresTests.password))
    }

    func testAFullServerThatRefusesSkeinItselfIsExhaustionAndSamplingResumesWhenSlotsFree() throws {
        let url = try url()
        let dir = try Binary.tempDir()
        let rec = dir.appendingPathComponent("full.ndjson").path
        // Fill every slot (the test cluster's superuser may take all 20): one session at a time
        // until even the counting query is refused.
        var full = false
        for n in 1...25 where !full {
            try open(1, as: "filler", url: url, verify: false)
            usleep(200_000)
            try waitUntil("filler \(n)") {
                let b = try backends("filler", url: url)
                full = b < 0
                return full || b == n
            }
        }
        XCTAssertTrue(full)
        let p = try startSkein(["tail", "--pg", url, "--pg-interval", "0.2", "--no-tui", "--record", rec], in: dir)
        try waitUntil("the refusal") {
            try FileManager.default.fileExists(atPath: rec)
                && recorded(rec).contains { $0["event"] as? String == "db.error" && $0["db_error"] as? String == "too_many_clients" }
        }
        XCTAssertTrue(p.isRunning)
        for c in clients where c.isRunning { c.terminate() }
        try waitUntil("a sample once slots are free", timeout: 30) { try !samples(rec).isEmpty }
        stop(p)
        let r = try Binary.run(["export", "--format", "json", rec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try Binary.json(r)
        let insights = try XCTUnwrap(doc["insights"] as? [[String: Any]])
        let exhaustion = try XCTUnwrap(insights.first { $0["kind"] as? String == "connection_exhaustion" }, "\(insights)")
        XCTAssertEqual(exhaustion["severity"] as? String, "critical")
        // Refused before its first reading, Skein says the count is unknown rather than "0 connections".
        let first = try XCTUnwrap((exhaustion["evidence"] as? [[String: Any]])?.first)
        let detail = first["detail"] as? String ?? ""
        XCTAssertTrue(detail.contains("refused Skein's own connection: too_many_clients before any count"), detail)
        let everything = try String(contentsOfFile: rec, encoding: .utf8)
        XCTAssertFalse(everything.contains(PostgresTests.password))
    }
}
