import SkeinCore
import SkeinEngine

/// A report a person pastes into an incident document (`skein export --format md`).
///
/// Insights come first, since they name what went wrong; then the DB connection picture, cold
/// starts, routes, and the slowest and first failing traces with their hop paths. All log text is
/// passed through `Sanitizer.clean`, and `|` is escaped so that data never breaks a table.
public struct MarkdownExporter {
    /// Rows in the slowest-traces and error-traces tables.
    public var topTraces: Int
    public var maxRoutes: Int
    /// Evidence bullets per insight.
    public var maxEvidence: Int
    /// Rows in the per-service and per-application connection tables.
    public var maxServices: Int

    public init(topTraces: Int = 10, maxRoutes: Int = 25, maxEvidence: Int = 5, maxServices: Int = 5) {
        self.topTraces = topTraces
        self.maxRoutes = maxRoutes
        self.maxEvidence = maxEvidence
        self.maxServices = maxServices
    }

    public func write(_ snapshot: Snapshot, to sink: ByteSink) throws {
        try sink.write(render(snapshot))
    }

    public func render(_ s: Snapshot) -> String {
        var out = ""
        title(s, &out)
        summary(s, &out)
        insights(s, &out)
        database(s.db, &out)
        coldStarts(s, &out)
        routes(s.routes, &out)
        traces(s.recentTraces, &out)
        return out
    }

    // MARK: Sections

    private func title(_ s: Snapshot, _ out: inout String) {
        switch (s.firstEventAt, s.lastEventAt) {
        case let (first?, last?):
            out += "# Skein report: \(first.rfc3339) to \(last.rfc3339)\n\n"
        default:
            out += "# Skein report: no events\n\n"
        }
    }

    private func summary(_ s: Snapshot, _ out: inout String) {
        let i = s.input
        out += "## Summary\n\n"
        out += "- **Input:** \(n(i.lines)) lines, \(n(i.events)) events from \(plural(i.sources.count, "source"))"
        out += "; \(n(i.malformed)) malformed, \(n(i.dropped)) dropped\n"
        if !i.malformedByReason.isEmpty {
            let reasons = i.malformedByReason.keys.sorted().map { "\(text($0)) \(n(i.malformedByReason[$0] ?? 0))" }
            out += "- **Malformed by reason:** \(reasons.joined(separator: ", "))\n"
        }
        let t = s.traces
        out += "- **Traces:** \(n(t.count)) (\(n(t.complete)) complete, \(plural(t.errors, "error"))\(percent(t.errors, of: t.count).map { ", " + $0 } ?? ""))\n"
        var byDeploy: [DeployModel: Int] = [:]
        for inst in s.instances { if let d = inst.deploy { byDeploy[d, default: 0] += 1 } }
        let deploys = DeployModel.allCases.map { "\($0.rawValue) \(n(byDeploy[$0] ?? 0))" }.joined(separator: ", ")
        out += "- **Instances:** \(n(s.instances.count)) (\(deploys))\n"
        let c = s.coldStarts
        out += "- **Cold starts:** \(n(c.count)) (\(n(c.inferred)) inferred)"
        if let p95 = c.initMS.p95 { out += ", init p95 \(ms(p95))" }
        out += "\n"
        out += "- **DB connections:** peak \(n(s.db.peakOpen))"
        if let m = s.db.maxConnections { out += " of \(n(m))" }
        if let at = s.db.peakAt { out += " at \(at.rfc3339)" }
        out += "; \(plural(s.db.errors, "error"))\n"
        let counts = Insight.Severity.allCases.reversed().compactMap { sev -> String? in
            let k = s.insights.filter { $0.severity == sev }.count
            return k > 0 ? "\(k) \(sev.rawValue)" : nil
        }
        out += "- **Insights:** \(n(s.insights.count))"
        if !counts.isEmpty { out += " (\(counts.joined(separator: ", ")))" }
        out += "\n"
        let e = s.evicted
        if e.traces > 0 || e.instances > 0 || e.lines > 0 {
            out += "- **Evicted by the memory budget:** \(n(e.traces)) traces, \(n(e.instances)) instances, \(n(e.lines)) lines\n"
        }
        out += "\n"
    }

    private func insights(_ s: Snapshot, _ out: inout String) {
        out += "## Insights\n\n"
        if s.insights.isEmpty {
            out += "None raised.\n\n"
            return
        }
        for (k, i) in s.insights.enumerated() {
            out += "### \(k + 1). \(i.severity.rawValue.uppercased()): \(i.kind.rawValue)\n\n"
            out += "\(text(i.message))\n\n"
            out += "- First seen \(i.firstAt.rfc3339), last seen \(i.lastAt.rfc3339), \(plural(i.count, "occurrence"))\n"
            if !i.evidence.isEmpty {
                out += "- Evidence:\n"
                for e in i.evidence.prefix(maxEvidence) {
                    out += "  - \(e.at.rfc3339)"
                    if let svc = e.service { out += " \(text(svc))" }
                    if let inst = e.instance { out += " \(code(inst))" }
                    if let id = e.traceID { out += " trace \(code(id))" }
                    out += ": \(text(e.detail))\n"
                }
                if i.evidence.count > maxEvidence {
                    out += "  - … \(n(i.evidence.count - maxEvidence)) more\n"
                }
            }
            out += "\n"
        }
    }

    private func database(_ db: DBStats, _ out: inout String) {
        out += "## Database connections\n\n"
        out += "- Peak: **\(n(db.peakOpen))** open"
        if let m = db.maxConnections {
            out += " of **\(n(m))** max_connections"
            if let p = percent(db.peakOpen, of: m) { out += " (\(p))" }
        }
        if let at = db.peakAt { out += " at \(at.rfc3339)" }
        if db.maxConnections == nil {
            out += "; max_connections unknown (pass --db-max or run the sampler)"
        } else if let src = db.maxSource {
            out += "; max_connections from \(src == .flag ? "--db-max" : src == .event ? "the logs" : "the sampler")"
        }
        out += "\n"
        out += "- Open at the end: \(n(db.open)) (\(db.serverTruth ? "the server's own count" : "reported by instances"))\n"
        out += "- First exhaustion: \(db.firstExhaustionAt?.rfc3339 ?? "none")\n"
        out += "- Errors: \(n(db.errors))"
        if !db.errorsByKind.isEmpty {
            out += " (\(db.errorsByKind.map { "\(text($0.name)) \(n($0.count))" }.joined(separator: ", ")))"
        }
        out += "\n"
        out += "- Pool waits: \(n(db.poolWaits))"
        if db.poolWaits > 0 {
            out += " (p50 \(ms(db.poolWait.p50)), p95 \(ms(db.poolWait.p95)), max \(ms(db.poolWait.max)))"
        }
        out += "\n\n"
        tallyTable(db.byService, heading: "service", &out)
        tallyTable(db.byApplication, heading: "application", &out)
        if let p = db.pooler, !p.pools.isEmpty {
            // A pooled setup's queue: clients waiting at PgBouncer while server connections stay bounded.
            var clients = ""
            if let u = p.usedClients, let m = p.maxClientConn { clients = "; \(n(u)) of max_client_conn \(n(m)) clients" }
            out += "PgBouncer pools (latest reading; peak waiting \(n(p.peakWaiting)), longest wait \(ms(p.peakWaitMS))\(clients)):\n\n"
            out += "| pool | clients active | waiting | peak waiting | servers active | idle | pool size |\n|---|---:|---:|---:|---:|---:|---:|\n"
            for x in p.pools.prefix(maxServices) {
                out += "| \(cell(x.name)) | \(n(x.clientsActive)) | \(n(x.clientsWaiting)) | \(n(x.peakWaiting)) | \(n(x.serversActive)) | \(n(x.serversIdle)) | \(x.poolSize.map(n) ?? "?") |\n"
            }
            out += "\n"
        }
    }

    private func tallyTable(_ tallies: [Tally], heading: String, _ out: inout String) {
        guard !tallies.isEmpty else { return }
        out += "| \(heading) | connections |\n|---|---:|\n"
        for t in tallies.prefix(maxServices) { out += "| \(cell(t.name)) | \(n(t.count)) |\n" }
        if tallies.count > maxServices { out += "| … \(n(tallies.count - maxServices)) more | |\n" }
        out += "\n"
    }

    private func coldStarts(_ s: Snapshot, _ out: inout String) {
        let c = s.coldStarts
        out += "## Cold starts\n\n"
        out += "\(plural(c.count, "cold start")) (\(n(c.inferred)) inferred)."
        if c.initMS.count > 0 || c.initMS.p50 != nil {
            out += " Init time p50 \(ms(c.initMS.p50)), p95 \(ms(c.initMS.p95)), max \(ms(c.initMS.max))."
        }
        out += "\n\n"
        if let penalty = c.penaltyP95MS {
            out += "Latency penalty: requests that waited for a cold start had p95 \(ms(c.coldLatencyMS.p95))"
            out += " against \(ms(c.warmLatencyMS.p95)) warm (\(penalty >= 0 ? "+" : "")\(ms(penalty)))"
            out += ", over \(n(c.coldLatencyMS.count)) cold and \(n(c.warmLatencyMS.count)) warm requests.\n\n"
        }
        guard !c.byRuntime.isEmpty else { return }
        let samples = initSamplesByRuntime(s)
        out += "| runtime | count | init p50 | init p95 |\n|---|---:|---:|---:|\n"
        for t in c.byRuntime {
            let xs = samples[t.name] ?? []
            out += "| \(cell(t.name)) | \(n(t.count)) | \(ms(MarkdownExporter.percentile(xs, 0.50))) | \(ms(MarkdownExporter.percentile(xs, 0.95))) |\n"
        }
        out += "\n"
    }

    private func routes(_ routes: [RouteStats], _ out: inout String) {
        out += "## Routes\n\n"
        if routes.isEmpty {
            out += "No routes seen.\n\n"
            return
        }
        out += "| route | service | count | errors | p50 | p95 | p99 |\n|---|---|---:|---:|---:|---:|---:|\n"
        for r in routes.prefix(maxRoutes) {
            out += "| \(cell(r.route)) | \(cell(r.service ?? "-")) | \(n(r.count)) | \(n(r.errors)) "
            out += "| \(ms(r.latencyMS.p50)) | \(ms(r.latencyMS.p95)) | \(ms(r.latencyMS.p99)) |\n"
        }
        if routes.count > maxRoutes { out += "\n… \(n(routes.count - maxRoutes)) more routes in the JSON export.\n" }
        out += "\n"
    }

    private func traces(_ all: [TraceSummary], _ out: inout String) {
        let slowest = all.indices.sorted { a, b in
            all[a].durationMS != all[b].durationMS ? all[a].durationMS > all[b].durationMS : all[a].id < all[b].id
        }.prefix(topTraces)
        out += "## Slowest traces\n\n"
        traceTable(slowest.map { all[$0] }, &out)
        let errors = all.indices.filter { all[$0].isError }.sorted { a, b in
            all[a].start != all[b].start ? all[a].start < all[b].start : all[a].id < all[b].id
        }
        out += "## Error traces\n\n"
        if errors.count > topTraces { out += "The first \(topTraces) of \(n(errors.count)).\n\n" }
        traceTable(errors.prefix(topTraces).map { all[$0] }, &out)
    }

    private func traceTable(_ rows: [TraceSummary], _ out: inout String) {
        if rows.isEmpty {
            out += "None.\n\n"
            return
        }
        out += "| trace | start | request | status | duration | hops | flags |\n|---|---|---|---:|---:|---|---|\n"
        for t in rows {
            out += "| \(code(t.id, inTable: true)) | \(t.start.rfc3339) "
            out += "| \(cell(TraceText.request(method: t.rootMethod, route: t.rootRoute))) "
            out += "| \(t.status.map(String.init) ?? "-") | \(ms(t.durationMS)) "
            out += "| \(cell(TraceText.hopPath(t.hops))) | \(t.flags.names.isEmpty ? "-" : t.flags.names.joined(separator: ", ")) |\n"
        }
        out += "\n"
    }

    // MARK: Pieces

    /// Init times per runtime from what the snapshot still holds: each instance's cold start plus
    /// the recent list, counted once each.
    private func initSamplesByRuntime(_ s: Snapshot) -> [String: [Double]] {
        struct Key: Hashable { var service: String; var instance: String; var at: Timestamp }
        var seen = Set<Key>()
        var out: [String: [Double]] = [:]
        let all = s.instances.compactMap(\.coldStart) + s.coldStarts.recent
        for c in all {
            guard seen.insert(Key(service: c.service, instance: c.instance, at: c.at)).inserted else { continue }
            guard let rt = c.runtime, let ms = c.initMS, ms.isFinite else { continue }
            out[rt, default: []].append(ms)
        }
        return out
    }

    /// Nearest-rank percentile.
    static func percentile(_ xs: [Double], _ p: Double) -> Double? {
        guard !xs.isEmpty else { return nil }
        let sorted = xs.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    private func text(_ s: String) -> String {
        Sanitizer.clean(s).replacingPipes()
    }

    private func cell(_ s: String) -> String {
        let t = text(s)
        return t.isEmpty ? "-" : t
    }

    /// A code span; a backtick inside would end it early, so it becomes a quote. Inside a table
    /// GitHub still splits on `|`, so it is escaped there too.
    private func code(_ s: String, inTable: Bool = false) -> String {
        var t = Sanitizer.clean(s).map { $0 == "`" ? "'" : String($0) }.joined()
        if inTable { t = t.replacingPipes() }
        return "`" + t + "`"
    }

    private func ms(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        return ByteText.milli(MarkdownExporter.roundForPeople(v)) + " ms"
    }

    /// One decimal below 10 ms, whole milliseconds above: the precision a report reader uses.
    static func roundForPeople(_ v: Double) -> Double {
        abs(v) < 10 ? (v * 10).rounded() / 10 : v.rounded()
    }

    /// `12,345`.
    private func n(_ v: Int) -> String {
        let digits = String(v.magnitude)
        var out = v < 0 ? "-" : ""
        for (k, ch) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return out
    }

    private func plural(_ v: Int, _ noun: String) -> String {
        "\(n(v)) \(noun)\(v == 1 ? "" : "s")"
    }

    private func percent(_ part: Int, of whole: Int) -> String? {
        guard whole > 0 else { return nil }
        return "\(ByteText.milli((Double(part) * 1000 / Double(whole)).rounded() / 10))%"
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        guard contains("|") else { return self }
        var out = ""
        for ch in self {
            if ch == "|" { out += "\\|" } else { out.append(ch) }
        }
        return out
    }
}
