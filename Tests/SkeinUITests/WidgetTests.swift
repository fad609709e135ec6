import XCTest
import SkeinCore
@testable import SkeinUI

/// Widgets against a buffer pre-filled with a sentinel, so any cell a widget should not touch shows (ratatui style).
final class ScreenBufferTests: XCTestCase {
    func testTextAndClipping() {
        var b = ScreenBuffer(width: 6, height: 2, fill: "x")
        let used = b.put("hello world", x: 2, y: 0)
        XCTAssertEqual(used, 4)
        XCTAssertEqual(b.lines(), ["xxhell", "xxxxxx"])
        b.put("abc", x: -1, y: 1)
        b.put("zz", x: 0, y: 5)
        XCTAssertEqual(b.lines(), ["xxhell", "bcxxxx"])
        b.put("12345", x: 1, y: 1, maxWidth: 2)
        XCTAssertEqual(b.lines()[1], "b12xxx")
    }

    func testWideCharactersTakeTwoCellsAndNeverSplit() {
        var b = ScreenBuffer(width: 5, height: 1, fill: ".")
        XCTAssertEqual(b.put("日本語", x: 0, y: 0), 5)
        // The third wide character does not fit in the last column: a space, not half a glyph.
        XCTAssertEqual(b.text(), "日本 ")
        XCTAssertTrue(b[1, 0].isContinuation)
        XCTAssertEqual(b.lines()[0].count, 3)
        // Overwriting the right half of a wide character blanks its left half.
        b.put("A", x: 1, y: 0)
        XCTAssertEqual(b.text(), " A本 ")
        // Overwriting the left half blanks the right half.
        b.put("B", x: 2, y: 0)
        XCTAssertEqual(b.text(), " AB  ")
    }

    func testDisplayWidthOfLinesStaysTheGridWidth() {
        var b = ScreenBuffer(width: 8, height: 1, fill: ".")
        b.put("a😀b日c", x: 0, y: 0)
        XCTAssertEqual(TextWidth.of(b.text()), 8)
        XCTAssertEqual(b.text(), "a😀b日c.")
    }

    func testControlCharactersAreSanitised() {
        var b = ScreenBuffer(width: 12, height: 1, fill: ".")
        b.put("a\u{1b}[31mred\u{1b}[0m\tb\u{07}", x: 0, y: 0)
        XCTAssertEqual(b.text(), "ared b?.....")
    }

    func testFillAndStyle() {
        var b = ScreenBuffer(width: 4, height: 3, fill: "x")
        b.fill(Rect(x: 1, y: 1, width: 10, height: 1), with: "-", style: Style(.dim))
        XCTAssertEqual(b.lines(), ["xxxx", "x---", "xxxx"])
        XCTAssertEqual(b[2, 1].role, .dim)
        XCTAssertEqual(b[0, 1].role, .normal)
    }

    func testTruncateAndPad() {
        XCTAssertEqual(TextWidth.truncate("abcdef", to: 4), "abc…")
        XCTAssertEqual(TextWidth.truncate("abc", to: 4), "abc")
        XCTAssertEqual(TextWidth.pad("ab", to: 4, alignRight: true), "  ab")
        XCTAssertEqual(TextWidth.truncate("日本語", to: 4), "日…")
        XCTAssertEqual(TextWidth.tail("2026/11/23/[$LATEST]9f1c", width: 6), "T]9f1c")
    }
}

final class BlockTests: XCTestCase {
    func testBlockDrawsBorderAndTitleInsideItsArea() {
        var b = ScreenBuffer(width: 14, height: 5, fill: "x")
        let block = Block(title: [Span("Pods")], rightTitle: [Span("3")], glyphs: .unicode)
        block.render(into: &b, area: Rect(x: 1, y: 1, width: 12, height: 3))
        XCTAssertEqual(b.lines(), [
            "xxxxxxxxxxxxxx",
            "x┌ Pods ─ 3 ┐x",
            "x│xxxxxxxxxx│x",
            "x└──────────┘x",
            "xxxxxxxxxxxxxx",
        ])
        XCTAssertEqual(block.inner(Rect(x: 1, y: 1, width: 12, height: 3)), Rect(x: 2, y: 2, width: 10, height: 1))
        // Without room for both, the right title gives way to the title.
        var c = ScreenBuffer(width: 10, height: 3, fill: "x")
        block.render(into: &c, area: c.area)
        XCTAssertEqual(c.lines()[0], "┌ Pods ──┐")
    }

    func testBlockASCIIAndLongTitleClipped() {
        var b = ScreenBuffer(width: 8, height: 3, fill: "x")
        Block(title: [Span("A very long title")], focused: true, glyphs: .ascii).render(into: &b, area: b.area)
        XCTAssertEqual(b.lines(), ["+ A v--+", "|xxxxxx|", "+------+"])
        XCTAssertEqual(b[0, 0].role, .focus)
    }

    func testTooSmallBlockDrawsNothing() {
        var b = ScreenBuffer(width: 3, height: 3, fill: "x")
        Block(title: "T").render(into: &b, area: Rect(x: 0, y: 0, width: 1, height: 3))
        XCTAssertEqual(b.text(), "xxx\nxxx\nxxx")
    }
}

final class SparklineTests: XCTestCase {
    func testLevelsRightAlignedNewestLast() {
        var b = ScreenBuffer(width: 10, height: 1, fill: "x")
        Sparkline([0, 1, 2, 4, 8], glyphs: .unicode).render(into: &b, area: Rect(x: 1, y: 0, width: 8, height: 1))
        XCTAssertEqual(b.text(), "x    ▁▂▄█x")
    }

    func testOnlyTheNewestValuesThatFit() {
        var b = ScreenBuffer(width: 3, height: 1, fill: "x")
        Sparkline([8, 8, 8, 0, 4, 8], glyphs: .unicode).render(into: &b, area: b.area)
        XCTAssertEqual(b.text(), " ▄█")
    }

    func testFixedMaxAndASCII() {
        var b = ScreenBuffer(width: 4, height: 1, fill: "x")
        Sparkline([50, 100, 200, 0], max: 100, glyphs: .ascii).render(into: &b, area: b.area)
        XCTAssertEqual(b.text(), "-## ")
    }

    func testEmptyAndNonFiniteValuesAreSafe() {
        var b = ScreenBuffer(width: 4, height: 1, fill: "x")
        Sparkline([], glyphs: .unicode).render(into: &b, area: b.area)
        XCTAssertEqual(b.text(), "xxxx")
        Sparkline([.nan, .infinity, 1], glyphs: .unicode).render(into: &b, area: b.area)
        XCTAssertEqual(b.text(), "   █", "non-finite values draw as zero and do not set the scale")
    }
}

final class GaugeTests: XCTestCase {
    func render(_ ratio: Double) -> ScreenBuffer {
        var b = ScreenBuffer(width: 16, height: 1, fill: "x")
        Gauge(ratio: ratio, label: "92%", glyphs: .unicode).render(into: &b, area: Rect(x: 0, y: 0, width: 14, height: 1))
        return b
    }

    func testBarAndLabel() {
        let b = render(0.5)
        XCTAssertEqual(b.text(), "█████░░░░░ 92%xx")
        XCTAssertEqual(b[0, 0].role, .ok)
        XCTAssertEqual(b[9, 0].role, .dim)
    }

    func testThresholds() {
        XCTAssertEqual(render(0.69)[0, 0].role, .ok)
        XCTAssertEqual(render(0.70)[0, 0].role, .warning)
        XCTAssertEqual(render(0.80)[0, 0].role, .error)
        XCTAssertEqual(render(0.92)[0, 0].role, .critical)
        XCTAssertTrue(render(0.92)[13, 0].bold)
        XCTAssertEqual(render(1.5).text(), "██████████ 92%xx")
    }

    func testNarrowGaugeShowsOnlyTheLabel() {
        var b = ScreenBuffer(width: 6, height: 1, fill: "x")
        Gauge(ratio: 0.95, label: "95/100", glyphs: .unicode).render(into: &b, area: Rect(x: 0, y: 0, width: 5, height: 1))
        XCTAssertEqual(b.text(), "95/10x")
    }
}

final class ParagraphTests: XCTestCase {
    func testClipsAndScrolls() {
        var b = ScreenBuffer(width: 6, height: 3, fill: "x")
        Paragraph(text: "one\ntwo two two\nthree\nfour", style: .normal).render(into: &b, area: Rect(x: 1, y: 0, width: 4, height: 2))
        XCTAssertEqual(b.lines(), ["xonexx", "xtwo x", "xxxxxx"])
        var c = ScreenBuffer(width: 6, height: 2, fill: "x")
        Paragraph([[Span("a")], [Span("b")], [Span("c")]], scroll: 2).render(into: &c, area: c.area)
        XCTAssertEqual(c.lines(), ["cxxxxx", "xxxxxx"])
    }
}

final class TableTests: XCTestCase {
    let columns = [
        Column("NAME", .flex(min: 4), priority: 10),
        Column("N", .fixed(3), alignRight: true, priority: 5),
        Column("NOTE", .fixed(6), priority: 1),
    ]

    func table(rows: [(String, Int, String)], selected: Int? = nil, offset: Int = 0) -> Table {
        Table(columns: columns, rowCount: rows.count, selected: selected, offset: offset, focused: true, glyphs: .unicode) { r in
            [[Span(rows[r].0)], [Span(String(rows[r].1))], [Span(rows[r].2)]]
        }
    }

    func testHeaderRowsAndAlignment() {
        var b = ScreenBuffer(width: 18, height: 4, fill: "x")
        table(rows: [("alpha", 1, "ok"), ("beta", 22, "slowish note")]).render(into: &b, area: Rect(x: 0, y: 0, width: 17, height: 4))
        XCTAssertEqual(b.lines(), [
            "NAME     N NOTE  x",
            "alpha    1 ok    x",
            "beta    22 slowi…x",
            "                 x",
        ])
    }

    func testLowPriorityColumnsDropWhenNarrow() {
        var b = ScreenBuffer(width: 10, height: 2, fill: "x")
        table(rows: [("alpha", 1, "ok")]).render(into: &b, area: Rect(x: 0, y: 0, width: 9, height: 2))
        XCTAssertEqual(b.lines(), ["NAME    Nx", "alpha   1x"])
    }

    func testScrollKeepsSelectionVisibleAndOnlyVisibleRowsAreBuilt() {
        var built: [Int] = []
        let rows = (0..<1000).map { ("row\($0)", $0, "") }
        var b = ScreenBuffer(width: 14, height: 4, fill: "x")
        var t = table(rows: rows, selected: 500)
        let inner = t.row
        t.row = { r in built.append(r); return inner(r) }
        let offset = t.renderReturningOffset(into: &b, area: b.area)
        XCTAssertEqual(offset, 498)
        XCTAssertEqual(built, [498, 499, 500])
        XCTAssertEqual(b.lines()[3], "row500     500")
        XCTAssertTrue(b[0, 3].reverse)
        XCTAssertEqual(b[0, 3].role, .selected)
        XCTAssertFalse(b[0, 2].reverse)
    }

    func testScrollOffsetMovesAsLittleAsPossible() {
        XCTAssertEqual(Table.scrollOffset(selected: 5, offset: 3, visibleRows: 4, rowCount: 100), 3)
        XCTAssertEqual(Table.scrollOffset(selected: 7, offset: 3, visibleRows: 4, rowCount: 100), 4)
        XCTAssertEqual(Table.scrollOffset(selected: 1, offset: 3, visibleRows: 4, rowCount: 100), 1)
        XCTAssertEqual(Table.scrollOffset(selected: 0, offset: 50, visibleRows: 4, rowCount: 10), 0)
        XCTAssertEqual(Table.scrollOffset(selected: 9, offset: 50, visibleRows: 4, rowCount: 10), 6)
    }

    func testKeepTailColumnShowsTheEndOfLongIDs() {
        let cols = [Column("ID", .fixed(8), keepTail: true)]
        var b = ScreenBuffer(width: 8, height: 1, fill: "x")
        Table(columns: cols, rowCount: 1, showHeader: false) { _ in [[Span("2026/11/23/[$LATEST]9f1c")]] }
            .render(into: &b, area: b.area)
        XCTAssertEqual(b.text(), "…ST]9f1c")
    }
}

final class FormatTests: XCTestCase {
    func testFormats() {
        XCTAssertEqual(Format.count(950), "950")
        XCTAssertEqual(Format.count(48_190), "48.2k")
        XCTAssertEqual(Format.count(4_100_000), "4.1M")
        XCTAssertEqual(Format.ms(0.42), "0.4ms")
        XCTAssertEqual(Format.ms(182.4), "182ms")
        XCTAssertEqual(Format.ms(1_612), "1.61s")
        XCTAssertEqual(Format.ms(185_000), "3m05s")
        XCTAssertEqual(Format.ms(nil), "-")
        XCTAssertEqual(Format.bytes(48_300_000), "46.1MB")
        XCTAssertEqual(Format.speed(0.1), "0.1×")
        XCTAssertEqual(Format.speed(0.25), "0.25×")
        XCTAssertEqual(Format.speed(0.5), "0.5×")
        XCTAssertEqual(Format.speed(1000), "1000×")
        XCTAssertEqual(Format.bucket(1000), "1s")
        XCTAssertEqual(Format.bucket(250), "250ms")
        XCTAssertEqual(Format.fixed(-1.25, 1), "-1.3")
    }
}

final class FormatRequestTests: XCTestCase {
    func testMethodShownOnlyWhenTheRouteDoesNotStartWithIt() {
        XCTAssertEqual(Format.request(method: "GET", route: "GET /api/feed"), "GET /api/feed")
        XCTAssertEqual(Format.request(method: "GET", route: "/api/feed"), "GET /api/feed")
        XCTAssertEqual(Format.request(method: "POST", route: "GET /api/feed"), "POST GET /api/feed")
        XCTAssertEqual(Format.request(method: "GET", route: "GETTER /x"), "GET GETTER /x")
        XCTAssertEqual(Format.request(method: nil, route: "/api/feed"), "/api/feed")
        XCTAssertEqual(Format.request(method: "GET", route: nil), "GET")
        XCTAssertEqual(Format.request(method: nil, route: nil), "")
    }
}
