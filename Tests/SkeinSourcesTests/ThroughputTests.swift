import Foundation
import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
@testable import SkeinSources

/// Large-file timings, run on demand: `SKEIN_BENCH_MB=1024 swift test -c release --filter ThroughputTests`.
final class ThroughputTests: XCTestCase {
    private func megabytes() throws -> Int {
        guard let v = ProcessInfo.processInfo.environment["SKEIN_BENCH_MB"], let mb = Int(v), mb > 0 else {
            throw XCTSkip("set SKEIN_BENCH_MB to run")
        }
        return mb
    }

    /// Counts frames only: what the framer and the read loop cost without a real decoder.
    final class CountingSink: IngestSink {
        var lines = 0
        var events = 0
        func addSource(name: String) -> SourceID { SourceID(0) }
        func setHealth(_ health: SourceHealth, for source: SourceID) {}
        func countLine(source: SourceID) { lines += 1 }
        func countMalformed(source: SourceID, reason: String) {}
        func countFormat(source: SourceID, format: String) {}
        func countDropped(_ n: Int) {}
        func ingest(_ event: Event) { events += 1 }
    }

    struct NullDecoder: FrameDecoder {
        var name: String { "null" }
        mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
            .absorbed
        }
    }

    private func makeFile(_ dir: TempDir, megabytes: Int) throws -> (path: String, lines: Int) {
        let path = dir.file("big.log")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var block = ""
        var lines = 0
        var ms: Int64 = 1_700_000_000_000
        for _ in 0..<(megabytes * 4) {
            block.removeAll(keepingCapacity: true)
            while block.utf8.count < 256 << 10 {
                block += "\(ms) request.end service=feed-api route=GET /api/feed status=200 duration_ms=182.4 instance=9f1c region=us-east-1\n"
                ms += 3
                lines += 1
            }
            try handle.write(contentsOf: Data(block.utf8))
        }
        return (path, lines)
    }

    func testFramingReadThroughputAndSeekTime() throws {
        let mb = try megabytes()
        let dir = try TempDir()
        let (path, lines) = try makeFile(dir, megabytes: mb)

        let sink = CountingSink()
        let reader = BatchReader(decoder: DecoderFactory(make: { NullDecoder() }, lastFormat: { _ in nil }))
        var t0 = ContinuousClock.now
        reader.read(path: path, into: sink)
        let readTime = ContinuousClock.now - t0
        XCTAssertEqual(sink.lines, lines)

        t0 = ContinuousClock.now
        let replay = ReplayReader(paths: [path], decoder: MillisDecoder.factory, sink: sink)
        let indexTime = ContinuousClock.now - t0
        let end = try XCTUnwrap(replay.end)
        let start = try XCTUnwrap(replay.start)

        t0 = ContinuousClock.now
        replay.seek(to: Timestamp(nanos: (start.nanos + end.nanos) / 2))
        var warm = 0
        while warm < 1000, replay.next(upTo: end) != nil { warm += 1 }
        let seekTime = ContinuousClock.now - t0
        print("\(mb) MB, \(lines) lines: read+frame \(readTime) (\(Double(mb) / 1024 / seconds(readTime)) GB/s), "
              + "index \(indexTime) (\(replay.indexes[0].checkpoints.count) checkpoints), seek+1000 events \(seekTime)")
        XCTAssertLessThan(seconds(seekTime), 1.0)
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
