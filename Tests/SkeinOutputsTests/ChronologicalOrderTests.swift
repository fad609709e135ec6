import SkeinCore
import SkeinEngine
@testable import SkeinOutputs
import XCTest

/// `trace_summaries` are written by start, then id, then position. The order is built with a radix
/// sort on the starts and a comparison sort within runs of equal starts: it must match a plain sort
/// with the same three keys, whatever the spread of starts (one instant, negative, centuries).
final class ChronologicalOrderTests: XCTestCase {
    private func reference(_ traces: [TraceSummary]) -> [Int] {
        traces.indices.sorted { a, b in
            let x = traces[a], y = traces[b]
            if x.start != y.start { return x.start < y.start }
            if x.id != y.id { return x.id < y.id }
            return a < b
        }
    }

    func testMatchesAPlainSortOverManySpreads() {
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        let spreads: [Int64] = [0, 1, 3, 1_000, 70_000, 1 << 20, 1 << 33, 1 << 47, 1 << 50, Int64.max / 4]
        for spread in spreads {
            for count in [0, 1, 2, 17, 500] {
                var traces: [TraceSummary] = []
                for _ in 0..<count {
                    let offset = spread == 0 ? 0 : Int64(next() % UInt64(spread))
                    // A handful of ids, so equal starts often meet equal ids too.
                    let id = "t\(next() % 5)"
                    traces.append(TraceSummary(id: id, start: Timestamp(nanos: offset - spread / 2)))
                }
                XCTAssertEqual(JSONExporter.chronologicalOrder(traces), reference(traces), "spread \(spread), \(count) traces")
            }
        }
        // The widest span there is: both ends of Int64.
        let ends = [TraceSummary(id: "b", start: Timestamp(nanos: .max)), TraceSummary(id: "a", start: Timestamp(nanos: .min)),
                    TraceSummary(id: "c", start: Timestamp(nanos: 0)), TraceSummary(id: "a", start: Timestamp(nanos: .max))]
        XCTAssertEqual(JSONExporter.chronologicalOrder(ends), reference(ends))
    }
}
