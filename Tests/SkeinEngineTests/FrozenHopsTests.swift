import XCTest
import SkeinCore
@testable import SkeinEngine

/// A finished trace's hops are packed (`FrozenHops`): everything a hop state holds must come back
/// exactly (a late line reopens the trace from them), and the summary's hops must read as the
/// states and their placing say.
final class FrozenHopsTests: XCTestCase {
    /// Hop states exercising every field and width: times four bytes from the first time and
    /// wider, before it, at the extremes; text span ids; a route over 255 bytes with multi-byte
    /// characters and an empty one; a status past 32 bits; negative background tasks; -0 and NaN.
    private func awkwardStates() -> [HopState] {
        let t0 = Timestamp(nanos: 1_763_000_000_123_456_789)
        var a = HopState(service: Symbol("edge-api"), instance: Symbol("iso-1"), at: t0)
        a.lastAt = t0.adding(nanos: 1_500_000)
        a.start = t0
        a.end = t0.adding(nanos: 120_000_000)
        a.responseAt = t0.adding(nanos: 90_000_000)
        a.lastWorkAt = t0.adding(nanos: 5_000_000_000)
        a.spanID = SpanID("00000000000000a0")
        a.route = "/api/" + String(repeating: "añ€😀", count: 40)
        a.method = "GET"
        a.status = 200
        a.deploy = .edge
        a.runtime = Symbol("v8")
        a.cpuMS = 51.25
        a.exceededCPU = true
        a.flags = [.cpuLimit, .error]

        var b = HopState(service: Symbol("feed-fn"), instance: nil, at: Timestamp(nanos: .max))
        b.lastAt = Timestamp(nanos: .max)
        b.start = Timestamp(nanos: .min)
        b.end = Timestamp(nanos: 0)
        b.spanID = SpanID("child-one")
        b.parentSpanID = SpanID("00000000000000a0")
        b.route = ""
        b.status = Int(Int32.max) + 1
        b.coldStart = true
        b.coldStartMS = -0.0
        b.dbWaitMS = .nan
        b.bgOpen = -3
        b.inFlight = true
        b.invocationCounted = true
        b.deploy = .serverless

        var c = HopState(service: Symbol("db-proxy"), instance: Symbol("p1"), at: t0.adding(nanos: -2_000_000_000))
        c.parentSpanID = SpanID("child-one")
        c.status = -1
        c.dbWaitMS = 2
        c.deploy = .server

        let bare = HopState(service: HopState.unknownService, instance: nil, at: .zero)
        return [a, b, c, bare]
    }

    /// Summary order differs from the states' own: root, its child, the child's child, then one alone.
    private let placing = [
        PlacedHop(offsetMS: 0, durationMS: 120, index: 0, parent: -1, flags: [.cpuLimit], critical: true),
        PlacedHop(offsetMS: 0.000_1, durationMS: 1e300, index: 1, parent: 0, flags: [.cold, .afterResponse], critical: false),
        PlacedHop(offsetMS: -0.0, durationMS: .infinity, index: 2, parent: 1, flags: [], critical: true),
        PlacedHop(offsetMS: 3, durationMS: 0, index: 3, parent: -1, flags: [.incomplete], critical: false),
    ]

    private func pack(_ states: [HopState], scratch: FreezeScratch = FreezeScratch()) -> FrozenHops {
        states.withUnsafeBufferPointer { s in
            placing.withUnsafeBufferPointer { FrozenHops(states: s, placed: $0, scratch: scratch) }
        }
    }

    func testStatesComeBackExactly() {
        let states = awkwardStates()
        let frozen = pack(states)
        XCTAssertEqual(frozen.count, 4)
        let back = frozen.states()
        XCTAssertEqual(back.count, states.count)
        for (x, y) in zip(states, back) { assertSame(x, y) }
        // Packed again, the same bytes.
        XCTAssertEqual(bytes(of: pack(back)), bytes(of: frozen))
    }

    /// What most traces look like: millisecond times, one route on every hop, each parent an earlier
    /// hop's span, packed short (times in two bytes, the route once, a parent as a record number);
    /// and the cases beside those: a parent that is a later record's span, a route that changes
    /// back, a time not in whole milliseconds.
    func testTypicalHopsPackShortAndComeBack() {
        let t0 = Timestamp(millis: Int64(1_795_428_000_092))
        func hop(_ service: String, _ span: UInt64, parent: UInt64?, route: String?, atMS: Int64, forMS: Int64) -> HopState {
            var h = HopState(service: Symbol(service), instance: Symbol(service + "-1"), at: t0.adding(nanos: atMS * 1_000_000))
            h.spanID = SpanID(packed: span)
            h.parentSpanID = parent.map { SpanID(packed: $0) }
            h.route = route
            h.start = h.firstAt
            h.end = h.firstAt.adding(nanos: forMS * 1_000_000)
            h.lastAt = h.end!
            h.status = 200
            return h
        }
        let route = "POST /api/checkout"
        let typical = [
            hop("edge-api", 0xa0, parent: nil, route: route, atMS: 0, forMS: 459),
            hop("feed-api", 0xb1, parent: 0xa0, route: route, atMS: 12, forMS: 300),
            hop("queue-worker", 0xc2, parent: 0xb1, route: route, atMS: 40, forMS: 120),
        ]
        let placed = (0..<3).map { PlacedHop(offsetMS: Double($0), durationMS: 1, index: Int32($0), parent: Int32($0) - 1, flags: [], critical: true) }
        let short = typical.withUnsafeBufferPointer { s in placed.withUnsafeBufferPointer { FrozenHops(states: s, placed: $0) } }
        for (x, y) in zip(typical, short.states()) { assertSame(x, y) }
        XCTAssertEqual(short.hop(at: 2).parentSpan, SpanID(packed: 0xb1))
        // Head, the times (last and end two bytes each, start one: it is the first time), the
        // route's text once, a record number for each parent.
        let head = 64, times = 2 + 1 + 2
        XCTAssertEqual(short.packedBytes.count, 2 + 3 * (head + times) + (1 + route.utf8.count) + 2 * 1)

        var awkward = typical
        awkward[0].parentSpanID = SpanID(packed: 0xc2)          // a later record's span: packed
        awkward[1].route = "GET /other"                          // changes, then back
        awkward[2].end = awkward[2].end!.adding(nanos: 1)        // not whole milliseconds
        awkward[2].lastWorkAt = Timestamp(nanos: .min)           // as far back as a time goes
        let packed = awkward.withUnsafeBufferPointer { s in placed.withUnsafeBufferPointer { FrozenHops(states: s, placed: $0) } }
        for (x, y) in zip(awkward, packed.states()) { assertSame(x, y) }
        XCTAssertEqual(packed.hop(at: 0).parentSpan, SpanID(packed: 0xc2))
        XCTAssertGreaterThan(packed.packedBytes.count, short.packedBytes.count)
    }

    func testSummaryHopsReadAsTheStatesAndPlacingSay() {
        let states = awkwardStates()
        let frozen = pack(states)
        for (k, p) in placing.enumerated() {
            let h = states[Int(p.index)]
            let hop = frozen.hop(at: k)
            XCTAssertEqual(hop.serviceSymbol, h.service)
            XCTAssertEqual(hop.instanceSymbol, h.instance)
            XCTAssertEqual(hop.runtimeSymbol, h.runtime)
            XCTAssertEqual(hop.deploy, h.deploy)
            XCTAssertEqual(hop.span, h.spanID)
            XCTAssertEqual(hop.parentSpan, h.parentSpanID)
            XCTAssertEqual(hop.status, h.status)
            XCTAssertEqual(hop.coldStartMS?.bitPattern, h.coldStartMS?.bitPattern)
            XCTAssertEqual(hop.dbWaitMS.bitPattern, h.dbWaitMS.bitPattern)
            XCTAssertEqual(hop.responseAtMS, h.responseAt.map { $0.ms(since: h.rawStart) })
            XCTAssertEqual(hop.offsetMS.bitPattern, p.offsetMS.bitPattern)
            XCTAssertEqual(hop.durationMS.bitPattern, p.durationMS.bitPattern)
            XCTAssertEqual(hop.parent, p.parent >= 0 ? Int(p.parent) : nil)
            XCTAssertEqual(hop.onCriticalPath, p.critical)
            XCTAssertEqual(hop.flags, p.flags)

            XCTAssertEqual(frozen.fields(at: k), HopFields(hop))

            let basics = frozen.basics(at: k)
            XCTAssertEqual(basics.deploy, hop.deploy)
            XCTAssertEqual(basics.flags, hop.flags)
            XCTAssertEqual(basics.durationMS.bitPattern, hop.durationMS.bitPattern)
        }
        XCTAssertEqual(frozen.hop(at: 0).responseAtMS, 90)
        XCTAssertEqual(frozen.fields(at: 1).status, Int(Int32.max) + 1, "a status wider than the head is read past the rest")
        XCTAssertEqual(frozen.fields(at: 1).span, .text)
    }

    /// A report reads every hop's fields in one pass; it must read what hop-by-hop reading does, for
    /// packed hops and for hops given as values.
    func testAllFieldsInOnePassAreTheHopByHopOnes() {
        var packed = TraceSummary(id: "t", start: .zero)
        packed.frozen = pack(awkwardStates())
        var given = TraceSummary(id: "t", start: .zero)
        given.hops = packed.hops
        for summary in [packed, given] {
            withUnsafePointer(to: summary) { t in
                let n = TraceSummary.hopCount(of: t)
                XCTAssertEqual(n, 4)
                withUnsafeTemporaryAllocation(of: HopFields.self, capacity: n) { all in
                    TraceSummary.hopFields(of: t, into: all)
                    for k in 0..<n { XCTAssertEqual(all[k], TraceSummary.hopFields(of: t, at: k)) }
                    XCTAssertEqual(all[1].status, Int(Int32.max) + 1)
                    XCTAssertEqual(all[2].parent, 1)
                    _ = all.deinitialize()
                }
            }
        }
    }

    func testScratchGrowsToTheTrace() {
        let states = awkwardStates()
        let small = FreezeScratch(capacity: 8)
        let grown = pack(states, scratch: small)
        XCTAssertGreaterThan(small.capacity, 8)
        XCTAssertEqual(bytes(of: grown), bytes(of: pack(states)))
        // The scratch is reused: a second trace packed in it is not the first one's bytes.
        let other = pack(Array(states.reversed()), scratch: small)
        XCTAssertNotEqual(bytes(of: other), bytes(of: grown))
        XCTAssertEqual(other.states().map(\.service), states.reversed().map(\.service))
    }

    /// Two traces of 200 spans each that a shared id merges stay within the hops a trace may have
    /// (the rest join its last hop, as lines past the limit do), and complete.
    func testAMergeStaysWithinTheHopLimit() throws {
        let e = Engine()
        for (k, corr) in ["c-1", "c-2"].enumerated() {
            for j in 0..<200 {
                let span = String(format: "%016x", k * 1000 + j + 1)
                e.ingest(ev(Double(j), .span, "svc-\(j % 7)", "i-\(j)", deploy: .server, corr: corr, span: span, duration: 1))
            }
        }
        // One line naming both ids links the two traces.
        e.ingest(ev(300, .log, "svc-0", "i-0", deploy: .server, corr: "c-1", req: "c-2", message: "both"))
        e.finish()
        let summaries = e.drainFinishedTraces()
        XCTAssertEqual(summaries.count, 1)
        XCTAssertEqual(summaries.first?.hopCount, FrozenHops.maxHops)
        XCTAssertEqual(summaries.first?.eventCount, 401)
    }

    func testEmpty() {
        let frozen = FrozenHops()
        XCTAssertTrue(frozen.isEmpty)
        XCTAssertEqual(frozen.count, 0)
        XCTAssertTrue(frozen.states().isEmpty)
    }

    /// A finished trace keeps its hops packed only; a late line brings every fact back, so the trace
    /// completed again reads as before plus the late line.
    func testAReopenedTraceHasItsHopsBack() throws {
        let e = Engine()
        let t = tid(5)
        e.ingest(ev(0, .requestStart, "edge", "iso", deploy: .edge, trace: t, span: "00000000000000a0",
                    route: "/api/orders/checkout/with-a-long-route", method: "POST"))
        e.ingest(ev(10, .requestStart, "fn", "f1", deploy: .serverless, runtime: "nodejs20.x", trace: t,
                    span: "00000000000000b1", parent: "00000000000000a0", initMS: 180, coldStart: true))
        e.ingest(ev(20, .dbAcquire, "fn", "f1", deploy: .serverless, trace: t, span: "00000000000000b1", wait: 4))
        e.ingest(ev(80, .requestEnd, "fn", "f1", deploy: .serverless, trace: t, span: "00000000000000b1", status: 201))
        e.ingest(ev(95, .requestEnd, "edge", "iso", deploy: .edge, trace: t, span: "00000000000000a0", status: 201))
        e.advance(to: at(5_000))
        let first = try XCTUnwrap(e.drainFinishedTraces().first)
        let trace = try XCTUnwrap(e.stitcherTrace(id: t))
        XCTAssertTrue(trace.hops.isEmpty, "a finished trace's hop array is freed")
        XCTAssertFalse(trace.frozen.isEmpty)

        // A late log line of the edge hop, before its end: nothing about the hops changes but counts.
        e.ingest(ev(50, .log, "edge", "iso", deploy: .edge, trace: t, span: "00000000000000a0", message: "late"))
        XCTAssertEqual(trace.hops.count, 2, "reopened with its hops")
        XCTAssertTrue(trace.frozen.isEmpty)
        e.advance(to: at(10_000))
        let again = try XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(again.eventCount, first.eventCount + 1)
        XCTAssertEqual(again.hops, first.hops)
        XCTAssertEqual(again.rootRoute, "/api/orders/checkout/with-a-long-route")
        XCTAssertEqual(again.rootMethod, "POST")
        XCTAssertEqual(again.status, 201)
        XCTAssertEqual(again.coldStartInitMS, 180)
        XCTAssertEqual(again.dbWaitMS, 4)
        XCTAssertEqual(e.snapshot().traces.complete, 1)
    }

    /// An instance's init time learned after its request's trace finished reaches the trace's hop:
    /// the finished trace's hops are unpacked for it (the summary already given keeps its view).
    func testInitTimeLearnedAfterTheTraceFinished() throws {
        let e = Engine()
        let t = tid(6)
        e.ingest(ev(0, .requestStart, "fn", "f1", deploy: .serverless, trace: t))
        e.ingest(ev(40, .requestEnd, "fn", "f1", deploy: .serverless, trace: t, status: 200))
        e.advance(to: at(5_000))
        let first = try XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertNil(first.coldStartInitMS)
        e.ingest(ev(-300, .instanceStart, "fn", "f1", deploy: .serverless, initMS: 260))
        e.ingest(ev(45, .log, "fn", "f1", deploy: .serverless, trace: t, message: "late"))
        e.advance(to: at(10_000))
        let again = try XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(again.coldStartInitMS, 260)
    }

    private func bytes(of f: FrozenHops) -> [UInt8] { f.packedBytes }

    private func assertSame(_ x: HopState, _ y: HopState, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.service, y.service, file: file, line: line)
        XCTAssertEqual(x.instance, y.instance, file: file, line: line)
        XCTAssertEqual(x.runtime, y.runtime, file: file, line: line)
        XCTAssertEqual(x.deploy, y.deploy, file: file, line: line)
        XCTAssertEqual(x.spanID, y.spanID, file: file, line: line)
        XCTAssertEqual(x.parentSpanID, y.parentSpanID, file: file, line: line)
        XCTAssertEqual(x.route, y.route, file: file, line: line)
        XCTAssertEqual(x.method, y.method, file: file, line: line)
        XCTAssertEqual(x.firstAt, y.firstAt, file: file, line: line)
        XCTAssertEqual(x.lastAt, y.lastAt, file: file, line: line)
        XCTAssertEqual(x.start, y.start, file: file, line: line)
        XCTAssertEqual(x.end, y.end, file: file, line: line)
        XCTAssertEqual(x.responseAt, y.responseAt, file: file, line: line)
        XCTAssertEqual(x.lastWorkAt, y.lastWorkAt, file: file, line: line)
        XCTAssertEqual(x.coldStartMS?.bitPattern, y.coldStartMS?.bitPattern, file: file, line: line)
        XCTAssertEqual(x.cpuMS?.bitPattern, y.cpuMS?.bitPattern, file: file, line: line)
        XCTAssertEqual(x.dbWaitMS.bitPattern, y.dbWaitMS.bitPattern, file: file, line: line)
        XCTAssertEqual(x.status, y.status, file: file, line: line)
        XCTAssertEqual(x.bgOpen, y.bgOpen, file: file, line: line)
        XCTAssertEqual(x.coldStart, y.coldStart, file: file, line: line)
        XCTAssertEqual(x.exceededCPU, y.exceededCPU, file: file, line: line)
        XCTAssertEqual(x.inFlight, y.inFlight, file: file, line: line)
        XCTAssertEqual(x.invocationCounted, y.invocationCounted, file: file, line: line)
        XCTAssertEqual(x.flags, y.flags, file: file, line: line)
    }
}
