import SkeinEngine

/// The DB pane's PgBouncer line: where a pooled setup's queue is.
///
/// `pgbouncer wait 4 (1.5s) · shop/app 20 cl 4 wait 2/2 sv` — clients waiting and the longest wait
/// first (the queue), then the busiest pools with their clients and busy/cap server connections.
enum PoolerLine {
    static func spans(_ p: PoolerStats, width: Int, glyphs g: Glyphs) -> [Span] {
        let waiting = p.clientsWaiting > 0
        var head: [Span] = [Span("pgbouncer ", role: .dim), Span("wait ", role: .dim),
                            Span(Format.count(p.clientsWaiting), Style(waiting ? .warning : .normal, bold: waiting))]
        if waiting { head.append(Span(" (" + Format.ms(p.maxWaitMS) + ")", role: .warning)) }
        var segments: [[Span]] = [head]
        for x in p.pools.prefix(4) {
            var seg: [Span] = [Span(x.name + " ", role: .db), Span(Format.count(x.clientsActive)), Span(" cl ", role: .dim)]
            if x.clientsWaiting > 0 {
                seg.append(Span(Format.count(x.clientsWaiting), Style(.warning, bold: true)))
                seg.append(Span(" wait ", role: .dim))
            }
            let cap = x.poolSize.map { "/" + Format.count($0) } ?? ""
            let full = x.poolSize.map { x.serversActive >= $0 } ?? false
            seg.append(Span(Format.count(x.serversActive) + cap, Style(full && x.clientsWaiting > 0 ? .warning : .normal)))
            seg.append(Span(" sv", role: .dim))
            segments.append(seg)
        }
        return Segments.fit(segments, width: width, separator: Span(" " + g.middot + " ", role: .dim))
    }
}
