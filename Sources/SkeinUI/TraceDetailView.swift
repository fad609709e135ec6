import SkeinCore
import SkeinEngine

/// One trace: a waterfall of its hops on a time axis (critical path marked, cold-start, DB-wait and
/// after-response segments drawn distinctly) above the trace's own log lines (scrollable).
enum TraceDetailView {
    static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        guard var ds = state.detail else { return }
        let g = state.glyphs
        guard let detail = model.detail else {
            let block = Block(title: [Span("Trace " + Format.shortID(ds.traceID, length: 16), Style(.focus, bold: true))],
                              focused: true, glyphs: g)
            block.render(into: &buffer, area: area)
            let inner = block.inner(area)
            buffer.put("trace not found (evicted, or not linked yet)", x: inner.x + 1, y: inner.y,
                       style: Style(.warning), maxWidth: inner.width - 1)
            return
        }
        let t = detail.summary
        let route = Format.request(method: t.rootMethod, route: t.rootRoute ?? t.rootService)
        var right: [Span] = [Span(t.status.map(String.init) ?? "-", Style(Role.status(t.status), bold: true)),
                             Span(" " + g.middot + " " + (t.complete ? Format.ms(t.durationMS) : "open"))]
        let flags = TracesPane.flags(t.flags)
        if !flags.isEmpty { right.append(Span(" ")); right += flags }
        let block = Block(title: [Span("Trace ", Style(.focus, bold: true)), Span(Format.shortID(t.id, length: 16), Style(.accent, bold: true)),
                                  Span(" " + route, Style(.title, bold: true))],
                          rightTitle: right, focused: true, glyphs: g)
        block.render(into: &buffer, area: area)
        let inner = block.inner(area)
        guard !inner.isEmpty else { return }

        var info: [[Span]] = [[Span("id ", role: .dim), Span(t.id)]]
        if !t.complete { info.append([Span("still open", Style(.warning, bold: true))]) }
        if let c = t.coldStartInitMS { info.append([Span("cold init ", role: .dim), Span(Format.ms(c), role: .coldStart)]) }
        if t.dbWaitMS > 0 { info.append([Span("db wait ", role: .dim), Span(Format.ms(t.dbWaitMS), role: .db)]) }
        info.append([Span("start ", role: .dim), Span(t.start.timeOfDay)])
        if !t.aliases.isEmpty { info.append([Span("aka ", role: .dim), Span(t.aliases.joined(separator: ", "))]) }
        info.append([Span("\(t.eventCount) events", role: .dim)])
        buffer.put(Segments.fit(info, width: inner.width, separator: Span("  ")), x: inner.x, y: inner.y, maxWidth: inner.width)

        // The waterfall takes up to half the room; the log lines get the rest.
        let logMin = min(5, max(0, inner.height - 4))
        // Built once: a summary's `hops` makes its array each time it is read.
        let hops = t.hops
        let hopRows = max(0, min(hops.count, inner.height - 3 - logMin, max(3, inner.height / 2 - 2)))
        var y = inner.y + 1
        let labelW = min(24, max(12, inner.width / 4))
        let durW = 8
        let barX = inner.x + labelW + 1
        let barW = inner.width - labelW - durW - 2
        let total = max(t.durationMS, hops.reduce(0) { max($0, $1.offsetMS + $1.durationMS) }, 0.001)
        if barW >= 10 && hopRows > 0 {
            drawAxis(total: total, x: barX, y: y, width: barW, into: &buffer, glyphs: g)
            y += 1
            for (i, h) in hops.prefix(hopRows).enumerated() {
                drawHop(h, index: i, hops: hops, total: total, labelWidth: labelW, barX: barX, barWidth: barW,
                        durX: barX + barW + 1, durWidth: durW, y: y, into: &buffer, glyphs: g, x: inner.x)
                y += 1
            }
            if hops.count > hopRows {
                buffer.put("  +\(hops.count - hopRows) more hops", x: inner.x, y: y - 1, style: Style(.dim), maxWidth: labelW)
            }
            let legend: [Span] = [
                Span(String(g.criticalMark) + " critical path  ", role: .accent),
                Span(String(g.barRun), role: .accent), Span(" run  ", role: .dim),
                Span(String(g.barCold), role: .coldStart), Span(" cold start  ", role: .dim),
                Span(String(g.barDBWait), role: .db), Span(" db wait  ", role: .dim),
                Span(String(g.barAfterResponse), role: .warning), Span(" after response", role: .dim),
            ]
            buffer.put(legend, x: inner.x, y: y, maxWidth: inner.width)
            y += 1
        }

        // The log lines, with a separator naming what was dropped.
        guard y < inner.maxY else { return }
        var sep = String(repeating: String(g.horizontal), count: 2) + " lines \(detail.lines.count)"
        if detail.droppedLines > 0 { sep += " (+\(detail.droppedLines) dropped by the per-trace budget)" }
        sep += " "
        buffer.put(sep, x: inner.x, y: y, style: Style(.border), maxWidth: inner.width)
        let sepW = TextWidth.of(sep)
        if sepW < inner.width {
            for x in (inner.x + sepW)..<inner.maxX { buffer.put(g.horizontal, x: x, y: y, style: Style(.border)) }
        }
        y += 1
        let logArea = Rect(x: inner.x, y: y, width: inner.width, height: inner.maxY - y)
        guard !logArea.isEmpty else { return }
        let lines = detail.lines
        ds.cursor = max(0, min(ds.cursor, lines.count - 1))
        let table = Table(columns: [
            Column("OFFSET", .fixed(9), alignRight: true, priority: 9),
            Column("SERVICE", .fixed(12), priority: 7),
            Column("LVL", .fixed(5), priority: 8),
            Column("EVENT", .fixed(14), priority: 5),
            Column("MESSAGE", .flex(min: 12), priority: 10),
        ], rowCount: lines.count, selected: lines.isEmpty ? nil : ds.cursor, offset: ds.offset, focused: true, glyphs: g) { r in
            let l = lines[r]
            let msg = Sanitizer.clean(l.message)
            return [
                [Span("+" + Format.ms(l.offsetMS), role: .dim)],
                [Span(l.service ?? "-")],
                [Span(l.level.name, Style(Role.level(l.level), bold: l.level >= .error))],
                [Span(l.kind.rawValue, role: kindRole(l.kind))],
                [Span(msg, Style(l.level >= .warn ? Role.level(l.level) : .normal))],
            ]
        }
        ds.offset = table.renderReturningOffset(into: &buffer, area: logArea)
        state.detailPageSize = max(1, table.visibleRows(in: logArea))
        state.detail = ds
    }

    static func kindRole(_ k: EventKind) -> Role {
        switch k {
        case .instanceStart, .instanceStop: .coldStart
        case .dbConnect, .dbDisconnect, .dbAcquire, .dbRelease, .dbSample: .db
        case .dbError: .error
        case .responseSent, .bgStart, .bgEnd: .warning
        default: .dim
        }
    }

    /// `0ms` at the left, the midpoint and the total at the right.
    static func drawAxis(total: Double, x: Int, y: Int, width: Int, into buffer: inout ScreenBuffer, glyphs g: Glyphs) {
        for i in 0..<width { buffer.put(g.horizontal, x: x + i, y: y, style: Style(.dim)) }
        buffer.put("0", x: x, y: y, style: Style(.dim))
        let mid = Format.ms(total / 2)
        buffer.put(mid, x: x + width / 2 - TextWidth.of(mid) / 2, y: y, style: Style(.dim))
        let end = Format.ms(total)
        buffer.put(end, x: x + width - TextWidth.of(end), y: y, style: Style(.dim))
    }

    static func drawHop(_ h: Hop, index: Int, hops: [Hop], total: Double, labelWidth: Int, barX: Int, barWidth: Int,
                        durX: Int, durWidth: Int, y: Int, into buffer: inout ScreenBuffer, glyphs g: Glyphs, x: Int) {
        // Indent by depth in the call tree (capped) so the hop path reads as a tree.
        var depth = 0
        var p = h.parent
        while let pi = p, pi >= 0, pi < hops.count, depth < 4, pi != index { depth += 1; p = hops[pi].parent }
        let mark = h.onCriticalPath ? String(g.criticalMark) : " "
        let label: [Span] = [Span(mark, role: .accent), Span(String(repeating: " ", count: depth + 1)),
                             Span(g.deploy(h.deploy) + " ", role: Role.deploy(h.deploy)),
                             Span(h.service, Style((h.status ?? 0) >= 500 ? .error : .normal, bold: h.onCriticalPath))]
        buffer.put(label, x: x, y: y, maxWidth: labelWidth)

        func col(_ ms: Double) -> Int { Int((max(0, min(total, ms)) / total * Double(barWidth)).rounded(.down)) }
        let start = min(barWidth - 1, col(h.offsetMS))
        let end = max(start + 1, min(barWidth, col(h.offsetMS + h.durationMS)))
        let coldEnd = h.coldStartMS.map { min(end, max(start, col(h.offsetMS + $0))) } ?? start
        let dbEnd = h.dbWaitMS > 0 ? min(end, max(coldEnd, col(h.offsetMS + (h.coldStartMS ?? 0) + h.dbWaitMS))) : coldEnd
        // Any non-zero cold start or wait gets at least one column: it is the point of the picture.
        let coldCols = h.coldStartMS.map { $0 > 0 ? max(1, coldEnd - start) : 0 } ?? 0
        let dbCols = h.dbWaitMS > 0 ? max(1, dbEnd - max(coldEnd, start + coldCols)) : 0
        let afterAt = h.responseAtMS.map { min(end, max(start + 1, col(h.offsetMS + $0))) } ?? end
        let runRole: Role = h.onCriticalPath ? .accent : .normal
        for c in start..<end {
            let glyph: Character
            let role: Role
            if c < start + coldCols { glyph = g.barCold; role = .coldStart }
            else if c < start + coldCols + dbCols { glyph = g.barDBWait; role = .db }
            else if c >= afterAt { glyph = g.barAfterResponse; role = .warning }
            else { glyph = g.barRun; role = (h.status ?? 0) >= 500 ? .error : runRole }
            buffer.put(glyph, x: barX + c, y: y, style: Style(role, bold: h.onCriticalPath), limit: barX + barWidth)
        }
        buffer.put(TextWidth.pad(Format.ms(h.durationMS), to: durWidth, alignRight: true), x: durX, y: y,
                   style: Style(h.onCriticalPath ? .normal : .dim), maxWidth: durWidth)
    }
}
