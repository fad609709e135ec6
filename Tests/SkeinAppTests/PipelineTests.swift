import Foundation
import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinOutputs
import SkeinSources
@testable import SkeinApp

/// The verbs wired end to end, in process: decoders → engine → outputs.
final class PipelineTests: XCTestCase {
    private func temp(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-app-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A request crossing edge → function, each hop logging its own ids, one line out of order.
    static let crossHop = """
    {"ts":"2026-11-23T10:00:00.000Z","service":"edge-api","instance":"FRA-1","deploy":"edge","x-request-id":"req-1","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","span_id":"00f067aa0ba902b7","event":"request.start","route":"GET /api/feed","method":"GET"}
    {"ts":"2026-11-23T10:00:00.040Z","service":"feed-api","instance":"2026/11/23/[$LATEST]9f1c","platform":"aws-lambda","runtime":"nodejs20","request_id":"c0ffee00-0000-4000-8000-000000000001","correlation_id":"req-1","event":"instance.start","init_ms":212.5}
    {"ts":"2026-11-23T10:00:00.300Z","service":"feed-api","instance":"2026/11/23/[$LATEST]9f1c","platform":"aws-lambda","request_id":"c0ffee00-0000-4000-8000-000000000001","event":"request.end","status":200,"duration_ms":250}
    {"ts":"2026-11-23T10:00:00.260Z","service":"feed-api","instance":"2026/11/23/[$LATEST]9f1c","platform":"aws-lambda","runtime":"nodejs20","request_id":"c0ffee00-0000-4000-8000-000000000001","correlation_id":"req-1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"a3ce929d0e0e4736","parent_span_id":"00f067aa0ba902b7","event":"request.start","route":"GET /feed"}
    {"ts":"2026-11-23T10:00:00.320Z","service":"edge-api","instance":"FRA-1","deploy":"edge","x-request-id":"req-1","event":"request.end","status":200,"duration_ms":320,"cpu_ms":4}
    not json at all {{{
    {"ts":"2026-11-23T10:00:01.000Z","service":"edge-api","instance":"FRA-1","deploy":"edge","x-request-id":"req-2","event":"request.start","route":"POST /api/cart"}
    {"ts":"2026-11-23T10:00:01.090Z","service":"edge-api","instance":"FRA-1","deploy":"edge","x-request-id":"req-2","event":"request.end","status":503,"duration_ms":90}

    """

    /// `--snapshot --at` far into a recording keeps the whole history: playing straight to a
    /// time gives the same picture as pumping there step by step (no warm-up window).
    func testPlayFarAheadKeepsTheWholeHistory() throws {
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sample-logs/burst.ndjson").path
        let played = try ReplayFeed(paths: [sample], decoderFormat: nil, config: EngineConfig(), speed: .max)
        guard case .replay(let p) = played.mode else { return XCTFail("not a replay") }
        let target = p.start.adding(ms: 150_000)
        played.play(to: target)

        let pumped = try ReplayFeed(paths: [sample], decoderFormat: nil, config: EngineConfig(), speed: .max)
        pumped.stepEvents = 500
        var steps = 0
        while pumped.position < target, steps < 100_000 {
            // Stop exactly at the target: deliver up to it, like `play`, by seeking the last stretch.
            if pumped.position.ms(since: target) > -2_000 { pumped.seek(to: target); break }
            _ = pumped.pump(budget: 0.001)
            steps += 1
        }
        let a = played.snapshot(), b = pumped.snapshot()
        XCTAssertGreaterThan(steps, 1)
        XCTAssertEqual(a.input.events, b.input.events)
        XCTAssertEqual(a.traces.count, b.traces.count)
        XCTAssertEqual(a.coldStarts.count, b.coldStarts.count)
        XCTAssertGreaterThan(a.traces.count, 0)
    }

    /// Under the dashboard nothing drains finished traces: snapshots discard them, so they
    /// don't pile up (a long demo grew by ~4 MB per simulated 15 minutes before).
    func testDashboardFeedDoesNotHoardFinishedTraces() throws {
        let path = try temp("drain.ndjson", Self.crossHop)
        let kept = try ReplayFeed(paths: [path], decoderFormat: nil, config: EngineConfig(), speed: .max)
        let dropped = try ReplayFeed(paths: [path], decoderFormat: nil, config: EngineConfig(), speed: .max)
        dropped.discardsDrains = true
        for feed in [kept, dropped] {
            guard case .replay(let p) = feed.mode, let end = p.end else { return XCTFail("not a replay") }
            feed.play(to: end)
            feed.finish()
            _ = feed.snapshot()
        }
        XCTAssertEqual(kept.engine.drainFinishedTraces().count, 2)
        XCTAssertEqual(dropped.engine.drainFinishedTraces().count, 0)
        XCTAssertEqual(dropped.snapshot().traces.count, 2)
    }

    func testReplaySnapshotShowsNoPauseNoFakeMemoryAndDoneSources() throws {
        let path = try temp("snap.ndjson", Self.crossHop)
        // At the end of the recording: every line delivered, so the source is done.
        let text = try SnapshotJob(inputs: [path], decoderFormat: nil, config: EngineConfig(), at: nil)
            .render(width: 120, height: 40)
        XCTAssertTrue(text.contains("REPLAY"), text)
        XCTAssertFalse(text.contains("PAUSED"), text)
        XCTAssertFalse(text.contains("mem "), text)
        XCTAssertTrue(text.contains("done"), text)
        XCTAssertFalse(text.contains("reading"), text)
    }

    func testExportStitchesHopsAcrossIdsAndCountsBadLines() throws {
        let path = try temp("mixed.ndjson", Self.crossHop)
        let snapshot = try ExportJob(inputs: [path]).analyse()
        XCTAssertEqual(snapshot.input.lines, 8)
        XCTAssertEqual(snapshot.input.malformed, 1)
        XCTAssertEqual(snapshot.traces.count, 2)
        XCTAssertEqual(snapshot.traces.errors, 1)
        let feed = try XCTUnwrap(snapshot.recentTraces.first { $0.rootRoute == "GET /api/feed" })
        XCTAssertEqual(feed.id, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertTrue(feed.aliases.contains("req-1"))
        XCTAssertTrue(feed.aliases.contains("c0ffee00-0000-4000-8000-000000000001"))
        XCTAssertEqual(Set(feed.hops.map(\.service)), ["edge-api", "feed-api"])
        XCTAssertTrue(feed.coldStart)
        XCTAssertEqual(feed.coldStartInitMS, 212.5)
        XCTAssertEqual(snapshot.coldStarts.count, 1)
        XCTAssertEqual(snapshot.instances.count, 2)
    }

    func testExportFormatsAllRender() throws {
        let path = try temp("two.ndjson", Self.crossHop)
        for format in ExportFormat.allCases {
            let sink = MemorySink()
            try ExportJob(inputs: [path], format: format).run(to: sink)
            XCTAssertFalse(sink.bytes.isEmpty, "\(format)")
        }
        let sink = MemorySink()
        try ExportJob(inputs: [path], format: .json).run(to: sink)
        let doc = try JSONSerialization.jsonObject(with: Data(sink.bytes)) as? [String: Any]
        XCTAssertEqual((doc?["traces"] as? [String: Any])?["count"] as? Int, 2)
    }

    /// `skein export` on a terminal: a bar of bytes read against the files' size, redrawn as batches
    /// are applied, erased before the report is written.
    func testExportShowsProgressAndErasesIt() throws {
        let lines = (0..<6000).map { i in
            #"{"ts":\#(1_795_428_000_000 + i),"service":"api","instance":"api-1","correlation_id":"req-\#(i / 3)","event":"log","msg":"line \#(i) of the progress test"}"#
        }
        let path = try temp("progress.ndjson", lines.joined(separator: "\n") + "\n")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
        for inputs in [[path], [path, try temp("second.ndjson", lines[0..<10].joined(separator: "\n") + "\n")]] {
            var frames: [String] = []
            var job = ExportJob(inputs: inputs, format: .json, progress: true)
            job.clock = SteppingClock(stepMS: 250)
            job.progressOutput = { frames.append($0) }
            let snapshot = try job.analyse()
            XCTAssertEqual(snapshot.input.lines, inputs.count == 1 ? 6000 : 6010)
            XCTAssertGreaterThan(frames.count, 2, "\(inputs.count) input(s)")
            XCTAssertTrue(frames.dropLast().allSatisfy { $0.hasPrefix("\rreading  [") && $0.hasSuffix("\u{1B}[K") }, "\(frames)")
            XCTAssertTrue(frames.dropLast().last?.contains("100%") ?? false, "\(frames)")
            if inputs.count == 1 {
                // Batches of a few hundred lines: the bar moves through the file. (Several files are
                // merged 65,536 events at a time, more than this whole input.)
                XCTAssertTrue(frames.dropLast().contains { $0.contains("%") && !$0.contains("100%") }, "\(frames)")
            }
            XCTAssertTrue(frames.contains { $0.contains(String(format: "%.1f MB", Double(size) / 1e6)) } || size < 100_000)
            XCTAssertEqual(frames.last, "\r\u{1B}[K", "erased at the end")
        }
        // Not asked for (stderr is not a terminal): nothing drawn.
        var quiet: [String] = []
        var job = ExportJob(inputs: [path], format: .json, progress: false)
        job.progressOutput = { quiet.append($0) }
        _ = try job.analyse()
        XCTAssertEqual(quiet, [])
    }

    func testSeveralFilesAreMergedInTimeOrder() throws {
        let lines = Self.crossHop.split(separator: "\n")
        // The function's lines in one file, the edge's in another: still two traces, one crossing files.
        let edge = lines.filter { $0.contains("edge-api") }.joined(separator: "\n") + "\n"
        let fn = lines.filter { $0.contains("feed-api") }.joined(separator: "\n") + "\n"
        let a = try temp("edge.ndjson", edge)
        let b = try temp("fn.ndjson", fn)
        let snapshot = try ExportJob(inputs: [b, a]).analyse()
        XCTAssertEqual(snapshot.traces.count, 2)
        XCTAssertEqual(snapshot.input.sources.count, 2)
        let feed = try XCTUnwrap(snapshot.recentTraces.first { $0.rootRoute == "GET /api/feed" })
        XCTAssertEqual(Set(feed.hops.map(\.service)), ["edge-api", "feed-api"])
    }

    func testRecordedEventsDecodeBackToTheSameEvents() throws {
        let original = Event(
            time: Timestamp(millis: Int64(1_795_428_000_123)), kind: .requestEnd, level: .error,
            service: "checkout", instance: "2026/11/23/[$LATEST]abc", deploy: .serverless, platform: "aws-lambda",
            runtime: "python3.12", region: "us-east-1", traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
            correlationID: "req-9", requestID: "c0ffee", spanID: "00f067aa0ba902b7", parentSpanID: "a3ce929d0e0e4736",
            route: "POST /api/checkout", method: "POST", status: 502, durationMS: 812.5, cpuMS: 3, initMS: 420,
            coldStart: true, dbPool: "main", dbOpen: 3, dbMax: 100, waitMS: 12.5, dbError: .tooManyClients,
            message: "sorry, too many clients already \"quoted\"\n\tnext", attributes: [Attribute("user.id", "42")])
        let sink = MemorySink()
        let recorder = Recorder(sink: sink)
        try recorder.record(original)
        try recorder.close()
        var decoder = AutoDecoder.standard()
        var out: [Event] = []
        for line in sink.text.split(separator: "\n") {
            var bytes = Array(line.utf8)
            _ = bytes.withUnsafeMutableBufferPointer { decoder.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &out) }
        }
        XCTAssertEqual(out.count, 1)
        var expected = original
        var got = try XCTUnwrap(out.first)
        XCTAssertEqual(got.attribute("user.id"), "42")
        got.attributes = []
        expected.attributes = []
        XCTAssertEqual(got, expected)
    }
}

/// A clock that moves on by a fixed step each time it is read.
private final class SteppingClock: Clock, @unchecked Sendable {
    private var t = Timestamp(nanos: 1_795_428_000_000_000_000)
    private let step: Int64
    init(stepMS: Int64) { step = stepMS * 1_000_000 }
    func now() -> Timestamp {
        t = Timestamp(nanos: t.nanos + step)
        return t
    }
}
