import SkeinEngine

/// The DB pane's PgBouncer line: where a pooled setup's queue is.
///
/// `pgbouncer 5 waiting (971ms) · postgres/postgres 2 cl 5 wait sv 2/2` — the queue first (clients
/// waiting, the longest wait), then the busiest pools with clients and busy/capped server
/// connections; when the pools do not fit, the worst pool's `sv 2/2` alone.
enum PoolerLine {
    static func spans(_ p: PoolerStats, width: Int, glyphs g: Glyphs) -> [Span] {
        let waiting = p.clientsWaiting > 0
        var head: [Span] = [Span("pgbouncer ", role: .dim),
                            Span(Format.count(p.clientsWaiting), Style(waiting ? .warning : .normal, bold: waiting)),
                            Span(" waiting", role: .dim)]
        if waiting { head.append(Span(" (" + Format.ms(p.maxWaitMS) + ")", role: .warning)) }
        // Near max_client_conn PgBouncer starts refusing clients outright: say so before the pools.
        if let used = p.usedClients, let limit = p.maxClientConn, limit > 0, Double(used) >= 0.8 * Double(limit) {
            head.append(Span(" clients ", role: .dim))
            head.append(Span("\(Format.count(used))/\(Format.count(limit))", Style(used >= limit ? .critical : .warning, bold: true)))
        }
        let separator = Span(" " + g.middot + " ", role: .dim)
        let pools = p.pools.prefix(4).map { x -> [Span] in
            var seg: [Span] = [Span(x.name + " ", role: .db), Span(Format.count(x.clientsActive)), Span(" cl ", role: .dim)]
            if x.clientsWaiting > 0 {
                seg.append(Span(Format.count(x.clientsWaiting), Style(.warning, bold: true)))
                seg.append(Span(" wait ", role: .dim))
            }
            return seg + servers(x)
        }
        let line = Segments.fit([head] + pools, width: width, separator: separator)
        if let worst = p.pools.first, pools.count > 0, TextWidth.of(line.map(\.text).joined()) <= TextWidth.of(head.map(\.text).joined()) {
            return Segments.fit([head, servers(worst)], width: width, separator: separator)
        }
        return line
    }

    /// `sv 2/2`: busy server connections of the pool's cap, in warning colour when full with a queue.
    private static func servers(_ x: PoolStats) -> [Span] {
        let cap = x.poolSize.map { "/" + Format.count($0) } ?? ""
        let full = x.poolSize.map { x.serversActive >= $0 } ?? false
        return [Span("sv ", role: .dim), Span(Format.count(x.serversActive) + cap, Style(full && x.clientsWaiting > 0 ? .warning : .normal))]
    }
}
