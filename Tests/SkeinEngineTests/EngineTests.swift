import Foundation
import XCTest
import SkeinCore
@testable import SkeinEngine

final class EngineTests: XCTestCase {
    func testInputAccounting() {
        let e = Engine()
        let a = e.addSource(name: "edge.log")
        let b = e.addSource(name: "-")
        for _ in 0..<3 { e.countLine(source: a) }
        e.countLine(source: b)
        e.countFormat(source: a, format: "skein")
        e.countFormat(source: a, format: "skein")
        e.countMalformed(source: a, reason: "truncated_json")
        e.countMalformed(source: b, reason: "binary")
        e.countDropped(7)
        e.setHealth(.finished, for: a)
        e.ingest(ev(0, .log, "api", "p", message: "one", source: a.raw))
        e.ingest(ev(1, .log, "api", "p", message: "two", source: a.raw))
        e.ingest(ev(2, .log, "api", "p", message: "from a source nobody added", source: 5))
        let s = e.snapshot()
        XCTAssertEqual(s.input.lines, 4)
        XCTAssertEqual(s.input.events, 3)
        XCTAssertEqual(s.input.malformed, 2)
        XCTAssertEqual(s.input.dropped, 7)
        XCTAssertEqual(s.input.malformedByReason, ["truncated_json": 1, "binary": 1])
        XCTAssertEqual(s.input.sources[0].name, "edge.log")
        XCTAssertEqual(s.input.sources[0].health, .finished)
        XCTAssertEqual(s.input.sources[0].events, 2)
        XCTAssertEqual(s.input.sources[0].formats, ["skein": 2])
        XCTAssertEqual(s.input.sources[5].events, 1)
        XCTAssertEqual(s.input.sources.count, 6)
        XCTAssertEqual(s.firstEventAt, at(0))
        XCTAssertEqual(s.lastEventAt, at(2))
        XCTAssertEqual(s.now, at(2))
        XCTAssertEqual(s.traces.untracedEvents, 3)
    }

    func testEventRateSeries() {
        var config = EngineConfig()
        config.seriesLength = 4
        config.seriesBucketMS = 500
        let e = Engine(config: config)
        for k in 0..<6 { e.ingest(ev(Double(k) * 100, .log, "api", "p")) }   // 0…500 ms
        e.ingest(ev(1_600, .log, "api", "p"))
        // Buckets [0,500) [500,1000) [1000,1500) [1500,2000): 5, 1, 0, 1 events → per second ×2.
        XCTAssertEqual(e.snapshot().eventRate, [10, 2, 0, 2])
        e.advance(to: at(2_600))
        XCTAssertEqual(e.snapshot().eventRate, [0, 2, 0, 0])

        // An export's engine counts no rate; everything else is as before.
        config.countsEventRate = false
        let quiet = Engine(config: config)
        for k in 0..<6 { quiet.ingest(ev(Double(k) * 100, .log, "api", "p")) }
        quiet.ingest(ev(1_600, .log, "api", "p"))
        XCTAssertEqual(quiet.snapshot().eventRate, [0, 0, 0, 0])
        XCTAssertEqual(quiet.snapshot().input.events, 7)
        XCTAssertEqual(quiet.snapshot().lastEventAt, at(1_600))
    }

    func testRoutesCountLatencyAndErrors() {
        let e = Engine()
        for n in 0..<20 {
            let base = Double(n) * 3_000
            let status = n % 5 == 0 ? 502 : 200
            e.ingest(ev(base, .requestStart, "api", "p", deploy: .server, trace: tid(n), route: "GET /a", method: "GET"))
            e.ingest(ev(base + Double(n + 1) * 10, .requestEnd, "api", "p", deploy: .server, trace: tid(n), status: status))
        }
        e.ingest(ev(70_000, .requestStart, "api", "p", deploy: .server, trace: tid(99), route: "POST /b"))
        e.ingest(ev(70_005, .requestEnd, "api", "p", deploy: .server, trace: tid(99), status: 201))
        e.finish()
        let routes = e.snapshot().routes
        XCTAssertEqual(routes.map(\.route), ["GET /a", "POST /b"])
        XCTAssertEqual(routes[0].count, 20)
        XCTAssertEqual(routes[0].errors, 4)
        XCTAssertEqual(routes[0].service, "api")
        XCTAssertEqual(routes[0].latencyMS.p50, 100)
        XCTAssertEqual(routes[0].latencyMS.p95, 190)
        XCTAssertEqual(routes[0].latencyMS.max, 200)
        XCTAssertEqual(e.snapshot().traces.errors, 4)
    }

    func testMovingSnapshotEqualsCopyingOneAndLeavesNoSummaries() {
        func run() -> Engine {
            var config = EngineConfig()
            config.retainedTraces = nil
            let e = Engine(config: config)
            for n in 0..<40 { edgeToLambda(e, n: n, startMS: Double(n) * 50, lambdaInstance: "fn-\(n % 3)") }
            e.finish()
            return e
        }
        let copied = run().snapshot()
        let movedEngine = run()
        let moved = movedEngine.snapshot(movingSummaries: true)
        XCTAssertEqual(moved.recentTraces.count, 40)
        XCTAssertEqual(moved.recentTraces, copied.recentTraces)
        XCTAssertEqual(moved.traces, copied.traces)
        // The summaries left with the snapshot.
        XCTAssertEqual(movedEngine.snapshot().recentTraces.count, 0)
    }

    func testDeterminism() {
        let events = Self.scenario(seed: 7, requests: 400)
        let a = Engine(), b = Engine()
        var drainedA: [TraceSummary] = [], drainedB: [TraceSummary] = []
        for (k, ev) in events.enumerated() {
            a.ingest(ev); b.ingest(ev)
            if k % 97 == 0 {
                a.advance(to: ev.time.adding(ms: 50)); b.advance(to: ev.time.adding(ms: 50))
                drainedA += a.drainFinishedTraces(); drainedB += b.drainFinishedTraces()
            }
        }
        a.finish(); b.finish()
        drainedA += a.drainFinishedTraces(); drainedB += b.drainFinishedTraces()
        XCTAssertEqual(a.snapshot(), b.snapshot())
        XCTAssertEqual(drainedA, drainedB)
        XCTAssertEqual(a.drainNewInsights(), b.drainNewInsights())
        // The scenario is rich enough for the comparison to mean something.
        let s = a.snapshot()
        XCTAssertEqual(s.traces.open, 0)
        XCTAssertGreaterThan(s.traces.complete, 350)
        XCTAssertGreaterThan(s.coldStarts.count, 5)
        XCTAssertGreaterThan(s.db.peakOpen, 5)
        XCTAssertFalse(s.insights.isEmpty)
        for t in drainedA {
            for (i, h) in t.hops.enumerated() {
                if let p = h.parent {
                    XCTAssertLessThan(p, i)
                    XCTAssertGreaterThanOrEqual(h.offsetMS, t.hops[p].offsetMS)
                }
            }
        }
    }

    /// A small deterministic hybrid fleet: edge → function → DB, skewed clocks, lines shuffled a little.
    static func scenario(seed: UInt64, requests: Int) -> [Event] {
        var rng = seed
        func next() -> Double {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(rng >> 11) / Double(1 << 53)
        }
        var out: [Event] = []
        var fnInstances = 0
        var open = 0
        for n in 0..<requests {
            let base = Double(n) * 40 + next() * 30
            let trace = tid(n + 1)
            let corr = "c-\(n)"
            let fnCount = max(1, fnInstances)
            let newInstance = n < 8 || next() < 0.03
            let inst = newInstance ? fnInstances : Int(next() * Double(fnCount))
            if newInstance { fnInstances += 1 }
            let fn = "fn-\(inst)"
            let skew = -150.0
            var batch: [Event] = []
            batch.append(ev(base, .requestStart, "edge", "iso-\(n % 3)", deploy: .edge, trace: trace, corr: corr,
                            route: n % 4 == 0 ? "POST /api/post" : "GET /api/feed", method: "GET"))
            let s = base + 15 + skew
            if newInstance {
                batch.append(ev(s - 200, .instanceStart, "feed", fn, deploy: .serverless,
                                runtime: inst % 2 == 0 ? "nodejs20" : "python3.12", initMS: 200))
                open += 1
                batch.append(ev(s + 5, .dbConnect, "feed", fn, deploy: .serverless, req: "r-\(n)", dbOpen: 1, dbMax: 20))
            }
            batch.append(ev(s, .requestStart, "feed", fn, deploy: .serverless, corr: corr, req: "r-\(n)"))
            let wait = next() < 0.1 ? 80.0 : 1.0
            batch.append(ev(s + 10, .dbAcquire, "feed", fn, deploy: .serverless, req: "r-\(n)", wait: wait))
            let d = 40 + next() * 60
            let failed = next() < 0.05
            batch.append(ev(s + d, .requestEnd, "feed", fn, deploy: .serverless, req: "r-\(n)",
                            status: failed ? 500 : 200, duration: d, level: failed ? .error : .info))
            if next() < 0.1 {
                batch.append(ev(s + d + 30, .bgEnd, "feed", fn, deploy: .serverless, req: "r-\(n)"))
            }
            batch.append(ev(base + d + 30, .requestEnd, "edge", "iso-\(n % 3)", deploy: .edge, trace: trace,
                            status: failed ? 502 : 200, duration: d + 30, cpu: next() < 0.02 ? 70 : 4))
            // Shuffle a little: sources deliver out of order.
            if next() < 0.3 { batch.swapAt(0, batch.count - 2) }
            out += batch
        }
        return out
    }
}

final class DigestTests: XCTestCase {
    func testNearestRank() {
        let v = (1...100).map(Double.init)
        XCTAssertEqual(PercentileRank.nearestRank(v, 50), 50)
        XCTAssertEqual(PercentileRank.nearestRank(v, 95), 95)
        XCTAssertEqual(PercentileRank.nearestRank(v, 99), 99)
        XCTAssertEqual(PercentileRank.nearestRank(v, 100), 100)
        XCTAssertNil(PercentileRank.nearestRank([], 50))
        let small = PercentileRank.of([30, 10, 20])
        XCTAssertEqual(small, Percentiles(count: 3, p50: 20, p95: 30, p99: 30, max: 30))
        XCTAssertEqual(PercentileRank.of([7]).p50, 7)
    }

    func testDigestIsExactWhenSmall() {
        var d = LatencyDigest()
        for x in [5.0, 1, 4, 2, 3] { d.add(x) }
        XCTAssertEqual(d.percentiles, Percentiles(count: 5, p50: 3, p95: 5, p99: 5, max: 5))
        d.add(.nan)
        XCTAssertEqual(d.count, 5, "not-a-number durations are ignored")
    }

    func testDigestHistogramWithinOnePercent() {
        var d = LatencyDigest()
        for k in 1...10_000 { d.add(Double(k)) }
        let p = d.percentiles
        XCTAssertEqual(p.count, 10_000)
        XCTAssertEqual(p.max, 10_000)
        XCTAssertEqual(p.p50!, 5_000, accuracy: 50)
        XCTAssertEqual(p.p95!, 9_500, accuracy: 95)
        XCTAssertEqual(p.p99!, 9_900, accuracy: 99)
    }

    func testGaugeSeriesCarriesTheLevelForward() {
        var s = BucketSeries(bucketMS: 1_000, length: 4, mode: .gauge)
        s.set(3, at: at(100))
        s.set(7, at: at(200))
        s.set(2, at: at(300))
        XCTAssertEqual(s.values(endingAt: at(3_500)), [7, 2, 2, 2])
    }

    func testCounterSeriesIgnoresSamplesOlderThanTheWindow() {
        var s = BucketSeries(bucketMS: 1_000, length: 3, mode: .counter)
        s.add(1, at: at(5_000))
        s.add(1, at: at(4_100))
        s.add(1, at: at(1_000))
        XCTAssertEqual(s.values(endingAt: at(5_000)), [0, 1, 1])
    }

    /// Counters and gauges against a plain model (every sample kept by bucket, the window and the
    /// gauge's carried level worked out at the end), over times that mostly move forward but also
    /// step back, jump past the window, sit on bucket edges and go below zero.
    func testSeriesAgreeWithAPlainModel() {
        var state: UInt64 = 11
        func next(_ n: UInt64) -> Int64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int64((state >> 17) % n)
        }
        for round in 0..<40 {
            let bucket: Int64 = 1_000_000_000, length = 1 + Int(next(6))
            var counter = BucketSeries(bucketMS: 1_000, length: length, mode: .counter)
            var gauge = BucketSeries(bucketMS: 1_000, length: length, mode: .gauge)
            var t: Int64 = round % 2 == 0 ? 1_795_428_000_000_000_000 : -3 * bucket
            var samples: [(Int64, Double)] = []
            var latest: Int64 = .min
            for step in 0..<300 {
                switch next(10) {
                case 0: t -= next(3 * UInt64(bucket))                       // a step back
                case 1: t += Int64(length + 1) * bucket                     // past the window
                case 2: t = (t / bucket + 1) * bucket - (next(2) == 0 ? 0 : 1) // on an edge
                default: t += next(UInt64(bucket) / 3)
                }
                let v = Double(next(100))
                counter.add(v, at: Timestamp(nanos: t))
                gauge.set(v, at: Timestamp(nanos: t))
                samples.append((t, v))
                latest = max(latest, t)
                if step % 37 == 0 || step == 299 {
                    let end = Timestamp(nanos: latest)
                    XCTAssertEqual(counter.values(endingAt: end), model(samples, bucket, length, gauge: false, end: latest),
                                   "counter, round \(round) step \(step)")
                    XCTAssertEqual(gauge.values(endingAt: end), model(samples, bucket, length, gauge: true, end: latest),
                                   "gauge, round \(round) step \(step)")
                }
            }
        }
    }

    /// The series' rules replayed sample by sample on a dictionary: a sample older than the window
    /// as it stands (its newest bucket so far) is dropped; a gauge's empty bucket repeats the last
    /// value set before it was reached.
    private func model(_ samples: [(Int64, Double)], _ bucket: Int64, _ length: Int, gauge: Bool, end: Int64) -> [Double] {
        func b(_ t: Int64) -> Int64 { t >= 0 || t % bucket == 0 ? t / bucket : t / bucket - 1 }
        var sums: [Int64: Double] = [:]
        var head: Int64? = nil
        var level = 0.0
        var filled: [Int64: Double] = [:]   // a gauge's fill for buckets it rolled over
        func roll(to x: Int64) {
            guard let h = head else {
                head = x
                for k in (x - Int64(length) + 1)...x { filled[k] = level }
                return
            }
            guard x > h else { return }
            for k in (h + 1)...x { filled[k] = level }
            head = x
        }
        for (t, v) in samples {
            let x = b(t)
            if gauge { level = v }
            roll(to: x)
            guard x > head! - Int64(length) else { continue }
            if gauge {
                sums[x] = max(sums[x] ?? (filled[x] ?? 0), v)
            } else {
                sums[x, default: 0] += v
            }
        }
        roll(to: b(end))
        return (head! - Int64(length) + 1...head!).map { k in
            gauge ? (sums[k] ?? filled[k] ?? 0) : (sums[k] ?? 0)
        }
    }

    func testASCIISearchIgnoresCase() {
        XCTAssertTrue(containsASCII("Task TIMED OUT after 3 s", "timed out"))
        XCTAssertFalse(containsASCII("time", "timeout"))
        XCTAssertTrue(containsASCII("Outcome: exceededCpu", "exceededcpu"))
    }

    func testMessageFactsInOnePass() {
        let timedOut = MessageFacts("Task TIMED OUT after 3.00 seconds")
        XCTAssertTrue(timedOut.timedOut)
        XCTAssertFalse(timedOut.exceededCPU)
        XCTAssertTrue(MessageFacts("upstream status: Timeout").timedOut)
        let timeout = MessageFacts("db timeout, retrying")
        XCTAssertTrue(timeout.timeout)
        XCTAssertFalse(timeout.timedOut)
        XCTAssertFalse(MessageFacts("time").timeout)
        XCTAssertTrue(MessageFacts("Outcome: exceededCpu").exceededCPU)
        XCTAssertTrue(MessageFacts("isolate exceeded CPU limit").exceededCPU)
        XCTAssertTrue(MessageFacts("REPORT RequestId: 1 Duration: 2 ms").platformLine)
        XCTAssertFalse(MessageFacts("a REPORT line").platformLine)
        XCTAssertFalse(MessageFacts("").timeout)
    }

    /// The word-at-a-time scan against the plain rule (each needle looked for at every byte), on
    /// messages built from the needles' pieces, neighbours and other bytes, of every length up to 40.
    func testMessageFactsAgreeWithAPlainSearch() {
        func plain(_ m: String) -> (Bool, Bool, Bool) {
            let l = Array(m.utf8).map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            func has(_ needle: String) -> Bool {
                let n = Array(needle.utf8)
                guard l.count >= n.count else { return false }
                return (0...(l.count - n.count)).contains { Array(l[$0..<($0 + n.count)]) == n }
            }
            return (has("timed out") || has("status: timeout"), has("timeout"), has("exceededcpu") || has("exceeded cpu"))
        }
        let pieces = ["timeout", "TIMEOUT", "timed out", "Timed Out", "status: ", "status: timeout", "exceeded cpu",
                      "ExceededCpu", "tim", "eout", "m", "x", "M", "X", "e", "t", " ", "é", "\u{1}", "ti", "med", "exceed", "ed", "cpu",
                      "status:", "mm", "xx", "0123456"]
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for _ in 0..<20_000 {
            var m = ""
            while m.utf8.count < Int.random(in: 0...40, using: &rng) { m += pieces.randomElement(using: &rng)! }
            let f = MessageFacts(m)
            let (timedOut, timeout, cpu) = plain(m)
            XCTAssertEqual(f.timedOut, timedOut, m)
            XCTAssertEqual(f.timeout, timeout, m)
            XCTAssertEqual(f.exceededCPU, cpu, m)
            if timedOut || timeout || cpu { checked += 1 }
        }
        XCTAssertGreaterThan(checked, 1000)
    }

    func testByteEqualityAndHash() {
        let a = "4bf92f3577b34da6a3ce929d0e0e4736"
        let b = String(decoding: Array(a.utf8), as: UTF8.self)
        XCTAssertTrue(FastText.same(a, b))
        XCTAssertEqual(FastText.hash(a), FastText.hash(b))
        XCTAssertFalse(FastText.same(a, "4bf92f3577b34da6a3ce929d0e0e4737"))
        XCTAssertFalse(FastText.same("edge-api", "feed-api"))
        XCTAssertTrue(FastText.same("", ""))
        XCTAssertNotEqual(FastText.hash("edge-api"), FastText.hash("feed-api"))
    }

    /// Export keeps every summary but only the newest finished traces keep their lines.
    func testOlderFinishedTracesShedTheirLines() {
        var config = EngineConfig()
        config.retainedTraces = nil
        config.retainedTraceLines = 1
        let e = Engine(config: config)
        edgeToLambda(e, n: 1, startMS: 0)
        e.advance(to: at(5_000))
        XCTAssertEqual(e.detail(traceID: tid(1))?.lines.count, 5)
        edgeToLambda(e, n: 2, startMS: 6_000)
        e.advance(to: at(12_000))
        let old = e.detail(traceID: tid(1))
        XCTAssertEqual(old?.lines.count, 0)
        XCTAssertEqual(old?.droppedLines, 5)
        XCTAssertEqual(old?.summary.hops.count, 2)
        let recent = e.detail(traceID: tid(2))
        XCTAssertEqual(recent?.lines.count, 5)
        XCTAssertEqual(recent?.lines.map(\.offsetMS), recent?.lines.map(\.offsetMS).sorted())
        let s = e.snapshot()
        XCTAssertEqual(s.recentTraces.count, 2)
        // Shedding is not the per-trace budget: nothing is reported evicted.
        XCTAssertEqual(s.evicted.lines, 0)
    }
}

final class ThroughputTests: XCTestCase {
    /// Release-mode throughput check, run on demand: `SKEIN_BENCH=1 swift test -c release --filter ThroughputTests`.
    ///
    /// The goal is well under 1 s of CPU per million events. Callgrind on 20k events put the engine
    /// at about 10.3k instructions per event before the byte-keyed rewrite and 6.5k after (README,
    /// Benchmark). It prints
    /// the figure and asserts nothing timed: benchmarks measure, tests check behaviour.
    func testIngestThroughput() throws {
        guard ProcessInfo.processInfo.environment["SKEIN_BENCH"] != nil else {
            throw XCTSkip("set SKEIN_BENCH=1 (and build in release) to measure throughput")
        }
        let requests = ProcessInfo.processInfo.environment["SKEIN_BENCH_REQUESTS"].flatMap { Int($0) } ?? 40_000
        let events = EngineTests.scenario(seed: 11, requests: requests)
        var config = EngineConfig()
        config.dbMax = 20
        let e = Engine(config: config)
        // Thread CPU time, not wall time: the build machine is shared and wall time measures the neighbours.
        func cpuSeconds() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        let before = cpuSeconds()
        for ev in events { e.ingest(ev) }
        e.finish()
        let seconds = cpuSeconds() - before
        let perMillion = seconds / Double(events.count) * 1_000_000
        print("ingest: \(events.count) events in \(seconds) s → \(perMillion) s per million")
        XCTAssertEqual(e.snapshot().traces.complete, requests)

    }
}

final class BadInputTests: XCTestCase {
    func testOneMangledTimestampDoesNotMoveTheClock() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "p", deploy: .server, trace: tid(1)))
        // Seconds read as milliseconds: a line from the year 58000.
        e.ingest(Event(time: Timestamp(millis: Int64(1_795_428_000_000) * 1000), kind: .log, service: "api",
                       instance: "p", traceID: tid(1), message: "mangled"))
        e.ingest(ev(100, .requestEnd, "api", "p", deploy: .server, trace: tid(1), status: 200))
        var s = e.snapshot()
        XCTAssertEqual(s.now, at(100))
        XCTAssertEqual(s.traces.open, 1, "the open trace was not completed by the leap")
        XCTAssertEqual(s.input.clockOutliers, 1)
        XCTAssertEqual(s.lastEventAt, at(100))
        XCTAssertEqual(s.eventRate.suffix(1), [3])
        XCTAssertEqual(s.instances.first?.state, .idle)
        // A real leap (the input moved on by days) is believed after a few lines.
        for k in 0..<3 { e.ingest(ev(86_400_000 + Double(k), .log, "api", "p", deploy: .server)) }
        s = e.snapshot()
        XCTAssertEqual(s.now, at(86_400_000))
        XCTAssertEqual(s.traces.complete, 1)
    }

    func testAbsurdNumbersNeverTrap() {
        let e = Engine()
        e.ingest(ev(0, .requestEnd, "edge", "iso", deploy: .edge, trace: tid(1), status: -3, duration: 1e300,
                    cpu: .nan))
        e.ingest(ev(1, .span, "fn", "f", deploy: .serverless, trace: tid(1), span: "s1", parent: "s1",
                    duration: -.infinity))
        e.ingest(ev(2, .requestEnd, "edge", "iso", deploy: .edge, trace: tid(2), duration: .nan, cpu: 1e300))
        e.ingest(ev(3, .dbAcquire, "fn", "f", deploy: .serverless, wait: .infinity))
        e.ingest(ev(4, .dbConnect, "fn", "f", deploy: .serverless, dbOpen: -5, dbMax: 0))
        e.ingest(ev(5, .log, nil, nil, trace: tid(3), message: "no service, no instance"))
        e.finish()
        let s = e.snapshot()
        XCTAssertEqual(s.input.events, 6)
        XCTAssertEqual(s.traces.complete, 3)
        XCTAssertEqual(s.db.open, 0)
        XCTAssertNil(s.db.maxConnections)
        XCTAssertEqual(s.db.poolWaits, 1)
        XCTAssertEqual(s.db.poolWait.count, 0, "an infinite wait is counted but not measured")
        XCTAssertEqual(s.insights.first { $0.kind == .edgeCPULimit }?.evidence.count, 1)
        let t3 = try! XCTUnwrap(e.detail(traceID: tid(3)))
        XCTAssertEqual(t3.summary.hops.map(\.service), ["unknown"])
    }
}

/// The stitcher's store of finished traces' summaries: each retained trace reads its latest
/// summary through its slot, and an export's snapshot takes them all, newest first, without the
/// stale ones (a trace reopened, merged away or evicted since).
final class SummaryStoreTests: XCTestCase {
    private func finish(_ st: Stitcher, _ t: TraceState, _ id: String) {
        var s = TraceSummary(id: id, start: Timestamp(nanos: Int64(t.serial)))
        s.eventCount = 1
        st.finish(t, taking: &s)
        XCTAssertEqual(s.id, "", "the caller's summary is taken")
        st.evictRetained()
    }

    func testTakesTheLatestSummariesNewestFirst() {
        var config = EngineConfig()
        config.retainedTraces = nil
        let st = Stitcher(config: config)
        let t = (0..<6).map { _ in st.create(now: .zero) }
        for i in 0..<6 { finish(st, t[i], "t\(i)") }
        XCTAssertEqual(t.map { st.summary(of: $0)?.id }, ["t0", "t1", "t2", "t3", "t4", "t5"])
        // A late line reopens t2: it reads no summary until it finishes again.
        st.reopen(t[2], now: .zero)
        XCTAssertNil(st.summary(of: t[2]))
        finish(st, t[2], "t2 again")
        // t4 merges into t1, which reopens; t1 finishes again.
        st.merge(t[4], into: t[1])
        XCTAssertNil(st.summary(of: t[4]))
        XCTAssertNil(st.summary(of: t[1]))
        finish(st, t[1], "t1 again")
        XCTAssertEqual(t.map { st.summary(of: $0)?.id }, ["t0", "t1 again", "t2 again", "t3", nil, "t5"])
        let taken = st.takeSummariesNewestFirst()
        XCTAssertEqual(taken.map(\.id), ["t1 again", "t2 again", "t5", "t3", "t0"],
                       "in the order of their last completion, newest first, stale ones left out")
        XCTAssertTrue(t.allSatisfy { st.summary(of: $0) == nil }, "taken: the traces' slots name nothing")
        // The store goes on after a take: new slots never answer for old traces.
        let late = st.create(now: .zero)
        finish(st, late, "late")
        XCTAssertEqual(st.summary(of: late)?.id, "late")
        XCTAssertTrue(t.allSatisfy { st.summary(of: $0) == nil })
        XCTAssertEqual(st.takeSummariesNewestFirst().map(\.id), ["late"])
        XCTAssertEqual(st.takeSummariesNewestFirst().map(\.id), [])
    }

    /// With a retention budget, evicted traces leave their slots, which are closed up when the
    /// retained queue drops its stale entries: the store stays within a few budgets, and every
    /// retained trace still reads its own latest summary.
    func testEvictionKeepsSlotsInStepWithTheRetainedTraces() {
        var config = EngineConfig()
        config.retainedTraces = 5
        let st = Stitcher(config: config)
        var all: [TraceState] = []
        var latest: [Int: String] = [:]
        for round in 0..<60 {
            let t = st.create(now: .zero)
            all.append(t)
            finish(st, t, "t\(t.serial)")
            latest[t.serial] = "t\(t.serial)"
            // Now and then a retained trace comes back and finishes again.
            if round % 7 == 3, let back = st.retainedNewestFirst(limit: nil).last {
                st.reopen(back, now: .zero)
                XCTAssertNil(st.summary(of: back))
                finish(st, back, "t\(back.serial) r\(round)")
                latest[back.serial] = "t\(back.serial) r\(round)"
            }
            let kept = st.retainedNewestFirst(limit: nil)
            XCTAssertEqual(kept.count, min(round + 1, 5), "round \(round)")
            for k in kept { XCTAssertEqual(st.summary(of: k)?.id, latest[k.serial], "round \(round), trace \(k.serial)") }
            let keptSerials = Set(kept.map(\.serial))
            for old in all where !keptSerials.contains(old.serial) {
                XCTAssertNil(st.summary(of: old), "round \(round): evicted trace \(old.serial)")
            }
            XCTAssertLessThanOrEqual(st.heldSummaries, 2 * 16 + 2, "round \(round): slots closed up")
        }
        let snapshotOrder = st.retainedNewestFirst(limit: nil).compactMap { st.summary(of: $0)?.id }
        XCTAssertEqual(st.takeSummariesNewestFirst().map(\.id), snapshotOrder)
    }
}

/// Per-route counts through the route book's memory of recent routes (by the identity of its own
/// key strings): the same route as one string object and as copies, new routes arriving between
/// (which clear that memory), and more routes than the book keeps.
final class RouteBookTests: XCTestCase {
    func testCountsEveryRouteWhicheverStringCarriesIt() {
        var book = RouteBook()
        var expected: [String: (count: Int, errors: Int)] = [:]
        let shared = (0..<5).map { "GET /api/shared/\($0)/items" }
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % n
        }
        for step in 0..<6_000 {
            let route: String
            switch next(4) {
            case 0: route = shared[next(shared.count)]
            case 1: route = String(decoding: Array(shared[next(shared.count)].utf8), as: UTF8.self)
            default: route = "POST /api/many/\(next(1_200))/route"
            }
            var s = TraceSummary(id: "t\(step)", start: .zero)
            s.rootRoute = route
            s.durationMS = Double(step % 50)
            if step % 7 == 0 { s.flags.insert(.error) }
            book.add(s, measured: true)
            let name = expected[route] != nil || expected.count < RouteBook.maxRoutes ? route : RouteBook.overflowRoute
            expected[name, default: (0, 0)].count += 1
            if step % 7 == 0 { expected[name, default: (0, 0)].errors += 1 }
        }
        let stats = book.stats
        XCTAssertEqual(stats.count, expected.count)
        for r in stats {
            XCTAssertEqual(r.count, expected[r.route]?.count, r.route)
            XCTAssertEqual(r.errors, expected[r.route]?.errors, r.route)
        }
        XCTAssertEqual(stats.reduce(0) { $0 + $1.count }, 6_000)
        XCTAssertNotNil(expected[RouteBook.overflowRoute], "more routes than the book keeps")
    }
}
