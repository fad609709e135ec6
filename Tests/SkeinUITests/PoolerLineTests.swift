import SkeinCore
import SkeinEngine
import XCTest
@testable import SkeinUI

/// The DB pane's PgBouncer line shows where a pooled setup's queue is, at any width.
final class PoolerLineTests: XCTestCase {
    private func stats() -> PoolerStats {
        var p = PoolerStats()
        p.pools = [PoolStats(pooler: "pgb:6432", database: "shop", user: "app", clientsActive: 2, clientsWaiting: 5,
                             serversActive: 2, maxWaitMS: 1_500, poolSize: 2),
                   PoolStats(pooler: "pgb:6432", database: "auth", user: "app", clientsActive: 1, serversActive: 1, serversIdle: 3, poolSize: 10)]
        p.clientsActive = 3
        p.clientsWaiting = 5
        p.serversActive = 3
        p.maxWaitMS = 1_500
        return p
    }

    private func text(_ width: Int) -> String {
        PoolerLine.spans(stats(), width: width, glyphs: .ascii).map(\.text).joined()
    }

    func testWideShowsEveryPoolNarrowKeepsTheQueueAndTheWorstPool() {
        let wide = text(120)
        XCTAssertTrue(wide.hasPrefix("pgbouncer 5 waiting (1.50s)"), wide)
        XCTAssertTrue(wide.contains("shop/app 2 cl 5 wait sv 2/2"), wide)
        XCTAssertTrue(wide.contains("auth/app 1 cl sv 1/10"), wide)
        let narrow = text(40)
        XCTAssertLessThanOrEqual(narrow.count, 40)
        XCTAssertTrue(narrow.hasSuffix("sv 2/2"), narrow)
        XCTAssertTrue(narrow.contains("5 waiting"), narrow)
        // The full pool is drawn as a warning when clients queue for it.
        let full = PoolerLine.spans(stats(), width: 120, glyphs: .ascii).first { $0.text == "2/2" }
        XCTAssertEqual(full?.style, Style(.warning))
        XCTAssertFalse(wide.contains("clients"), "far from max_client_conn: not shown")
        var atLimit = stats()
        atLimit.maxClientConn = 10
        atLimit.usedClients = 10
        let line = PoolerLine.spans(atLimit, width: 120, glyphs: .ascii)
        XCTAssertTrue(line.map(\.text).joined().hasPrefix("pgbouncer 5 waiting (1.50s) clients 10/10"), line.map(\.text).joined())
        XCTAssertEqual(line.first { $0.text == "10/10" }?.style, Style(.critical, bold: true))
    }
}
