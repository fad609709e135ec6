import XCTest
import SkeinCore
@testable import SkeinEngine

final class StitcherTests: XCTestCase {
    func testHopsFromSpans() {
        let e = Engine()
        let t = tid(42)
        // OTLP-style spans: time is the start, duration the length. Children arrive first.
        e.ingest(ev(30, .span, "db-proxy", "p1", deploy: .server, trace: t, span: "c2", parent: "c1", duration: 40))
        e.ingest(ev(10, .span, "feed-fn", "f1", deploy: .serverless, trace: t, span: "c1", parent: "r0",
                    status: 200, duration: 100))
        e.ingest(ev(120, .span, "feed-fn", "f1", deploy: .serverless, trace: t, span: "c3", parent: "r0", duration: 5))
        e.ingest(ev(0, .span, "edge", "iso", deploy: .edge, trace: t, span: "r0", route: "GET /feed", status: 200,
                    duration: 130))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.hops.map(\.spanID), ["r0", "c1", "c2", "c3"])
        XCTAssertEqual(s.hops.map(\.parent), [nil, 0, 1, 0])
        XCTAssertEqual(s.hops.map(\.offsetMS), [0, 10, 30, 120])
        XCTAssertEqual(s.hops.map(\.durationMS), [130, 100, 40, 5])
        // c3 ends at 125 after c1 (110): it decides the end, so the critical path is r0 → c3.
        XCTAssertEqual(s.hops.map(\.onCriticalPath), [true, false, false, true])
        XCTAssertEqual(s.durationMS, 130)
        XCTAssertEqual(s.rootService, "edge")
        XCTAssertEqual(s.rootRoute, "GET /feed")
        XCTAssertFalse(s.flags.contains(.incomplete))
    }

    func testSkewedSpansNeverStartBeforeTheirParent() {
        let e = Engine()
        let t = tid(9)
        // The child's clock is 200 ms behind: as logged it starts 190 ms before its parent.
        e.ingest(ev(-190, .span, "fn", "f1", deploy: .serverless, trace: t, span: "c1", parent: "r0", duration: 50))
        e.ingest(ev(-170, .span, "fn", "f1", deploy: .serverless, trace: t, span: "c2", parent: "c1", duration: 20))
        e.ingest(ev(0, .span, "edge", "iso", deploy: .edge, trace: t, span: "r0", duration: 100))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.hops.map(\.spanID), ["r0", "c1", "c2"])
        XCTAssertEqual(s.hops.map(\.parent), [nil, 0, 1])
        XCTAssertEqual(s.hops[1].offsetMS, 0, accuracy: 0.001, "moved to its parent's start")
        // The grandchild shares the child's clock and keeps its 20 ms lead over it.
        XCTAssertEqual(s.hops[2].offsetMS, 20, accuracy: 0.001)
        XCTAssertEqual(s.start, at(0))
    }

    func testHopsWithoutSpansByServiceAndTime() {
        let e = Engine()
        edgeToLambda(e, n: 1, startMS: 0)
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.hops.map(\.service), ["edge-api", "feed-fn"])
        XCTAssertEqual(s.hops.map(\.parent), [nil, 0])
        XCTAssertEqual(s.hops[1].offsetMS, 20, accuracy: 0.001)
        XCTAssertEqual(s.hops[1].durationMS, 80, accuracy: 0.001)
        XCTAssertEqual(s.hops[1].dbWaitMS, 2)
        XCTAssertEqual(s.durationMS, 120, accuracy: 0.001)
        XCTAssertEqual(s.status, 200)
        XCTAssertEqual(s.rootMethod, "GET")
        XCTAssertEqual(s.hops.map(\.onCriticalPath), [true, true])
        XCTAssertFalse(s.isError)
    }

    func testOutOfOrderSkewedLinesNeverShowAChildBeforeItsParent() {
        let e = Engine()
        // The function's clock runs 300 ms behind the edge's; half the traces arrive child-first.
        for n in 0..<40 {
            edgeToLambda(e, n: n, startMS: Double(n) * 5_000, lambdaInstance: "fn-\(n % 3)", skewMS: -300,
                         childFirst: n % 2 == 0)
        }
        e.finish()
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.count, 40)
        for s in done {
            XCTAssertEqual(s.hops.count, 2)
            XCTAssertEqual(s.hops[0].service, "edge-api", "root must be the edge hop even when its clock is later")
            for (i, h) in s.hops.enumerated() {
                guard let p = h.parent else { continue }
                XCTAssertLessThan(p, i, "parents come first")
                XCTAssertGreaterThanOrEqual(h.offsetMS, s.hops[p].offsetMS, "child before parent in \(s.id)")
            }
            XCTAssertEqual(s.hops[0].offsetMS, 0)
        }
        // Lines in the detail view follow the corrected order too: the child's start is after the parent's.
        let d = try! XCTUnwrap(e.detail(traceID: tid(39)))
        let kinds = d.lines.map { "\($0.service ?? "")/\($0.kind.rawValue)" }
        XCTAssertEqual(kinds.first, "edge-api/request.start")
        XCTAssertEqual(d.lines.map(\.offsetMS), d.lines.map(\.offsetMS).sorted())
    }

    func testSkewEstimateLearnsAndCorrectsAClockAhead() {
        let e = Engine()
        // The function's clock runs 250 ms ahead: its hop would end after the edge's.
        for n in 0..<40 {
            edgeToLambda(e, n: n, startMS: Double(n) * 5_000, skewMS: 250)
        }
        e.finish()
        let last = try! XCTUnwrap(e.drainFinishedTraces().last)
        let child = last.hops[1]
        // Corrected: the synchronous child ends inside the parent (true offset 20 ms, end 100 ms).
        XCTAssertLessThanOrEqual(child.offsetMS + child.durationMS, last.hops[0].durationMS + 0.001)
        XCTAssertGreaterThanOrEqual(child.offsetMS, 0)
    }

    func testSkewIsLearnedPerInstanceSoSynchronousChildrenFitInsideTheirParents() {
        let e = Engine()
        // Two edge isolates and three function instances, every clock off by its own amount: no
        // one offset per service fits them all. Each edge hop awaits its function; some edge hops
        // also start a job that is not awaited and outlives them (it must not spoil the estimate).
        let edgeSkew: [(String, Double)] = [("iso-a", 150), ("iso-b", -150)]
        let fnSkew: [(String, Double)] = [("fn-1", -250), ("fn-2", 0), ("fn-3", 280)]
        var sent = 0
        for n in 0..<90 {
            let (iso, es) = edgeSkew[n % 2]
            let (fn, fs) = fnSkew[(n / 2) % 3]
            let start = Double(n) * 5_000
            let trace = tid(n)
            e.ingest(ev(start + es, .requestStart, "edge-api", iso, deploy: .edge, trace: trace, span: "e\(n)",
                        route: "GET /api/feed", method: "GET"))
            e.ingest(ev(start + 20 + fs, .requestStart, "feed-fn", fn, deploy: .serverless, trace: trace,
                        span: "f\(n)", parent: "e\(n)"))
            e.ingest(ev(start + 100 + fs, .requestEnd, "feed-fn", fn, deploy: .serverless, trace: trace,
                        span: "f\(n)", parent: "e\(n)", status: 200))
            if n % 5 == 0 {
                e.ingest(ev(start + 60, .requestStart, "jobs", "worker-1", deploy: .server, trace: trace,
                            span: "j\(n)", parent: "e\(n)"))
                e.ingest(ev(start + 900, .requestEnd, "jobs", "worker-1", deploy: .server, trace: trace,
                            span: "j\(n)", parent: "e\(n)", status: 200))
            }
            e.ingest(ev(start + 120 + es, .requestEnd, "edge-api", iso, deploy: .edge, trace: trace, span: "e\(n)",
                        status: 200))
            sent += 1
        }
        e.finish()
        let done = e.drainFinishedTraces().sorted { $0.start < $1.start }
        XCTAssertEqual(done.count, sent)
        // Once every pair of clocks has been seen a few times, each function hop sits inside its edge hop.
        for s in done.suffix(30) {
            let root = s.hops[0]
            XCTAssertEqual(root.service, "edge-api")
            let fn = try! XCTUnwrap(s.hops.first { $0.service == "feed-fn" })
            XCTAssertGreaterThanOrEqual(fn.offsetMS, root.offsetMS - 0.001, "child starts before parent in \(s.id)")
            XCTAssertLessThanOrEqual(fn.offsetMS + fn.durationMS, root.offsetMS + root.durationMS + 0.001,
                                     "synchronous child ends after its parent in \(s.id)")
            XCTAssertEqual(fn.durationMS, 80, accuracy: 0.001)
        }
    }

    func testCompletionByQuietPeriod() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "a", deploy: .server, trace: tid(1)))
        e.ingest(ev(100, .requestEnd, "api", "a", deploy: .server, trace: tid(1), status: 200))
        e.advance(to: at(100 + 1_000))
        XCTAssertTrue(e.drainFinishedTraces().isEmpty)
        XCTAssertEqual(e.snapshot().traces.open, 1)
        // A late line inside the quiet period pushes completion back.
        e.ingest(ev(1_200, .log, "api", "a", deploy: .server, trace: tid(1), message: "flushed"))
        e.advance(to: at(2_000))
        XCTAssertTrue(e.drainFinishedTraces().isEmpty)
        e.advance(to: at(2_701))
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.count, 1)
        XCTAssertTrue(done[0].complete)
        XCTAssertFalse(done[0].flags.contains(.incomplete))
        XCTAssertEqual(e.snapshot().traces.complete, 1)
    }

    func testCompletionByTimeoutIsFlaggedIncomplete() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "a", deploy: .server, trace: tid(1)))
        e.ingest(ev(50, .log, "api", "a", deploy: .server, trace: tid(1), message: "working"))
        e.advance(to: at(29_000))
        XCTAssertTrue(e.drainFinishedTraces().isEmpty)
        e.advance(to: at(30_001))
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.count, 1)
        XCTAssertTrue(done[0].flags.contains(.incomplete))
        XCTAssertEqual(done[0].flags.names, ["INCOMPLETE"])
    }

    func testAChildStillInFlightKeepsTheTraceOpen() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "edge", "i", deploy: .edge, trace: tid(1)))
        e.ingest(ev(5, .requestStart, "fn", "f", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(10, .requestEnd, "edge", "i", deploy: .edge, trace: tid(1), status: 200))
        e.advance(to: at(5_000))
        XCTAssertTrue(e.drainFinishedTraces().isEmpty)
        e.ingest(ev(5_100, .requestEnd, "fn", "f", deploy: .serverless, trace: tid(1), status: 200))
        e.advance(to: at(7_000))
        XCTAssertEqual(e.drainFinishedTraces().count, 1)
    }

    func testLateEventReopensAFinishedTrace() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "a", deploy: .server, trace: tid(1)))
        e.ingest(ev(10, .requestEnd, "api", "a", deploy: .server, trace: tid(1), status: 200))
        e.advance(to: at(5_000))
        XCTAssertEqual(e.drainFinishedTraces().map(\.eventCount), [2])
        // A second file read later carries the same request's error.
        e.ingest(ev(8, .log, "worker", "w", deploy: .server, trace: tid(1), level: .error, message: "boom"))
        XCTAssertEqual(e.snapshot().traces.open, 1)
        e.advance(to: at(7_000))
        let again = e.drainFinishedTraces()
        XCTAssertEqual(again.map(\.eventCount), [3])
        XCTAssertTrue(again[0].isError)
        let snap = e.snapshot()
        XCTAssertEqual(snap.traces.reopened, 1)
        XCTAssertEqual(snap.traces.complete, 1, "a reopened trace is counted once")
        XCTAssertEqual(snap.traces.errors, 1)
        XCTAssertEqual(snap.recentTraces.count, 1)
    }

    /// A finished summary reads its hops from the trace's own hop states (shared) and its aliases
    /// from the trace's id list: every accessor gives what the arrays give, a summary given the same
    /// values equals it, and the trace changing afterwards (a reopen) leaves it as it was.
    func testSummaryReadsHopsAndAliasesFromItsTrace() throws {
        let e = Engine()
        let t = tid(7)
        // A text span id (not 16 hex digits) and packed ones; the root arrives last.
        e.ingest(ev(30, .span, "db-proxy", "p1", deploy: .server, trace: t, corr: "req-7", span: "5e1c0000000000c2",
                    parent: "child-one", duration: 40))
        e.ingest(ev(10, .span, "feed-fn", "f1", deploy: .serverless, trace: t, req: "aws-7", span: "child-one",
                    parent: "00000000000000a0", status: 200, duration: 100))
        e.ingest(ev(0, .span, "edge", "iso", deploy: .edge, trace: t, corr: "req-7", span: "00000000000000a0",
                    route: "GET /feed", status: 200, duration: 130))
        e.advance(to: at(5_000))
        var s = try XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.id, t)
        XCTAssertEqual(Set(s.aliases), ["req-7", "aws-7"])
        XCTAssertEqual(s.hops.map(\.spanID), ["00000000000000a0", "child-one", "5e1c0000000000c2"])
        XCTAssertEqual(s.hops.map(\.parent), [nil, 0, 1])
        XCTAssertEqual(s.hopCount, 3)
        withUnsafePointer(to: s) { p in
            XCTAssertEqual(TraceSummary.hopCount(of: p), 3)
            XCTAssertEqual(TraceSummary.aliasCount(of: p), 2)
            XCTAssertEqual((0..<2).map { TraceSummary.alias(of: p, at: $0) }, s.aliases)
            for k in 0..<3 {
                let h = s.hops[k], f = TraceSummary.hopFields(of: p, at: k)
                XCTAssertEqual(TraceSummary.hop(of: p, at: k), h)
                XCTAssertEqual(f, HopFields(h))
                XCTAssertEqual(f.span, k == 1 ? .text : .packed(h.span!.packed))
            }
        }
        // The same values given as arrays: equal, field by field.
        var given = TraceSummary(id: s.id, start: s.start)
        given.aliases = s.aliases
        given.hops = s.hops
        for k in [\TraceSummary.durationMS, \TraceSummary.dbWaitMS] { given[keyPath: k] = s[keyPath: k] }
        given.rootService = s.rootService; given.rootRoute = s.rootRoute; given.rootMethod = s.rootMethod
        given.status = s.status; given.coldStart = s.coldStart; given.coldStartInitMS = s.coldStartInitMS
        given.flags = s.flags; given.complete = s.complete; given.eventCount = s.eventCount
        XCTAssertEqual(given, s)
        given.hops[2].offsetMS += 1
        XCTAssertNotEqual(given, s)

        // A late line reopens the trace and adds a hop and an id: the summary already taken keeps
        // its three hops and two aliases.
        let before = s.hops
        e.ingest(ev(60, .log, "worker", "w", deploy: .server, trace: t, req: "job-7", level: .error, message: "boom"))
        e.advance(to: at(9_000))
        let again = try XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(again.hopCount, 4)
        XCTAssertEqual(Set(again.aliases), ["req-7", "aws-7", "job-7"])
        XCTAssertEqual(s.hops, before)
        XCTAssertEqual(Set(s.aliases), ["req-7", "aws-7"])
        // Setting either array replaces the trace's.
        s.aliases = ["x"]
        s.hops = [Hop(service: "one")]
        XCTAssertEqual(s.aliases, ["x"])
        XCTAssertEqual(s.hops.map(\.service), ["one"])
        withUnsafePointer(to: s) { p in
            XCTAssertEqual(TraceSummary.aliasCount(of: p), 1)
            XCTAssertEqual(TraceSummary.hopFields(of: p, at: 0).service, Symbol("one"))
        }
    }

    func testLinesPerTraceAreBounded() {
        var config = EngineConfig()
        config.maxLinesPerTrace = 3
        let e = Engine(config: config)
        e.ingest(ev(0, .requestStart, "api", "a", deploy: .server, trace: tid(1)))
        for k in 1...4 { e.ingest(ev(Double(k), .log, "api", "a", deploy: .server, trace: tid(1), message: "l\(k)")) }
        e.ingest(ev(10, .requestEnd, "api", "a", deploy: .server, trace: tid(1), status: 200))
        e.finish()
        let d = try! XCTUnwrap(e.detail(traceID: tid(1)))
        XCTAssertEqual(d.lines.count, 3)
        XCTAssertEqual(d.droppedLines, 3)
        XCTAssertEqual(d.summary.eventCount, 6)
        XCTAssertEqual(e.snapshot().evicted.lines, 3)
    }

    /// Export's engine keeps no lines; what it reports must still be what an engine with lines
    /// reports: evictions over the per-trace budget, also when two traces merge.
    func testLinesNotKeptAreCountedLikeKeptOnes() {
        func run(keepsLines: Bool) -> (Snapshot, Int) {
            var config = EngineConfig()
            config.maxLinesPerTrace = 3
            config.keepsTraceLines = keepsLines
            config.queuesFinishedTraces = keepsLines
            let e = Engine(config: config)
            e.ingest(ev(0, .requestStart, "api", "a", deploy: .server, trace: tid(1)))
            for k in 1...4 { e.ingest(ev(Double(k), .log, "api", "a", deploy: .server, trace: tid(1), message: "l\(k)")) }
            // Two lines under a correlation id alone, then the line that links it to the trace.
            e.ingest(ev(5, .log, "fn", "f", deploy: .server, corr: "c-1", message: "early"))
            e.ingest(ev(6, .log, "fn", "f", deploy: .server, corr: "c-1", message: "early 2"))
            e.ingest(ev(7, .log, "api", "a", deploy: .server, trace: tid(1), corr: "c-1", message: "link"))
            e.ingest(ev(10, .requestEnd, "api", "a", deploy: .server, trace: tid(1), status: 200))
            e.finish()
            return (e.snapshot(), e.drainFinishedTraces().count)
        }
        let (kept, queued) = run(keepsLines: true)
        let (notKept, notQueued) = run(keepsLines: false)
        XCTAssertEqual(kept.evicted.lines, 6)
        XCTAssertEqual(notKept.evicted.lines, kept.evicted.lines)
        XCTAssertEqual(notKept.recentTraces, kept.recentTraces)
        XCTAssertEqual(notKept.traces, kept.traces)
        XCTAssertEqual(queued, 1)
        XCTAssertEqual(notQueued, 0, "nothing is queued for a drain that never comes")
    }

    /// A chunk moved in gives the same state as its events ingested one by one, and is left empty.
    func testDrainingAChunkEqualsIngestingEachEvent() {
        var chunk: [Event] = []
        for n in 0..<20 {
            chunk.append(ev(Double(n * 10), .requestStart, "api", "a", deploy: .server, trace: tid(n), corr: "c-\(n)"))
            chunk.append(ev(Double(n * 10 + 5), .requestEnd, "api", "a", deploy: .server, trace: tid(n), status: 200,
                            duration: 5, message: "done \(n)"))
        }
        let one = Engine(), all = Engine()
        for e in chunk { one.ingest(e) }
        var moving = chunk
        all.ingest(draining: &moving)
        XCTAssertTrue(moving.isEmpty)
        one.finish(); all.finish()
        XCTAssertEqual(all.snapshot(), one.snapshot())
        XCTAssertEqual(all.detail(traceID: tid(3))?.lines.map(\.message), one.detail(traceID: tid(3))?.lines.map(\.message))
    }

    func testOpenTraceBudgetCompletesTheOldest() {
        var config = EngineConfig()
        config.maxOpenTraces = 2
        let e = Engine(config: config)
        for n in 0..<3 { e.ingest(ev(Double(n), .requestStart, "api", "a", deploy: .server, trace: tid(n))) }
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.map(\.id), [tid(0)])
        XCTAssertTrue(done[0].flags.contains(.incomplete))
        XCTAssertEqual(e.snapshot().traces.open, 2)
    }

    func testUntracedLinesOnAServerlessInstanceJoinItsRequest() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "fn", "f1", deploy: .serverless, req: "r-1"))
        e.ingest(ev(5, .log, "fn", "f1", deploy: .serverless, message: "no id on this line"))
        e.ingest(ev(9, .requestEnd, "fn", "f1", deploy: .serverless, req: "r-1", status: 200))
        e.finish()
        XCTAssertEqual(e.drainFinishedTraces().first?.eventCount, 3)
        XCTAssertEqual(e.snapshot().traces.untracedEvents, 0)
    }

    func testFlagsFromHopEvents() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "fn", "f", deploy: .serverless, trace: tid(1)))
        e.ingest(ev(5, .dbAcquire, "fn", "f", deploy: .serverless, trace: tid(1), wait: 120))
        e.ingest(ev(6, .dbError, "fn", "f", deploy: .serverless, trace: tid(1), dbError: .tooManyClients))
        e.ingest(ev(200, .requestEnd, "fn", "f", deploy: .serverless, trace: tid(1), status: 500))
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.dbWaitMS, 120)
        XCTAssertTrue(s.flags.isSuperset(of: [.dbWait, .dbRefused, .error]))
        XCTAssertFalse(s.flags.contains(.timeout))
        XCTAssertEqual(e.snapshot().traces.errors, 1)
    }
}

/// `HopState` keeps its optional times and numbers bare, with a bit each for "set": every one reads
/// back what was stored, nil included, without disturbing the others.
final class HopStateStorageTests: XCTestCase {
    private typealias Field = (name: String, set: (inout HopState) -> Void, clear: (inout HopState) -> Void,
                               isSet: (HopState) -> Bool)

    private let fields: [Field] = [
        ("start", { $0.start = Timestamp(nanos: 1) }, { $0.start = nil }, { $0.start == Timestamp(nanos: 1) }),
        ("end", { $0.end = Timestamp(nanos: 2) }, { $0.end = nil }, { $0.end == Timestamp(nanos: 2) }),
        ("responseAt", { $0.responseAt = .zero }, { $0.responseAt = nil }, { $0.responseAt == .zero }),
        ("lastWorkAt", { $0.lastWorkAt = Timestamp(nanos: -4) }, { $0.lastWorkAt = nil }, { $0.lastWorkAt == Timestamp(nanos: -4) }),
        ("status", { $0.status = 0 }, { $0.status = nil }, { $0.status == 0 }),
        ("coldStartMS", { $0.coldStartMS = 0 }, { $0.coldStartMS = nil }, { $0.coldStartMS == 0 }),
        ("cpuMS", { $0.cpuMS = 12.5 }, { $0.cpuMS = nil }, { $0.cpuMS == 12.5 }),
    ]

    func testOptionalFieldsReadBackIndependently() {
        var h = HopState(service: Symbol("api"), instance: nil, at: Timestamp(nanos: 5))
        XCTAssertNil(h.start); XCTAssertNil(h.end); XCTAssertNil(h.responseAt); XCTAssertNil(h.lastWorkAt)
        XCTAssertNil(h.status); XCTAssertNil(h.coldStartMS); XCTAssertNil(h.cpuMS)
        for f in fields { f.set(&h) }
        for f in fields { XCTAssertTrue(f.isSet(h), f.name) }
        // Each one cleared alone: it reads nil, every other keeps its value.
        for f in fields {
            var g = h
            f.clear(&g)
            XCTAssertFalse(f.isSet(g), f.name)
            for other in fields where other.name != f.name { XCTAssertTrue(other.isSet(g), "\(other.name) after clearing \(f.name)") }
        }
        // Each one set alone on an empty hop: only it is set.
        for f in fields {
            var g = HopState(service: Symbol("api"), instance: nil, at: .zero)
            f.set(&g)
            for other in fields { XCTAssertEqual(other.isSet(g), other.name == f.name, "\(other.name) after setting \(f.name)") }
        }
        h.start = minOpt(h.start, Timestamp(nanos: -9))
        h.end = maxOpt(h.end, Timestamp(nanos: 7))
        XCTAssertEqual(h.start, Timestamp(nanos: -9))
        XCTAssertEqual(h.end, Timestamp(nanos: 7))
    }
}

/// A trace's hops grow two at first, then one at a time up to four (a finished trace keeps them to
/// the end of an export: doubling left three-hop traces an unused slot), then by doubling.
final class HopRoomTests: XCTestCase {
    func testHopsGrowByOneUpToFour() {
        let t = TraceState(serial: 1, now: .zero)
        let service = Symbol("svc")
        var capacities: [Int] = []
        for k in 0..<7 {
            let span = SpanID(String(format: "%016llx", UInt64(k + 1)))
            let i = t.hopIndex(spanID: span, parentSpanID: nil, service: service, instance: service,
                               at: Timestamp(millis: Int64(k)), maxHops: 64)
            XCTAssertEqual(i, k)
            capacities.append(t.hops.capacity)
        }
        #if canImport(Glibc)
        // glibc's block sizes give these counts exactly (another malloc may round a block up).
        XCTAssertEqual(Array(capacities.prefix(4)), [2, 2, 3, 4])
        #endif
        XCTAssertGreaterThanOrEqual(capacities[4], 5)
        XCTAssertGreaterThanOrEqual(capacities[6], 7)
        // Hops without span ids, one per instance, take the same room.
        let u = TraceState(serial: 2, now: .zero)
        for k in 0..<3 {
            let instance = Symbol("inst-\(k)")
            _ = u.hopIndex(spanID: nil, parentSpanID: nil, service: service, instance: instance,
                           at: Timestamp(millis: Int64(k)), maxHops: 64)
        }
        XCTAssertEqual(u.hops.count, 3)
        #if canImport(Glibc)
        XCTAssertEqual(u.hops.capacity, 3)
        #endif
    }

    /// The serial map against a dictionary: serials stored in order (as the stitcher does) and now
    /// and then out of order, removed at random, from the front in runs, and emptied and refilled.
    func testSerialMapMatchesADictionary() {
        var map = SerialMap()
        var model: [Int: TraceState] = [:]
        // Deterministic choices: the engine's own mixing of the step number.
        var draws: UInt64 = 0
        func draw() -> UInt64 { draws += 1; return UInt64(bitPattern: Int64(FastText.mix(draws, seed: 7))) }
        var next = 100
        func check(_ step: Int) {
            XCTAssertEqual(map.count, model.count, "step \(step)")
            let lo = (model.keys.min() ?? next) - 3, hi = next + 3
            for s in lo...hi { XCTAssertTrue(map[s] === model[s], "step \(step), serial \(s)") }
        }
        for step in 0..<6_000 {
            switch draw() % 10 {
            case 0...4:
                let t = TraceState(serial: next, now: .zero)
                map[next] = t; model[next] = t
                next += 1
            case 5...6:
                if !model.isEmpty {
                    let s = model.keys.sorted()[Int(draw() % UInt64(model.count))]
                    map.removeValue(forKey: s); model[s] = nil
                }
            case 7:
                // A run from the front: the slots before the oldest held are dropped and reclaimed.
                for s in model.keys.sorted().prefix(Int(draw() % 40)) { map[s] = nil; model[s] = nil }
            case 8:
                // An older serial than any held, or one already taken, stored again.
                let s = (model.keys.min() ?? next) - Int(draw() % 5)
                let t = TraceState(serial: s, now: .zero)
                map[s] = t; model[s] = t
            default:
                if draw() % 50 == 0 {
                    for s in model.keys { map.removeValue(forKey: s) }
                    model.removeAll()
                }
                map.removeValue(forKey: next + 10)
            }
            if step % 97 == 0 { check(step) }
        }
        check(-1)
        // A long run held, then its older half removed oldest first: the dropped front is
        // reclaimed (the array moved down) once it is half the array, and every serial still reads.
        for s in model.keys { map.removeValue(forKey: s) }
        model.removeAll()
        let first = next
        next += 3_000
        for s in first..<next {
            let t = TraceState(serial: s, now: .zero)
            map[s] = t; model[s] = t
        }
        for s in first..<(first + 1_600) {
            map.removeValue(forKey: s); model[s] = nil
            if s % 200 == 0 { check(s) }
        }
        check(-2)
        let t = TraceState(serial: next, now: .zero)
        map[next] = t; model[next] = t
        check(-3)
    }
}
