import Collections
import SkeinCore

/// The raised insights, one per kind, updated in place rather than duplicated.
struct InsightBook {
    static let evidenceLimit = 10
    private(set) var items: [Insight.Kind: Insight] = [:]
    /// Kinds raised or escalated since the last drain, in the order it happened.
    private var pending: [Insight.Kind] = []

    func current(_ kind: Insight.Kind) -> Insight? { items[kind] }

    /// Raises `kind` or updates it (count, last time, evidence, message; severity only goes up).
    mutating func raise(_ kind: Insight.Kind, severity: Insight.Severity, evidence: Evidence,
                        message: @autoclosure () -> String) {
        if var i = items[kind] {
            i.count += 1
            i.lastAt = max(i.lastAt, evidence.at)
            i.firstAt = min(i.firstAt, evidence.at)
            let escalated = severity > i.severity
            if escalated { i.severity = severity }
            if i.evidence.count < InsightBook.evidenceLimit {
                // In time order, not arrival order: sources' lines arrive out of order, and a
                // report reads its evidence top down (after any of the same time: stable).
                var at = i.evidence.count
                while at > 0 && i.evidence[at - 1].at > evidence.at { at -= 1 }
                i.evidence.insert(evidence, at: at)
                i.message = message()
            } else if escalated || i.count & (i.count - 1) == 0 {
                // Past the evidence budget the message still follows the situation, at counts
                // 16, 32, 64, …: building it can mean a scan of the fleet.
                i.message = message()
            }
            items[kind] = i
            if escalated && !pending.contains(kind) { pending.append(kind) }
        } else {
            items[kind] = Insight(kind: kind, severity: severity, firstAt: evidence.at, lastAt: evidence.at,
                                  count: 1, message: message(), evidence: [evidence])
            if !pending.contains(kind) { pending.append(kind) }
        }
    }

    mutating func drain() -> [Insight] {
        let out = pending.compactMap { items[$0] }
        pending = []
        return out
    }

    /// Most severe first, then most recent, then by kind for a stable order.
    var sorted: [Insight] {
        items.values.sorted { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.lastAt != b.lastAt { return a.lastAt > b.lastAt }
            return a.kind.rawValue < b.kind.rawValue
        }
    }
}

/// Thresholds of the insight rules.
enum InsightRules {
    /// Utilisation of `max_connections` that warns.
    static let connectionWarning = 0.8
    /// Cold starts within `cascadeWindowMS` that make a cascade.
    static let cascadeCount = 10
    static let cascadeWindowMS = 10_000.0
    /// Edge CPU budget per request (Cloudflare's default limit).
    static let edgeCPUMS = 50.0
    /// A request or connection on ephemeral compute lasting longer than this is long-lived.
    static let longLivedMS = 30_000.0
    /// A pool wait longer than this marks the trace DB-WAIT.
    static let dbWaitMS = 50.0
}

/// The sliding window of recent cold starts behind the cascade rule.
struct CascadeWindow {
    var entries: Deque<(at: Timestamp, runtime: String, service: String)> = []
    private var newest: Timestamp?

    /// Adds one cold start; returns how many fall within the window ending at the newest.
    mutating func add(at t: Timestamp, runtime: String, service: String) -> Int {
        entries.append((t, runtime, service))
        let newest = max(self.newest ?? t, t)
        self.newest = newest
        let cutoff = newest.adding(ms: -InsightRules.cascadeWindowMS)
        while let f = entries.first, f.at < cutoff { entries.removeFirst() }
        return entries.count
    }

    /// "nodejs20 ×9, java21 ×3": runtimes in the window, most frequent first.
    func breakdown(_ key: (String, String) -> String) -> [(String, Int)] {
        var counts: [String: Int] = [:]
        for e in entries { counts[key(e.runtime, e.service), default: 0] += 1 }
        return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
    }
}

/// Case-insensitive ASCII substring test, without allocating.
func containsASCII(_ haystack: String, _ needle: StaticString) -> Bool {
    let n = needle.utf8Start
    let nc = needle.utf8CodeUnitCount
    guard nc > 0 else { return true }
    var h = haystack
    return h.withUTF8 { buf -> Bool in
        guard buf.count >= nc else { return false }
        var i = 0
        let last = buf.count - nc
        while i <= last {
            var j = 0
            while j < nc {
                var c = buf[i + j]
                if c >= 65 && c <= 90 { c |= 0x20 }
                if c != n[j] { break }
                j += 1
            }
            if j == nc { return true }
            i += 1
        }
        return false
    }
}
