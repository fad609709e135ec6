import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinUI

/// Whole screens in other states, and layout invariants at every size.
final class LayoutTests: XCTestCase {
    func testHelpOverlay() {
        var state = DashboardState()
        state.showHelp = true
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: state, width: 100, height: 30)
        assertGolden(text, named: "help-100x30")
    }

    func testInstancesGroupedByDeployFilteredAndFocused() {
        var state = DashboardState()
        state.focus = .instances
        state.groupByDeploy = true
        state.instanceSort = .invocations
        state.filters[.instances] = "!gone"
        state.visible = [.instances, .traces]
        state.lists[.instances] = ListPosition(selected: 2)
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: state, width: 120, height: 24)
        assertGolden(text, named: "instances-grouped-120x24")
    }

    func testASCIIDashboardUsesOnlyASCII() {
        let state = DashboardState(glyphs: .ascii)
        let replay = FeedMode.replay(ReplayPosition(speed: .factor(10), now: SampleFleet.at(90), start: SampleFleet.at(0),
                                                    end: SampleFleet.at(120)))
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: state, width: 80, height: 24,
                                            mode: replay, memoryBytes: 48_300_000)
        assertGolden(text, named: "dashboard-ascii-replay-80x24")
        let offending = text.unicodeScalars.filter { !$0.isASCII }
        XCTAssertTrue(offending.isEmpty, "non-ASCII: \(String(String.UnicodeScalarView(offending)))")
    }

    func testEveryLineHasTheScreenWidthAtEverySize() {
        let snap = SampleFleet.snapshot()
        let detail = SampleFleet.detail()
        for (w, h) in [(20, 6), (40, 10), (79, 23), (80, 24), (100, 30), (139, 40), (140, 40), (200, 60), (31, 80)] {
            for inDetail in [false, true] {
                var state = DashboardState()
                if inDetail { state.detail = DetailState(traceID: detail.summary.id) }
                let text = DashboardView.renderText(snapshot: snap, state: state, width: w, height: h, detail: detail)
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                XCTAssertEqual(lines.count, h, "\(w)x\(h)")
                for (i, l) in lines.enumerated() {
                    XCTAssertEqual(TextWidth.of(String(l)), w, "\(w)x\(h) detail=\(inDetail) line \(i): \(l)")
                }
            }
        }
    }

    func testHeaderShowsMemoryOnlyWhenMeasured() {
        let header = { (bytes: Int) in
            DashboardView.renderText(snapshot: SampleFleet.snapshot(), width: 200, height: 24, memoryBytes: bytes)
                .split(separator: "\n").first.map(String.init) ?? ""
        }
        XCTAssertTrue(header(48_300_000).contains("mem "), header(48_300_000))
        XCTAssertFalse(header(0).contains("mem"), header(0))
    }

    func testEmptySnapshotSaysSo() {
        let text = DashboardView.renderText(snapshot: Snapshot(now: SampleFleet.at(0)), width: 80, height: 24)
        XCTAssertTrue(text.contains("no instances yet"), text)
        XCTAssertTrue(text.contains("no traces yet"), text)
        XCTAssertTrue(text.contains("nothing to report"), text)
        XCTAssertTrue(text.contains("max unknown"), text)
    }

    func testMissingDetailSaysNotFound() {
        var state = DashboardState()
        state.detail = DetailState(traceID: "gone")
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: state, width: 80, height: 24)
        XCTAssertTrue(text.contains("trace not found"), text)
    }

    func testLogTextIsSanitisedEverywhere() {
        var snap = SampleFleet.snapshot()
        snap.recentTraces[0].rootRoute = "/x\u{1b}[2J\u{1b}]0;pwned\u{07}y"
        snap.insights[0].message = "bad\u{1b}[31m red\r\nnext"
        snap.instances[0].service = "svc\u{9b}31m"
        let text = DashboardView.renderText(snapshot: snap, width: 120, height: 40)
        XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "control characters reached the screen")
        XCTAssertFalse(text.unicodeScalars.contains { (0x7f..<0xa0).contains($0.value) })
        XCTAssertTrue(text.contains("/xy"), text)
        XCTAssertTrue(text.contains("bad red  next"), text)
        let detail = DashboardView.renderText(snapshot: snap, state: { var s = DashboardState(); s.detail = DetailState(traceID: "t"); return s }(),
                                              width: 100, height: 30, detail: SampleFleet.detail())
        XCTAssertTrue(detail.contains("presence cache miss timeout"), detail)
        XCTAssertFalse(detail.contains("[31m"))
    }

    func testCountsOnTheBorderAndPositionOfLongLists() {
        var snap = SampleFleet.snapshot()
        let t = snap.recentTraces[2]
        snap.recentTraces = (0..<500).map { i in var x = t; x.id = String(format: "%032d", i); return x }
        var state = DashboardState()
        state.lists[.traces] = ListPosition(selected: 250, offset: 0)
        let text = DashboardView.renderText(snapshot: snap, state: state, width: 80, height: 24)
        XCTAssertTrue(text.contains(" 248-251 of 500 "), text)
    }
}

final class GraphemeTests: XCTestCase {
    func testCombiningMarksAndJoinedEmojiStayInOneCell() {
        var b = ScreenBuffer(width: 6, height: 1, fill: ".")
        let used = b.put("e\u{301}👩\u{200D}💻x", x: 0, y: 0)
        XCTAssertEqual(used, 4)
        XCTAssertEqual(b.text(), "e\u{301}👩\u{200D}💻x..")
        XCTAssertEqual(b.character(x: 0, y: 0), "e\u{301}")
        XCTAssertEqual(b.character(x: 1, y: 0), "👩\u{200D}💻")
        XCTAssertTrue(b[2, 0].isContinuation)
    }

    func testSameCellComparesGraphemesByContent() {
        var a = ScreenBuffer(width: 3, height: 1)
        var b = ScreenBuffer(width: 3, height: 1)
        b.put("z", x: 0, y: 0)
        a.put("e\u{301}", x: 1, y: 0)
        b.put("e\u{301}", x: 1, y: 0)
        XCTAssertFalse(a.sameCell(0, as: b))
        XCTAssertTrue(a.sameCell(1, as: b))
        XCTAssertTrue(a.sameCell(2, as: b))
        var c = ScreenBuffer(width: 3, height: 1)
        c.put("o\u{301}", x: 1, y: 0)
        XCTAssertFalse(a.sameCell(1, as: c))
    }
}

final class LazyFilterTests: XCTestCase {
    func testFilterScansOnlyAsFarAsNeeded() {
        var tested = 0
        let rows = RowSet(total: 100_000) { i in tested += 1; return i % 10 == 0 }
        XCTAssertEqual(rows.ensure(5), 5)
        XCTAssertEqual(tested, 41)
        XCTAssertFalse(rows.isComplete)
        XCTAssertEqual(rows[4], 40)
        XCTAssertTrue(rows.has(99))
        XCTAssertFalse(rows.has(10_000))
        XCTAssertTrue(rows.isComplete)
        XCTAssertEqual(rows.count, 10_000)
    }

    func testPartialCountsShowAPlus() {
        var snap = SampleFleet.snapshot()
        let t = snap.recentTraces[2]
        snap.recentTraces = (0..<50_000).map { i in var x = t; x.id = "id\(i)"; return x }
        var state = DashboardState()
        state.filters[.traces] = "id1"
        let model = DashboardModel(snapshot: snap)
        var buffer = ScreenBuffer(width: 80, height: 24)
        DashboardView.render(model: model, state: &state, into: &buffer)
        XCTAssertTrue(buffer.text().contains("+/50.0k"), buffer.text())
        XCTAssertEqual(model.rowCount(.traces, state: state), 11_111)
        DashboardView.render(model: model, state: &state, into: &buffer)
        XCTAssertTrue(buffer.text().contains("/id1 11.1k/50.0k"), buffer.text())
    }
}
