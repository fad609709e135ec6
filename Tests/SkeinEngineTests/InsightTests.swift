import XCTest
import SkeinCore
@testable import SkeinEngine

final class InsightTests: XCTestCase {
    private func insight(_ e: Engine, _ kind: Insight.Kind) -> Insight? {
        e.snapshot().insights.first { $0.kind == kind }
    }

    /// Evidence reads in time order whatever order its lines arrived in (sources skew and
    /// interleave), ties in arrival order; past the budget, later arrivals are counted, not listed.
    func testEvidenceIsKeptInTimeOrder() throws {
        var book = InsightBook()
        let ms: [Int64] = [500, 100, 300, 300, 50, 900, 200, 700, 600, 400, 10, 20]
        for (n, t) in ms.enumerated() {
            book.raise(.timeout, severity: .warning,
                       evidence: Evidence(at: Timestamp(nanos: t * 1_000_000), detail: "#\(n)"), message: "m")
        }
        let i = try XCTUnwrap(book.current(.timeout))
        XCTAssertEqual(i.count, 12)
        XCTAssertEqual(i.firstAt, Timestamp(nanos: 10_000_000))
        XCTAssertEqual(i.evidence.map(\.detail), ["#4", "#1", "#6", "#2", "#3", "#9", "#0", "#8", "#7", "#5"])
    }

    func testHealthyInputRaisesNothing() {
        let e = Engine()
        e.ingest(ev(0, .dbSample, "postgres", nil, platform: "postgres", dbOpen: 12, dbMax: 100))
        for n in 0..<30 {
            edgeToLambda(e, n: n, startMS: Double(n) * 2_000, lambdaInstance: "fn-\(n % 4)")
            e.ingest(ev(Double(n) * 2_000 + 500, .requestStart, "chat", "pod-1", deploy: .server, trace: tid(1000 + n)))
            e.ingest(ev(Double(n) * 2_000 + 520, .dbAcquire, "chat", "pod-1", deploy: .server, trace: tid(1000 + n),
                        wait: 1))
            e.ingest(ev(Double(n) * 2_000 + 540, .requestEnd, "chat", "pod-1", deploy: .server, trace: tid(1000 + n),
                        status: 200))
        }
        e.ingest(ev(61_000, .wsOpen, "chat", "pod-1", deploy: .server, message: "client connected"))
        e.finish()
        let snap = e.snapshot()
        XCTAssertEqual(snap.insights, [])
        XCTAssertEqual(e.drainNewInsights(), [])
        XCTAssertEqual(snap.traces.complete, 60)
        XCTAssertEqual(snap.traces.errors, 0)
        let flagged = e.drainFinishedTraces().filter { !$0.flags.subtracting(.cold).isEmpty }
        XCTAssertEqual(flagged.map(\.id), [])
    }

    func testConnectionExhaustionWarnsThenGoesCritical() {
        var config = EngineConfig()
        config.dbMax = 10
        let e = Engine(config: config)
        for k in 0..<8 {
            e.ingest(ev(Double(k), .dbConnect, "feed-fn", "f\(k)", deploy: .serverless, dbOpen: 1))
        }
        e.ingest(ev(10, .dbConnect, "chat", "pod", deploy: .server, dbOpen: 1))
        var raised = e.drainNewInsights()
        XCTAssertEqual(raised.map(\.kind), [.connectionExhaustion])
        XCTAssertEqual(raised.first?.severity, .warning)
        XCTAssertEqual(raised.first?.evidence.first?.at, at(7))
        XCTAssertEqual(raised.first?.evidence.first?.instance, "f7")
        e.ingest(ev(20, .dbConnect, "chat", "pod", deploy: .server, dbOpen: 2))
        raised = e.drainNewInsights()
        XCTAssertEqual(raised.first?.severity, .critical, "escalations are drained again")
        e.ingest(ev(30, .dbError, "feed-fn", "f9", deploy: .serverless, trace: tid(5), dbError: .tooManyClients))
        XCTAssertEqual(e.drainNewInsights(), [], "an update at the same severity is not new")
        let i = try! XCTUnwrap(insight(e, .connectionExhaustion))
        XCTAssertEqual(i.count, 3)
        XCTAssertEqual(i.evidence.count, 3)
        XCTAssertEqual(i.evidence.last?.traceID, tid(5))
        XCTAssertEqual(i.lastAt, at(30))
        XCTAssertTrue(i.message.contains("feed-fn"), i.message)
        XCTAssertTrue(i.message.contains("8 instances"), i.message)
        XCTAssertTrue(i.message.contains("pooler"), i.message)
        XCTAssertTrue(i.message.contains("10/10"), i.message)
    }

    func testPoolerAdviceDependsOnWhoHoldsTheConnections() {
        var config = EngineConfig()
        config.dbMax = 10
        let e = Engine(config: config)
        e.ingest(ev(0, .dbConnect, "chat", "pod", deploy: .server, dbOpen: 9))
        let i = try! XCTUnwrap(insight(e, .connectionExhaustion))
        XCTAssertTrue(i.message.contains("lower chat's pool size"), i.message)
    }

    func testServerSamplesAloneNameTheApplicationsHoldingConnections() {
        let e = Engine()
        func sample(_ ms: Double, _ apps: [String: Int]) -> Event {
            var attrs = [Attribute("reserved", "3")]
            for (k, v) in apps.sorted(by: { $0.key < $1.key }) { attrs.append(Attribute("application_name." + k, String(v))) }
            return Event(time: at(ms), kind: .dbSample, service: "postgres", instance: "db:5432", deploy: .server,
                         platform: "postgres", dbOpen: apps.values.reduce(0, +), dbMax: 20, attributes: attrs)
        }
        e.ingest(sample(0, ["api": 5, "worker": 2]))
        XCTAssertNil(insight(e, .connectionExhaustion), "35 % is no warning")
        e.ingest(sample(1_000, ["api": 11, "worker": 3, "psql": 2]))
        let i = try! XCTUnwrap(insight(e, .connectionExhaustion))
        XCTAssertEqual(i.severity, .warning)
        XCTAssertTrue(i.message.contains("16/20"), i.message)
        XCTAssertTrue(i.message.contains("api holds 11, worker holds 3, psql holds 2"), i.message)
        let db = e.snapshot().db
        XCTAssertEqual(db.reservedConnections, 3)
        XCTAssertEqual(db.maxConnections, 20)
        XCTAssertEqual(db.byApplication.map(\.count), [11, 3, 2])
        XCTAssertEqual(db.unattributed, 0)
    }

    func testColdStartCascade() {
        let e = Engine()
        for k in 0..<12 {
            e.ingest(ev(Double(k) * 400, .instanceStart, "feed-fn", "f\(k)", deploy: .serverless,
                        runtime: k < 9 ? "nodejs20" : "java21", initMS: 300))
        }
        let i = try! XCTUnwrap(insight(e, .coldStartCascade))
        XCTAssertEqual(i.count, 3)
        XCTAssertEqual(i.severity, .warning)
        XCTAssertEqual(i.firstAt, at(3_600))
        XCTAssertEqual(i.evidence.map(\.instance), ["f9", "f10", "f11"])
        XCTAssertTrue(i.message.contains("nodejs20 ×9"), i.message)
        XCTAssertTrue(i.message.contains("java21 ×3"), i.message)
    }

    func testColdStartsSpreadOutAreNoCascade() {
        let e = Engine()
        for k in 0..<12 {
            e.ingest(ev(Double(k) * 5_000, .instanceStart, "feed-fn", "f\(k)", deploy: .serverless, initMS: 300))
        }
        XCTAssertNil(insight(e, .coldStartCascade))
        XCTAssertEqual(e.snapshot().coldStarts.count, 12)
    }

    func testWorkAfterResponse() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(40, .responseSent, "feed-fn", "f1", deploy: .serverless, trace: tid(1), status: 200))
        e.ingest(ev(45, .bgStart, "feed-fn", "f1", deploy: .serverless, trace: tid(1), message: "send analytics"))
        e.ingest(ev(400, .bgEnd, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(401, .requestEnd, "feed-fn", "f1", deploy: .serverless, trace: tid(1), status: 200))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertTrue(s.flags.contains(.afterResponse))
        XCTAssertEqual(s.hops[0].responseAtMS, 40)
        let i = try! XCTUnwrap(insight(e, .workAfterResponse))
        XCTAssertEqual(i.evidence.first?.traceID, tid(1))
        XCTAssertEqual(i.evidence.first?.instance, "f1")
        XCTAssertTrue(i.message.contains("feed-fn"))
    }

    func testUnfinishedBackgroundWorkWhenTheInstanceFroze() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "fn", "f1", deploy: .serverless, req: "r1"))
        e.ingest(ev(30, .requestEnd, "fn", "f1", deploy: .serverless, req: "r1", status: 200))
        e.ingest(ev(20, .bgStart, "fn", "f1", deploy: .serverless, req: "r1"))
        e.finish()
        XCTAssertTrue(e.drainFinishedTraces().first?.flags.contains(.afterResponse) ?? false)
        XCTAssertNotNil(insight(e, .workAfterResponse))
    }

    func testBackgroundWorkOnAServerIsFine() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "pod", deploy: .server, trace: tid(1)))
        e.ingest(ev(40, .responseSent, "api", "pod", deploy: .server, trace: tid(1), status: 200))
        e.ingest(ev(45, .bgStart, "api", "pod", deploy: .server, trace: tid(1)))
        e.ingest(ev(400, .bgEnd, "api", "pod", deploy: .server, trace: tid(1)))
        e.finish()
        XCTAssertFalse(e.drainFinishedTraces().first?.flags.contains(.afterResponse) ?? true)
        XCTAssertNil(insight(e, .workAfterResponse))
    }

    func testEdgeCPULimit() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "edge", "iso", platform: "cloudflare-workers", trace: tid(1)))
        e.ingest(ev(90, .requestEnd, "edge", "iso", platform: "cloudflare-workers", trace: tid(1), status: 200,
                    cpu: 73))
        e.ingest(ev(100, .requestEnd, "edge", "iso2", platform: "cloudflare-workers", status: 500,
                    level: .error, attributes: [Attribute("outcome", "exceededCpu")]))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertTrue(s.flags.contains(.cpuLimit))
        XCTAssertEqual(s.hops.first?.deploy, .edge)
        let i = try! XCTUnwrap(insight(e, .edgeCPULimit))
        XCTAssertEqual(i.severity, .critical)
        XCTAssertEqual(i.count, 2)
        XCTAssertEqual(Set(i.evidence.compactMap(\.instance)), ["iso", "iso2"])
    }

    func testLongLivedConnections() {
        let e = Engine()
        e.ingest(ev(0, .wsOpen, "chat-edge", "iso", deploy: .edge, message: "upgrade"))
        var i = try! XCTUnwrap(insight(e, .longLivedConnection))
        XCTAssertEqual(i.evidence.first?.service, "chat-edge")
        e.ingest(ev(1_000, .requestStart, "stream-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(46_000, .requestEnd, "stream-fn", "f1", deploy: .serverless, trace: tid(1), status: 200))
        e.finish()
        i = try! XCTUnwrap(insight(e, .longLivedConnection))
        XCTAssertEqual(i.count, 2)
        XCTAssertEqual(i.evidence.last?.traceID, tid(1))
    }

    func testTimeouts() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "edge", "iso", deploy: .edge, trace: tid(1), route: "GET /feed"))
        e.ingest(ev(10, .requestStart, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(10_010, .log, "feed-fn", "f1", deploy: .serverless, trace: tid(1), level: .error,
                    message: "Task timed out after 10.00 seconds"))
        e.ingest(ev(10_020, .requestEnd, "edge", "iso", deploy: .edge, trace: tid(1), status: 504))
        e.ingest(ev(10_030, .requestEnd, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertTrue(s.flags.isSuperset(of: [.timeout, .error]))
        XCTAssertEqual(s.status, 504)
        let i = try! XCTUnwrap(insight(e, .timeout))
        XCTAssertEqual(i.count, 1, "one request, one timeout")
        XCTAssertEqual(i.evidence.first?.traceID, tid(1))
    }

    /// A decoder that kept only a message's facts (`Event.messageFacts`, the text dropped) is read
    /// by them: the same trace as `testTimeouts`, its timeout line without text.
    func testTimeoutFromFactsWithoutText() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "edge", "iso", deploy: .edge, trace: tid(1), route: "GET /feed"))
        e.ingest(ev(10, .requestStart, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        var line = ev(10_010, .log, "feed-fn", "f1", deploy: .serverless, trace: tid(1), level: .error)
        line.messageFacts = MessageFacts("Task timed out after 10.00 seconds")
        XCTAssertNil(line.message)
        e.ingest(line)
        e.ingest(ev(10_020, .requestEnd, "edge", "iso", deploy: .edge, trace: tid(1), status: 200))
        e.ingest(ev(10_030, .requestEnd, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertTrue(s.flags.contains(.timeout))
        XCTAssertEqual(insight(e, .timeout)?.evidence.first?.traceID, tid(1))
    }

    /// Facts belong to the text they were read from: setting the message forgets them.
    func testSettingTheMessageForgetsItsFacts() {
        var line = ev(0, .log, "feed-fn", "f1", deploy: .serverless, trace: tid(1), level: .error)
        line.messageFacts = MessageFacts("Task timed out")
        line.message = "all good"
        XCTAssertNil(line.messageFacts)
        let e = Engine()
        e.ingest(ev(0, .requestStart, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(line)
        e.ingest(ev(20, .requestEnd, "feed-fn", "f1", deploy: .serverless, trace: tid(1), status: 200))
        e.finish()
        XCTAssertFalse(try! XCTUnwrap(e.drainFinishedTraces().first).flags.contains(.timeout))
    }

    /// node-postgres' "timeout exceeded when trying to connect" is a pool timeout: a DB error,
    /// not the request timing out.
    func testPoolTimeoutIsNotARequestTimeout() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "feed-fn", "f1", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(5_000, .dbError, "feed-fn", "f1", deploy: .serverless, trace: tid(1), dbError: .poolTimeout,
                    level: .error, message: "timeout exceeded when trying to connect"))
        e.ingest(ev(5_010, .requestEnd, "feed-fn", "f1", deploy: .serverless, trace: tid(1), status: 500))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertTrue(s.flags.contains(.error))
        XCTAssertFalse(s.flags.contains(.timeout))
        XCTAssertNil(insight(e, .timeout))
    }

    func testInsightsAreOrderedBySeverityThenRecency() {
        var config = EngineConfig()
        config.dbMax = 1
        let e = Engine(config: config)
        e.ingest(ev(0, .wsOpen, "chat-edge", "iso", deploy: .edge))
        e.ingest(ev(5, .dbConnect, "fn", "f", deploy: .serverless, dbOpen: 1))
        e.ingest(ev(9, .wsOpen, "chat-edge", "iso", deploy: .edge))
        XCTAssertEqual(e.snapshot().insights.map(\.kind), [.connectionExhaustion, .longLivedConnection])
        XCTAssertEqual(e.drainNewInsights().map(\.kind), [.longLivedConnection, .connectionExhaustion])
    }
}
