import SkeinCore
import SkeinEngine

/// Instances: deploy model, service, runtime, lifecycle state, age, invocations, cold-start init,
/// open DB connections, last seen. Sortable (`s`), grouped by deploy model on demand (`d`).
enum InstancesPane {
    static let columns: [Column] = [
        Column("", .fixed(1), priority: 9),
        Column("SERVICE", .flex(min: 8), priority: 10),
        Column("INSTANCE", .flex(min: 8, weight: 2), priority: 6, keepTail: true),
        Column("RUNTIME", .fixed(9), priority: 4),
        Column("STATE", .fixed(5), priority: 9),
        Column("AGE", .fixed(4), alignRight: true, priority: 5),
        Column("INV", .fixed(5), alignRight: true, priority: 7),
        Column("INIT", .fixed(6), alignRight: true, priority: 3),
        Column("DB", .fixed(3), alignRight: true, priority: 6),
        Column("LAST", .fixed(4), alignRight: true, priority: 2),
    ]

    static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        let s = model.snapshot
        let rows = model.instanceRows(for: state)
        let shown = rows.reduce(0) { if case .instance = $1 { return $0 + 1 } else { return $0 } }
        let arrow = state.sortDescending ? state.glyphs.arrowUp : state.glyphs.arrowDown
        var extra = [Span(" " + state.glyphs.middot + " " + state.instanceSort.rawValue + " " + arrow, role: .dim)]
        if state.groupByDeploy { extra.append(Span(" " + state.glyphs.middot + " by deploy", role: .dim)) }
        let inner = DashboardView.frame(.instances, state: state, shown: shown, total: s.instances.count, extra: extra,
                                        into: &buffer, area: area)
        guard !inner.isEmpty else { return }
        if rows.isEmpty {
            buffer.put(s.instances.isEmpty ? "no instances yet" : "no instance matches the filter",
                       x: inner.x + 1, y: inner.y + 1, style: Style(.dim), maxWidth: inner.width - 1)
            state.pageSize[.instances] = max(1, inner.height - 1)
            return
        }
        let g = state.glyphs
        let now = s.now
        let table = Table(columns: columns, rowCount: rows.count, glyphs: g, rowStyle: { r in
            if case .group = rows[r] { return Style(.title, bold: true) }
            return nil
        }) { r in
            switch rows[r] {
            case .group(let d, let count):
                return [[Span(g.deploy(d), role: Role.deploy(d))],
                        [Span((d?.rawValue ?? "unknown") + " (\(Format.count(count)))", Style(.title, bold: true))]]
            case .instance(let i):
                let x = s.instances[i]
                let initText = x.coldStart.map { Format.ms($0.initMS) } ?? ""
                return [
                    [Span(g.deploy(x.deploy), role: Role.deploy(x.deploy))],
                    [Span(x.service)],
                    [Span(x.instance, role: .dim)],
                    [Span(x.runtime ?? "-", role: .dim)],
                    [Span(x.state.rawValue, Style(Role.state(x.state), bold: x.state == .cold))],
                    [Span(Format.age(ms: now.ms(since: x.firstSeen)), role: .dim)],
                    [Span(Format.count(x.invocations))],
                    [Span(initText, role: .coldStart)],
                    [Span(x.dbOpen == 0 ? "-" : String(x.dbOpen), Style(x.dbErrors > 0 ? .error : (x.dbOpen > 0 ? .db : .dim)))],
                    [Span(Format.age(ms: now.ms(since: x.lastSeen)), role: .dim)],
                ]
            }
        }
        DashboardView.table(.instances, table, state: &state, into: &buffer, area: inner)
    }
}

/// Cold starts: count and rate, per runtime and service, init percentiles, a sparkline over time,
/// the latency penalty (p95 cold vs warm) and the most recent ones.
enum ColdStartsPane {
    static let columns: [Column] = [
        Column("TIME", .fixed(8), priority: 6),
        Column("", .fixed(1), priority: 9),
        Column("SERVICE", .flex(min: 8), priority: 10),
        Column("RUNTIME", .fixed(9), priority: 5),
        Column("INIT", .fixed(6), alignRight: true, priority: 8),
    ]

    static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        let c = model.snapshot.coldStarts
        let rows = model.rows(.coldStarts, filter: state.filter(.coldStarts))
        DashboardView.prepare(rows, .coldStarts, state: state, height: area.height)
        let inner = DashboardView.frame(.coldStarts, state: state, shown: rows.count, partial: !rows.isComplete, total: c.recent.count,
                                        into: &buffer, area: area)
        guard !inner.isEmpty else { return }
        let g = state.glyphs
        let w = inner.width
        let minutes = observedMinutes(model.snapshot)
        func perMinute(_ n: Int) -> String { minutes > 0 ? Format.rate(Double(n) / minutes, unit: "/m") : "-" }

        let dot = " " + g.middot + " "
        let sep = Span(dot, role: .dim)
        let summary = Segments.fit([
            [Span(Format.count(c.count), Style(.coldStart, bold: true)), Span(" cold", role: .coldStart)],
            [Span(perMinute(c.count), role: .normal)],
            [Span("init p50 ", role: .dim), Span(Format.ms(c.initMS.p50)),
             Span(" p95 ", role: .dim), Span(Format.ms(c.initMS.p95), role: .coldStart)],
            c.inferred > 0 ? [Span("\(Format.count(c.inferred)) inferred", role: .dim)] : [],
        ], width: w, separator: sep)

        var penalty: [Span] = [Span("penalty p95 ", role: .dim)]
        if let p = c.penaltyP95MS {
            penalty = Segments.fit([
                [Span("penalty p95 ", role: .dim), Span((p >= 0 ? "+" : "") + Format.ms(p), Style(p > 0 ? .warning : .ok, bold: true))],
                [Span("(cold \(Format.ms(c.coldLatencyMS.p95)) vs warm \(Format.ms(c.warmLatencyMS.p95)))", role: .dim)],
            ], width: w, separator: Span(" "))
        } else {
            penalty.append(Span("-", role: .dim))
        }

        var stats: [[Span]] = [summary, [], penalty,
                               DashboardView.tallies("runtime ", c.byRuntime, width: w, rate: perMinute),
                               DashboardView.tallies("service ", c.byService, width: w, rate: perMinute)]
        let sparkRow = 1
        let n: Int
        if inner.height <= 5 || c.recent.isEmpty { n = min(stats.count, inner.height) } else { n = min(stats.count, max(2, inner.height - 4)) }
        stats = Array(stats.prefix(n))
        for (i, line) in stats.enumerated() where i != sparkRow {
            buffer.put(line, x: inner.x, y: inner.y + i, maxWidth: w)
        }
        if n > sparkRow {
            let label = "per " + Format.bucket(c.series.bucketMS) + " "
            let lw = buffer.put(label, x: inner.x, y: inner.y + sparkRow, style: Style(.dim), maxWidth: w)
            Sparkline(c.series.values, style: Style(.coldStart), glyphs: g)
                .render(into: &buffer, area: Rect(x: inner.x + lw, y: inner.y + sparkRow, width: w - lw, height: 1))
        }
        let listArea = Rect(x: inner.x, y: inner.y + n, width: w, height: inner.height - n)
        guard !listArea.isEmpty else { state.pageSize[.coldStarts] = 1; return }
        let table = Table(columns: columns, rowCount: rows.count, glyphs: g) { r in
            let x = c.recent[rows[r]]
            return [
                [Span(String(x.at.timeOfDay.prefix(8)), role: .dim)],
                [Span(g.deploy(x.deploy), role: Role.deploy(x.deploy))],
                [Span(x.service)],
                [Span(x.runtime ?? "-", role: .dim)],
                [Span(Format.ms(x.initMS) + (x.inferred ? "?" : ""), role: .coldStart)],
            ]
        }
        DashboardView.table(.coldStarts, table, state: &state, into: &buffer, area: listArea)
    }

    /// Minutes between the first event and now, for rates.
    static func observedMinutes(_ s: Snapshot) -> Double {
        guard let first = s.firstEventAt else { return 0 }
        return max(0, s.now.ms(since: first)) / 60_000
    }
}

/// DB connections: a gauge of open/max with 70/80/90 % thresholds, whether the count is the
/// server's, a sparkline, errors, first exhaustion, and per service/application/instance breakdowns.
enum DBPane {
    static let columns: [Column] = [
        Column("", .fixed(1), priority: 9),
        Column("SERVICE", .flex(min: 8), priority: 10),
        Column("INSTANCE", .flex(min: 8, weight: 2), priority: 6, keepTail: true),
        Column("OPEN", .fixed(4), alignRight: true, priority: 9),
    ]

    static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        let d = model.snapshot.db
        let rows = model.rows(.db, filter: state.filter(.db))
        DashboardView.prepare(rows, .db, state: state, height: area.height)
        let truth = [Span(" " + state.glyphs.middot + " ", role: .dim),
                     Span(d.serverTruth ? "server count" : "app-reported", Style(d.serverTruth ? .ok : .warning))]
        let inner = DashboardView.frame(.db, state: state, shown: rows.count, partial: !rows.isComplete, total: d.byInstance.count, extra: truth,
                                        into: &buffer, area: area)
        guard !inner.isEmpty else { return }
        let g = state.glyphs
        let w = inner.width
        var lines: [[Span]] = []
        // Line 0 is the gauge (drawn below); the rest are text lines in priority order.
        lines.append([])
        let dot = " " + g.middot + " "
        var peak: [[Span]] = []
        if let ex = d.firstExhaustionAt {
            peak.append([Span("exhausted ", role: .dim), Span(String(ex.timeOfDay.prefix(8)), Style(.critical, bold: true))])
        }
        var peakSeg = [Span("peak ", role: .dim), Span(Format.count(d.peakOpen))]
        if let at = d.peakAt { peakSeg.append(Span(" @" + String(at.timeOfDay.prefix(8)), role: .dim)) }
        peak.append(peakSeg)
        if d.serverTruth && d.appReportedOpen != d.open {
            peak.append([Span("apps say ", role: .dim), Span(Format.count(d.appReportedOpen))])
        }
        lines.append(Segments.fit(peak, width: w, separator: Span(dot, role: .dim)))
        var errs: [[Span]] = [[Span("errors ", role: .dim), Span(Format.count(d.errors), Style(d.errors > 0 ? .error : .normal, bold: d.errors > 0))]]
        for (i, t) in d.errorsByKind.enumerated() {
            errs.append([Span((i == 0 ? ": " : ", ") + t.name + " " + Format.count(t.count), role: .error)])
        }
        lines.append(Segments.fit(errs, width: w))
        lines.append([]) // sparkline
        var waits: [Span] = [Span("pool waits ", role: .dim), Span(Format.count(d.poolWaits))]
        if d.poolWaits > 0 {
            waits.append(Span(" p95 ", role: .dim))
            waits.append(Span(Format.ms(d.poolWait.p95), role: .db))
        }
        if d.unattributed > 0 { waits.append(Span(" " + g.middot + " unattributed \(Format.count(d.unattributed))", role: .dim)) }
        lines.append(waits)
        if let p = d.pooler { lines.append(PoolerLine.spans(p, width: w, glyphs: g)) }
        lines.append(DashboardView.tallies("service ", d.byService, width: w))
        if !d.byApplication.isEmpty { lines.append(DashboardView.tallies("app ", d.byApplication, width: w)) }
        let n: Int
        if inner.height <= 6 || d.byInstance.isEmpty { n = min(lines.count, inner.height) } else { n = min(lines.count, max(3, inner.height - 4)) }
        for (i, line) in lines.prefix(n).enumerated() where i != 0 && i != 3 {
            buffer.put(line, x: inner.x, y: inner.y + i, maxWidth: w)
        }
        if n > 0 {
            let gaugeArea = Rect(x: inner.x, y: inner.y, width: w, height: 1)
            if let max = d.maxConnections, let u = d.utilisation {
                Gauge(ratio: u, label: "\(d.open)/\(max) \(Format.percent(u))", glyphs: g).render(into: &buffer, area: gaugeArea)
            } else {
                buffer.put([Span("open ", role: .dim), Span(Format.count(d.open), Style(.db, bold: true)),
                            Span(" " + g.middot + " max unknown (--db-max)", role: .dim)],
                           x: inner.x, y: inner.y, maxWidth: w)
            }
        }
        if n > 3 {
            let label = "per " + Format.bucket(d.series.bucketMS) + " "
            let lw = buffer.put(label, x: inner.x, y: inner.y + 3, style: Style(.dim), maxWidth: w)
            let role = d.utilisation.map(Role.utilisation) ?? .db
            Sparkline(d.series.values, max: d.maxConnections.map(Double.init), style: Style(role), glyphs: g)
                .render(into: &buffer, area: Rect(x: inner.x + lw, y: inner.y + 3, width: w - lw, height: 1))
        }
        let listArea = Rect(x: inner.x, y: inner.y + n, width: w, height: inner.height - n)
        guard !listArea.isEmpty else { state.pageSize[.db] = 1; return }
        let table = Table(columns: columns, rowCount: rows.count, glyphs: g) { r in
            let x = d.byInstance[rows[r]]
            return [[Span(g.deploy(x.deploy), role: Role.deploy(x.deploy))], [Span(x.service)],
                    [Span(x.instance, role: .dim)], [Span(String(x.open), role: .db)]]
        }
        DashboardView.table(.db, table, state: &state, into: &buffer, area: listArea)
    }
}

/// Traces, newest first: time, short id, root route, duration, hop path, status, flags.
enum TracesPane {
    static let columns: [Column] = [
        Column("TIME", .fixed(8), priority: 6),
        Column("ID", .fixed(8), priority: 7),
        Column("ROUTE", .flex(min: 12, weight: 1), priority: 10),
        Column("DUR", .fixed(6), alignRight: true, priority: 9),
        Column("PATH", .flex(min: 14, weight: 2), priority: 5),
        Column("ST", .fixed(3), alignRight: true, priority: 8),
        Column("FLAGS", .flex(min: 8, weight: 2), priority: 8),
    ]

    static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        let s = model.snapshot
        let rows = model.rows(.traces, filter: state.filter(.traces))
        DashboardView.prepare(rows, .traces, state: state, height: area.height)
        let inner = DashboardView.frame(.traces, state: state, shown: rows.count, partial: !rows.isComplete, total: s.recentTraces.count,
                                        into: &buffer, area: area)
        guard !inner.isEmpty else { return }
        if rows.isEmpty {
            buffer.put(s.recentTraces.isEmpty ? "no traces yet" : "no trace matches the filter",
                       x: inner.x + 1, y: inner.y + 1, style: Style(.dim), maxWidth: inner.width - 1)
            state.pageSize[.traces] = max(1, inner.height - 1)
            return
        }
        let g = state.glyphs
        let traces = s.recentTraces
        let table = Table(columns: columns, rowCount: rows.count, glyphs: g) { r in
            let t = traces[rows[r]]
            let route = Format.request(method: t.rootMethod, route: t.rootRoute ?? t.rootService)
            return [
                [Span(String(t.start.timeOfDay.prefix(8)), role: .dim)],
                [Span(Format.shortID(t.id), role: .accent)],
                [Span(route.isEmpty ? "?" : route)],
                [Span(t.complete ? Format.ms(t.durationMS) : "open", Style(t.complete ? .normal : .dim))],
                path(t.hops, glyphs: g),
                [Span(t.status.map(String.init) ?? "-", Style(Role.status(t.status), bold: (t.status ?? 0) >= 500))],
                flags(t.flags),
            ]
        }
        DashboardView.table(.traces, table, state: &state, into: &buffer, area: inner)
    }

    /// `◆ edge-api › λ feed-api › ■ chat`: consecutive hops of one service shown once.
    static func path(_ hops: [Hop], glyphs g: Glyphs) -> [Span] {
        var spans: [Span] = []
        var last: String?
        for h in hops where h.service != last {
            if last != nil { spans.append(Span(g.pathSeparator, role: .dim)) }
            spans.append(Span(g.deploy(h.deploy) + " ", role: Role.deploy(h.deploy)))
            spans.append(Span(h.service, Style((h.status ?? 0) >= 500 ? .error : .normal)))
            last = h.service
        }
        return spans
    }

    static func flags(_ f: TraceFlags) -> [Span] {
        var spans: [Span] = []
        for name in f.names {
            if !spans.isEmpty { spans.append(Span(" ")) }
            spans.append(Span(name, Style(flagRole(name), bold: true)))
        }
        return spans
    }

    static func flagRole(_ name: String) -> Role {
        switch name {
        case "COLD": .coldStart
        case "DB-WAIT": .db
        case "DB-REFUSED", "ERR", "TIMEOUT": .error
        case "AFTER-RESPONSE", "CPU-LIMIT": .warning
        default: .dim
        }
    }
}

/// Insights by severity, each with its first piece of evidence on a second line.
enum InsightsPane {
    static func render(model: DashboardModel, state: inout DashboardState, into buffer: inout ScreenBuffer, area: Rect) {
        let all = model.snapshot.insights
        let rows = model.rows(.insights, filter: state.filter(.insights))
        DashboardView.prepare(rows, .insights, state: state, height: area.height)
        let critical = all.filter { $0.severity == .critical }.count
        let extra = critical > 0 ? [Span(" " + state.glyphs.middot + " ", role: .dim), Span("\(critical) critical", Style(.critical, bold: true))] : []
        let inner = DashboardView.frame(.insights, state: state, shown: rows.count, partial: !rows.isComplete, total: all.count, extra: extra,
                                        into: &buffer, area: area)
        guard !inner.isEmpty else { return }
        if rows.count == 0 {
            buffer.put(all.isEmpty ? "nothing to report" : "no insight matches the filter",
                       x: inner.x + 1, y: inner.y, style: Style(.dim), maxWidth: inner.width - 1)
            state.pageSize[.insights] = 1
            return
        }
        // Two lines per insight when there is room for at least two of them, else one.
        let perItem = inner.height >= 4 ? 2 : 1
        let visible = max(1, inner.height / perItem)
        var p = state.position(.insights)
        p.selected = max(0, min(p.selected, rows.count - 1))
        p.offset = Table.scrollOffset(selected: p.selected, offset: p.offset, visibleRows: visible, rowCount: rows.count)
        let focused = state.focus == .insights
        let g = state.glyphs
        for (slot, r) in (p.offset..<min(rows.count, p.offset + visible)).enumerated() {
            let n = all[rows[r]]
            let y = inner.y + slot * perItem
            let badge: String
            switch n.severity { case .critical: badge = "CRIT"; case .warning: badge = "WARN"; case .info: badge = "INFO" }
            var line: [Span] = [Span(badge, Style(Role.severity(n.severity), bold: true, reverse: n.severity == .critical)),
                                Span(" " + n.kind.rawValue, Style(.title, bold: true))]
            if n.count > 1 { line.append(Span(" " + g.times + Format.count(n.count), role: .dim)) }
            line.append(Span(" " + String(n.firstAt.timeOfDay.prefix(8)), role: .dim))
            line.append(Span(" " + n.message))
            buffer.put(line, x: inner.x, y: y, maxWidth: inner.width)
            if perItem == 2 {
                var ev: [Span] = [Span("     ")]
                if let e = n.evidence.first {
                    ev.append(Span(String(e.at.timeOfDay.prefix(8)) + " ", role: .dim))
                    let who = [e.service, e.instance].compactMap { $0 }.joined(separator: "/")
                    if !who.isEmpty { ev.append(Span(who + " ", role: .accent)) }
                    if let t = e.traceID { ev.append(Span("trace " + Format.shortID(t) + " ", role: .accent)) }
                    ev.append(Span(e.detail, role: .dim))
                    if n.evidence.count > 1 { ev.append(Span(" (+\(n.evidence.count - 1))", role: .dim)) }
                } else {
                    ev.append(Span("no evidence kept", role: .dim))
                }
                buffer.put(ev, x: inner.x, y: y + 1, maxWidth: inner.width)
            }
            if r == p.selected {
                for dy in 0..<perItem {
                    for x in inner.x..<inner.maxX {
                        var c = buffer[x, y + dy]
                        c.style = Style(focused ? .selected : c.style.role, bold: true, reverse: focused)
                        buffer[x, y + dy] = c
                    }
                }
            }
        }
        state.lists[.insights] = p
        state.pageSize[.insights] = visible
    }
}
