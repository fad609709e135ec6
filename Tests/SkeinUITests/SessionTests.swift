import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinUI

/// A feed that serves prepared snapshots one pump at a time and records what it was asked.
final class ScriptedFeed: DashboardFeed {
    var pending: [Snapshot]
    var current: Snapshot
    var details: [String: TraceDetail] = [:]
    var mode: FeedMode = .live
    var performed: [Effect] = []
    var detailRequests: [String] = []
    var snapshotsTaken = 0
    var memoryBytes: Int = 1_048_576
    var isFinished: Bool { pending.isEmpty }

    init(_ snapshots: [Snapshot]) {
        current = snapshots[0]
        pending = Array(snapshots.dropFirst())
    }

    func pump(budget: Double) -> Bool {
        guard !pending.isEmpty else { return false }
        current = pending.removeFirst()
        return true
    }

    func snapshot() -> Snapshot { snapshotsTaken += 1; return current }
    func detail(traceID: String) -> TraceDetail? { detailRequests.append(traceID); return details[traceID] }
    func perform(_ effect: Effect) { performed.append(effect) }
}

final class SessionTests: XCTestCase {
    func snapshots() -> [Snapshot] {
        let first = SampleFleet.snapshot()
        var second = first
        second.now = SampleFleet.at(121)
        second.input.events += 500
        var t = TraceSummary(id: "ffff0000ffff0000ffff0000ffff0000", start: SampleFleet.at(120.5))
        t.rootRoute = "/api/new"
        t.complete = true
        second.recentTraces.insert(t, at: 0)
        return [first, second]
    }

    func testFramesFollowDataAndKeys() {
        let feed = ScriptedFeed(snapshots())
        let session = DashboardSession(feed: feed)
        var buffer = ScreenBuffer(width: 80, height: 24)
        XCTAssertTrue(session.needsFrame)
        session.frame(into: &buffer)
        XCTAssertFalse(session.needsFrame)
        XCTAssertFalse(buffer.text().contains("/api/new"))
        XCTAssertTrue(session.pump(budget: 0.01))
        XCTAssertTrue(session.needsFrame)
        session.frame(into: &buffer)
        XCTAssertTrue(buffer.text().contains("/api/new"))
        XCTAssertFalse(session.pump(budget: 0.01))
        XCTAssertFalse(session.needsFrame, "nothing changed: no frame")
        session.handle([.down])
        XCTAssertTrue(session.needsFrame)
    }

    func testCursorStaysOnItsTraceWhenNewTracesArrive() {
        let feed = ScriptedFeed(snapshots())
        let session = DashboardSession(feed: feed)
        var buffer = ScreenBuffer(width: 80, height: 24)
        session.handle([.down, .down])
        session.frame(into: &buffer)
        XCTAssertEqual(session.model.item(.traces, row: 2, state: session.state), 2)
        session.pump(budget: 0.01)
        session.frame(into: &buffer)
        XCTAssertEqual(session.state.position(.traces).selected, 3, "one trace arrived above")
        XCTAssertEqual(session.model.snapshot.recentTraces[3].id, "b7ad6b7169203331a8f1c2d4e5f60718")
    }

    func testCursorOnTheFirstRowFollowsTheNewest() {
        let feed = ScriptedFeed(snapshots())
        let session = DashboardSession(feed: feed)
        var buffer = ScreenBuffer(width: 80, height: 24)
        session.frame(into: &buffer)
        session.pump(budget: 0.01)
        session.frame(into: &buffer)
        XCTAssertEqual(session.state.position(.traces).selected, 0)
        session.handle([.enter])
        XCTAssertEqual(feed.detailRequests.last, "ffff0000ffff0000ffff0000ffff0000")
    }

    func testPausedViewKeepsTheFrozenSnapshotWhileIngestGoesOn() {
        let feed = ScriptedFeed(snapshots())
        let session = DashboardSession(feed: feed)
        var buffer = ScreenBuffer(width: 80, height: 24)
        session.frame(into: &buffer)
        session.handle([.char(" ")])
        XCTAssertTrue(session.state.frozen)
        XCTAssertTrue(session.pump(budget: 0.01), "ingest continues")
        session.frame(into: &buffer)
        XCTAssertFalse(buffer.text().contains("/api/new"))
        XCTAssertTrue(buffer.text().contains("PAUSED"))
        session.handle([.char(" ")])
        session.frame(into: &buffer)
        XCTAssertTrue(buffer.text().contains("/api/new"), "unpausing shows the newest data")
        XCTAssertFalse(buffer.text().contains("PAUSED"))
    }

    func testEnterFetchesDetailAndRefreshesItWithData() {
        let feed = ScriptedFeed(snapshots())
        let detail = SampleFleet.detail()
        feed.details[detail.summary.id] = detail
        let session = DashboardSession(feed: feed)
        var buffer = ScreenBuffer(width: 100, height: 30)
        session.handle([.enter])
        XCTAssertEqual(feed.detailRequests, [detail.summary.id])
        session.frame(into: &buffer)
        XCTAssertTrue(buffer.text().contains("critical path"))
        XCTAssertTrue(buffer.text().contains("metrics flush finished"))
        session.pump(budget: 0.01)
        session.frame(into: &buffer)
        XCTAssertEqual(feed.detailRequests.count, 2, "an open trace's detail follows new data")
    }

    func testReplayEffectsReachTheFeedAndQuitStops() {
        let feed = ScriptedFeed(snapshots())
        feed.mode = .replay(ReplayPosition(speed: .factor(1), now: SampleFleet.at(10), start: SampleFleet.at(0), end: SampleFleet.at(120)))
        let session = DashboardSession(feed: feed)
        session.handle([.char("+"), .right, .char(" ")])
        XCTAssertEqual(feed.performed, [.setSpeed(.factor(2)), .seek(bySeconds: 10), .setPaused(true)])
        XCTAssertFalse(session.isQuitting)
        session.handle([.char("q"), .char("+")])
        XCTAssertTrue(session.isQuitting)
        XCTAssertEqual(feed.performed.count, 3, "keys after q are not applied")
    }

    func testReplayHeaderShowsSpeedPositionAndPause() {
        let feed = ScriptedFeed(snapshots())
        feed.mode = .replay(ReplayPosition(speed: .factor(10), now: SampleFleet.at(60), start: SampleFleet.at(0),
                                           end: SampleFleet.at(120), paused: true))
        let session = DashboardSession(feed: feed)
        var buffer = ScreenBuffer(width: 120, height: 30)
        session.frame(into: &buffer)
        let header = buffer.lines()[0]
        XCTAssertTrue(header.contains("REPLAY 10×"), header)
        XCTAssertTrue(header.contains("10:01:00.000"), header)
        XCTAssertTrue(header.contains("━━━━━━━━●───────"), header)
        XCTAssertTrue(header.contains("50%"), header)
        XCTAssertTrue(header.contains("PAUSED"), header)
        XCTAssertTrue(buffer.lines()[29].contains("+/- speed"), "replay keys are hinted")
    }
}
