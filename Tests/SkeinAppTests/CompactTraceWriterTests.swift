import Foundation
import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinOutputs
@testable import SkeinApp

/// `CompactTraceWriter` must write exactly what the general writer writes for a trace summary in a
/// compact export; the pretty export still goes through the general writer.
final class CompactTraceWriterTests: XCTestCase {
    private static let sampleLogs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("sample-logs")

    private func general(_ t: TraceSummary) -> String {
        var w = JSONWriter()
        w.beginObject()
        JSONExporter.writeTraceFields(t, into: &w)
        w.endObject()
        return w.text
    }

    private func compact(_ t: TraceSummary, _ writer: inout CompactTraceWriter) -> String {
        var b = ByteBuffer(capacity: 256)
        var copy = t
        withUnsafePointer(to: &copy) { writer.write($0, to: &b) }
        return b.text
    }

    func testEverySampleLogTraceIsWrittenAsTheGeneralWriterWritesIt() throws {
        var inputs = try FileManager.default.contentsOfDirectory(atPath: Self.sampleLogs.path)
            .filter { $0.hasSuffix(".ndjson") }.sorted().map { Self.sampleLogs.appendingPathComponent($0).path }
        inputs.append(Self.sampleLogs.appendingPathComponent("mixed").path)
        var checked = 0
        for input in inputs {
            let snapshot = try ExportJob(inputs: [input]).analyse()
            XCTAssertFalse(snapshot.recentTraces.isEmpty, input)
            var writer = CompactTraceWriter()
            for t in snapshot.recentTraces {
                XCTAssertEqual(compact(t, &writer), general(t), "\(input): \(t.id)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 1000)
    }

    /// Every value form: escapes in ids and names, missing values, non-finite numbers, span ids
    /// kept as text, every flag, several aliases, a trace without hops.
    func testAwkwardValuesAreWrittenAsTheGeneralWriterWritesThem() {
        var t = TraceSummary(id: "req-\"q\"\\\n\u{1}\u{7f}é", start: Timestamp(nanos: 1_795_428_000_123_456_789))
        t.aliases = ["a\tb", "", "4bf92f3577b34da6a3ce929d0e0e4736"]
        t.durationMS = .nan
        t.rootService = "svc \"x\""
        t.rootRoute = nil
        t.rootMethod = "GET"
        t.status = nil
        t.coldStart = true
        t.coldStartInitMS = .infinity
        t.dbWaitMS = 12.3456
        t.flags = [.cold, .dbWait, .error, .afterResponse, .timeout, .cpuLimit, .dbRefused, .incomplete]
        t.complete = false
        var h1 = Hop(service: "edge \u{2}api", offsetMS: 0, durationMS: 1.0005)
        h1.deploy = .edge
        h1.instance = "FRA\"1"
        h1.spanID = "not-hex!"
        h1.status = 200
        h1.onCriticalPath = true
        var h2 = Hop(service: "db", offsetMS: -3.25, durationMS: -.infinity)
        h2.spanID = "00f067aa0ba902b7"
        h2.parent = 0
        var h3 = Hop(service: "worker", offsetMS: 1e12, durationMS: 0)
        h3.deploy = .server
        h3.instance = nil
        t.hops = [h1, h2, h3]
        var writer = CompactTraceWriter()
        XCTAssertEqual(compact(t, &writer), general(t))
        // The symbol text is remembered per writer: a second trace with the same names reads it back.
        XCTAssertEqual(compact(t, &writer), general(t))

        // Past the fixed shape (9e12 ms and more: the shortest form), before 1970, and a start in
        // another minute than the last one written (the writer keeps the last minute's text).
        var far = t
        far.start = Timestamp(nanos: -1)
        far.durationMS = 12_345_678_901_234.5
        far.dbWaitMS = -9.1e15
        XCTAssertEqual(compact(far, &writer), general(far))
        far.start = Timestamp(nanos: 1_795_428_061_999_999_999)
        XCTAssertEqual(compact(far, &writer), general(far))
        // Every byte escaped in its longest form (six bytes each), everywhere a string goes: the
        // summary is written into room reserved for its worst case.
        let controls = String(repeating: "\u{1}", count: 300)
        var worst = TraceSummary(id: controls, start: .zero)
        worst.aliases = Array(repeating: controls, count: 5)
        worst.rootService = controls; worst.rootRoute = controls; worst.rootMethod = controls
        var wh = Hop(service: controls + "svc", offsetMS: -.greatestFiniteMagnitude, durationMS: .greatestFiniteMagnitude)
        wh.instance = controls + "inst"
        wh.spanID = controls
        wh.status = Int.min
        wh.parent = Int.min
        worst.hops = Array(repeating: wh, count: 4)
        worst.status = Int.min
        worst.coldStartInitMS = -.greatestFiniteMagnitude
        worst.flags = [.cold, .dbWait, .error, .afterResponse, .timeout, .cpuLimit, .dbRefused, .incomplete]
        XCTAssertEqual(compact(worst, &writer), general(worst))

        var bare = TraceSummary(id: "", start: .zero)
        bare.complete = true
        XCTAssertEqual(compact(bare, &writer), general(bare))
        XCTAssertEqual(compact(bare, &writer), #"{"id":"","aliases":[],"start":"1970-01-01T00:00:00.000Z","duration_ms":0,"root":{"service":null,"route":null,"method":null},"status":null,"hops":[],"cold_start":{"hit":false,"init_ms":null},"db_wait_ms":0,"flags":[],"complete":true}"#)
    }
}
