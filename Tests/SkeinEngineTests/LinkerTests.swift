import XCTest
import SkeinCore
@testable import SkeinEngine

final class LinkerTests: XCTestCase {
    func testIdsAreLinkedAcrossHops() {
        let e = Engine()
        // The edge knows the trace id and the correlation id; the function logs the correlation id
        // with its platform request id; the platform's own lines carry the request id only.
        e.ingest(ev(0, .requestStart, "edge", "iso", deploy: .edge, trace: tid(1), corr: "c-1"))
        e.ingest(ev(10, .requestStart, "fn", "i1", deploy: .serverless, corr: "c-1", req: "r-1"))
        e.ingest(ev(50, .log, "fn", "i1", deploy: .serverless, req: "r-1", message: "query done"))
        e.ingest(ev(60, .requestEnd, "fn", "i1", deploy: .serverless, req: "r-1", status: 200))
        e.ingest(ev(80, .requestEnd, "edge", "iso", deploy: .edge, trace: tid(1), status: 200))
        e.finish()
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.count, 1)
        let s = try! XCTUnwrap(done.first)
        XCTAssertEqual(s.id, tid(1))
        XCTAssertEqual(Set(s.aliases), ["c-1", "r-1"])
        XCTAssertEqual(s.eventCount, 5)
        XCTAssertEqual(s.hops.map(\.service), ["edge", "fn"])
        XCTAssertEqual(e.detail(traceID: "r-1")?.summary.id, tid(1))
        XCTAssertEqual(e.detail(traceID: "c-1")?.lines.count, 5)
    }

    func testRetriesSharingARequestIDStayTwoTraces() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "a", trace: tid(1), corr: "x-req-9"))
        e.ingest(ev(100, .requestEnd, "api", "a", trace: tid(1), corr: "x-req-9", status: 503))
        // The client retries with the same x-request-id but a new traceparent.
        e.ingest(ev(300, .requestStart, "api", "a", trace: tid(2), corr: "x-req-9"))
        // A weak-only line now follows the most recent strong id.
        e.ingest(ev(350, .log, "api", "a", corr: "x-req-9", message: "retrying upstream"))
        e.ingest(ev(400, .requestEnd, "api", "a", trace: tid(2), corr: "x-req-9", status: 200))
        e.finish()
        let done = e.drainFinishedTraces().sorted { $0.id < $1.id }
        XCTAssertEqual(done.map(\.id), [tid(1), tid(2)])
        XCTAssertEqual(done.map(\.status), [503, 200])
        XCTAssertEqual(done.map(\.eventCount), [2, 3])
        XCTAssertEqual(e.snapshot().traces.count, 2)
    }

    func testWeakIDSeenFirstIsAdoptedByTheStrongID() {
        let e = Engine()
        e.ingest(ev(0, .log, "api", "a", corr: "c-7", message: "accepted"))
        e.ingest(ev(5, .requestStart, "api", "a", trace: tid(7), corr: "c-7"))
        e.ingest(ev(9, .requestEnd, "api", "a", trace: tid(7), status: 200))
        e.finish()
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.map(\.id), [tid(7)])
        XCTAssertEqual(done.first?.aliases, ["c-7"])
    }

    /// Two finished weak-only traces that a late line links: the newer is merged into the older,
    /// which reopens and completes again. The merged-away trace's entry in the finished queue goes
    /// stale: the snapshot lists the surviving trace once, the other not at all.
    func testFinishedTraceMergedAwayLeavesTheFinishedList() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "fn", "i", deploy: .server, corr: "c-1"))
        e.ingest(ev(10, .requestEnd, "fn", "i", deploy: .server, corr: "c-1", status: 200))
        e.ingest(ev(20, .requestStart, "fn", "i", deploy: .server, req: "r-1"))
        e.ingest(ev(30, .requestEnd, "fn", "i", deploy: .server, req: "r-1", status: 200))
        e.ingest(ev(10_000, .log, "other", "o", deploy: .server, message: "time passes"))
        XCTAssertEqual(e.snapshot().recentTraces.map(\.id).sorted(), ["c-1", "r-1"])
        e.ingest(ev(10_010, .log, "fn", "i", deploy: .server, corr: "c-1", req: "r-1", message: "late, names both"))
        e.finish()
        let listed = e.snapshot().recentTraces
        XCTAssertEqual(listed.map(\.id), ["c-1"])
        XCTAssertEqual(listed.first?.aliases, ["r-1"])
        XCTAssertEqual(e.snapshot(movingSummaries: true).recentTraces.map(\.id), ["c-1"])
    }

    func testTwoWeakOnlyTracesMergeWhenAnEventLinksThem() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "fn", "i", deploy: .server, corr: "c-1"))
        e.ingest(ev(5, .log, "platform", "p", deploy: .server, req: "r-1", message: "billing"))
        XCTAssertEqual(e.snapshot().traces.open, 2)
        e.ingest(ev(8, .requestEnd, "fn", "i", deploy: .server, corr: "c-1", req: "r-1", status: 200))
        let snap = e.snapshot()
        XCTAssertEqual(snap.traces.open, 1)
        XCTAssertEqual(snap.traces.count, 1)
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        // No strong id: the first id seen names the trace.
        XCTAssertEqual(s.id, "c-1")
        XCTAssertEqual(s.aliases, ["r-1"])
        XCTAssertEqual(s.eventCount, 3)
    }

    /// The trace merged away had its own completion pending: when that time comes it must not
    /// complete as a second trace (only the clock moves it there, not `finish`).
    func testAMergedAwayTraceDoesNotCompleteOnItsOldDeadline() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "fn", "i", deploy: .server, corr: "c-1"))
        e.ingest(ev(5, .log, "platform", "p", deploy: .server, req: "r-1", message: "billing"))
        e.ingest(ev(8, .requestEnd, "fn", "i", deploy: .server, corr: "c-1", req: "r-1", status: 200))
        // Long after every quiet period and timeout: an unrelated line moves the engine's clock.
        e.ingest(ev(3_600_000, .log, "other", "o", deploy: .server, corr: "c-2", message: "later"))
        let done = e.drainFinishedTraces()
        XCTAssertEqual(done.map(\.id), ["c-1"])
        XCTAssertEqual(e.snapshot().traces.complete, 1)
    }

    func testBothWeakIDsNamingOneWeakTraceMergeOnce() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "edge", "iso", deploy: .edge, trace: tid(1)))
        e.ingest(ev(5, .requestStart, "fn", "f", deploy: .server, corr: "c-1", req: "r-1"))
        e.ingest(ev(6, .log, "fn", "f", deploy: .server, req: "r-1", message: "working"))
        // The function's end line carries the trace id and both weak ids.
        e.ingest(ev(9, .requestEnd, "fn", "f", deploy: .server, trace: tid(1), corr: "c-1", req: "r-1", status: 200))
        e.ingest(ev(12, .requestEnd, "edge", "iso", deploy: .edge, trace: tid(1), status: 200))
        let snap = e.snapshot()
        XCTAssertEqual(snap.traces.count, 1)
        XCTAssertEqual(snap.traces.open, 1)
        e.finish()
        let s = try! XCTUnwrap(e.drainFinishedTraces().first)
        XCTAssertEqual(s.eventCount, 5)
        XCTAssertEqual(s.hops.count, 2)
        XCTAssertEqual(Set(s.aliases), ["c-1", "r-1"])
        XCTAssertEqual(e.snapshot().traces.complete, 1)
    }

    func testAWeakIDNeverMergesTwoStrongIDs() {
        let e = Engine()
        e.ingest(ev(0, .requestStart, "api", "a", trace: tid(1), corr: "c-1"))
        e.ingest(ev(1, .requestStart, "api", "b", trace: tid(2), corr: "c-2"))
        // A line naming both weak ids must not join the two requests.
        e.ingest(ev(2, .log, "api", "a", corr: "c-1", req: "c-2", message: "odd line"))
        XCTAssertEqual(e.snapshot().traces.count, 2)
        e.finish()
        XCTAssertEqual(Set(e.drainFinishedTraces().map(\.id)), [tid(1), tid(2)])
    }

    func testEvictedTracesForgetTheirIDs() {
        var config = EngineConfig()
        config.retainedTraces = 2
        let e = Engine(config: config)
        for n in 0..<5 {
            let base = Double(n) * 10_000
            e.ingest(ev(base, .requestStart, "api", "a", trace: tid(n), corr: "c-\(n)"))
            e.ingest(ev(base + 10, .requestEnd, "api", "a", trace: tid(n), status: 200))
        }
        e.finish()
        let snap = e.snapshot()
        XCTAssertEqual(snap.evicted.traces, 3)
        XCTAssertEqual(snap.recentTraces.map(\.id), [tid(4), tid(3)])
        XCTAssertNil(e.detail(traceID: tid(0)))
        XCTAssertNil(e.detail(traceID: "c-1"))
        XCTAssertNotNil(e.detail(traceID: "c-3"))
        XCTAssertEqual(e.stitcherIDCount, 4)
    }
}

/// The linker's open-addressing table against a `Dictionary`: inserts, re-points and removals in a
/// deterministic random order, starting small so runs cluster, wrap past the end and grow.
final class IDTableTests: XCTestCase {
    func testMatchesADictionaryThroughGrowthAndRemovals() {
        let table = IDTable(capacity: 16)
        var reference: [String: TraceState] = [:]
        let traces = (0..<7).map { TraceState(serial: $0, now: .zero) }
        // A linear congruential generator: deterministic, so a failure replays.
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 17
        }
        // Few enough distinct ids that removals often hit the middle of a run.
        let ids = (0..<300).map { "id-\($0)-\(String(repeating: "x", count: $0 % 40))" }
        for step in 0..<20_000 {
            let id = ids[Int(next() % UInt64(ids.count))]
            let key = IDKey(id)
            let trace = traces[Int(next() % UInt64(traces.count))]
            switch next() % 4 {
            case 0, 1:
                table.set(key, to: trace)
                reference[id] = trace
            case 2:
                table.remove(key, ifPointingAt: trace)
                if reference[id] === trace { reference[id] = nil }
            default:
                let other = traces[(trace.serial + 1) % traces.count]
                table.repoint(key, from: trace, to: other)
                if reference[id] === trace { reference[id] = other }
            }
            if step % 97 == 0 || step > 19_900 {
                XCTAssertEqual(table.count, reference.count, "step \(step)")
                for x in ids {
                    XCTAssertTrue(table.trace(for: IDKey(x)) === reference[x], "\(x) at step \(step)")
                    // The look-up that remembers recent ids (by the identity of the table's copy,
                    // which `x` is): twice, so the second answers from what the first remembered,
                    // and for another string of the same text, which it cannot.
                    for _ in 0..<2 {
                        let (ref, fingerprint) = table.traceRef(text: x)
                        XCTAssertTrue(ref?.takeUnretainedValue() === reference[x], "\(x) by reference at step \(step)")
                        XCTAssertEqual(fingerprint, FastText.hash(x))
                    }
                    let copy = String(decoding: Array(x.utf8), as: UTF8.self)
                    XCTAssertTrue(table.traceRef(text: copy).trace?.takeUnretainedValue() === reference[x], "\(x) copied at step \(step)")
                }
            }
        }
    }

    func testReservedTableHoldsWhatItWasSizedForAndMore() {
        let table = IDTable(capacity: 16)
        let t = TraceState(serial: 1, now: .zero), u = TraceState(serial: 2, now: .zero)
        // Some ids before the reservation (moved by it), then past it (grown from the reserved size).
        let keys = (0..<12_000).map { IDKey("req-\($0)-\(String(repeating: "y", count: $0 % 23))") }
        for (k, key) in keys.enumerated() {
            if k == 1_000 { table.reserve(5_000) }
            table.set(key, to: k % 2 == 0 ? t : u)
        }
        XCTAssertEqual(table.count, keys.count)
        for (k, key) in keys.enumerated() {
            XCTAssertTrue(table.trace(for: key) === (k % 2 == 0 ? t : u), key.text)
            // A warmed slot answers the same.
            var held: String? = key.text
            withUnsafePointer(to: &held) { table.prefetch(at: $0) }
            XCTAssertTrue(table.traceRef(text: key.text).trace?.takeUnretainedValue() === (k % 2 == 0 ? t : u), key.text)
        }
        XCTAssertNil(table.trace(for: IDKey("req-absent")))
    }

    func testEmptiedTableFindsNothingAndRefills() {
        let table = IDTable(capacity: 16)
        let t = TraceState(serial: 1, now: .zero)
        let keys = (0..<100).map { IDKey("req-\($0)") }
        for k in keys { table.set(k, to: t) }
        XCTAssertEqual(table.count, 100)
        for k in keys.reversed() { table.remove(k, ifPointingAt: t) }
        XCTAssertEqual(table.count, 0)
        XCTAssertTrue(keys.allSatisfy { table.trace(for: $0) == nil })
        table.set(keys[5], to: t)
        XCTAssertTrue(table.trace(for: keys[5]) === t)
        XCTAssertNil(table.trace(for: keys[6]))
    }
}
