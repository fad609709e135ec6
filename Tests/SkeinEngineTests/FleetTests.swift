import XCTest
import SkeinCore
@testable import SkeinEngine

final class FleetTests: XCTestCase {
    private func instance(_ snap: Snapshot, _ id: String) -> InstanceInfo? {
        snap.instances.first { $0.instance == id }
    }

    func testLifecycleTransitions() {
        let e = Engine()
        e.ingest(ev(0, .instanceStart, "fn", "f1", deploy: .serverless, runtime: "nodejs20", initMS: 300))
        XCTAssertEqual(instance(e.snapshot(), "f1")?.state, .cold)
        e.ingest(ev(300, .requestStart, "fn", "f1", deploy: .serverless, req: "r1"))
        e.ingest(ev(310, .requestStart, "fn", "f1", deploy: .serverless, req: "r2"))
        var f = try! XCTUnwrap(instance(e.snapshot(), "f1"))
        XCTAssertEqual(f.state, .busy)
        XCTAssertEqual(f.inFlight, 2)
        e.ingest(ev(400, .requestEnd, "fn", "f1", deploy: .serverless, req: "r1", status: 200))
        XCTAssertEqual(instance(e.snapshot(), "f1")?.state, .busy)
        e.ingest(ev(420, .requestEnd, "fn", "f1", deploy: .serverless, req: "r2", status: 200))
        f = try! XCTUnwrap(instance(e.snapshot(), "f1"))
        XCTAssertEqual(f.state, .idle)
        XCTAssertEqual(f.invocations, 2)
        XCTAssertEqual(f.inFlight, 0)
        e.ingest(ev(500, .instanceStop, "fn", "f1", deploy: .serverless))
        XCTAssertEqual(instance(e.snapshot(), "f1")?.state, .gone)
        XCTAssertEqual(e.snapshot().fleet.illegalTransitions, 0)
    }

    func testIllegalTransitionsAreCountedNotTrapped() {
        let e = Engine()
        e.ingest(ev(0, .instanceStart, "fn", "f1", deploy: .serverless))
        e.ingest(ev(1, .instanceStart, "fn", "f1", deploy: .serverless))   // cold → initialise again
        e.ingest(ev(2, .instanceStop, "fn", "f1", deploy: .serverless))
        e.ingest(ev(3, .instanceStop, "fn", "f1", deploy: .serverless))    // gone → stop again
        e.ingest(ev(4, .requestStart, "fn", "f1", deploy: .serverless, req: "late"))  // gone → request
        let snap = e.snapshot()
        XCTAssertEqual(snap.fleet.illegalTransitions, 3)
        XCTAssertEqual(Set(snap.fleet.illegalByMove.map(\.name)),
                       ["cold→initialise", "gone→stop", "gone→requestStart"])
        XCTAssertEqual(instance(snap, "f1")?.state, .busy, "the instance is revived by what it logged")
    }

    func testSilentInstancesGoAfterTheirDeployModelTimeout() {
        let e = Engine()
        e.ingest(ev(0, .log, "edge", "iso", deploy: .edge, message: "hi"))
        e.ingest(ev(0, .log, "fn", "f1", deploy: .serverless, message: "hi"))
        e.ingest(ev(0, .log, "chat", "pod-1", deploy: .server, message: "hi"))
        e.advance(to: at(61_000))
        var snap = e.snapshot()
        XCTAssertEqual(instance(snap, "iso")?.state, .gone)
        XCTAssertEqual(instance(snap, "f1")?.state, .idle)
        XCTAssertEqual(instance(snap, "pod-1")?.state, .idle)
        e.advance(to: at(301_000))
        snap = e.snapshot()
        XCTAssertEqual(instance(snap, "pod-1")?.state, .gone)
        XCTAssertEqual(instance(snap, "f1")?.state, .idle, "a frozen Lambda lives on for minutes")
        e.advance(to: at(601_000))
        XCTAssertEqual(instance(e.snapshot(), "f1")?.state, .gone)
        XCTAssertEqual(e.snapshot().fleet.byState.first { $0.name == "gone" }?.count, 3)
        // A server that was only quiet comes back without an illegal move; a stopped one does not.
        e.ingest(ev(602_000, .log, "chat", "pod-1", deploy: .server, message: "still here"))
        e.ingest(ev(602_000, .instanceStop, "edge", "iso2", deploy: .edge))
        e.ingest(ev(602_001, .log, "edge", "iso2", deploy: .edge, message: "after stop"))
        snap = e.snapshot()
        XCTAssertEqual(instance(snap, "pod-1")?.state, .idle)
        XCTAssertEqual(instance(snap, "iso2")?.state, .idle)
        XCTAssertEqual(snap.fleet.illegalByMove.map(\.name), ["gone→revive"])
    }

    func testInferredAndExplicitColdStarts() {
        let e = Engine()
        // Explicit: instance.start with its init time, then the request that waited for it.
        e.ingest(ev(0, .instanceStart, "fn", "f1", deploy: .serverless, runtime: "java21", initMS: 900))
        e.ingest(ev(900, .requestStart, "fn", "f1", deploy: .serverless, runtime: "java21", trace: tid(1)))
        e.ingest(ev(1_000, .requestEnd, "fn", "f1", deploy: .serverless, trace: tid(1), status: 200))
        // Inferred: a serverless instance never seen before starts with a request.
        e.ingest(ev(2_000, .requestStart, "fn", "f2", deploy: .serverless, runtime: "nodejs20", trace: tid(2)))
        e.ingest(ev(2_050, .requestEnd, "fn", "f2", deploy: .serverless, trace: tid(2), status: 200))
        // Not inferred: a long-running server's first request.
        e.ingest(ev(3_000, .requestStart, "api", "pod", deploy: .server, trace: tid(3)))
        e.ingest(ev(3_010, .requestEnd, "api", "pod", deploy: .server, trace: tid(3), status: 200))
        // Warm: the second request on f1.
        e.ingest(ev(4_000, .requestStart, "fn", "f1", deploy: .serverless, trace: tid(4)))
        e.ingest(ev(4_020, .requestEnd, "fn", "f1", deploy: .serverless, trace: tid(4), status: 200))
        e.finish()
        let done = Dictionary(uniqueKeysWithValues: e.drainFinishedTraces().map { ($0.id, $0) })
        XCTAssertEqual(done[tid(1)]?.coldStart, true)
        XCTAssertEqual(done[tid(1)]?.coldStartInitMS, 900)
        XCTAssertEqual(done[tid(1)]?.hops.first?.coldStartMS, 900)
        XCTAssertEqual(done[tid(2)]?.coldStart, true)
        XCTAssertNil(done[tid(2)]?.coldStartInitMS)
        XCTAssertEqual(done[tid(3)]?.coldStart, false)
        XCTAssertEqual(done[tid(4)]?.coldStart, false)

        let snap = e.snapshot()
        XCTAssertEqual(snap.coldStarts.count, 2)
        XCTAssertEqual(snap.coldStarts.inferred, 1)
        XCTAssertEqual(Set(snap.coldStarts.byRuntime), [Tally("java21", 1), Tally("nodejs20", 1)])
        XCTAssertEqual(snap.coldStarts.initMS.p50, 900)
        XCTAssertEqual(snap.coldStarts.recent.map(\.instance), ["f2", "f1"], "newest first")
        XCTAssertEqual(snap.coldStarts.recent.map(\.traceID), [tid(2), tid(1)])
        XCTAssertEqual(snap.coldStarts.recent.map(\.inferred), [true, false])
        XCTAssertEqual(instance(snap, "f1")?.coldStart?.traceID, tid(1))
        XCTAssertNil(instance(snap, "pod")?.coldStart)
        // Penalty: cold requests took 100 and 50 ms, warm ones 10 and 20 ms.
        XCTAssertEqual(snap.coldStarts.coldLatencyMS.count, 2)
        XCTAssertEqual(snap.coldStarts.coldLatencyMS.p95, 100)
        XCTAssertEqual(snap.coldStarts.warmLatencyMS.p95, 20)
        XCTAssertEqual(snap.coldStarts.penaltyP95MS, 80)
    }

    func testLateInstanceStartUpgradesAnInferredColdStart() {
        let e = Engine()
        e.ingest(ev(500, .requestStart, "fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(400, .instanceStart, "fn", "f1", deploy: .serverless, initMS: 450))
        e.ingest(ev(600, .requestEnd, "fn", "f1", deploy: .serverless, trace: tid(1), status: 200))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.coldStartInitMS, 450)
        let snap = e.snapshot()
        XCTAssertEqual(snap.coldStarts.count, 1)
        XCTAssertEqual(snap.coldStarts.inferred, 0)
        XCTAssertEqual(snap.coldStarts.recent.first?.initMS, 450)
        XCTAssertEqual(snap.coldStarts.recent.first?.inferred, false)
    }

    func testColdStartFlagOnTheRequestLine() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "pod", deploy: .server, trace: tid(1), initMS: 1200, coldStart: true))
        e.ingest(ev(50, .requestEnd, "api", "pod", deploy: .server, trace: tid(1), status: 200))
        e.finish()
        XCTAssertEqual(e.drainFinishedTraces().first?.coldStartInitMS, 1200)
        XCTAssertEqual(e.snapshot().coldStarts.inferred, 0)
        XCTAssertEqual(e.snapshot().coldStarts.count, 1)
    }

    /// Lambda Powertools flags every line of a cold invocation (`cold_start: true`) and writes no
    /// request line: the first flagged line is the cold start, once, and warm invocations are not.
    func testColdStartFlagOnLogLinesOnly() {
        let e = Engine()
        for k in 0..<3 {
            e.ingest(ev(Double(k * 10), .log, "payment", "stream-1", deploy: .serverless, req: "r1", coldStart: true,
                        message: "line \(k)"))
        }
        e.ingest(ev(5_000, .log, "payment", "stream-1", deploy: .serverless, req: "r2", coldStart: false, message: "warm"))
        e.finish()
        let snap = e.snapshot()
        XCTAssertEqual(snap.coldStarts.count, 1)
        XCTAssertEqual(snap.coldStarts.inferred, 0)
        let byID = Dictionary(uniqueKeysWithValues: snap.recentTraces.map { ($0.id, $0) })
        XCTAssertEqual(byID["r1"]?.coldStart, true)
        XCTAssertEqual(byID["r2"]?.coldStart, false)
    }

    /// A Vercel drain names no execution environment: every cold start of the function lands on one
    /// instance. Each init timed for another request is a cold start of its own; the init and the
    /// REPORT of the same request are one.
    func testInitsForOtherRequestsOnOneInstanceAreEachAColdStart() {
        let e = Engine()
        for (k, ms) in [(0.0, 300.0), (1_000, 0), (2_000, 280), (2_100, 0)] {
            let req = "vercel-\(Int(k))"
            e.ingest(ev(k, .requestStart, "cart-fn", "prj", deploy: .serverless, req: req))
            if ms > 0 {
                e.ingest(ev(k + 400, .instanceStart, "cart-fn", "prj", deploy: .serverless, req: req, initMS: ms, coldStart: true))
            }
            e.ingest(ev(k + 400, .requestEnd, "cart-fn", "prj", deploy: .serverless, req: req, status: 200, duration: 400,
                        initMS: ms > 0 ? ms : nil))
        }
        e.finish()
        let snap = e.snapshot()
        XCTAssertEqual(snap.coldStarts.count, 2)
        XCTAssertEqual(snap.coldStarts.initMS.max, 300)
        let cold = Set(snap.recentTraces.filter(\.coldStart).map(\.id))
        XCTAssertEqual(cold, ["vercel-0", "vercel-2000"])
        XCTAssertEqual(snap.instances.count, 1)
    }

    func testInstanceBudgetEvictsGoneInstancesFirst() {
        var config = EngineConfig()
        config.maxInstances = 4
        let e = Engine(config: config)
        e.ingest(ev(0, .instanceStop, "fn", "old", deploy: .serverless))
        for k in 0..<30 { e.ingest(ev(Double(k + 1), .log, "fn", "f\(k)", deploy: .serverless, message: "x")) }
        e.advance(to: at(2_000))
        let snap = e.snapshot()
        XCTAssertEqual(snap.instances.count, 4)
        XCTAssertEqual(snap.evicted.instances, 27)
        XCTAssertNil(instance(snap, "old"))
        XCTAssertEqual(Set(snap.instances.map(\.instance)), ["f26", "f27", "f28", "f29"])
    }
}

final class ConnectionTests: XCTestCase {
    func testFrozenServerlessInstancesStillHoldConnections() {
        let e = Engine()
        for k in 0..<3 {
            let id = "f\(k)"
            e.ingest(ev(Double(k), .requestStart, "feed-fn", id, deploy: .serverless, trace: tid(k)))
            e.ingest(ev(Double(k) + 5, .dbConnect, "feed-fn", id, deploy: .serverless, trace: tid(k), dbOpen: 1))
            e.ingest(ev(Double(k) + 50, .requestEnd, "feed-fn", id, deploy: .serverless, trace: tid(k), status: 200))
        }
        // Five minutes of silence: the functions are frozen, not gone, and their connections stay open.
        e.advance(to: at(300_000))
        var snap = e.snapshot()
        XCTAssertEqual(snap.db.open, 3)
        XCTAssertEqual(snap.db.byService, [Tally("feed-fn", 3)])
        XCTAssertEqual(snap.db.byInstance.count, 3)
        XCTAssertFalse(snap.db.serverTruth)
        e.ingest(ev(300_001, .instanceStop, "feed-fn", "f0", deploy: .serverless))
        XCTAssertEqual(e.snapshot().db.open, 2)
        // Reaped after ten minutes of silence: connections released.
        e.advance(to: at(700_000))
        snap = e.snapshot()
        XCTAssertEqual(snap.db.open, 0)
        XCTAssertEqual(snap.db.peakOpen, 3)
        XCTAssertEqual(snap.db.peakAt, at(7))
    }

    func testRelativeConnectEventsWithoutDbOpen() {
        let e = Engine()
        e.ingest(ev(0, .dbConnect, "chat", "pod", deploy: .server))
        e.ingest(ev(1, .dbConnect, "chat", "pod", deploy: .server))
        e.ingest(ev(2, .dbDisconnect, "chat", "pod", deploy: .server))
        e.ingest(ev(3, .dbDisconnect, "chat", "pod", deploy: .server))
        e.ingest(ev(4, .dbDisconnect, "chat", "pod", deploy: .server))   // never below zero
        let snap = e.snapshot()
        XCTAssertEqual(snap.db.open, 0)
        XCTAssertEqual(snap.db.peakOpen, 2)
        XCTAssertEqual(snap.instances.first?.dbPeak, 2)
    }

    func testServerTruthIsPreferred() {
        let e = Engine()
        e.ingest(ev(0, .dbConnect, "feed-fn", "f1", deploy: .serverless, dbOpen: 3, dbMax: 50))
        var snap = e.snapshot()
        XCTAssertEqual(snap.db.open, 3)
        XCTAssertEqual(snap.db.maxConnections, 50)
        XCTAssertEqual(snap.db.maxSource, .event)
        e.ingest(ev(10, .dbSample, "postgres", nil, platform: "postgres", dbOpen: 40, dbMax: 100,
                    attributes: [Attribute("application_name.feed-fn", "31"), Attribute("application_name.chat", "6")]))
        snap = e.snapshot()
        XCTAssertTrue(snap.db.serverTruth)
        XCTAssertEqual(snap.db.open, 40)
        XCTAssertEqual(snap.db.appReportedOpen, 3)
        XCTAssertEqual(snap.db.maxConnections, 100)
        XCTAssertEqual(snap.db.maxSource, .sampler)
        XCTAssertEqual(snap.db.byApplication, [Tally("feed-fn", 31), Tally("chat", 6)])
        XCTAssertEqual(snap.db.unattributed, 3)
        // Postgres's own log adjusts the server count between samples.
        e.ingest(ev(20, .dbConnect, "postgres", "pg-1", platform: "postgres",
                    attributes: [Attribute("application_name", "chat")]))
        snap = e.snapshot()
        XCTAssertEqual(snap.db.open, 41)
        XCTAssertEqual(snap.db.byApplication.first { $0.name == "chat" }?.count, 7)
        XCTAssertNil(snap.instances.first { $0.service == "postgres" }, "the server is not a fleet instance")
    }

    func testFlagOverridesEventMax() {
        var config = EngineConfig()
        config.dbMax = 20
        let e = Engine(config: config)
        e.ingest(ev(10, .dbSample, "postgres", nil, platform: "postgres", dbOpen: 4, dbMax: 100))
        let snap = e.snapshot()
        XCTAssertEqual(snap.db.maxConnections, 20)
        XCTAssertEqual(snap.db.maxSource, .flag)
    }

    func testPeakAndFirstExhaustion() {
        var config = EngineConfig()
        config.dbMax = 5
        let e = Engine(config: config)
        for k in 0..<6 {
            e.ingest(ev(Double(k) * 100, .dbConnect, "fn", "f\(k)", deploy: .serverless, dbOpen: 1))
        }
        e.ingest(ev(700, .dbDisconnect, "fn", "f0", deploy: .serverless, dbOpen: 0))
        let snap = e.snapshot()
        XCTAssertEqual(snap.db.open, 5)
        XCTAssertEqual(snap.db.peakOpen, 6)
        XCTAssertEqual(snap.db.peakAt, at(500))
        XCTAssertEqual(snap.db.firstExhaustionAt, at(400))
        XCTAssertEqual(snap.db.utilisation, 1)
        XCTAssertEqual(snap.db.series.values.last, 6, "the bucket keeps its peak")
    }

    /// A refusal logged by Postgres (FATAL) and by the app it refused is one failure; failures only
    /// one side sees (a pool timeout in the app) count as that side logged them.
    func testFailuresLoggedByServerAndClientCountOnce() {
        let e = Engine()
        for k in 0..<3 {
            e.ingest(ev(Double(k * 10), .dbError, "postgres", "4242\(k)", deploy: .server, platform: "postgres",
                        dbError: .tooManyClients, message: "FATAL:  sorry, too many clients already"))
            e.ingest(ev(Double(k * 10 + 1), .dbError, "fn", "f\(k)", deploy: .serverless, dbError: .tooManyClients,
                        message: "error: sorry, too many clients already"))
        }
        // A fourth refusal only Postgres logged, and two pool timeouts only the app saw.
        e.ingest(ev(40, .dbError, "postgres", "42430", deploy: .server, platform: "postgres", dbError: .tooManyClients))
        e.ingest(ev(50, .dbError, "fn", "f0", deploy: .serverless, dbError: .poolTimeout, message: "P2024"))
        e.ingest(ev(60, .dbError, "fn", "f1", deploy: .serverless, dbError: .poolTimeout, message: "P2024"))
        let snap = e.snapshot()
        XCTAssertEqual(snap.db.errorsByKind, [Tally("too_many_clients", 4), Tally("pool_timeout", 2)])
        XCTAssertEqual(snap.db.errors, 6)
        XCTAssertEqual(snap.db.firstExhaustionAt, at(0))
        XCTAssertEqual(snap.instances.first { $0.instance == "f0" }?.dbErrors, 2, "each instance keeps its own")
    }

    func testExhaustionErrorBeforeTheCountReachesMax() {
        var config = EngineConfig()
        config.dbMax = 100
        let e = Engine(config: config)
        e.ingest(ev(0, .dbConnect, "fn", "f1", deploy: .serverless, dbOpen: 1))
        e.ingest(ev(50, .dbError, "fn", "f2", deploy: .serverless, dbError: .reservedSlots, message: "remaining connection slots are reserved"))
        e.ingest(ev(60, .dbAcquire, "fn", "f1", deploy: .serverless, wait: 30))
        e.ingest(ev(70, .dbAcquire, "fn", "f1", deploy: .serverless, wait: 90))
        let snap = e.snapshot()
        XCTAssertEqual(snap.db.firstExhaustionAt, at(50))
        XCTAssertEqual(snap.db.errors, 1)
        XCTAssertEqual(snap.db.errorsByKind, [Tally("reserved_slots", 1)])
        XCTAssertEqual(snap.db.poolWaits, 2)
        XCTAssertEqual(snap.db.poolWait.p50, 30)
        XCTAssertEqual(snap.db.poolWait.max, 90)
        XCTAssertEqual(snap.instances.first { $0.instance == "f2" }?.dbErrors, 1)
    }
}
