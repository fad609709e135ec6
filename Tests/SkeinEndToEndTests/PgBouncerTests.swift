import Foundation
import XCTest

/// `skein tail --pgbouncer` against the PgBouncer of `scripts/pg-test-cluster.sh` (pool size 2,
/// transaction mode, SCRAM logins), with `SKEIN_TEST_PGBOUNCER_URL` and `SKEIN_TEST_PG_URL` exported.
final class PgBouncerTests: SamplerTestCase {
    override class var pollMicroseconds: UInt32 { 50_000 }

    private static let password = "skein-test-secret"

    private func urls() throws -> (bouncer: String, pg: String) {
        let env = ProcessInfo.processInfo.environment
        guard let b = env["SKEIN_TEST_PGBOUNCER_URL"] else {
            throw XCTSkip("SKEIN_TEST_PGBOUNCER_URL is not set: install pgbouncer and run eval \"$(scripts/pg-test-cluster.sh start)\" (.ci/run does)")
        }
        guard let p = env["SKEIN_TEST_PG_URL"] else { throw XCTSkip("SKEIN_TEST_PG_URL is not set") }
        return (b, p)
    }

    private func poolSamples(_ path: String) throws -> [[String: Any]] {
        try recordedSoFar(path).filter { $0["event"] as? String == "db.sample" && $0["platform"] as? String == "pgbouncer" }
    }

    private func int(_ line: [String: Any], _ key: String) -> Int? {
        if let n = line[key] as? Int { return n }
        return (line[key] as? String).flatMap { Int($0) }
    }

    func testClientsQueuedAtAFullPoolAreSampledRecordedAndExported() throws {
        let (bouncer, pg) = try urls()
        // Clients go through the pooler to the real database.
        let through = bouncer.replacingOccurrences(of: "/pgbouncer?", with: "/postgres?")
        XCTAssertNotEqual(through, bouncer)
        let dir = try Binary.tempDir()
        let rec = dir.appendingPathComponent("pool.ndjson").path
        let p = try startSkein(["tail", "--pgbouncer", bouncer, "--pg", pg, "--pg-interval", "0.2", "--no-tui", "--record", rec], in: dir)
        try waitUntil("a first pool sample") { try !poolSamples(rec).isEmpty }

        // Six clients, each holding a server connection for a second, through a pool of 2: four queue.
        for _ in 0..<6 {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            c.arguments = ["psql", "-X", "-q", through, "-c", "SELECT pg_sleep(1)"]
            var env = ProcessInfo.processInfo.environment
            env["PGAPPNAME"] = "queued"
            c.environment = env
            c.standardInput = FileHandle.nullDevice
            c.standardOutput = FileHandle.nullDevice
            c.standardError = FileHandle.nullDevice
            try c.run()
            clients.append(c)
        }
        try waitUntil("clients waiting at the pool") {
            try poolSamples(rec).contains { (int($0, "pool.postgres/postgres.cl_waiting") ?? 0) >= 2 }
        }
        try waitUntil("the clients to finish", timeout: 20) { !clients.contains { $0.isRunning } }
        XCTAssertEqual(clients.map(\.terminationStatus), [Int32](repeating: 0, count: 6), "every queued client got its turn")
        // One more reading after the queue drained.
        let seen = try poolSamples(rec).count
        try waitUntil("a sample after the queue") { try poolSamples(rec).count > seen + 1 }
        XCTAssertTrue(p.isRunning)
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)

        let samples = try poolSamples(rec)
        let waiting = samples.compactMap { int($0, "pool.postgres/postgres.cl_waiting") }
        let busy = samples.compactMap { int($0, "pool.postgres/postgres.sv_active") }
        XCTAssertGreaterThanOrEqual(waiting.max() ?? 0, 2, "\(waiting)")
        XCTAssertEqual(busy.max(), 2, "server connections stay bounded by the pool: \(busy)")
        XCTAssertTrue(samples.allSatisfy { int($0, "pool.postgres/postgres.pool_size").map { $0 == 2 } ?? true })
        XCTAssertEqual(samples.last.flatMap { int($0, "pool.postgres/postgres.cl_waiting") }, 0, "the queue drained")
        // Postgres saw at most the pool's 2 server connections for those 6 clients.
        let pgSamples = try recordedSoFar(rec).filter { $0["event"] as? String == "db.sample" && $0["platform"] as? String == "postgres" }
        XCTAssertFalse(pgSamples.isEmpty)
        XCTAssertLessThanOrEqual(pgSamples.compactMap { int($0, "application_name.queued") }.max() ?? 0, 2)
        XCTAssertTrue(try recordedSoFar(rec).contains {
            $0["level"] as? String == "warn" && ($0["msg"] as? String ?? "").contains("PgBouncer clients waiting for a server connection: postgres/postgres")
        })

        let r = try Binary.run(["export", "--format", "json", rec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try Binary.json(r)
        let db = try XCTUnwrap(doc["db"] as? [String: Any])
        XCTAssertEqual(db["superuser_reserved_connections"] as? Int, 3)
        let pooler = try XCTUnwrap(db["pooler"] as? [String: Any], "\(db)")
        XCTAssertEqual(pooler["max_client_conn"] as? Int, 100)
        XCTAssertEqual(pooler["default_pool_size"] as? Int, 2)
        XCTAssertEqual(pooler["peak_waiting"] as? Int, waiting.max())
        let pools = try XCTUnwrap(pooler["pools"] as? [[String: Any]])
        let pool = try XCTUnwrap(pools.first { $0["database"] as? String == "postgres" && $0["user"] as? String == "postgres" }, "\(pools)")
        XCTAssertEqual(pool["cl_waiting"] as? Int, 0)
        XCTAssertEqual(pool["peak_waiting"] as? Int, waiting.max())
        XCTAssertEqual(pool["pool_size"] as? Int, 2)
        XCTAssertEqual(pool["pool_mode"] as? String, "transaction")
        XCTAssertNotNil(pool["cl_active"] as? Int)
        // Queued a second or more (6 clients × 1 s through 2 connections): the insight names the pool.
        let insights = try XCTUnwrap(doc["insights"] as? [[String: Any]])
        let queue = try XCTUnwrap(insights.first { $0["kind"] as? String == "connection_exhaustion" }, "\(insights)")
        let message = queue["message"] as? String ?? ""
        XCTAssertTrue(message.contains("PgBouncer queue"), message)
        XCTAssertTrue(message.contains("postgres/postgres"), message)
        XCTAssertTrue(message.contains("the pool, not the server, is the limit"), message)

        let everything = try String(contentsOfFile: rec, encoding: .utf8)
            + (try String(contentsOf: dir.appendingPathComponent("stdout"), encoding: .utf8))
            + (try String(contentsOf: dir.appendingPathComponent("stderr"), encoding: .utf8)) + r.text
        XCTAssertFalse(everything.contains(PgBouncerTests.password))
    }

    func testTLSToTheConsoleIsRefusedUpFrontWithoutThePassword() throws {
        let r = try Binary.run(["tail", "--pgbouncer", "postgres://admin:hunter2@pgb.internal:6432/pgbouncer?sslmode=require", "--no-tui"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("sslmode=require is not supported"), r.stderr)
        XCTAssertFalse(r.stderr.contains("hunter2"), r.stderr)
    }

    func testAWrongPasswordIsReconnectingWithThePoolersReasonAndNoPassword() throws {
        let (bouncer, _) = try urls()
        let wrong = bouncer.replacingOccurrences(of: PgBouncerTests.password, with: "not-the-password")
        XCTAssertNotEqual(wrong, bouncer)
        let dir = try Binary.tempDir()
        let rec = dir.appendingPathComponent("bad.ndjson").path
        let p = try startSkein(["tail", "--pgbouncer", wrong, "--pg-interval", "0.2", "--no-tui", "--record", rec], in: dir)
        try waitUntil("the login failure") {
            // PgBouncer's own words for a bad SCRAM proof.
            try recordedSoFar(rec).contains { ($0["msg"] as? String ?? "").contains("refused the sampler: SASL authentication failed") }
        }
        XCTAssertTrue(p.isRunning, "a refused login is reconnecting, not an exit")
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let text = try String(contentsOfFile: rec, encoding: .utf8)
        XCTAssertFalse(text.contains("not-the-password"), text)
        XCTAssertTrue(try poolSamples(rec).isEmpty)
    }

    /// Runs one statement with psql (the console takes the simple protocol psql speaks).
    @discardableResult
    private func psql(_ url: String, _ sql: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["psql", "-X", "-q", url, "-c", sql]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    func testAPoolerAtMaxClientConnIsCriticalAndClientsBeyondItAreRefused() throws {
        let (bouncer, _) = try urls()
        let through = bouncer.replacingOccurrences(of: "/pgbouncer?", with: "/postgres?")
        // Three clients are all PgBouncer takes now: two idle apps and Skein's console session
        // (PgBouncer 1.18 still lets admin users into the console past the limit).
        XCTAssertEqual(try psql(bouncer, "SET max_client_conn = 3"), 0)
        defer { _ = try? psql(bouncer, "SET max_client_conn = 100") }
        for _ in 0..<2 {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            c.arguments = ["psql", "-X", "-q", through]
            // An open pipe that never sends a line: an idle client holding its slot.
            c.standardInput = Pipe()
            c.standardOutput = FileHandle.nullDevice
            c.standardError = FileHandle.nullDevice
            try c.run()
            clients.append(c)
        }
        let dir = try Binary.tempDir()
        let rec = dir.appendingPathComponent("full.ndjson").path
        let p = try startSkein(["tail", "--pgbouncer", bouncer, "--pg-interval", "0.2", "--no-tui", "--record", rec], in: dir)
        try waitUntil("the pooler full") { try poolSamples(rec).contains { int($0, "used_clients") == 3 } }
        XCTAssertNotEqual(try psql(through, "SELECT 1"), 0, "a fourth client is refused at max_client_conn")
        for c in clients where c.isRunning { c.terminate() }
        try waitUntil("clients gone", timeout: 20) { try poolSamples(rec).last.flatMap { int($0, "used_clients") } == 1 }
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let r = try Binary.run(["export", "--format", "json", rec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try Binary.json(r)
        let pooler = try XCTUnwrap((doc["db"] as? [String: Any])?["pooler"] as? [String: Any])
        XCTAssertEqual(pooler["used_clients"] as? Int, 1)
        XCTAssertEqual(pooler["max_client_conn"] as? Int, 3)
        let insights = try XCTUnwrap(doc["insights"] as? [[String: Any]])
        let i = try XCTUnwrap(insights.first { $0["kind"] as? String == "connection_exhaustion" }, "\(insights)")
        XCTAssertEqual(i["severity"] as? String, "critical")
        let message = i["message"] as? String ?? ""
        XCTAssertTrue(message.contains("at max_client_conn (3/3 clients): new clients are refused"), message)
        XCTAssertFalse(message.contains("Postgres is refusing"), message)
        XCTAssertFalse(try String(contentsOfFile: rec, encoding: .utf8).contains(PgBouncerTests.password))
    }
}
