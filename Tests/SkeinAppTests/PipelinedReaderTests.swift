import XCTest
import SkeinCore
import SkeinEngine
import SkeinSources
@testable import SkeinApp

/// The export's two-thread hand-over: whatever mix of single events, moved chunks, sources and
/// counts the reader sends, the engine must end as if it had been given them directly, in order.
final class PipelinedReaderTests: XCTestCase {
    private static func event(_ n: Int, source: SourceID) -> Event {
        let trace = String(repeating: "0", count: 28) + String(format: "%04x", n / 3)
        let kinds: [EventKind] = [.requestStart, .log, .requestEnd]
        return Event(time: Timestamp(millis: 1_795_428_000_000 + Int64(n) * 7), kind: kinds[n % 3], source: source,
                     service: "api-\(n % 4)", instance: "api-\(n % 4)-instance-\(n % 5)", deploy: .server,
                     traceID: trace, correlationID: "corr-\(n / 3)-with-a-long-suffix",
                     route: "GET /api/items/:id", status: n % 3 == 2 ? 200 : nil,
                     durationMS: n % 3 == 2 ? Double(n % 17) : nil, message: "line \(n) of the test stream")
    }

    /// Replays one scripted sequence of sink calls against `sink`.
    private static func script(_ sink: any IngestSink) {
        let a = sink.addSource(name: "a.ndjson")
        var n = 0
        for round in 0..<40 {
            // Chunks of every size around the batch threshold, single events between them.
            var chunk: [Event] = []
            for _ in 0..<(round * 37 % 600) { chunk.append(event(n, source: a)); n += 1 }
            sink.countLines(source: a, count: chunk.count)
            sink.countFormat(source: a, format: "skein", count: chunk.count)
            sink.ingest(moving: &chunk)
            XCTAssertTrue(chunk.isEmpty)
            for _ in 0..<(round % 5) {
                sink.countLine(source: a)
                sink.ingest(event(n, source: a)); n += 1
            }
            if round % 9 == 4 { sink.countMalformed(source: a, reason: "truncated") }
            if round == 20 {
                let b = sink.addSource(name: "b.ndjson")
                sink.ingest(event(n, source: b)); n += 1
                sink.setHealth(.finished, for: b)
            }
        }
        sink.setHealth(.finished, for: a)
    }

    func testPipelinedEngineEqualsDirectEngine() {
        let direct = Engine()
        Self.script(direct)
        direct.finish()
        // Applied events destroyed on either thread: a reused array must come back empty either way.
        for batchEvents in [1, 100, 4096] {
            for onProducer in [false, true] {
                let piped = Engine()
                PipelinedReader.run(into: piped, depth: 2, batchEvents: batchEvents, destroysOnProducer: onProducer) { sink in
                    Self.script(sink)
                }
                piped.finish()
                XCTAssertEqual(piped.snapshot(), direct.snapshot(), "batchEvents \(batchEvents), destroyed on the producer: \(onProducer)")
            }
        }
        XCTAssertGreaterThan(direct.snapshot().input.events, 5_000)
    }
}
