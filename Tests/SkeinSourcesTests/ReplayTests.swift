import Foundation
import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
@testable import SkeinSources

final class ReplayTests: XCTestCase {
    /// Lines `<ms> f<file>-<n> padding`, with every `junkEvery`-th line malformed.
    private func recording(_ times: [Int64], file: Int, junkEvery: Int = 0) -> String {
        var text = ""
        for (n, t) in times.enumerated() {
            if junkEvery > 0 && n % junkEvery == junkEvery - 1 { text += "junk line \(n)\n" }
            text += "\(t) f\(file)-\(n) \(String(repeating: "p", count: 20 + n % 37))\n"
        }
        return text
    }

    /// Every line's offset and time, the slow way.
    private func lineTimes(_ text: String) -> [(offset: Int64, time: Timestamp?)] {
        var out: [(Int64, Timestamp?)] = []
        var offset: Int64 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let t = line.split(separator: " ").first.flatMap { Int64($0) }.map { ms($0) }
            out.append((offset, t))
            offset += Int64(line.utf8.count + 1)
        }
        return out
    }

    private func options(window: Double = 5_000, warmup: Double = 120_000, spacing: Int = 1024) -> ReplayReader.Options {
        var o = ReplayReader.Options()
        o.windowMS = window
        o.warmupMS = warmup
        o.indexSpacing = spacing
        o.chunkSize = 4096
        return o
    }

    func testIndexCheckpointsSitOnLineStartsWithTheFirstEventTime() throws {
        let dir = try TempDir()
        let times = (0..<3000).map { Int64(1_000_000 + $0 * 100) }
        let text = recording(times, file: 0, junkEvery: 7)
        let p = try dir.write("a.log", text)
        let index = try ReplayIndex.build(path: p, decoder: MillisDecoder.factory, spacing: 2048)
        let lines = lineTimes(text)

        XCTAssertEqual(index.size, Int64(text.utf8.count))
        XCTAssertGreaterThan(index.checkpoints.count, text.utf8.count / 2048 - 2)
        XCTAssertEqual(index.checkpoints.first?.offset, 0)
        for cp in index.checkpoints {
            guard let i = lines.firstIndex(where: { $0.offset == cp.offset }) else {
                return XCTFail("checkpoint \(cp.offset) is not a line start")
            }
            XCTAssertEqual(cp.time, lines[i...].compactMap(\.time).first, "first event at/after \(cp.offset)")
        }
        XCTAssertEqual(zip(index.checkpoints, index.checkpoints.dropFirst()).filter { $0.offset >= $1.offset }.count, 0)
        XCTAssertEqual(index.start, ms(times.first!))
        XCTAssertEqual(index.end, ms(times.last!))

        XCTAssertEqual(index.offset(before: ms(0)), 0)
        let target = ms(1_000_000 + 1500 * 100)
        let offset = index.offset(before: target)
        let chosen = index.checkpoints.first { $0.offset == offset }!
        XCTAssertLessThanOrEqual(chosen.time, target)
        if let after = index.checkpoints.first(where: { $0.offset > offset }) { XCTAssertGreaterThan(after.time, target) }
    }

    func testIndexWithADecoderThatHoldsEvents() throws {
        let dir = try TempDir()
        let text = recording((0..<400).map { Int64(5000 + $0 * 10) }, file: 0)
        let p = try dir.write("a.log", text)
        let index = try ReplayIndex.build(path: p, decoder: DecoderFactory(make: { HoldingDecoder() }), spacing: 1024)
        XCTAssertGreaterThan(index.checkpoints.count, 10)
        XCTAssertEqual(index.start, ms(5000))
        XCTAssertEqual(index.end, ms(5000 + 399 * 10))
        // A held event is released by the next line, so a checkpoint may name a time just before its
        // offset: never later than the first event at or after it, which keeps seeking safe.
        let lines = lineTimes(text)
        for cp in index.checkpoints {
            let first = lines.first { $0.offset >= cp.offset }!.time!
            XCTAssertLessThanOrEqual(cp.time, first)
            XCTAssertGreaterThanOrEqual(cp.time, first.adding(ms: -10))
        }
    }

    func testIndexOfFileWithoutEvents() throws {
        let dir = try TempDir()
        let p = try dir.write("junk.log", "nothing\nhere\n")
        let index = try ReplayIndex.build(path: p, decoder: MillisDecoder.factory)
        XCTAssertEqual(index.checkpoints, [])
        XCTAssertNil(index.start)
        XCTAssertEqual(index.offset(before: ms(5)), 0)
        XCTAssertThrowsError(try ReplayIndex.build(path: dir.file("absent"), decoder: MillisDecoder.factory))
    }

    func testMergeOfThreeRoughlySortedFilesIsInTimeOrder() throws {
        let dir = try TempDir()
        var rng = SplitMix64(state: 42)
        var expected = 0
        var paths: [String] = []
        for f in 0..<3 {
            // Interleaved clocks, each file shuffled locally by up to 2 s (window is 5 s).
            var times = (0..<1500).map { Int64($0 * 300 + f * 97) }
            for i in stride(from: 0, to: times.count - 1, by: 2) where Bool.random(using: &rng) {
                times[i] += Int64.random(in: 0...2000, using: &rng)
            }
            expected += times.count
            paths.append(try dir.write("f\(f).log", recording(times, file: f, junkEvery: 11)))
        }
        let sink = RecordingSink()
        let reader = ReplayReader(paths: paths, decoder: MillisDecoder.factory, sink: sink, options: options())
        var out: [Event] = []
        while let e = reader.next(upTo: Timestamp(nanos: .max)) { out.append(e) }
        XCTAssertTrue(reader.isFinished)
        XCTAssertEqual(out.count, expected)
        XCTAssertEqual(out.map(\.time), out.map(\.time).sorted(), "time order")
        XCTAssertEqual(Set(out.map(\.source)), Set(reader.sources))
        for (i, p) in paths.enumerated() {
            XCTAssertEqual(sink.counts[SourceID(UInt32(i))]?.malformed["unrecognised"], 1500 / 11, p)
            XCTAssertEqual(sink.lastHealth(p), .finished)
        }
    }

    /// Decoding each file on a thread of its own (`decodeThreadsUpTo`, what export uses) gives the
    /// merge exactly what decoding on its thread gives: the same events in the same order, the same
    /// counts per source and reason, the same health, whether a file ends early, is empty or bad.
    func testDecodingFilesOnThreadsOfTheirOwnChangesNothing() throws {
        let dir = try TempDir()
        var rng = SplitMix64(state: 7)
        var paths: [String] = []
        for f in 0..<5 {
            var times = (0..<(f == 3 ? 40 : 2500)).map { Int64($0 * 200 + f * 31) }
            for i in stride(from: 0, to: times.count - 1, by: 3) where Bool.random(using: &rng) {
                times[i] += Int64.random(in: 0...1500, using: &rng)
            }
            paths.append(try dir.write("f\(f).log", recording(times, file: f, junkEvery: 7 + f)))
        }
        paths.append(try dir.write("empty.log", ""))
        paths.append(dir.file("missing.log"))
        func run(threads: Int) -> (RecordingSink, [Event]) {
            var o = options()
            o.chunkSize = 4096
            o.decodeThreadsUpTo = threads
            let sink = RecordingSink()
            let reader = ReplayReader(paths: paths, decoder: MillisDecoder.factory, sink: sink, options: o)
            var out: [Event] = []
            while let e = reader.next(upTo: Timestamp(nanos: .max)) { out.append(e) }
            XCTAssertTrue(reader.isFinished)
            return (sink, out)
        }
        let (inline, inlineEvents) = run(threads: 0)
        for _ in 0..<3 {
            let (threaded, threadedEvents) = run(threads: 16)
            XCTAssertEqual(threadedEvents, inlineEvents)
            XCTAssertEqual(threaded.counts, inline.counts)
            XCTAssertEqual(threaded.health, inline.health)
            XCTAssertEqual(threaded.names, inline.names)
        }
        XCTAssertEqual(inlineEvents.count, 4 * 2500 + 40)
        XCTAssertEqual(inline.counts[SourceID(0)]?.malformed["unrecognised"], 2500 / 7)
        XCTAssertEqual(inline.lastHealth(paths[5]), .finished)
    }

    /// With a window wider than the recording every file is read ahead before anything is handed
    /// out, so thousands of events (every chunk of every file) wait in the merge at once; equal
    /// times must still come out by file, then in read order, and out-of-order lines in time order.
    func testManyEventsInFlightComeOutByTimeThenFileThenReadOrder() throws {
        let dir = try TempDir()
        var rng = SplitMix64(state: 7)
        var paths: [String] = []
        var expected: [(time: Int64, message: String)] = []
        for f in 0..<3 {
            // Ten lines per second share a time; some lines jump ahead by a few seconds.
            var times = (0..<2000).map { Int64($0 / 10) * 1000 }
            for i in 0..<times.count where Int.random(in: 0..<7, using: &rng) == 0 {
                times[i] += Int64.random(in: 1...5, using: &rng) * 1000
            }
            let text = recording(times, file: f)
            paths.append(try dir.write("f\(f).log", text))
            for (line, t) in zip(text.split(separator: "\n"), times) { expected.append((t, String(line))) }
        }
        // A stable sort by time of all lines, file after file: the merge's (time, arrival) order.
        let order = expected.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element.message)

        let reader = ReplayReader(paths: paths, decoder: MillisDecoder.factory, sink: RecordingSink(),
                                  options: options(window: 1e9))
        var out: [String] = []
        while let e = reader.next(upTo: Timestamp(nanos: .max)) { out.append(e.message ?? "") }
        XCTAssertEqual(out.count, order.count)
        XCTAssertEqual(out, order)

        // Seeking drops everything in flight and reads again from checkpoints before the warmup:
        // from the target on, the same events in the same order.
        reader.seek(to: ms(150_000))
        var again: [Event] = []
        while let e = reader.next(upTo: Timestamp(nanos: .max)) { again.append(e) }
        let fromTarget = again.filter { $0.time >= ms(150_000) }.map { $0.message ?? "" }
        XCTAssertLessThan(fromTarget.count, again.count, "the warmup comes first")
        XCTAssertEqual(fromTarget, order.filter { (Int64($0.prefix { $0 != " " }) ?? 0) >= 150_000 })
    }

    func testEventsOutOfOrderBeyondTheWindowComeLateButAreNotLost() throws {
        let dir = try TempDir()
        let a = try dir.write("a.log", recording([1000, 2000, 60_000, 3000, 70_000], file: 0))
        let sink = RecordingSink()
        let reader = ReplayReader(paths: [a], decoder: MillisDecoder.factory, sink: sink, options: options(window: 1000))
        var out: [Int64] = []
        while let e = reader.next(upTo: Timestamp(nanos: .max)) { out.append(Int64(e.time.millis)) }
        XCTAssertEqual(out.sorted(), [1000, 2000, 3000, 60_000, 70_000])
    }

    func testNextRespectsTheLimit() throws {
        let dir = try TempDir()
        let a = try dir.write("a.log", recording([10, 20, 30, 40], file: 0))
        let b = try dir.write("b.log", recording([15, 25, 35], file: 1))
        let sink = RecordingSink()
        let reader = ReplayReader(paths: [a, b], decoder: MillisDecoder.factory, sink: sink, options: options())
        let first = reader.deliver(upTo: ms(25), into: sink)
        XCTAssertEqual(first.count, 4)
        XCTAssertEqual(first.last, ms(25))
        XCTAssertNil(reader.next(upTo: ms(29)))
        XCTAssertEqual(reader.deliver(upTo: ms(100), max: 2, into: sink).count, 2)
        XCTAssertEqual(sink.events.map { Int64($0.time.millis) }, [10, 15, 20, 25, 30, 35])
        XCTAssertFalse(reader.isFinished)
        reader.deliver(upTo: ms(100), into: sink)
        XCTAssertTrue(reader.isFinished)
    }

    func testSeekStartsAtTheCheckpointBeforeTheWarmupAndKeepsOrder() throws {
        let dir = try TempDir()
        var paths: [String] = []
        var texts: [String] = []
        for f in 0..<3 {
            let times = (0..<4000).map { Int64($0 * 1000 + f * 333) }  // about 67 minutes each
            let text = recording(times, file: f)
            texts.append(text)
            paths.append(try dir.write("f\(f).log", text))
        }
        let sink = RecordingSink()
        let reader = ReplayReader(paths: paths, decoder: MillisDecoder.factory, sink: sink,
                                  options: options(warmup: 120_000, spacing: 4096))
        _ = reader.next(upTo: Timestamp(nanos: .max))

        let target = ms(Int64(2000 * 1000))
        reader.seek(to: target)
        var out: [Event] = []
        while let e = reader.next(upTo: Timestamp(nanos: .max)) { out.append(e) }

        // The first event out is the earliest checkpoint event among the files.
        let from = target.adding(ms: -120_000)
        let allLines = texts.map(lineTimes)
        let starts: [Timestamp] = zip(reader.indexes, allLines).map { index, lines in
            let offset = index.offset(before: from)
            return lines.first { $0.offset == offset }!.time!
        }
        XCTAssertEqual(out.first?.time, starts.min())
        XCTAssertLessThanOrEqual(out.first!.time, from)
        XCTAssertGreaterThan(out.first!.time, from.adding(ms: -90_000), "within a checkpoint (about 60 lines) of the warmup start")
        XCTAssertEqual(out.map(\.time), out.map(\.time).sorted())
        // Nothing at or after the warmup start is missed.
        let due = allLines.flatMap { $0.compactMap(\.time) }.filter { $0 >= from }.count
        XCTAssertEqual(out.filter { $0.time >= from }.count, due)
    }

    func testSeekRebindingToAFreshSink() throws {
        let dir = try TempDir()
        let a = try dir.write("a.log", recording((0..<100).map { Int64($0 * 1000) }, file: 0))
        let first = RecordingSink()
        let reader = ReplayReader(paths: [a], decoder: MillisDecoder.factory, sink: first, options: options(warmup: 0))
        reader.deliver(upTo: Timestamp(nanos: .max), into: first)
        XCTAssertEqual(first.events.count, 100)

        let fresh = RecordingSink()
        _ = fresh.addSource(name: "other")  // so ids differ between the sinks
        reader.seek(to: ms(50_000), rebindingTo: fresh)
        reader.deliver(upTo: Timestamp(nanos: .max), into: fresh)
        let id = fresh.id(a)!
        XCTAssertEqual(id, SourceID(1))
        XCTAssertEqual(reader.sources, [id])
        XCTAssertTrue(fresh.events.allSatisfy { $0.source == id })
        XCTAssertEqual(fresh.events.last?.message?.hasPrefix("99000 "), true)
        XCTAssertLessThanOrEqual(fresh.events.first!.time, ms(50_000))
        XCTAssertEqual(fresh.counts[id]?.lines, fresh.events.count)
        XCTAssertEqual(first.counts[SourceID(0)]?.lines, 100, "the old sink is left alone")
        XCTAssertEqual(fresh.lastHealth(a), .finished)
    }

    func testReplayFromSpecsExpandsGlobsAndRefusesStdin() throws {
        let dir = try TempDir()
        try dir.write("b.log", recording([2, 4], file: 1))
        try dir.write("a.log", recording([1, 3], file: 0))
        let sink = RecordingSink()
        let reader = ReplayReader(specs: [.stdin, .glob(dir.file("*.log")), .glob(dir.file("*.none"))],
                                  decoder: MillisDecoder.factory, sink: sink)
        XCTAssertEqual(sink.names, ["stdin", dir.file("*.none"), dir.file("a.log"), dir.file("b.log")])
        guard case .failed? = sink.lastHealth("stdin"), case .failed? = sink.lastHealth(dir.file("*.none")) else {
            return XCTFail("\(sink.health)")
        }
        reader.deliver(upTo: Timestamp(nanos: .max), into: sink)
        XCTAssertEqual(sink.messages().map { $0.prefix(1) }, ["1", "2", "3", "4"])
        XCTAssertEqual(reader.start, ms(1))
        XCTAssertEqual(reader.end, ms(4))
    }

    func testReplayClockArithmetic() {
        let start = ms(1_000_000)
        var clock = ReplayClock(start: start, end: start.adding(ms: 60_000))
        XCTAssertEqual(clock.advance(realElapsed: .milliseconds(500)), start.adding(ms: 500))
        clock.setSpeed(.times(10))
        XCTAssertEqual(clock.advance(realElapsed: .milliseconds(250)), start.adding(ms: 3000))
        clock.setSpeed(.times(0.1))
        XCTAssertEqual(clock.advance(realElapsed: .seconds(1)), start.adding(ms: 3100))

        clock.pause()
        XCTAssertEqual(clock.advance(realElapsed: .seconds(5)), start.adding(ms: 3100))
        clock.togglePause()
        XCTAssertFalse(clock.isPaused)

        clock.seek(to: start.adding(ms: 30_000))
        XCTAssertEqual(clock.position, start.adding(ms: 30_000))
        clock.seek(to: start.adding(ms: -5))
        XCTAssertEqual(clock.position, start)
        clock.skip(ms: 59_000)
        XCTAssertEqual(clock.position, start.adding(ms: 59_000))
        XCTAssertEqual(clock.progress, 59.0 / 60.0, accuracy: 1e-9)

        clock.setSpeed(.times(1))
        XCTAssertEqual(clock.advance(realElapsed: .seconds(10)), Timestamp(nanos: .max), "at the end everything is due")
        XCTAssertEqual(clock.position, clock.end)
        XCTAssertTrue(clock.isAtEnd)

        clock.setSpeed(.times(5000))
        XCTAssertEqual(clock.speed, .times(1000))
        clock.setSpeed(.times(0.001))
        XCTAssertEqual(clock.speed, .times(0.1))
    }

    func testReplayClockTicksFromAMonotonicSource() {
        var clock = ReplayClock(start: ms(0), end: ms(100_000), speed: .times(2))
        XCTAssertEqual(clock.tick(realNow: .seconds(50)), ms(0), "first reading sets the origin")
        XCTAssertEqual(clock.tick(realNow: .seconds(51)), ms(2000))
        clock.pause()
        clock.tick(realNow: .seconds(80))
        clock.resume()
        XCTAssertEqual(clock.tick(realNow: .milliseconds(80_500)), ms(3000), "paused time is not played back")
    }

    func testReplayClockMaxSpeedFollowsDeliveredEvents() {
        let start = ms(0)
        var clock = ReplayClock(start: start, end: ms(10_000), speed: .max)
        XCTAssertEqual(clock.advance(realElapsed: .seconds(1)), Timestamp(nanos: .max))
        XCTAssertEqual(clock.position, start, "max speed does not invent time")
        clock.delivered(through: ms(4000))
        clock.delivered(through: ms(3000))
        XCTAssertEqual(clock.position, ms(4000))
        clock.pause()
        XCTAssertEqual(clock.horizon, ms(4000))
        clock.resume()

        clock.slower()
        XCTAssertEqual(clock.speed, .times(1000))
        clock.slower(); clock.slower()
        XCTAssertEqual(clock.speed, .times(100))
        clock.faster()
        XCTAssertEqual(clock.speed, .times(300))
        clock.setSpeed(.times(0.1))
        clock.slower()
        XCTAssertEqual(clock.speed, .times(0.1))
        clock.setSpeed(.times(3))
        clock.faster()
        XCTAssertEqual(clock.speed, .times(5))
        XCTAssertEqual("\(ReplayClock.Speed.times(0.5)) \(ReplayClock.Speed.times(10)) \(ReplayClock.Speed.max)", "0.5× 10× max")
    }

    func testClockDrivesReaderDeterministically() throws {
        let dir = try TempDir()
        let a = try dir.write("a.log", recording((0..<20).map { Int64(10_000 + $0 * 500) }, file: 0))
        let sink = RecordingSink()
        let reader = ReplayReader(paths: [a], decoder: MillisDecoder.factory, sink: sink, options: options())
        var clock = ReplayClock(start: reader.start!, end: reader.end!, speed: .times(2))
        var perTick: [Int] = []
        while !reader.isFinished {
            let horizon = clock.advance(realElapsed: .milliseconds(1000))
            perTick.append(reader.deliver(upTo: horizon, into: sink).count)
        }
        // 2 virtual seconds per tick, an event every 0.5 s: the first tick also gets the one at the start.
        XCTAssertEqual(perTick, [5, 4, 4, 4, 3])
    }
}

private func ms(_ v: Int64) -> Timestamp { Timestamp(millis: v) }
