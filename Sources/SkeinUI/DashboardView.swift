import SkeinCore
import SkeinEngine

/// The whole dashboard drawn into a screen buffer: header, panes, trace detail, help, footer.
///
/// Reads a `DashboardModel` (snapshot plus caches) and a `DashboardState`; it records only layout
/// facts back into the state (page sizes, scroll offsets), so keys can page by what is on screen.
public enum DashboardView {
    /// Draws one frame into `buffer` (which has the terminal's size).
    public static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer) {
        buffer.fill()
        let area = buffer.area
        guard area.width >= 20, area.height >= 6 else {
            buffer.put("skein: terminal too small", x: 0, y: 0, style: Style(.warning), maxWidth: area.width)
            return
        }
        let g = state.glyphs
        let (header, rest) = area.splitTop(2)
        let body = Rect(x: rest.x, y: rest.y, width: rest.width, height: rest.height - 1)
        let footer = Rect(x: rest.x, y: rest.maxY - 1, width: rest.width, height: 1)
        HeaderView.render(model: model, state: state, into: &buffer, area: header)
        if state.detail != nil {
            TraceDetailView.render(model: model, state: &state, into: &buffer, area: body)
        } else {
            for (pane, rect) in layout(state: state, area: body) {
                renderPane(pane, model: model, state: &state, into: &buffer, area: rect, glyphs: g)
            }
        }
        FooterView.render(model: model, state: state, into: &buffer, area: footer)
        if state.showHelp { HelpView.render(mode: model.mode, glyphs: g, into: &buffer, area: body) }
    }

    /// Draws a snapshot headless and returns the screen as text (`skein replay --snapshot WxH`).
    public static func renderText(snapshot: Snapshot, state: DashboardState = DashboardState(), width: Int, height: Int,
                                  mode: FeedMode = .live, memoryBytes: Int = 0, detail: TraceDetail? = nil) -> String {
        let model = DashboardModel(snapshot: snapshot, mode: mode, memoryBytes: memoryBytes, detail: detail)
        var s = state
        var buffer = ScreenBuffer(width: width, height: height)
        render(model: model, state: &s, into: &buffer)
        return buffer.text()
    }

    /// Where each visible pane goes. Top band: instances, cold starts, DB; bottom band: traces, insights.
    /// Wide terminals put a band's panes side by side; narrow ones stack the smaller panes.
    public static func layout(state: DashboardState, area: Rect) -> [(Pane, Rect)] {
        let top = [Pane.instances, .coldStarts, .db].filter { state.visible.contains($0) }
        let bottom = [Pane.traces, .insights].filter { state.visible.contains($0) }
        var out: [(Pane, Rect)] = []
        var topArea = area, bottomArea = area
        if !top.isEmpty && !bottom.isEmpty {
            let h = max(6, area.height / 2)
            (topArea, bottomArea) = area.splitTop(h)
        }
        let wide = area.width >= 140
        if !top.isEmpty {
            if wide || top.count == 1 || !top.contains(.instances) {
                let weights = top.map { $0 == .instances ? 2 : 1 }
                out += zip(top, topArea.columns(weights)).map { ($0, $1) }
            } else {
                let (left, right) = topArea.splitLeft(topArea.width * 55 / 100)
                out.append((.instances, left))
                let side = top.filter { $0 != .instances }
                let weights = side.map { _ in 1 }
                out += zip(side, right.rows(weights)).map { ($0, $1) }
            }
        }
        if !bottom.isEmpty {
            if bottom.count == 1 {
                out.append((bottom[0], bottomArea))
            } else if wide {
                out += zip(bottom, bottomArea.columns([65, 35])).map { ($0, $1) }
            } else {
                let insightRows = min(max(4, bottomArea.height * 35 / 100), max(0, bottomArea.height - 4))
                let (t, i) = bottomArea.splitTop(bottomArea.height - insightRows)
                out.append((.traces, t))
                out.append((.insights, i))
            }
        }
        return out
    }

    static func renderPane(_ pane: Pane, model: DashboardModel, state: inout DashboardState,
                           into buffer: inout ScreenBuffer, area: Rect, glyphs: Glyphs) {
        switch pane {
        case .instances: InstancesPane.render(model: model, state: &state, into: &buffer, area: area)
        case .coldStarts: ColdStartsPane.render(model: model, state: &state, into: &buffer, area: area)
        case .db: DBPane.render(model: model, state: &state, into: &buffer, area: area)
        case .traces: TracesPane.render(model: model, state: &state, into: &buffer, area: area)
        case .insights: InsightsPane.render(model: model, state: &state, into: &buffer, area: area)
        }
    }

    /// The pane frame with its number, title, counts and filter.
    static func frame(_ pane: Pane, state: DashboardState, shown: Int, partial: Bool = false, total: Int, extra: [Span] = [],
                      into buffer: inout ScreenBuffer, area: Rect) -> Rect {
        let focused = state.focus == pane && state.detail == nil
        var right: [Span] = []
        let f = state.filter(pane)
        if !f.isEmpty { right.append(Span("/" + f + " ", Style(.accent, bold: true))) }
        let shownText = Format.count(shown) + (partial ? "+" : "")
        right.append(Span(shown == total && !partial ? Format.count(total) : "\(shownText)/\(Format.count(total))", role: .dim))
        right += extra
        let title = [Span("\(pane.rawValue) ", role: .dim), Span(pane.title, Style(focused ? .focus : .title, bold: true))]
        let block = Block(title: title, rightTitle: right, focused: focused, glyphs: state.glyphs)
        block.render(into: &buffer, area: area)
        return block.inner(area)
    }

    /// Items a lazy filter may test per frame beyond what is on screen, so its count firms up
    /// over a few frames without ever costing one frame much.
    static let filterScanBudget = 4_000

    /// Makes sure the rows a pane will show are known.
    static func prepare(_ rows: RowSet, _ pane: Pane, state: DashboardState, height: Int) {
        guard rows.isFiltered else { return }
        let p = state.position(pane)
        rows.ensure(max(p.selected, p.offset) + max(0, height) + 1)
        rows.scan(budget: filterScanBudget)
    }

    /// Draws a list as a table and keeps the cursor and offset in the state.
    static func table(_ pane: Pane, _ table: Table, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        var t = table
        var p = state.position(pane)
        p.selected = max(0, min(p.selected, t.rowCount - 1))
        t.selected = t.rowCount > 0 ? p.selected : nil
        t.offset = p.offset
        t.focused = state.focus == pane
        p.offset = t.renderReturningOffset(into: &buffer, area: area)
        state.lists[pane] = p
        let visible = t.visibleRows(in: area)
        state.pageSize[pane] = max(1, visible)
        // Where we are in a long list, on the pane's bottom border (k9s style).
        if t.rowCount > visible, visible > 0 {
            let label = " \(p.offset + 1)-\(min(t.rowCount, p.offset + visible)) of \(Format.count(t.rowCount)) "
            let w = TextWidth.of(label)
            if w + 2 <= area.width {
                buffer.put(label, x: area.maxX - w - 1, y: area.maxY, style: Style(.dim))
            }
        }
    }

    /// `name 12 · name 4`, as many as fit.
    static func tallies(_ label: String, _ items: [Tally], width: Int, rate: ((Int) -> String)? = nil) -> [Span] {
        var spans = [Span(label, role: .dim)]
        var used = TextWidth.of(label)
        for (i, t) in items.enumerated() {
            var text = (i == 0 ? "" : " · ") + t.name + " " + Format.count(t.count)
            if let rate { text += " (" + rate(t.count) + ")" }
            if used + TextWidth.of(text) > width {
                if i < items.count { spans.append(Span(" +\(items.count - i)", role: .dim)) }
                break
            }
            spans.append(Span(text))
            used += TextWidth.of(text)
        }
        return spans
    }
}

/// Two header lines: mode and clock; counters and sources.
enum HeaderView {
    static func render(model: DashboardModel, state: DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        let s = model.snapshot
        let g = state.glyphs
        // Segments by priority (lower number = kept first), shown in this order.
        var segs: [(Int, [Span])] = [(0, [Span(" skein ", Style(.title, bold: true, reverse: true))])]
        switch model.mode {
        case .live:
            segs.append((0, [Span("LIVE", Style(.ok, bold: true))]))
            segs.append((1, [Span(s.now.timeOfDay)]))
        case .replay(let p):
            segs.append((0, [Span("REPLAY " + p.speed.label(times: g.times), Style(.accent, bold: true))]))
            segs.append((1, [Span(p.now.timeOfDay)]))
            if let progress = p.progress {
                segs.append((3, [Span(positionBar(progress, width: 16, glyphs: g), role: .accent),
                                 Span(" " + Format.percent(progress), role: .dim)]))
            }
        }
        if state.frozen || model.mode.replay?.paused == true {
            segs.append((0, [Span(" PAUSED ", Style(.warning, bold: true, reverse: true))]))
        }
        segs.append((2, [Span(Format.rate(s.eventRate.last ?? 0, unit: " ev/s"))]))
        let sparkAt = segs.count
        segs.append((6, [Span(String(repeating: " ", count: min(20, s.eventRate.count)))]))
        segs.append((4, [Span(Format.count(s.traces.count)), Span(" traces (\(Format.count(s.traces.open)) open, ", role: .dim),
                         Span("\(Format.count(s.traces.errors)) err", Style(s.traces.errors > 0 ? .error : .dim)),
                         Span(")", role: .dim)]))
        // 0 means not measured (a one-off render): no figure beats a fake one.
        if model.memoryBytes > 0 {
            segs.append((5, [Span("mem ", role: .dim), Span(Format.bytes(model.memoryBytes))]))
        }
        let kept = Segments.choose(segs.map { ($0.0, $0.1) }, width: area.width, separatorWidth: 2)
        var x = area.x
        for (n, i) in kept.enumerated() {
            if n > 0 { x += buffer.put("  ", x: x, y: area.y, maxWidth: area.maxX - x) }
            if i == sparkAt {
                let w = min(20, s.eventRate.count)
                Sparkline(s.eventRate, style: Style(.accent), glyphs: g).render(into: &buffer, area: Rect(x: x, y: area.y, width: w, height: 1))
                x += w
            } else {
                x += buffer.put(segs[i].1, x: x, y: area.y, maxWidth: area.maxX - x)
            }
        }

        let i = s.input
        var line1: [Span] = [
            Span(" events ", role: .dim), Span(Format.count(i.events)),
            Span("  malformed ", role: .dim), Span(Format.count(i.malformed), Style(i.malformed > 0 ? .warning : .normal)),
            Span("  dropped ", role: .dim), Span(Format.count(i.dropped), Style(i.dropped > 0 ? .error : .normal, bold: i.dropped > 0)),
            Span("  evicted ", role: .dim),
        ]
        let e = s.evicted
        var ev: [String] = []
        if e.traces > 0 { ev.append("\(Format.count(e.traces)) traces") }
        if e.instances > 0 { ev.append("\(Format.count(e.instances)) inst") }
        if e.lines > 0 { ev.append("\(Format.count(e.lines)) lines") }
        line1.append(Span(ev.isEmpty ? "0" : ev.joined(separator: ", "), Style(ev.isEmpty ? .normal : .warning)))
        line1.append(Span("  "))
        var w1 = line1.reduce(0) { $0 + TextWidth.of($1.text) }
        for (n, src) in i.sources.enumerated() {
            let text = src.name + " " + src.health.label
            let sep = n == 0 ? "" : ", "
            let more = " +\(i.sources.count - n)"
            let needed = TextWidth.of(sep + text) + (n < i.sources.count - 1 ? TextWidth.of(more) : 0)
            if w1 + needed > area.width && n > 0 {
                line1.append(Span(more, role: .dim))
                break
            }
            line1.append(Span(sep, role: .dim))
            line1.append(Span(src.name + " ", role: .normal))
            line1.append(Span(src.health.label, Style(healthRole(src.health), bold: src.health.isFailure)))
            w1 += TextWidth.of(sep + text)
        }
        buffer.put(line1, x: area.x, y: area.y + 1, maxWidth: area.width)
    }

    static func healthRole(_ h: SourceHealth) -> Role {
        switch h {
        case .reading: .ok
        case .waiting, .finished: .dim
        case .reconnecting: .warning
        case .failed: .error
        }
    }

    /// `━━━━━●──────`: where the replay is in its recording.
    static func positionBar(_ progress: Double, width: Int, glyphs g: Glyphs) -> String {
        let at = min(width - 1, max(0, Int((progress * Double(width - 1)).rounded())))
        var s = ""
        for i in 0..<width {
            s.append(i < at ? (g == .ascii ? "=" : "━") : i == at ? g.positionMarker : g.horizontal)
        }
        return s
    }
}

extension SourceHealth {
    var isFailure: Bool { if case .failed = self { return true } else { return false } }
}

/// The last line: the filter being typed, a note, or key hints.
enum FooterView {
    static func render(model: DashboardModel, state: DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        if let draft = state.filterDraft {
            let spans = [Span(" filter \(state.focus.title.lowercased()): ", role: .dim), Span("/" + draft, Style(.accent, bold: true)),
                         Span("_", Style(.accent, reverse: true)),
                         Span("   Enter apply · Esc cancel · !pattern inverts", role: .dim)]
            buffer.put(spans, x: area.x, y: area.y, maxWidth: area.width)
            return
        }
        if let m = state.message {
            buffer.put(" " + m, x: area.x, y: area.y, style: Style(.warning), maxWidth: area.width)
            return
        }
        var hints: [(String, String)]
        if state.detail != nil {
            hints = [("Esc", "back"), ("j/k", "line"), ("o/O", "same hop"), ("e/E", "error line"), ("?", "help"), ("q", "quit")]
        } else {
            hints = [("?", "help"), ("Tab", "focus"), ("Enter", "detail"), ("/", "filter"), ("Space", "pause"),
                     ("e/E", "errors"), ("1-5", "panes"), ("s", "sort"), ("d", "group"), ("q", "quit")]
        }
        if model.mode.isReplay {
            hints.insert(contentsOf: [("+/-", "speed"), ("←/→", "±10s"), ("[/]", "±1m")], at: min(2, hints.count))
        }
        var spans: [Span] = []
        var used = 0
        for (k, what) in hints {
            let key = " " + k.replacingArrows(state.glyphs), text = " " + what.replacingArrows(state.glyphs) + " "
            let w = TextWidth.of(key) + TextWidth.of(text)
            // Whole hints only: a cut-off hint reads as a different key.
            if used + w > area.width { break }
            spans.append(Span(key, Style(.key, bold: true)))
            spans.append(Span(text, role: .dim))
            used += w
        }
        buffer.put(spans, x: area.x, y: area.y, maxWidth: area.width)
    }
}

/// The `?` overlay: every key, in a box over the body.
enum HelpView {
    static let entries: [(String, String)] = [
        ("q", "quit"),
        ("Tab / Shift-Tab", "next / previous pane"),
        ("j k ↓ ↑", "move in the focused list"),
        ("PgDn PgUp", "page down / up"),
        ("Home End", "first / last row"),
        ("g G", "first / last row; replay outside Traces: seek start / end"),
        ("Enter", "trace detail (traces, cold starts, insights)"),
        ("Esc", "back; clear the pane's filter"),
        ("/", "filter the focused list (regex, !inverts; Enter applies)"),
        ("Space", "pause the view (ingest goes on; replay: pause clock)"),
        ("e E", "next / previous error trace (detail: error line)"),
        ("o O", "next / previous row like this (detail: same hop's line)"),
        ("1-5", "toggle Instances, Cold starts, DB, Traces, Insights"),
        ("s S", "instances: cycle sort column / reverse"),
        ("d", "instances: group by deploy model"),
        ("+ -", "replay: faster / slower (0.1× … 1000×, max)"),
        ("← →  [ ]", "replay: seek ±10 s / ±1 min"),
    ]

    static func render(mode: FeedMode, glyphs: Glyphs, into buffer: inout ScreenBuffer, area: Rect) {
        let w = min(area.width - 2, 78), h = min(area.height, entries.count + 4)
        guard w > 10, h > 3 else { return }
        let box = Rect(x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h)
        buffer.fill(box)
        let block = Block(title: [Span("Keys", Style(.title, bold: true))],
                          rightTitle: [Span("any key closes", role: .dim)], focused: true, glyphs: glyphs)
        block.render(into: &buffer, area: box)
        let inner = block.inner(box)
        for (i, (k, what)) in entries.prefix(inner.height).enumerated() {
            let keyText = TextWidth.pad(k.replacingArrows(glyphs), to: 16)
            buffer.put([Span(" " + keyText, Style(.key, bold: true)), Span(" " + what.replacingArrows(glyphs))],
                       x: inner.x, y: inner.y + i, maxWidth: inner.width)
        }
    }
}

extension String {
    func replacingArrows(_ g: Glyphs) -> String {
        guard g == .ascii else { return self }
        var s = ""
        for c in self {
            switch c {
            case "↓": s += "down"
            case "↑": s += "up"
            case "←": s += "left"
            case "→": s += "right"
            case "…": s += "..."
            case "×": s += "x"
            case "±": s += "+-"
            case "›": s += ">"
            case "·": s += "-"
            default: s.append(c)
            }
        }
        return s
    }
}
