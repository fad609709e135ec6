import Foundation
import SkeinCore
import SkeinEngine
import XCTest

/// Hand-built snapshots: the engine is written elsewhere, and these keep every output test exact.
enum Fixtures {
    static let t0 = Timestamp(millis: Int64(1_795_428_000_000))  // 2026-11-23T10:00:00.000Z

    static func at(_ ms: Double) -> Timestamp { t0.adding(ms: ms) }

    /// An edge → serverless (cold) → server trace.
    static func coldTrace() -> TraceSummary {
        var t = TraceSummary(id: "4bf92f3577b34da6a3ce929d0e0e4736", start: at(1_120))
        t.aliases = ["req-7f3a"]
        t.durationMS = 182.4
        t.rootService = "edge-api"
        t.rootRoute = "/api/feed"
        t.rootMethod = "GET"
        t.status = 200
        var edge = Hop(service: "edge-api", offsetMS: 0, durationMS: 182.4)
        edge.deploy = .edge
        edge.instance = "iso-1"
        edge.spanID = "a3ce929d0e0e4736"
        edge.status = 200
        edge.onCriticalPath = true
        var feed = Hop(service: "feed-api", offsetMS: 3.25, durationMS: 170.125)
        feed.deploy = .serverless
        feed.instance = "2026/11/23/[$LATEST]9f1c"
        feed.spanID = "00f067aa0ba902b7"
        feed.parentSpanID = "a3ce929d0e0e4736"
        feed.parent = 0
        feed.status = 200
        feed.coldStartMS = 120
        feed.dbWaitMS = 12.5
        feed.onCriticalPath = true
        var chat = Hop(service: "chat", offsetMS: 150, durationMS: 8.0004)
        chat.deploy = .server
        chat.instance = "chat-7d9f"
        chat.parent = 1
        t.hops = [edge, feed, chat]
        t.coldStart = true
        t.coldStartInitMS = 120
        t.dbWaitMS = 12.5
        t.flags = [.cold, .dbWait]
        t.complete = true
        t.eventCount = 7
        return t
    }

    /// A failed request whose route and message carry text that must be escaped everywhere.
    static func errorTrace() -> TraceSummary {
        var t = TraceSummary(id: "req-\"x\"|1,2", start: at(2_500))
        t.durationMS = 5_012.0
        t.rootService = "feed-api"
        t.rootRoute = "POST /api/post|\"new\""
        t.rootMethod = "POST"
        t.status = 503
        var h = Hop(service: "feed-api", offsetMS: 0, durationMS: 5_012)
        h.deploy = .serverless
        h.instance = "i-2"
        h.status = 503
        h.onCriticalPath = true
        t.hops = [h]
        t.dbWaitMS = 0
        t.flags = [.error, .dbRefused]
        t.complete = true
        return t
    }

    /// An open trace with almost nothing known.
    static func bareTrace() -> TraceSummary {
        var t = TraceSummary(id: "corr-9", start: at(900))
        t.durationMS = 0.4
        t.flags = [.incomplete]
        return t
    }

    static func snapshot() -> Snapshot {
        var s = Snapshot(now: at(10_000))
        s.firstEventAt = at(0)
        s.lastEventAt = at(9_876.5)
        s.input.lines = 12_345
        s.input.events = 12_000
        s.input.malformed = 3
        s.input.dropped = 1
        s.input.malformedByReason = ["truncated": 1, "not_json": 2]
        s.input.sources = [
            SourceStats(id: SourceID(0), name: "logs/app.ndjson", health: .finished, lines: 12_000, events: 11_800,
                        malformed: 3, formats: ["skein": 11_700, "aws-lambda-text": 100]),
            SourceStats(id: SourceID(1), name: "-", health: .finished, lines: 345, events: 200, malformed: 0, formats: [:]),
        ]
        s.traces.count = 4
        s.traces.complete = 3
        s.traces.errors = 1
        s.traces.open = 1
        // Newest first, as the engine keeps them.
        s.recentTraces = [errorTrace(), coldTrace(), bareTrace()]

        var edge = InstanceInfo(service: "edge-api", instance: "iso-1", state: .idle, firstSeen: at(1_000))
        edge.deploy = .edge
        edge.platform = "cloudflare-workers"
        edge.runtime = "workerd"
        edge.lastSeen = at(1_300)
        edge.invocations = 1
        var feed = InstanceInfo(service: "feed-api", instance: "2026/11/23/[$LATEST]9f1c", state: .busy, firstSeen: at(1_003))
        feed.deploy = .serverless
        feed.platform = "aws-lambda"
        feed.runtime = "nodejs20"
        feed.region = "us-east-1"
        feed.lastSeen = at(9_000)
        feed.invocations = 42
        feed.coldStart = ColdStart(at: at(1_003), service: "feed-api", instance: "2026/11/23/[$LATEST]9f1c",
                                   runtime: "nodejs20", deploy: .serverless, initMS: 120, inferred: false,
                                   traceID: "4bf92f3577b34da6a3ce929d0e0e4736")
        feed.dbOpen = 2
        feed.dbPeak = 5
        feed.dbErrors = 1
        var py = InstanceInfo(service: "report", instance: "py-1", state: .gone, firstSeen: at(2_000))
        py.deploy = .serverless
        py.runtime = "python3.12"
        py.lastSeen = at(2_400)
        py.invocations = 1
        py.coldStart = ColdStart(at: at(2_000), service: "report", instance: "py-1", runtime: "python3.12",
                                 deploy: .serverless, initMS: nil, inferred: true, traceID: nil)
        var chat = InstanceInfo(service: "chat", instance: "chat-7d9f", state: .idle, firstSeen: at(0))
        chat.deploy = .server
        chat.platform = "k8s"
        chat.runtime = "go"
        chat.lastSeen = at(9_876.5)
        chat.invocations = 300
        chat.dbOpen = 10
        chat.dbPeak = 10
        let unknown = InstanceInfo(service: "mystery", instance: "m-1", state: .idle, firstSeen: at(5_000))
        s.instances = [feed, chat, edge, py, unknown]

        s.coldStarts.count = 2
        s.coldStarts.inferred = 1
        s.coldStarts.byRuntime = [Tally("nodejs20", 1), Tally("python3.12", 1)]
        s.coldStarts.byService = [Tally("feed-api", 1), Tally("report", 1)]
        s.coldStarts.initMS = Percentiles(count: 1, p50: 120, p95: 120, p99: 120, max: 120)
        s.coldStarts.coldLatencyMS = Percentiles(count: 2, p50: 182.4, p95: 401.25, p99: 401.25, max: 401.25)
        s.coldStarts.warmLatencyMS = Percentiles(count: 40, p50: 35, p95: 96.5, p99: 110, max: 130)
        s.coldStarts.recent = [feed.coldStart!]

        s.db.open = 12
        s.db.serverTruth = true
        s.db.appReportedOpen = 12
        s.db.peakOpen = 97
        s.db.peakAt = at(4_200)
        s.db.maxConnections = 100
        s.db.maxSource = .sampler
        s.db.reservedConnections = 3
        var pooler = PoolerStats()
        pooler.pools = [PoolStats(pooler: "pgb:6432", database: "shop", user: "app", clientsActive: 20, clientsWaiting: 4,
                                  serversActive: 20, maxWaitMS: 1_250, poolSize: 20, poolMode: "transaction")]
        pooler.pools[0].peakWaiting = 9
        pooler.pools[0].peakWaitMS = 2_500
        pooler.clientsActive = 20
        pooler.clientsWaiting = 4
        pooler.serversActive = 20
        pooler.maxWaitMS = 1_250
        pooler.peakWaiting = 9
        pooler.peakWaitingAt = at(4_100)
        pooler.peakWaitMS = 2_500
        pooler.maxClientConn = 1_000
        pooler.usedClients = 24
        pooler.defaultPoolSize = 20
        pooler.sampledAt = at(4_200)
        s.db.pooler = pooler
        s.db.errors = 4
        s.db.errorsByKind = [Tally("too_many_clients", 3), Tally("pool_timeout", 1)]
        s.db.firstExhaustionAt = at(4_150)
        s.db.poolWaits = 17
        s.db.poolWait = Percentiles(count: 17, p50: 3, p95: 80.5, p99: 120, max: 250)
        s.db.byService = [Tally("feed-api", 60), Tally("chat", 10)]
        s.db.byApplication = [Tally("prisma|feed", 60)]

        s.routes = [
            RouteStats(route: "GET /api/feed", service: "edge-api", count: 40, errors: 0,
                       latencyMS: Percentiles(count: 40, p50: 35, p95: 96.5, p99: 182.4, max: 182.4)),
            RouteStats(route: "POST /api/post|\"new\"", service: nil, count: 1, errors: 1,
                       latencyMS: Percentiles(count: 1, p50: 5_012, p95: 5_012, p99: 5_012, max: 5_012)),
        ]

        s.insights = [
            Insight(kind: .connectionExhaustion, severity: .critical, firstAt: at(4_150), lastAt: at(4_300), count: 3,
                    message: "Postgres refused connections: 97 of 100 open, mostly from feed-api (serverless)\u{1B}[31m!",
                    evidence: [
                        Evidence(at: at(4_150), service: "feed-api", instance: "i-2", traceID: "req-\"x\"|1,2",
                                 detail: "FATAL: sorry, too many clients already"),
                        Evidence(at: at(4_200), detail: "db.sample open=97 max=100"),
                    ]),
            Insight(kind: .coldStartCascade, severity: .warning, firstAt: at(1_003), lastAt: at(2_000), count: 2,
                    message: "2 cold starts in 1 s — café ☕ tab\there", evidence: []),
        ]
        s.evicted.traces = 5
        s.evicted.instances = 0
        s.evicted.lines = 120
        return s
    }
}

/// Compares `actual` with `Golden/<name>`; `SKEIN_RECORD_GOLDEN=1` rewrites the file and fails,
/// so a re-record can never pass silently.
func assertGolden(_ actual: String, named name: String, file: StaticString = #filePath, line: UInt = #line) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    let url = dir.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["SKEIN_RECORD_GOLDEN"] == "1" {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            try Data(actual.utf8).write(to: url)
            XCTFail("recorded \(name); run again without SKEIN_RECORD_GOLDEN to check it", file: file, line: line)
        } catch {
            XCTFail("cannot record \(name): \(error)", file: file, line: line)
        }
        return
    }
    guard let data = try? Data(contentsOf: url) else {
        XCTFail("missing golden \(name); run with SKEIN_RECORD_GOLDEN=1 to create it", file: file, line: line)
        return
    }
    let expected = String(decoding: data, as: UTF8.self)
    if expected != actual {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var where_ = "lengths differ (\(e.count) vs \(a.count) lines)"
        for i in 0..<min(e.count, a.count) where e[i] != a[i] {
            where_ = "line \(i + 1):\n  expected: \(e[i])\n  actual:   \(a[i])"
            break
        }
        XCTFail("\(name) differs from golden at \(where_)", file: file, line: line)
    }
}

/// Parses JSON with Foundation (tests only: the product never does).
func parseJSON(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> Any? {
    do {
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    } catch {
        XCTFail("invalid JSON: \(error)\n\(String(decoding: bytes, as: UTF8.self).prefix(2000))", file: file, line: line)
        return nil
    }
}
