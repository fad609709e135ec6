import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinUI

final class DashboardSnapshotTests: XCTestCase {
    func testDashboard80x24() {
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), width: 80, height: 24, memoryBytes: 48_300_000)
        assertGolden(text, named: "dashboard-80x24")
    }

    func testDashboard120x40() {
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), width: 120, height: 40, memoryBytes: 48_300_000)
        assertGolden(text, named: "dashboard-120x40")
    }
}

final class DetailSnapshotTests: XCTestCase {
    func detailState() -> DashboardState {
        var state = DashboardState()
        state.detail = DetailState(traceID: SampleFleet.detail().summary.id)
        return state
    }

    func testTraceDetail120x40() {
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: detailState(), width: 120, height: 40,
                                            memoryBytes: 48_300_000, detail: SampleFleet.detail())
        assertGolden(text, named: "detail-120x40")
    }

    func testTraceDetail80x24() {
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: detailState(), width: 80, height: 24,
                                            memoryBytes: 48_300_000, detail: SampleFleet.detail())
        assertGolden(text, named: "detail-80x24")
    }

    func testTraceDetailASCII() {
        var state = detailState()
        state.glyphs = .ascii
        let text = DashboardView.renderText(snapshot: SampleFleet.snapshot(), state: state, width: 100, height: 30,
                                            memoryBytes: 48_300_000, detail: SampleFleet.detail())
        assertGolden(text, named: "detail-ascii-100x30")
        XCTAssertTrue(text.unicodeScalars.allSatisfy { $0.isASCII }, "ASCII glyphs leak non-ASCII characters:\n\(text)")
    }
}
