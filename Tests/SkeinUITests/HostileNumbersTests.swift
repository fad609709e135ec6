import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinUI

/// Counts and durations no platform sends but a log, a recording or an OTLP metric can hold, from
/// the engine's ledgers to the dashboard's text. Found by `scripts/fuzz.sh ... otlp`: a pool metric
/// with `as_int` near 2^63 made the connection insight's percentage trap (`Int(Double)` past
/// `Int.max`); sums of such counts could overflow too.
final class HostileNumbersTests: XCTestCase {
    private let t0 = Timestamp(millis: Int64(1_795_428_000_000))

    private func event(_ ms: Double, _ kind: EventKind, instance: String, dbOpen: Int? = nil, dbMax: Int? = nil,
                       initMS: Double? = nil, duration: Double? = nil, attributes: [Attribute] = []) -> Event {
        Event(time: t0.adding(ms: ms), kind: kind, level: .info, source: SourceID(0), service: "fn", instance: instance,
              deploy: .serverless, platform: nil, runtime: "nodejs20", region: nil, traceID: nil,
              correlationID: "req-\(instance)", requestID: nil, spanID: nil, parentSpanID: nil, route: "/x", method: nil,
              status: 200, durationMS: duration, cpuMS: nil, initMS: initMS, coldStart: initMS != nil, dbPool: nil,
              dbOpen: dbOpen, dbMax: dbMax, waitMS: nil, dbError: nil, message: nil, attributes: attributes)
    }

    func testHugeConnectionCountsAreHeldAndShown() {
        let engine = Engine(config: EngineConfig())
        engine.ingest(event(0, .dbConnect, instance: "a", dbOpen: .max, dbMax: 10))
        engine.ingest(event(1, .dbConnect, instance: "b", dbOpen: .max - 1))
        engine.ingest(event(2, .dbConnect, instance: "c", dbOpen: .min))
        engine.ingest(event(3, .dbSample, instance: "pg", dbOpen: .max, dbMax: .max,
                            attributes: [Attribute("application_name.app", "9223372036854775807"),
                                         Attribute("application_name.app2", "9223372036854775807")]))
        engine.ingest(event(4, .requestEnd, instance: "a", initMS: 1e300, duration: -1e300))
        engine.advance(to: t0.adding(ms: 60_000))
        let s = engine.snapshot()
        XCTAssertEqual(s.db.open, 1 << 30, "the server's count (the sample), held")
        let insight = s.insights.first { $0.kind == .connectionExhaustion }
        XCTAssertNotNil(insight)
        XCTAssertTrue(insight?.message.contains("%") ?? false, insight?.message ?? "")
        for (w, h) in [(120, 40), (80, 24), (40, 10)] {
            let text = DashboardView.renderText(snapshot: s, width: w, height: h)
            XCTAssertFalse(text.isEmpty)
        }
    }

    func testFormatHoldsAnyDouble() {
        XCTAssertEqual(Format.ms(1e300), "2.7777777777777778e+293h")
        XCTAssertEqual(Format.ms(-1e300), "-2.7777777777777778e+293h")
        XCTAssertEqual(Format.ms(90_000), "1m30s")
        XCTAssertEqual(Format.percent(1e300), "1e+302%")
        XCTAssertEqual(Format.percent(0.925), "93%")
        XCTAssertEqual(Format.percent(.nan), "-")
        XCTAssertEqual(Format.rate(-1e300), "-1e+300/s")
        XCTAssertEqual(Format.rate(12.4), "12/s")
        XCTAssertEqual(Format.count(.min), "-9223372036855M")
        XCTAssertEqual(Format.age(ms: 1e300), "11574074d")
        XCTAssertEqual(Format.fixed(1e15, 1), "1000000000000000.0")
        XCTAssertEqual(Format.fixed(-2.25, 1), "-2.3")
    }
}
