import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinUI

/// Keys as pure state transitions: no drawing involved.
final class KeyTests: XCTestCase {
    var model: DashboardModel!

    override func setUp() {
        model = DashboardModel(snapshot: SampleFleet.snapshot())
    }

    func press(_ state: inout DashboardState, _ keys: Key...) -> [Effect] {
        var out: [Effect] = []
        for k in keys { out += reduce(&state, k, model: model) }
        return out
    }

    func testQuit() {
        var s = DashboardState()
        XCTAssertEqual(press(&s, .char("q")), [.quit])
        XCTAssertTrue(s.quitting)
    }

    func testFocusCyclesThroughVisiblePanes() {
        var s = DashboardState()
        XCTAssertEqual(s.focus, .traces)
        _ = press(&s, .tab)
        XCTAssertEqual(s.focus, .insights)
        _ = press(&s, .tab)
        XCTAssertEqual(s.focus, .instances)
        _ = press(&s, .backTab, .backTab)
        XCTAssertEqual(s.focus, .traces)
        // Hidden panes are skipped.
        _ = press(&s, .char("5"))
        XCTAssertFalse(s.visible.contains(.insights))
        _ = press(&s, .tab)
        XCTAssertEqual(s.focus, .instances)
    }

    func testTogglingPanesKeepsAtLeastOne() {
        var s = DashboardState()
        _ = press(&s, .char("1"), .char("2"), .char("3"), .char("4"), .char("5"))
        XCTAssertEqual(s.visible, [.insights])
        XCTAssertEqual(s.focus, .insights)
        _ = press(&s, .char("4"))
        XCTAssertEqual(s.visible, [.traces, .insights])
        XCTAssertEqual(s.focus, .traces, "showing a pane focuses it")
    }

    func testMovementClampsToTheList() {
        var s = DashboardState()
        _ = press(&s, .char("j"), .down, .char("j"))
        XCTAssertEqual(s.position(.traces).selected, 3)
        _ = press(&s, .char("k"))
        XCTAssertEqual(s.position(.traces).selected, 2)
        _ = press(&s, .end)
        XCTAssertEqual(s.position(.traces).selected, 4)
        _ = press(&s, .down)
        XCTAssertEqual(s.position(.traces).selected, 4)
        _ = press(&s, .char("g"))
        XCTAssertEqual(s.position(.traces).selected, 0)
        _ = press(&s, .char("G"))
        XCTAssertEqual(s.position(.traces).selected, 4)
        _ = press(&s, .up, .home)
        XCTAssertEqual(s.position(.traces).selected, 0)
    }

    func testPageKeysUseTheRenderedPageSize() {
        var s = DashboardState()
        s.focus = .instances
        s.pageSize[.instances] = 3
        _ = press(&s, .pageDown)
        XCTAssertEqual(s.position(.instances).selected, 3)
        _ = press(&s, .pageDown, .pageDown)
        XCTAssertEqual(s.position(.instances).selected, 6)
        _ = press(&s, .pageUp)
        XCTAssertEqual(s.position(.instances).selected, 3)
    }

    func testEnterOpensTheSelectedTraceAndEscapeCloses() {
        var s = DashboardState()
        _ = press(&s, .down)
        XCTAssertEqual(press(&s, .enter), [.requestDetail(traceID: "0af7651916cd43dd8448eb211c80319c")])
        XCTAssertEqual(s.detail?.traceID, "0af7651916cd43dd8448eb211c80319c")
        // In detail, Tab and pane toggles do nothing; Esc returns to the list where it was.
        _ = press(&s, .tab, .char("1"))
        XCTAssertEqual(s.focus, .traces)
        XCTAssertEqual(s.visible.count, 5)
        _ = press(&s, .escape)
        XCTAssertNil(s.detail)
        XCTAssertEqual(s.position(.traces).selected, 1)
    }

    func testEnterOnColdStartAndInsightFollowsTheirTrace() {
        var s = DashboardState()
        s.focus = .coldStarts
        XCTAssertEqual(press(&s, .enter), [.requestDetail(traceID: "4bf92f3577b34da6a3ce929d0e0e4736")])
        s = DashboardState()
        s.focus = .coldStarts
        _ = press(&s, .down)
        XCTAssertEqual(press(&s, .enter), [], "this cold start has no trace")
        XCTAssertNil(s.detail)
        XCTAssertNotNil(s.message)
        s = DashboardState()
        s.focus = .insights
        XCTAssertEqual(press(&s, .enter), [.requestDetail(traceID: "0af7651916cd43dd8448eb211c80319c")])
    }

    func testFilterTypingAppliesOnEnterAndCancelsOnEscape() {
        var s = DashboardState()
        _ = press(&s, .char("/"), .char("t"), .char("h"), .char("u"), .char("m"), .char("x"), .backspace)
        XCTAssertEqual(s.filterDraft, "thum")
        XCTAssertEqual(s.filter(.traces), "", "not applied while typing")
        // While typing, q and j are text, not commands.
        _ = press(&s, .char("q"))
        XCTAssertFalse(s.quitting)
        _ = press(&s, .backspace, .enter)
        XCTAssertNil(s.filterDraft)
        XCTAssertEqual(s.filter(.traces), "thum")
        XCTAssertEqual(model.rowCount(.traces, state: s), 1)
        _ = press(&s, .char("/"), .char("z"), .escape)
        XCTAssertEqual(s.filter(.traces), "thum", "Esc while typing keeps the applied filter")
        _ = press(&s, .escape)
        XCTAssertEqual(s.filter(.traces), "", "Esc in the list clears the filter")
    }

    func testFilterRegexAndInversion() {
        var s = DashboardState()
        s.filters[.traces] = "!feed"
        XCTAssertEqual(model.rowCount(.traces, state: s), 3)
        s.filters[.traces] = "ERR|COLD"
        XCTAssertEqual(model.rowCount(.traces, state: s), 3)
        s.filters[.traces] = "^GET$"
        XCTAssertEqual(model.rowCount(.traces, state: s), 5, "the method field alone matches")
        s.filters[.traces] = "^5\\d\\d$"
        XCTAssertEqual(model.rowCount(.traces, state: s), 1)
        s.filters[.instances] = "lambda"
        XCTAssertEqual(model.rowCount(.instances, state: s), 3)
    }

    func testInvalidRegexMatchesLiterallyAndSaysSo() {
        var s = DashboardState()
        _ = press(&s, .char("/"), .char("("), .enter)
        XCTAssertEqual(s.filter(.traces), "(")
        XCTAssertNotNil(s.message)
        XCTAssertEqual(model.rowCount(.traces, state: s), 0)
    }

    func testErrorJumpsFindErrorTracesAndFocusTraces() {
        var s = DashboardState()
        s.focus = .instances
        _ = press(&s, .char("e"))
        XCTAssertEqual(s.focus, .traces)
        XCTAssertEqual(s.position(.traces).selected, 1)
        _ = press(&s, .char("e"))
        XCTAssertEqual(s.position(.traces).selected, 4)
        _ = press(&s, .char("e"))
        XCTAssertEqual(s.position(.traces).selected, 4)
        XCTAssertEqual(s.message, "no more error traces")
        _ = press(&s, .char("E"))
        XCTAssertEqual(s.position(.traces).selected, 1)
    }

    func testRelatedJumpsFollowTheSameRoute() {
        var s = DashboardState()
        _ = press(&s, .char("o"))
        XCTAssertEqual(s.position(.traces).selected, 1, "the next GET /api/feed")
        _ = press(&s, .char("o"))
        XCTAssertEqual(s.position(.traces).selected, 1)
        _ = press(&s, .char("O"))
        XCTAssertEqual(s.position(.traces).selected, 0)
    }

    func testDetailViewLineCursorErrorAndSameHopJumps() {
        model.detail = SampleFleet.detail()
        var s = DashboardState()
        s.detail = DetailState(traceID: model.detail!.summary.id)
        _ = press(&s, .char("e"))
        XCTAssertEqual(s.detail?.cursor, 7, "the chat error line")
        _ = press(&s, .char("g"))
        XCTAssertEqual(s.detail?.cursor, 0)
        _ = press(&s, .char("o"))
        XCTAssertEqual(s.detail?.cursor, 11, "the next edge-api line")
        _ = press(&s, .char("O"))
        XCTAssertEqual(s.detail?.cursor, 0)
        _ = press(&s, .down, .down)
        _ = press(&s, .char("o"))
        XCTAssertEqual(s.detail?.cursor, 3, "next feed-api line after line 2")
        _ = press(&s, .char("G"))
        XCTAssertEqual(s.detail?.cursor, 11)
    }

    func testSpacePausesTheViewAndInReplayTheClock() {
        var s = DashboardState()
        XCTAssertEqual(press(&s, .char(" ")), [])
        XCTAssertTrue(s.frozen)
        model.mode = .replay(ReplayPosition(speed: .factor(10), now: SampleFleet.at(60), start: SampleFleet.at(0), end: SampleFleet.at(120)))
        XCTAssertEqual(press(&s, .char(" ")), [.setPaused(false)])
        XCTAssertFalse(s.frozen)
    }

    func testSortAndGroupKeys() {
        var s = DashboardState()
        _ = press(&s, .char("s"))
        XCTAssertEqual(s.instanceSort, .lastSeen)
        XCTAssertEqual(model.item(.instances, row: 0, state: s), 5, "chat xk2p was seen last")
        _ = press(&s, .char("s"))
        XCTAssertEqual(s.instanceSort, .service)
        XCTAssertEqual(model.item(.instances, row: 0, state: s), 6, "chat q8wz sorts first by service, instance")
        _ = press(&s, .char("S"))
        XCTAssertTrue(s.sortDescending)
        _ = press(&s, .char("d"))
        XCTAssertTrue(s.groupByDeploy)
        let rows = model.instanceRows(for: s)
        XCTAssertEqual(rows.first, .group(.edge, count: 2))
        XCTAssertEqual(rows.count, 7 + 3)
    }

    func testReplayKeysBecomeEffects() {
        model.mode = .replay(ReplayPosition(speed: .factor(10), now: SampleFleet.at(60), start: SampleFleet.at(0), end: nil))
        var s = DashboardState()
        XCTAssertEqual(press(&s, .char("+")), [.setSpeed(.factor(25))])
        XCTAssertEqual(press(&s, .char("-")), [.setSpeed(.factor(5))])
        XCTAssertEqual(press(&s, .left, .right, .char("["), .char("]")),
                       [.seek(bySeconds: -10), .seek(bySeconds: 10), .seek(bySeconds: -60), .seek(bySeconds: 60)])
        // g/G move in the traces list; elsewhere they seek.
        XCTAssertEqual(press(&s, .char("G")), [])
        XCTAssertEqual(s.position(.traces).selected, 4)
        s.focus = .instances
        XCTAssertEqual(press(&s, .char("g"), .char("G")), [.seekToStart, .seekToEnd])
        XCTAssertEqual(press(&s, .end), [])
        XCTAssertEqual(s.position(.instances).selected, 6)
    }

    func testReplayKeysAreIgnoredLive() {
        var s = DashboardState()
        XCTAssertEqual(press(&s, .char("+"), .left, .char("]")), [])
    }

    func testSpeedSteps() {
        XCTAssertEqual(ReplaySpeed.factor(1000).faster, .max)
        XCTAssertEqual(ReplaySpeed.max.faster, .max)
        XCTAssertEqual(ReplaySpeed.max.slower, .factor(1000))
        XCTAssertEqual(ReplaySpeed.factor(0.1).slower, .factor(0.1))
        XCTAssertEqual(ReplaySpeed.factor(3).faster, .factor(5), "off-step speeds snap to the next step")
        XCTAssertEqual(ReplaySpeed.factor(3).slower, .factor(2))
    }

    func testHelpClosesOnAnyKey() {
        var s = DashboardState()
        _ = press(&s, .char("?"))
        XCTAssertTrue(s.showHelp)
        _ = press(&s, .char("j"))
        XCTAssertFalse(s.showHelp)
        XCTAssertEqual(s.position(.traces).selected, 0, "the key that closes help does nothing else")
    }
}
