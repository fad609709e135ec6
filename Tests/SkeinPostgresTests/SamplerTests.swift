import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SkeinCore
import SkeinEngine
import SkeinSources
import XCTest
@testable import SkeinPostgres

/// A clock the tests move by hand.
private struct FixedClock: Clock {
    var at: Timestamp
    func now() -> Timestamp { at }
}

private let t0 = Timestamp(millis: Int64(1_795_428_000_000))

final class TargetTests: XCTestCase {
    func testURLGivesEveryPartAndHidesThePassword() throws {
        let t = try PostgresTarget.parse(url: "postgres://app:s3cr%40t@db.internal:6543/orders?sslmode=disable")
        XCTAssertEqual(t.host, "db.internal")
        XCTAssertEqual(t.port, 6543)
        XCTAssertEqual(t.user, "app")
        XCTAssertEqual(t.password, "s3cr@t")
        XCTAssertEqual(t.database, "orders")
        XCTAssertEqual(t.tls, .disable)
        XCTAssertEqual(t.description, "db.internal:6543/orders")
        XCTAssertEqual(t.address, "db.internal:6543")
        XCTAssertEqual(t.redact("password authentication failed: s3cr@t, postgres://app:s3cr%40t@db/x"),
                       "password authentication failed: ***, postgres://app:***@db/x")
    }

    func testMissingPartsComeFromTheLibpqVariables() throws {
        let env = ["PGHOST": "10.0.0.5", "PGPORT": "5433", "PGUSER": "ro", "PGPASSWORD": "pw", "PGDATABASE": "shop",
                   "PGSSLMODE": "require"]
        let all = try PostgresTarget.parse(url: "postgres://", environment: env)
        XCTAssertEqual(all, PostgresTarget(host: "10.0.0.5", port: 5433, user: "ro", password: "pw", database: "shop", tls: .require))
        let some = try PostgresTarget.parse(url: "postgresql://admin@localhost/", environment: env)
        XCTAssertEqual(some.user, "admin")
        XCTAssertEqual(some.host, "localhost")
        XCTAssertEqual(some.port, 5433)
        XCTAssertEqual(some.password, "pw")
        XCTAssertEqual(some.database, "shop")
        let socket = try PostgresTarget.parse(url: "postgres:///db?host=/var/run/postgresql", environment: ["USER": "me"])
        XCTAssertEqual(socket.socketDirectory, "/var/run/postgresql")
        XCTAssertEqual(socket.user, "me")
        XCTAssertEqual(socket.database, "db")
    }

    func testBadSettingsAreErrorsThatDoNotLeakThePassword() {
        XCTAssertThrowsError(try PostgresTarget.parse(url: "mysql://u:hunter2@h/db")) { e in
            XCTAssertFalse("\(e)".contains("hunter2"), "\(e)")
        }
        XCTAssertThrowsError(try PostgresTarget.parse(url: "postgres://h/db?sslmode=sometimes"))
        XCTAssertThrowsError(try PostgresTarget.fromEnvironment(["PGPORT": "99999"]))
    }

    func testBackoffDoublesUpToItsCap() {
        let b = Backoff()
        XCTAssertEqual((1...7).map { b.delay(attempt: $0) }, [0.5, 1, 2, 4, 8, 10, 10])
        XCTAssertEqual(b.delay(attempt: 10_000), 10)
    }
}

final class SampleTests: XCTestCase {
    func testAServerSampleIsOneEventTheEngineReads() {
        let s = ServerSample(maxConnections: 100, reservedConnections: 3, rolesReservedConnections: 2, groups: [
            ActivityGroup(application: "api", user: "app", clientAddress: "10.0.0.7", state: "idle", count: 30, oldestStateAgeS: 12.7),
            ActivityGroup(application: "api", user: "app", clientAddress: "10.0.0.8", state: "active", count: 4, oldestStateAgeS: 0.2),
            ActivityGroup(application: "worker", user: "jobs", clientAddress: "10.0.0.9", state: "idle in transaction", count: 2, oldestStateAgeS: 95),
            ActivityGroup(application: "unknown", user: "app", clientAddress: "local", state: "idle", count: 1, oldestStateAgeS: 1),
        ])
        let e = s.event(at: t0, instance: "db:5432", source: SourceID(0))
        XCTAssertEqual(e.kind, .dbSample)
        XCTAssertEqual(e.service, "postgres")
        XCTAssertEqual(e.platform, "postgres")
        XCTAssertEqual(e.deploy, .server)
        XCTAssertEqual(e.instance, "db:5432")
        XCTAssertEqual(e.dbOpen, 37)
        XCTAssertEqual(e.dbMax, 100)
        XCTAssertEqual(e.attribute("application_name.api"), "34")
        XCTAssertEqual(e.attribute("application_name.worker"), "2")
        XCTAssertEqual(e.attribute("state.idle"), "31")
        XCTAssertEqual(e.attribute("state.idle in transaction"), "2")
        XCTAssertEqual(e.attribute("usename.app"), "35")
        XCTAssertEqual(e.attribute("client_addr.local"), "1")
        XCTAssertEqual(e.attribute("oldest_s.idle in transaction"), "95")
        XCTAssertEqual(e.attribute("superuser_reserved_connections"), "3")
        XCTAssertEqual(e.attribute("reserved_connections"), "2")

        let engine = Engine()
        engine.ingest(e)
        let db = engine.snapshot().db
        XCTAssertEqual(db.open, 37)
        XCTAssertTrue(db.serverTruth)
        XCTAssertEqual(db.maxConnections, 100)
        XCTAssertEqual(db.maxSource, .sampler)
        XCTAssertEqual(db.reservedConnections, 3)
        XCTAssertEqual(db.rolesReservedConnections, 2)
        XCTAssertEqual(db.byApplication, [Tally("api", 34), Tally("worker", 2), Tally("unknown", 1)])
        XCTAssertEqual(db.unattributed, 0)
        XCTAssertEqual(engine.snapshot().fleet.instances, 0, "the server is no instance of the fleet")
    }

    func testPgBouncerPoolsBecomeAttributesAndAWarningWhenClientsWait() throws {
        // SHOW POOLS columns of PgBouncer 1.18 (others are ignored, missing optional ones default).
        let sample = BouncerSample(pools: [
            ["database": "shop", "user": "app", "cl_active": "20", "cl_waiting": "7", "cl_active_cancel_req": "0",
             "sv_active": "5", "sv_idle": "0", "sv_used": "0", "maxwait": "3", "maxwait_us": "250000", "pool_mode": "transaction"],
            ["database": "pgbouncer", "user": "pgbouncer", "cl_active": "1", "cl_waiting": "0", "sv_active": "0", "sv_idle": "0"],
            ["database": "shop", "user": "app", "cl_active": "x"],
        ], databases: [["name": "shop", "pool_size": "5"], ["name": "pgbouncer", "pool_size": "2"]],
           config: [["key": "max_client_conn", "value": "500"], ["key": "default_pool_size", "value": "20"]],
           lists: [["list": "pools", "items": "2"], ["list": "used_clients", "items": "28"]])
        XCTAssertEqual(sample.pools.map(\.name), ["shop/app"], "the console's own pool is left out")
        XCTAssertEqual(sample.unreadRows, 1, "a row without numbers is counted, not hidden")
        XCTAssertEqual(sample.pools[0].maxWaitMS, 3_250)
        let e = sample.event(at: t0, instance: "pgb:6432", source: SourceID(0))
        XCTAssertEqual(e.kind, .dbSample)
        XCTAssertEqual(e.platform, "pgbouncer")
        XCTAssertNil(e.dbOpen, "PgBouncer's clients are not the server's count")
        XCTAssertEqual(e.attribute("pool.shop/app.cl_waiting"), "7")
        XCTAssertEqual(e.attribute("pool.shop/app.sv_active"), "5")
        XCTAssertEqual(e.attribute("pool.shop/app.pool_size"), "5")
        XCTAssertEqual(e.attribute("pool.shop/app.maxwait_ms"), "3250")
        XCTAssertEqual(e.attribute("pool.shop/app.pool_mode"), "transaction")
        XCTAssertEqual(e.attribute("cl_waiting"), "7")
        XCTAssertEqual(e.attribute("max_client_conn"), "500")
        XCTAssertEqual(e.attribute("unread_rows"), "1")
        XCTAssertEqual(e.attribute("used_clients"), "28")
        let w = try XCTUnwrap(sample.waitWarning(at: t0, instance: "pgb:6432", source: SourceID(0)))
        XCTAssertEqual(w.level, .warn)
        XCTAssertTrue(w.message?.contains("shop/app 7 waiting (max 3.3 s), 5 of 5 server connections busy") ?? false, w.message ?? "")
        XCTAssertNil(BouncerSample(pools: []).waitWarning(at: t0, instance: "pgb:6432", source: SourceID(0)))

        // The server's own count survives a PgBouncer reading, and the pools land in the snapshot.
        let engine = Engine()
        engine.ingest(ServerSample(maxConnections: 20, reservedConnections: 3, groups: [
            ActivityGroup(application: "pgbouncer", user: "app", clientAddress: "local", state: "idle", count: 5, oldestStateAgeS: 0),
        ]).event(at: t0, instance: "db:5432", source: SourceID(0)))
        engine.ingest(e)
        let db = engine.snapshot().db
        XCTAssertEqual(db.open, 5)
        let pooler = try XCTUnwrap(db.pooler)
        XCTAssertEqual(pooler.clientsWaiting, 7)
        XCTAssertEqual(pooler.maxClientConn, 500)
        XCTAssertEqual(pooler.pools, [PoolStats(pooler: "pgb:6432", database: "shop", user: "app", clientsActive: 20, clientsWaiting: 7,
                                                serversActive: 5, maxWaitMS: 3_250, poolSize: 5, poolMode: "transaction")].map {
            var p = $0; p.peakWaiting = 7; p.peakWaitMS = 3_250; return p
        })
        XCTAssertEqual(engine.snapshot().fleet.instances, 0, "the pooler is no instance of the fleet")
    }
}

final class SamplerTests: XCTestCase {
    /// Drains `queue` into `engine` until `done` or `timeout` seconds pass.
    private func drain(_ queue: IngestQueue, into engine: Engine, timeout: Double, until done: (Engine) -> Bool) {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            queue.drain(into: engine)
            if done(engine) { return }
            usleep(20_000)
        }
    }

    func testAnUnreachableServerIsReconnectingNeverAFailureAndNeverShowsThePassword() throws {
        // A port nothing listens on: connection refused at once.
        let target = try PostgresTarget.parse(url: "postgres://app:hunter2@127.0.0.1:1/shop?sslmode=disable")
        let queue = IngestQueue(capacity: 64)
        let sampler = PostgresSampler(target: target, intervalS: 0.1, backoff: Backoff(initialS: 0.02, capS: 0.05),
                                      clock: FixedClock(at: t0), queue: queue)
        let task = Task.detached { await sampler.run() }
        defer { task.cancel() }
        let engine = Engine()
        drain(queue, into: engine, timeout: 10) { e in
            if case .reconnecting(let n, _) = e.snapshot().input.sources.first?.health { return n >= 3 }
            return false
        }
        let source = try XCTUnwrap(engine.snapshot().input.sources.first)
        XCTAssertEqual(source.name, "pg 127.0.0.1:1/shop")
        guard case .reconnecting(let attempt, let reason) = source.health else {
            return XCTFail("health \(source.health)")
        }
        XCTAssertGreaterThanOrEqual(attempt, 3)
        XCTAssertFalse(reason.isEmpty)
        XCTAssertFalse(reason.contains("hunter2"), reason)
        // One notice per outage, not one per attempt.
        let notices = engine.snapshot().input.sources.first?.events ?? 0
        XCTAssertEqual(notices, 1)
    }

    func testAnUnreachablePoolerIsReconnectingUnderItsOwnName() throws {
        let target = try PostgresTarget.parse(url: "postgres://admin:hunter2@127.0.0.1:1/pgbouncer?sslmode=disable")
        let queue = IngestQueue(capacity: 64)
        let sampler = PostgresSampler(target: target, kind: .pgbouncer, intervalS: 0.1, backoff: Backoff(initialS: 0.02, capS: 0.05),
                                      clock: FixedClock(at: t0), queue: queue)
        let task = Task.detached { await sampler.run() }
        defer { task.cancel() }
        let engine = Engine()
        drain(queue, into: engine, timeout: 10) { e in
            if case .reconnecting(let n, _) = e.snapshot().input.sources.first?.health { return n >= 2 }
            return false
        }
        let source = try XCTUnwrap(engine.snapshot().input.sources.first)
        XCTAssertEqual(source.name, "pgbouncer 127.0.0.1:1/pgbouncer")
        guard case .reconnecting(_, let reason) = source.health else { return XCTFail("health \(source.health)") }
        XCTAssertFalse(reason.contains("hunter2"), reason)
        XCTAssertEqual(engine.snapshot().fleet.instances, 0, "the pooler's notices make no fleet instance")
    }

    func testAPoolerThatAcceptsButNeverAnswersTimesOut() async throws {
        // A listening socket nobody accepts on: the kernel completes the handshake, nothing answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 4), 0)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let target = PostgresTarget(host: "127.0.0.1", port: port, user: "admin", password: "x", database: "pgbouncer", tls: .disable)
        let started = Date()
        do {
            _ = try await ConsoleConnection.connect(target, timeoutS: 0.3)
            XCTFail("connected to a silent server")
        } catch let e as ConsoleError {
            XCTAssertEqual(e, .timeout(seconds: 0.3))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testALivePoolerIsSampled() throws {
        guard let url = ProcessInfo.processInfo.environment["SKEIN_TEST_PGBOUNCER_URL"] else {
            throw XCTSkip("SKEIN_TEST_PGBOUNCER_URL is not set: install pgbouncer and run eval \"$(scripts/pg-test-cluster.sh start)\"")
        }
        let queue = IngestQueue(capacity: 64)
        let sampler = PostgresSampler(target: try PostgresTarget.parse(url: url), kind: .pgbouncer, intervalS: 0.1,
                                      clock: FixedClock(at: t0), queue: queue)
        let task = Task.detached { await sampler.run() }
        defer { task.cancel() }
        let engine = Engine()
        drain(queue, into: engine, timeout: 10) { $0.snapshot().db.pooler != nil }
        let snap = engine.snapshot()
        XCTAssertEqual(snap.input.sources.first?.health, .reading)
        let pooler = try XCTUnwrap(snap.db.pooler)
        XCTAssertEqual(pooler.maxClientConn, 100)
        XCTAssertEqual(pooler.defaultPoolSize, 2, "scripts/pg-test-cluster.sh sets default_pool_size = 2")
        XCTAssertFalse(pooler.pools.contains { $0.database == "pgbouncer" }, "the console's own pool is not counted")
    }

    func testAStatsOnlyConsoleUserIsEnough() throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["SKEIN_TEST_PGBOUNCER_URL"], let dir = env["SKEIN_TEST_PG_DIR"],
              (try? String(contentsOfFile: dir + "/userlist.txt", encoding: .utf8))?.contains("skein_stats") == true else {
            throw XCTSkip("no PgBouncer with the skein_stats user: restart it with scripts/pg-test-cluster.sh start")
        }
        let stats = url.replacingOccurrences(of: "postgres://postgres:", with: "postgres://skein_stats:")
        XCTAssertNotEqual(stats, url)
        let queue = IngestQueue(capacity: 64)
        let sampler = PostgresSampler(target: try PostgresTarget.parse(url: stats), kind: .pgbouncer, intervalS: 0.1,
                                      clock: FixedClock(at: t0), queue: queue)
        let task = Task.detached { await sampler.run() }
        defer { task.cancel() }
        let engine = Engine()
        drain(queue, into: engine, timeout: 10) { $0.snapshot().db.pooler?.usedClients != nil }
        let pooler = try XCTUnwrap(engine.snapshot().db.pooler)
        XCTAssertEqual(pooler.maxClientConn, 100)
        XCTAssertGreaterThanOrEqual(pooler.usedClients ?? 0, 1, "Skein's own console session at least")
    }

    func testALiveServerIsSampled() throws {
        guard let url = ProcessInfo.processInfo.environment["SKEIN_TEST_PG_URL"] else {
            throw XCTSkip("SKEIN_TEST_PG_URL is not set: start one with eval \"$(scripts/pg-test-cluster.sh start)\"")
        }
        let target = try PostgresTarget.parse(url: url)
        let queue = IngestQueue(capacity: 64)
        let sampler = PostgresSampler(target: target, intervalS: 0.1, clock: FixedClock(at: t0), queue: queue)
        let task = Task.detached { await sampler.run() }
        defer { task.cancel() }
        let engine = Engine()
        drain(queue, into: engine, timeout: 10) { $0.snapshot().db.maxConnections != nil }
        let snap = engine.snapshot()
        XCTAssertEqual(snap.input.sources.first?.health, .reading)
        XCTAssertEqual(snap.db.maxConnections, 20, "scripts/pg-test-cluster.sh sets max_connections=20")
        XCTAssertEqual(snap.db.reservedConnections, 3)
        XCTAssertFalse(snap.db.byApplication.contains { $0.name == "skein" }, "the sampler's own connection is not counted")
    }
}
