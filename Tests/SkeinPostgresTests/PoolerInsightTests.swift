import SkeinCore
import SkeinEngine
import XCTest
@testable import SkeinPostgres

private let t0 = Timestamp(millis: Int64(1_795_428_000_000))

/// The connection-exhaustion insight in a pooled setup, and when Skein itself was refused.
final class PoolerInsightTests: XCTestCase {
    private func pool(waiting: Int, waitMS: Double, active: Int = 2) -> BouncerSample {
        BouncerSample(pools: [PoolRow(database: "shop", user: "app", clientsActive: 2, clientsWaiting: waiting,
                                      serversActive: active, serversIdle: 0, maxWaitMS: waitMS, poolMode: "transaction")],
                      poolSizes: ["shop": 2])
    }

    private func server(open: Int, max: Int = 20) -> Event {
        ServerSample(maxConnections: max, reservedConnections: 3, groups: [
            ActivityGroup(application: "pgbouncer", user: "app", clientAddress: "local", state: "active", count: open, oldestStateAgeS: 0),
        ]).event(at: t0, instance: "db:5432", source: SourceID(0))
    }

    private func exhaustion(_ engine: Engine) -> Insight? {
        engine.snapshot().insights.first { $0.kind == .connectionExhaustion }
    }

    func testClientsQueuedAtAFullPoolWhilePostgresHasRoomBlameThePool() throws {
        let engine = Engine()
        engine.ingest(server(open: 4))
        // A short wait is normal for a transaction pool: no insight.
        engine.ingest(pool(waiting: 3, waitMS: 200).event(at: t0.adding(ms: 1_000), instance: "pgb:6432", source: SourceID(1)))
        XCTAssertNil(exhaustion(engine))
        engine.ingest(pool(waiting: 5, waitMS: 1_800).event(at: t0.adding(ms: 2_000), instance: "pgb:6432", source: SourceID(1)))
        let i = try XCTUnwrap(exhaustion(engine))
        XCTAssertEqual(i.severity, .warning)
        XCTAssertTrue(i.message.contains("5 clients waiting"), i.message)
        XCTAssertTrue(i.message.contains("shop/app 5 waiting, 2 of 2 server connections busy"), i.message)
        XCTAssertTrue(i.message.contains("Postgres at 4/20"), i.message)
        XCTAssertTrue(i.message.contains("the pool, not the server, is the limit"), i.message)
        XCTAssertEqual(i.evidence.first?.service, "pgbouncer")
        // Same episode, same level: no repeat; longer waits escalate.
        engine.ingest(pool(waiting: 5, waitMS: 1_900).event(at: t0.adding(ms: 3_000), instance: "pgb:6432", source: SourceID(1)))
        XCTAssertEqual(exhaustion(engine)?.count, 1)
        engine.ingest(pool(waiting: 6, waitMS: 6_000).event(at: t0.adding(ms: 4_000), instance: "pgb:6432", source: SourceID(1)))
        XCTAssertEqual(exhaustion(engine)?.severity, .critical)
        let p = try XCTUnwrap(engine.snapshot().db.pooler)
        XCTAssertEqual(p.peakWaiting, 6)
        XCTAssertEqual(p.peakWaitMS, 6_000)
        XCTAssertEqual(engine.snapshot().db.open, 4, "the pooler's clients are not Postgres' connections")
    }

    func testClientsQueuedWhilePostgresIsNearlyFullBlameTheServer() throws {
        let engine = Engine()
        engine.ingest(server(open: 17))
        engine.ingest(pool(waiting: 4, waitMS: 1_500).event(at: t0.adding(ms: 1_000), instance: "pgb:6432", source: SourceID(1)))
        let i = try XCTUnwrap(exhaustion(engine))
        XCTAssertTrue(i.message.contains("the server is the limit too"), i.message)
    }

    func testARefusalBeforeAnyCountSaysTheCountIsUnknownNotZero() throws {
        let engine = Engine()
        engine.ingest(Event(time: t0, kind: .dbError, level: .error, source: SourceID(0), service: "postgres", instance: "db:5432",
                            deploy: .server, platform: "postgres", dbError: .tooManyClients,
                            message: "pg db:5432/shop refused the sampler (the server is full): sorry, too many clients already",
                            attributes: [Attribute("application_name", "skein"), Attribute("refused", "sampler")]))
        let i = try XCTUnwrap(exhaustion(engine))
        XCTAssertEqual(i.severity, .critical)
        XCTAssertFalse(i.message.contains(" 0 connections"), i.message)
        XCTAssertTrue(i.message.contains("no count is known yet"), i.message)
        let detail = i.evidence.first?.detail ?? ""
        XCTAssertTrue(detail.contains("refused Skein's own connection"), detail)
        XCTAssertTrue(detail.contains("before any count"), detail)
        XCTAssertFalse(detail.contains("at 0"), detail)
        // Once a sample gets in, the message counts.
        engine.ingest(server(open: 17).withTime(t0.adding(ms: 1_000)))
        engine.ingest(Event(time: t0.adding(ms: 1_500), kind: .dbError, level: .error, source: SourceID(0), service: "postgres",
                            instance: "db:5432", deploy: .server, platform: "postgres", dbError: .tooManyClients))
        XCTAssertTrue(exhaustion(engine)?.message.contains("Postgres at 17/20") ?? false, exhaustion(engine)?.message ?? "")
    }

    func testAPoolerAtMaxClientConnIsCritical() throws {
        let engine = Engine()
        engine.ingest(BouncerSample(pools: [], maxClientConn: 50, usedClients: 49).event(at: t0, instance: "pgb:6432", source: SourceID(1)))
        XCTAssertNil(exhaustion(engine))
        engine.ingest(BouncerSample(pools: [], maxClientConn: 50, usedClients: 50).event(at: t0.adding(ms: 1_000), instance: "pgb:6432", source: SourceID(1)))
        let i = try XCTUnwrap(exhaustion(engine))
        XCTAssertEqual(i.severity, .critical)
        XCTAssertTrue(i.message.hasPrefix("PgBouncer pgb:6432 at max_client_conn (50/50 clients): new clients are refused"), i.message)
        XCTAssertEqual(engine.snapshot().db.pooler?.usedClients, 50)
    }

    func testAPoolerRefusingClientsIsNotPostgresRefusing() throws {
        let engine = Engine()
        engine.ingest(BouncerSample(pools: [], maxClientConn: 100).event(at: t0, instance: "pgb:6432", source: SourceID(1)))
        engine.ingest(Event(time: t0.adding(ms: 500), kind: .dbError, level: .error, source: SourceID(1), service: "pgbouncer",
                            instance: "pgb:6432", deploy: .server, platform: "pgbouncer", dbError: .tooManyClients,
                            message: "pgbouncer pgb:6432/pgbouncer refused the sampler (the pooler is full): no more connections allowed (max_client_conn)",
                            attributes: [Attribute("application_name", "skein"), Attribute("refused", "sampler")]))
        let i = try XCTUnwrap(exhaustion(engine))
        XCTAssertEqual(i.severity, .critical)
        XCTAssertTrue(i.message.contains("PgBouncer refused 1 client at max_client_conn 100"), i.message)
        XCTAssertFalse(i.message.contains("Postgres"), i.message)
        XCTAssertTrue(i.evidence.first?.detail.contains("pgbouncer refused Skein's own connection") ?? false, "\(i.evidence)")
        // With the server's count known, Postgres is not said to refuse anyone.
        engine.ingest(server(open: 6).withTime(t0.adding(ms: 1_000)))
        engine.ingest(Event(time: t0.adding(ms: 1_500), kind: .dbError, level: .error, source: SourceID(1), service: "pgbouncer",
                            instance: "pgb:6432", deploy: .server, platform: "pgbouncer", dbError: .tooManyClients))
        let m = exhaustion(engine)?.message ?? ""
        XCTAssertTrue(m.contains("Postgres at 6/20 connections (30%); PgBouncer refused 2 clients"), m)
        XCTAssertFalse(m.contains("and refusing clients"), m)
    }

    /// PgBouncer's `server login failed: FATAL: sorry, too many clients already` is Postgres refusing
    /// the pooler: Postgres is said to refuse, no client of the pooler is counted as refused, and
    /// Postgres' own line of the same refusal does not make it two.
    func testPostgresRefusingThePoolersLoginIsPostgresRefusing() throws {
        let engine = Engine()
        func refused(_ ms: Double, platform: String, serverError: Bool) -> Event {
            Event(time: t0.adding(ms: ms), kind: .dbError, level: .warn, source: SourceID(1),
                  service: platform, instance: platform == "pgbouncer" ? "pgb:6432" : "db:5432", deploy: .server,
                  platform: platform, dbError: .tooManyClients, message: "FATAL: sorry, too many clients already",
                  attributes: serverError ? [Attribute("server_error", "too_many_clients")] : [])
        }
        engine.ingest(refused(100, platform: "pgbouncer", serverError: true))
        let i = try XCTUnwrap(exhaustion(engine))
        XCTAssertEqual(i.severity, .critical)
        XCTAssertTrue(i.message.hasPrefix("Postgres is refusing new clients"), i.message)
        XCTAssertFalse(i.message.contains("PgBouncer refused"), i.message)
        XCTAssertEqual(engine.snapshot().db.errorsByKind, [Tally("too_many_clients", 1)])
        engine.ingest(refused(101, platform: "postgres", serverError: false))
        XCTAssertEqual(engine.snapshot().db.errorsByKind, [Tally("too_many_clients", 1)], "one refusal, logged by both sides")
    }
}

private extension Event {
    func withTime(_ t: Timestamp) -> Event {
        var e = self
        e.time = t
        return e
    }
}
