import SkeinCore
@testable import SkeinEngine

/// 2026-11-23T10:00:00Z: every test's time zero.
let t0Millis: Int64 = 1_795_428_000_000

func at(_ ms: Double) -> Timestamp { Timestamp(millis: t0Millis).adding(ms: ms) }

/// Builds an event at `ms` after time zero; every field the tests need, nothing decoded.
func ev(_ ms: Double, _ kind: EventKind, _ service: String? = nil, _ instance: String? = nil,
        deploy: DeployModel? = nil, platform: String? = nil, runtime: String? = nil,
        trace: String? = nil, corr: String? = nil, req: String? = nil,
        span: String? = nil, parent: String? = nil,
        route: String? = nil, method: String? = nil, status: Int? = nil, duration: Double? = nil,
        cpu: Double? = nil, initMS: Double? = nil, coldStart: Bool? = nil,
        dbOpen: Int? = nil, dbMax: Int? = nil, wait: Double? = nil, dbError: DBErrorKind? = nil,
        level: Level = .info, message: String? = nil, attributes: [Attribute] = [],
        source: UInt32 = 0) -> Event {
    Event(time: at(ms), kind: kind, level: level, source: SourceID(source), service: service, instance: instance,
          deploy: deploy, platform: platform, runtime: runtime, region: nil,
          traceID: trace, correlationID: corr, requestID: req, spanID: span, parentSpanID: parent,
          route: route, method: method, status: status, durationMS: duration, cpuMS: cpu, initMS: initMS,
          coldStart: coldStart, dbPool: nil, dbOpen: dbOpen, dbMax: dbMax, waitMS: wait, dbError: dbError,
          message: message, attributes: attributes)
}

/// A 32-hex W3C trace id from a small number.
func tid(_ n: Int) -> String {
    let hex = String(n, radix: 16)
    return String(repeating: "0", count: 32 - hex.count) + hex
}

/// One healthy request: an edge hop calling a serverless function that queries the DB.
/// `skewMS` shifts the function's clock (its lines say it started earlier/later than it did).
func edgeToLambda(_ engine: Engine, n: Int, startMS: Double, lambdaInstance: String = "fn-1",
                  skewMS: Double = 0, childFirst: Bool = false, status: Int = 200) {
    let trace = tid(n)
    let corr = "req-\(n)"
    let edge = [
        ev(startMS, .requestStart, "edge-api", "iso-1", deploy: .edge, trace: trace, corr: corr,
           route: "GET /api/feed", method: "GET"),
        ev(startMS + 120, .requestEnd, "edge-api", "iso-1", deploy: .edge, trace: trace, corr: corr,
           route: "GET /api/feed", status: status, duration: 120, cpu: 3),
    ]
    let s = startMS + 20 + skewMS
    let lambda = [
        ev(s, .requestStart, "feed-fn", lambdaInstance, deploy: .serverless, runtime: "nodejs20", corr: corr,
           req: "aws-\(n)", route: "GET /feed"),
        ev(s + 10, .dbAcquire, "feed-fn", lambdaInstance, deploy: .serverless, req: "aws-\(n)", wait: 2),
        ev(s + 80, .requestEnd, "feed-fn", lambdaInstance, deploy: .serverless, req: "aws-\(n)", status: status,
           duration: 80),
    ]
    if childFirst {
        lambda.forEach(engine.ingest)
        edge.forEach(engine.ingest)
    } else {
        engine.ingest(edge[0])
        lambda.forEach(engine.ingest)
        engine.ingest(edge[1])
    }
}
