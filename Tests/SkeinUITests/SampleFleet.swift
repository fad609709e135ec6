import SkeinCore
import SkeinEngine
@testable import SkeinUI

/// A hand-built snapshot of a hybrid fleet in trouble: an edge API, serverless functions cold
/// starting in a burst, a long-running chat server, and Postgres at 92 % with too-many-clients errors.
enum SampleFleet {
    static let t0 = Timestamp(seconds: Double(Timestamp.days(year: 2026, month: 11, day: 23)) * 86_400 + 36_000)
    static func at(_ s: Double) -> Timestamp { t0.adding(ms: s * 1000) }

    static func snapshot() -> Snapshot {
        var s = Snapshot(now: at(120))
        s.firstEventAt = at(0)
        s.lastEventAt = at(119.8)
        s.input.lines = 48_210
        s.input.events = 48_190
        s.input.malformed = 20
        s.input.dropped = 0
        s.input.sources = [
            SourceStats(id: SourceID(0), name: "edge.log", health: .reading, lines: 20_000, events: 20_000),
            SourceStats(id: SourceID(1), name: "lambda.log", health: .waiting, lines: 18_000, events: 17_990, malformed: 10),
            SourceStats(id: SourceID(2), name: "pg-sampler", health: .reconnecting(attempt: 2, reason: "refused")),
        ]
        s.traces.count = 1_204
        s.traces.complete = 1_190
        s.traces.errors = 37
        s.traces.open = 14
        s.evicted.lines = 310
        s.eventRate = [120, 180, 240, 410, 800, 950, 1_020, 640, 420, 400]

        s.instances = [
            instance("edge-api", "iso-7f3a", .edge, "cloudflare-workers", "workerd", .busy, first: 2, last: 119.9, inv: 4_210, db: 0),
            instance("edge-api", "iso-19c2", .edge, "cloudflare-workers", "workerd", .idle, first: 30, last: 118, inv: 1_877, db: 0),
            instance("feed-api", "2026/11/23/[$LATEST]9f1c", .serverless, "aws-lambda", "nodejs20", .cold, first: 119.5, last: 119.6,
                     inv: 0, db: 1, cold: 612),
            instance("feed-api", "2026/11/23/[$LATEST]a2b4", .serverless, "aws-lambda", "nodejs20", .busy, first: 95, last: 119.7,
                     inv: 143, db: 2, cold: 488, dbErrors: 3),
            instance("thumbs", "2026/11/23/[$LATEST]77e0", .serverless, "aws-lambda", "python3.12", .idle, first: 60, last: 100,
                     inv: 12, db: 0, cold: 1_240),
            instance("chat", "chat-5d9c8-xk2p", .server, "k8s", "go", .busy, first: 0, last: 119.95, inv: 9_881, db: 20),
            instance("chat", "chat-5d9c8-q8wz", .server, "k8s", "go", .gone, first: 0, last: 40, inv: 2_030, db: 0),
        ]

        var c = ColdStartStats()
        c.count = 42
        c.inferred = 5
        c.byRuntime = [Tally("nodejs20", 30), Tally("python3.12", 8), Tally("java21", 4)]
        c.byService = [Tally("feed-api", 30), Tally("thumbs", 8), Tally("report", 4)]
        c.initMS = Percentiles(count: 42, p50: 480, p95: 1_180, p99: 1_400, max: 1_520)
        c.coldLatencyMS = Percentiles(count: 42, p50: 700, p95: 1_612, p99: 1_900, max: 2_100)
        c.warmLatencyMS = Percentiles(count: 1_100, p50: 90, p95: 232, p99: 400, max: 900)
        c.series = Series(bucketMS: 1000, values: [0, 0, 1, 0, 0, 2, 5, 9, 7, 3, 1, 0])
        c.recent = [
            ColdStart(at: at(119.5), service: "feed-api", instance: "2026/11/23/[$LATEST]9f1c", runtime: "nodejs20",
                      deploy: .serverless, initMS: 612, inferred: false, traceID: "4bf92f3577b34da6a3ce929d0e0e4736"),
            ColdStart(at: at(95), service: "feed-api", instance: "2026/11/23/[$LATEST]a2b4", runtime: "nodejs20",
                      deploy: .serverless, initMS: 488, inferred: false, traceID: nil),
            ColdStart(at: at(60), service: "thumbs", instance: "2026/11/23/[$LATEST]77e0", runtime: "python3.12",
                      deploy: .serverless, initMS: nil, inferred: true, traceID: nil),
        ]
        s.coldStarts = c

        var d = DBStats()
        d.open = 92
        d.serverTruth = true
        d.appReportedOpen = 88
        d.peakOpen = 97
        d.peakAt = at(112)
        d.maxConnections = 100
        d.maxSource = .sampler
        d.errors = 14
        d.errorsByKind = [Tally("too_many_clients", 12), Tally("pool_timeout", 2)]
        d.firstExhaustionAt = at(111.25)
        d.poolWaits = 31
        d.poolWait = Percentiles(count: 31, p50: 40, p95: 180, p99: 300, max: 320)
        d.series = Series(bucketMS: 1000, values: [20, 22, 25, 31, 48, 66, 80, 91, 97, 92])
        d.byService = [Tally("feed-api", 64), Tally("chat", 20), Tally("thumbs", 4)]
        d.byInstance = [
            InstanceConnections(service: "chat", instance: "chat-5d9c8-xk2p", deploy: .server, open: 20),
            InstanceConnections(service: "feed-api", instance: "2026/11/23/[$LATEST]a2b4", deploy: .serverless, open: 2),
            InstanceConnections(service: "feed-api", instance: "2026/11/23/[$LATEST]9f1c", deploy: .serverless, open: 1),
        ]
        d.byApplication = [Tally("feed-api", 60), Tally("chat", 20), Tally("psql", 1)]
        s.db = d

        s.recentTraces = [
            trace("4bf92f3577b34da6a3ce929d0e0e4736", at: 119.4, dur: 1_612, route: "GET /api/feed", status: 200,
                  hops: [("edge-api", .edge), ("feed-api", .serverless), ("chat", .server)], flags: [.cold, .dbWait]),
            trace("0af7651916cd43dd8448eb211c80319c", at: 118.9, dur: 5_020, route: "/api/feed", status: 503,
                  hops: [("edge-api", .edge), ("feed-api", .serverless)], flags: [.error, .dbRefused]),
            trace("b7ad6b7169203331a8f1c2d4e5f60718", at: 118.2, dur: 88, route: "GET /api/chat", status: 200,
                  hops: [("edge-api", .edge), ("chat", .server)], flags: []),
            trace("req-55ab01", at: 117.0, dur: 240, route: "/api/thumb", status: 200,
                  hops: [("thumbs", .serverless)], flags: [.afterResponse]),
            trace("9c1e0d2f3a4b5c6d7e8f901a2b3c4d5e", at: 116.1, dur: 30_000, route: "/api/report", status: nil,
                  hops: [("edge-api", .edge), ("report", .serverless)], flags: [.timeout, .incomplete, .error]),
        ]

        s.insights = [
            Insight(kind: .connectionExhaustion, severity: .critical, firstAt: at(111.25), lastAt: at(119), count: 14,
                    message: "Postgres is at 92/100 connections; serverless instances each hold their own pool",
                    evidence: [Evidence(at: at(111.25), service: "feed-api", instance: "[$LATEST]a2b4",
                                        traceID: "0af7651916cd43dd8448eb211c80319c",
                                        detail: "FATAL: sorry, too many clients already")]),
            Insight(kind: .coldStartCascade, severity: .warning, firstAt: at(105), lastAt: at(119.5), count: 9,
                    message: "9 cold starts in 10 s on feed-api after a burst",
                    evidence: [Evidence(at: at(105), service: "feed-api", detail: "init 612ms, nodejs20")]),
            Insight(kind: .workAfterResponse, severity: .info, firstAt: at(117), lastAt: at(117), count: 1,
                    message: "thumbs kept working 180ms after responding",
                    evidence: [Evidence(at: at(117.2), service: "thumbs", traceID: "req-55ab01", detail: "bg.end 180ms after response.sent")]),
        ]
        return s
    }

    static func instance(_ service: String, _ id: String, _ deploy: DeployModel, _ platform: String, _ runtime: String,
                         _ state: InstanceState, first: Double, last: Double, inv: Int, db: Int, cold: Double? = nil,
                         dbErrors: Int = 0) -> InstanceInfo {
        var x = InstanceInfo(service: service, instance: id, state: state, firstSeen: at(first))
        x.deploy = deploy; x.platform = platform; x.runtime = runtime; x.region = "us-east-1"
        x.lastSeen = at(last); x.invocations = inv; x.dbOpen = db; x.dbPeak = db; x.dbErrors = dbErrors
        if let cold {
            x.coldStart = ColdStart(at: at(first), service: service, instance: id, runtime: runtime, deploy: deploy,
                                    initMS: cold, inferred: false, traceID: nil)
        }
        return x
    }

    /// A trace summary; `route` as logged, with or without the method (both shapes occur).
    static func trace(_ id: String, at start: Double, dur: Double, route: String, status: Int?,
                      hops: [(String, DeployModel)], flags: TraceFlags) -> TraceSummary {
        var t = TraceSummary(id: id, start: at(start))
        t.durationMS = dur
        t.rootRoute = route
        t.rootMethod = "GET"
        t.rootService = hops.first?.0
        t.status = status
        t.flags = flags
        t.complete = !flags.contains(.incomplete)
        t.coldStart = flags.contains(.cold)
        t.eventCount = hops.count * 3
        var offset = 0.0
        for (i, (service, deploy)) in hops.enumerated() {
            var h = Hop(service: service, offsetMS: offset, durationMS: max(1, dur - offset * 2))
            h.deploy = deploy
            h.parent = i == 0 ? nil : i - 1
            h.onCriticalPath = true
            h.status = status
            t.hops.append(h)
            offset += dur / 10
        }
        return t
    }

    /// The cold, DB-waiting trace in full: edge → λ feed-api (cold, waits for a connection) → chat.
    static func detail() -> TraceDetail {
        var t = snapshot().recentTraces[0]
        t.aliases = ["req-7f3a"]
        t.coldStartInitMS = 612
        t.dbWaitMS = 180
        var edge = Hop(service: "edge-api", offsetMS: 0, durationMS: 1_612)
        edge.deploy = .edge; edge.status = 200; edge.onCriticalPath = true; edge.instance = "iso-7f3a"
        var feed = Hop(service: "feed-api", offsetMS: 12, durationMS: 1_540)
        feed.deploy = .serverless; feed.parent = 0; feed.status = 200; feed.coldStartMS = 612; feed.dbWaitMS = 180
        feed.onCriticalPath = true; feed.responseAtMS = 1_380; feed.flags = [.cold, .dbWait, .afterResponse]
        var chat = Hop(service: "chat", offsetMS: 900, durationMS: 160)
        chat.deploy = .server; chat.parent = 1; chat.status = 200
        var chat2 = Hop(service: "chat", offsetMS: 1_100, durationMS: 240)
        chat2.deploy = .server; chat2.parent = 1; chat2.status = 200; chat2.onCriticalPath = true
        t.hops = [edge, feed, chat, chat2]
        func line(_ ms: Double, _ service: String, _ kind: EventKind, _ level: Level, _ msg: String) -> TraceLine {
            TraceLine(time: t.start.adding(ms: ms), offsetMS: ms, service: service, instance: nil, kind: kind, level: level,
                      message: msg, source: SourceID(0))
        }
        let lines = [
            line(0, "edge-api", .requestStart, .info, "GET /api/feed"),
            line(12, "feed-api", .instanceStart, .info, "INIT_START Runtime Version: nodejs:20.v13"),
            line(624, "feed-api", .requestStart, .info, "GET /api/feed"),
            line(630, "feed-api", .dbAcquire, .warn, "waiting for a pooled connection"),
            line(810, "feed-api", .dbConnect, .info, "connected (pool 2/10)"),
            line(900, "chat", .requestStart, .info, "GET /internal/presence"),
            line(1_060, "chat", .requestEnd, .info, "200 in 160ms"),
            line(1_100, "chat", .log, .error, "presence cache \u{1b}[31mmiss\u{1b}[0m\ttimeout"),
            line(1_340, "chat", .requestEnd, .info, "200 in 240ms"),
            line(1_392, "feed-api", .responseSent, .info, "200"),
            line(1_552, "feed-api", .bgEnd, .warn, "metrics flush finished after the response"),
            line(1_612, "edge-api", .requestEnd, .info, "200 in 1612ms"),
        ]
        return TraceDetail(summary: t, lines: lines, droppedLines: 2)
    }
}
