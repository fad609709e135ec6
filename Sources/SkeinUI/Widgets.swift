/// Something that draws itself into an area of a screen buffer and nowhere else.
public protocol Widget {
    func render(into buffer: inout ScreenBuffer, area: Rect)
}

/// A box with a title: the frame of every pane.
public struct Block: Widget {
    public var title: [Span]
    /// Drawn at the right end of the top border (counts, sort order).
    public var rightTitle: [Span]
    public var focused: Bool
    public var glyphs: Glyphs

    public init(title: [Span] = [], rightTitle: [Span] = [], focused: Bool = false, glyphs: Glyphs = .unicode) {
        self.title = title; self.rightTitle = rightTitle; self.focused = focused; self.glyphs = glyphs
    }

    public init(title: String, focused: Bool = false, glyphs: Glyphs = .unicode) {
        self.init(title: [Span(title, Style(focused ? .focus : .title, bold: true))], focused: focused, glyphs: glyphs)
    }

    /// The area inside the border.
    public func inner(_ area: Rect) -> Rect { area.inset(1) }

    public func render(into buffer: inout ScreenBuffer, area: Rect) {
        guard area.width >= 2, area.height >= 2 else { return }
        let border = Style(focused ? .focus : .border, bold: focused)
        let top = area.y, bottom = area.maxY - 1, left = area.x, right = area.maxX - 1
        let limit = area.maxX
        for x in (left + 1)..<right {
            buffer.put(glyphs.horizontal, x: x, y: top, style: border, limit: limit)
            buffer.put(glyphs.horizontal, x: x, y: bottom, style: border, limit: limit)
        }
        for y in (top + 1)..<bottom {
            buffer.put(glyphs.vertical, x: left, y: y, style: border, limit: limit)
            buffer.put(glyphs.vertical, x: right, y: y, style: border, limit: limit)
        }
        buffer.put(glyphs.topLeft, x: left, y: top, style: border, limit: limit)
        buffer.put(glyphs.topRight, x: right, y: top, style: border, limit: limit)
        buffer.put(glyphs.bottomLeft, x: left, y: bottom, style: border, limit: limit)
        buffer.put(glyphs.bottomRight, x: right, y: bottom, style: border, limit: limit)
        let room = area.width - 4
        guard room > 0 else { return }
        var used = 0
        if !title.isEmpty {
            buffer.put(" ", x: left + 1, y: top, style: border)
            used = buffer.put(title, x: left + 2, y: top, maxWidth: room - 1)
            if used < room - 1 { buffer.put(" ", x: left + 2 + used, y: top, style: border) }
            used += 2
        }
        if !rightTitle.isEmpty {
            let w = rightTitle.reduce(0) { $0 + TextWidth.of($1.text) }
            let free = room - used - 1
            if w <= free {
                let x = right - 1 - w
                buffer.put(" ", x: x - 1, y: top, style: border)
                buffer.put(rightTitle, x: x, y: top, maxWidth: w)
                buffer.put(" ", x: x + w, y: top, style: border)
            }
        }
    }
}

/// Lines of styled text, clipped (never wrapped) to its area, optionally scrolled.
public struct Paragraph: Widget {
    public var lines: [[Span]]
    public var scroll: Int

    public init(_ lines: [[Span]], scroll: Int = 0) { self.lines = lines; self.scroll = scroll }
    public init(text: String, style: Style = .normal) {
        self.init(text.split(separator: "\n", omittingEmptySubsequences: false).map { [Span(String($0), style)] })
    }

    public func render(into buffer: inout ScreenBuffer, area: Rect) {
        guard !area.isEmpty else { return }
        let start = max(0, min(scroll, lines.count))
        for (row, line) in lines[start...].prefix(area.height).enumerated() {
            buffer.put(line, x: area.x, y: area.y + row, maxWidth: area.width)
        }
    }
}

/// A bar chart in one row of eighth-blocks (`▁▂▃▄▅▆▇█`), newest value at the right.
public struct Sparkline: Widget {
    public var values: [Double]
    /// The value drawn as a full block; nil scales to the largest visible value.
    public var max: Double?
    public var style: Style
    public var glyphs: Glyphs

    public init(_ values: [Double], max: Double? = nil, style: Style = Style(.accent), glyphs: Glyphs = .unicode) {
        self.values = values; self.max = max; self.style = style; self.glyphs = glyphs
    }

    public func render(into buffer: inout ScreenBuffer, area: Rect) {
        guard !area.isEmpty, !values.isEmpty else { return }
        let visible = values.suffix(area.width)
        buffer.fill(area)
        let top = self.max ?? (visible.filter { $0.isFinite }.max() ?? 0)
        let levels = glyphs.sparkLevels.count - 1
        // Right-aligned so the newest bucket always sits at the same place.
        var x = area.maxX - visible.count
        for v in visible {
            var level = 0
            if top > 0, v > 0, v.isFinite {
                level = Int((Swift.min(v, top) / top * Double(levels)).rounded(.up))
                level = Swift.max(1, Swift.min(levels, level))
            }
            buffer.put(glyphs.sparkLevels[level], x: x, y: area.y + area.height - 1, style: style, limit: area.maxX)
            x += 1
        }
    }
}

/// A horizontal bar of a ratio with a label, coloured by the 70/80/90 % thresholds.
public struct Gauge: Widget {
    public var ratio: Double
    public var label: String
    public var glyphs: Glyphs

    public init(ratio: Double, label: String, glyphs: Glyphs = .unicode) {
        self.ratio = ratio.isFinite ? ratio : 0; self.label = label; self.glyphs = glyphs
    }

    public var role: Role { Role.utilisation(ratio) }

    public func render(into buffer: inout ScreenBuffer, area: Rect) {
        guard !area.isEmpty else { return }
        buffer.fill(area)
        let labelWidth = TextWidth.of(label)
        let barWidth = area.width - labelWidth - 1
        let y = area.y
        guard barWidth >= 3 else {
            buffer.put(label, x: area.x, y: y, style: Style(role, bold: ratio >= 0.9), maxWidth: area.width)
            return
        }
        let clamped = Swift.max(0, Swift.min(1, ratio))
        let filled = Int((clamped * Double(barWidth)).rounded())
        for i in 0..<barWidth {
            if i < filled {
                buffer.put(glyphs.gaugeFull, x: area.x + i, y: y, style: Style(role), limit: area.maxX)
            } else {
                buffer.put(glyphs.gaugeEmpty, x: area.x + i, y: y, style: Style(.dim), limit: area.maxX)
            }
        }
        buffer.put(label, x: area.x + barWidth + 1, y: y, style: Style(role, bold: ratio >= 0.9), maxWidth: labelWidth)
    }
}

/// A column of a table: fixed width, or flexible with a minimum; low priorities drop first when narrow.
public struct Column: Sendable {
    public enum Width: Sendable { case fixed(Int), flex(min: Int, weight: Int = 1) }
    public var title: String
    public var width: Width
    public var alignRight: Bool
    /// Higher survives longer when the table is too narrow.
    public var priority: Int
    /// Cut long text at the front (`…[$LATEST]9f1c`): for ids whose tail tells them apart.
    public var keepTail: Bool

    public init(_ title: String, _ width: Width, alignRight: Bool = false, priority: Int = 5, keepTail: Bool = false) {
        self.title = title; self.width = width; self.alignRight = alignRight; self.priority = priority
        self.keepTail = keepTail
    }

    var minWidth: Int {
        switch width { case .fixed(let n): n; case .flex(let m, _): m }
    }

    var weight: Int {
        switch width { case .fixed: 0; case .flex(_, let w): Swift.max(1, w) }
    }
}

/// Rows in columns with a header, a selected row and a scroll offset; only visible rows are built.
///
/// The rows come from a closure so a list of 100,000 traces costs only the rows on screen.
public struct Table: Widget {
    public var columns: [Column]
    public var rowCount: Int
    /// One line of spans per visible column, in `columns` order.
    public var row: (Int) -> [[Span]]
    /// An optional style for a whole row (group headers, errors).
    public var rowStyle: ((Int) -> Style?)?
    public var selected: Int?
    public var offset: Int
    public var showHeader: Bool
    public var focused: Bool
    public var glyphs: Glyphs

    public init(columns: [Column], rowCount: Int, selected: Int? = nil, offset: Int = 0, showHeader: Bool = true,
                focused: Bool = false, glyphs: Glyphs = .unicode,
                rowStyle: ((Int) -> Style?)? = nil, row: @escaping (Int) -> [[Span]]) {
        self.columns = columns; self.rowCount = rowCount; self.selected = selected; self.offset = offset
        self.showHeader = showHeader; self.focused = focused; self.glyphs = glyphs
        self.rowStyle = rowStyle; self.row = row
    }

    /// The columns that fit in `width` (by priority) and their widths, in table order.
    public static func layout(_ columns: [Column], width: Int) -> [(index: Int, width: Int)] {
        var kept = Array(columns.indices)
        func need(_ ks: [Int]) -> Int { ks.reduce(0) { $0 + columns[$1].minWidth } + Swift.max(0, ks.count - 1) }
        while need(kept) > width, kept.count > 1 {
            // Drop the lowest priority; among equals the rightmost.
            let victim = kept.enumerated().min { a, b in
                let pa = columns[a.element].priority, pb = columns[b.element].priority
                return pa != pb ? pa < pb : a.offset > b.offset
            }!
            kept.remove(at: victim.offset)
        }
        var widths = kept.map { columns[$0].minWidth }
        let flex = kept.indices.filter { if case .flex = columns[kept[$0]].width { return true } else { return false } }
        let spare = width - need(kept)
        if spare > 0, !flex.isEmpty {
            let totalWeight = flex.reduce(0) { $0 + columns[kept[$1]].weight }
            var given = 0
            for f in flex {
                let share = spare * columns[kept[f]].weight / totalWeight
                widths[f] += share
                given += share
            }
            widths[flex[flex.count - 1]] += spare - given
        } else if spare < 0, let last = widths.indices.last {
            widths[last] = Swift.max(0, widths[last] + spare)
        }
        return zip(kept, widths).map { (index: $0, width: $1) }
    }

    /// The first visible row that keeps `selected` on screen, moving as little as possible from `offset`.
    public static func scrollOffset(selected: Int?, offset: Int, visibleRows: Int, rowCount: Int) -> Int {
        guard visibleRows > 0, rowCount > 0 else { return 0 }
        var o = Swift.max(0, Swift.min(offset, rowCount - visibleRows))
        if let s = selected {
            if s < o { o = s }
            if s >= o + visibleRows { o = s - visibleRows + 1 }
        }
        return Swift.max(0, o)
    }

    /// Rows of data that fit in `area` (below the header).
    public func visibleRows(in area: Rect) -> Int { Swift.max(0, area.height - (showHeader ? 1 : 0)) }

    public func render(into buffer: inout ScreenBuffer, area: Rect) {
        _ = renderReturningOffset(into: &buffer, area: area)
    }

    /// Draws and returns the scroll offset it used, so the caller can keep it for the next frame.
    @discardableResult
    public func renderReturningOffset(into buffer: inout ScreenBuffer, area: Rect) -> Int {
        guard !area.isEmpty else { return offset }
        buffer.fill(area)
        let layout = Table.layout(columns, width: area.width)
        var y = area.y
        if showHeader {
            var x = area.x
            for (i, w) in layout {
                let c = columns[i]
                buffer.put(TextWidth.pad(c.title, to: w, alignRight: c.alignRight, ellipsis: glyphs.ellipsis),
                           x: x, y: y, style: Style(.header, bold: true), maxWidth: Swift.min(w, area.maxX - x))
                x += w + 1
            }
            y += 1
        }
        let visible = visibleRows(in: area)
        let o = Table.scrollOffset(selected: selected, offset: offset, visibleRows: visible, rowCount: rowCount)
        guard visible > 0 else { return o }
        let end = Swift.min(rowCount, o + visible)
        for r in o..<end {
            let cells = row(r)
            let isSelected = r == selected
            let base = rowStyle?(r)
            var x = area.x
            for (n, (i, w)) in layout.enumerated() {
                guard x < area.maxX else { break }
                let cellWidth = Swift.min(w, area.maxX - x)
                let spans = i < cells.count ? cells[i] : []
                let styled = base.map { b in spans.map { Span($0.text, Style(b.role == .normal ? $0.style.role : b.role, bold: b.bold || $0.style.bold)) } } ?? spans
                drawCell(styled, into: &buffer, x: x, y: y, width: cellWidth, column: columns[i])
                x += w + (n < layout.count - 1 ? 1 : 0)
            }
            if isSelected {
                let rowRect = Rect(x: area.x, y: y, width: area.width, height: 1)
                markSelected(&buffer, rowRect)
            }
            y += 1
        }
        return o
    }

    private func markSelected(_ buffer: inout ScreenBuffer, _ rect: Rect) {
        for x in rect.x..<rect.maxX {
            var c = buffer[x, rect.y]
            c.style = Style(focused ? .selected : c.style.role, bold: true, reverse: focused)
            buffer[x, rect.y] = c
        }
    }

    private func drawCell(_ spans: [Span], into buffer: inout ScreenBuffer, x: Int, y: Int, width: Int, column: Column) {
        let textWidth = spans.reduce(0) { $0 + TextWidth.of($1.text) }
        if textWidth <= width {
            let start = column.alignRight ? x + width - textWidth : x
            buffer.put(spans, x: start, y: y, maxWidth: width)
            return
        }
        if column.keepTail, spans.count == 1, width > 1 {
            let ell = glyphs.ellipsis
            let tail = TextWidth.tail(spans[0].text, width: width - TextWidth.of(ell))
            buffer.put([Span(ell, Style(.dim)), Span(tail, spans[0].style)], x: x, y: y, maxWidth: width)
            return
        }
        // Too long: cut the spans and end with an ellipsis so clipping is visible.
        let ell = glyphs.ellipsis
        let room = Swift.max(0, width - TextWidth.of(ell))
        var used = 0
        for s in spans where used < room {
            used += buffer.put(s.text, x: x + used, y: y, style: s.style, maxWidth: room - used)
        }
        buffer.put(ell, x: x + used, y: y, style: Style(.dim), maxWidth: width - used)
    }
}

/// Builds a line from segments in priority order, skipping those that no longer fit, so a narrow
/// pane keeps the most important facts whole instead of cutting the line mid-word.
public enum Segments {
    /// Picks the segments to show by priority (lower first) until the width is used, and returns
    /// their indices in display order; `separatorWidth` columns go between neighbours.
    public static func choose(_ segments: [(priority: Int, spans: [Span])], width: Int, separatorWidth: Int) -> [Int] {
        let widths = segments.map { $0.spans.reduce(0) { $0 + TextWidth.of($1.text) } }
        let order = segments.indices.sorted { (segments[$0].priority, $0) < (segments[$1].priority, $1) }
        var chosen: [Int] = []
        var used = 0
        for i in order where !segments[i].spans.isEmpty {
            let w = widths[i] + (chosen.isEmpty ? 0 : separatorWidth)
            if used + w > width { continue }
            chosen.append(i)
            used += w
        }
        return chosen.sorted()
    }

    /// Segments appear in their given order, joined by `separator`; one that does not fit is left
    /// out (later, shorter ones may still fit).
    public static func fit(_ segments: [[Span]], width: Int, separator: Span? = nil) -> [Span] {
        var out: [Span] = []
        var used = 0
        let sepWidth = separator.map { TextWidth.of($0.text) } ?? 0
        for seg in segments where !seg.isEmpty {
            let w = seg.reduce(0) { $0 + TextWidth.of($1.text) } + (out.isEmpty ? 0 : sepWidth)
            if used + w > width { continue }
            if !out.isEmpty, let separator { out.append(separator) }
            out += seg
            used += w
        }
        return out
    }
}
