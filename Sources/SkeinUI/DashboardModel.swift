import SkeinCore
import SkeinEngine

/// The panes of the dashboard, numbered as the keys `1`–`5` that toggle them.
public enum Pane: Int, Sendable, CaseIterable, Hashable, Comparable {
    case instances = 1, coldStarts, db, traces, insights

    public static func < (a: Pane, b: Pane) -> Bool { a.rawValue < b.rawValue }

    public var title: String {
        switch self {
        case .instances: "Instances"
        case .coldStarts: "Cold starts"
        case .db: "DB connections"
        case .traces: "Traces"
        case .insights: "Insights"
        }
    }
}

/// The rows a list shows: every item of the snapshot in order, or the items a filter keeps.
///
/// A filtered set is computed lazily, front to back, only as far as the view or a key needs
/// (plus a bounded amount per frame for the count), so a filter over 100,000 traces never costs
/// a frame more than its budget. Results are kept until the next snapshot.
public final class RowSet {
    /// Items in the unfiltered list.
    public let total: Int
    private let test: ((Int) -> Bool)?
    private var matches: [Int] = []
    private var scanned = 0

    public init(all count: Int) { total = count; test = nil }
    public init(total: Int, where test: @escaping (Int) -> Bool) { self.total = total; self.test = test }

    public var isFiltered: Bool { test != nil }
    /// True when every item has been looked at, so `count` is exact.
    public var isComplete: Bool { test == nil || scanned >= total }
    /// Rows known so far (all of them once `isComplete`).
    public var count: Int { test == nil ? total : matches.count }
    public var isEmpty: Bool { count == 0 }

    /// The snapshot index of a known row.
    public subscript(row: Int) -> Int { test == nil ? row : matches[row] }

    /// Scans until `rows` rows are known or the list ends; returns how many are known.
    @discardableResult
    public func ensure(_ rows: Int) -> Int {
        guard let test else { return total }
        while matches.count < rows && scanned < total {
            if test(scanned) { matches.append(scanned) }
            scanned += 1
        }
        return matches.count
    }

    /// Looks at up to `budget` more items (to firm up the count between frames).
    public func scan(budget: Int) {
        guard let test else { return }
        let end = min(total, scanned + max(0, budget))
        while scanned < end {
            if test(scanned) { matches.append(scanned) }
            scanned += 1
        }
    }

    /// Scans everything; returns the exact count.
    @discardableResult
    public func completeAll() -> Int {
        scan(budget: total)
        return count
    }

    /// Whether row `r` exists (scanning as far as needed).
    public func has(_ r: Int) -> Bool { r >= 0 && ensure(r + 1) > r }
}

/// One row of the instances table: a deploy-model group header or an instance.
public enum InstanceRow: Sendable, Equatable {
    case group(DeployModel?, count: Int)
    case instance(Int)
}

/// A compiled `/` filter: case-insensitive substring or regular expression, `!` inverts.
public struct RowMatcher {
    public let pattern: String
    public let inverted: Bool
    /// Set when the pattern is not a valid regular expression (it is then matched literally).
    public let error: String?
    private let literal: LiteralNeedle?
    private let regex: Regex<AnyRegexOutput>?

    public init(_ raw: String) {
        pattern = raw
        var p = Substring(raw)
        if p.hasPrefix("!") { inverted = true; p = p.dropFirst() } else { inverted = false }
        let body = String(p)
        let meta: Set<Character> = ["\\", "^", "$", ".", "|", "?", "*", "+", "(", ")", "[", "]", "{", "}"]
        if !body.contains(where: { meta.contains($0) }) {
            literal = LiteralNeedle(body); regex = nil; error = nil
        } else if let r = try? Regex(body).ignoresCase() {
            literal = nil; regex = r; error = nil
        } else {
            literal = LiteralNeedle(body); regex = nil; error = "invalid regex, matching literally"
        }
    }

    public var isEmpty: Bool { pattern.isEmpty || pattern == "!" }

    /// True when any of the fields matches (none, when inverted).
    public func matches(_ fields: [String?]) -> Bool {
        accepts { visit in
            for f in fields { if let f, visit(f) { return true } }
            return false
        }
    }

    /// Whether one piece of text matches the pattern (ignoring `!`).
    public func hit(_ f: String) -> Bool {
        if let literal { return literal.found(in: f) }
        if let regex { return (try? regex.firstMatch(in: f)) != nil }
        return true
    }

    /// Applies the pattern to fields offered one by one, stopping at the first hit; `!` inverts.
    public func accepts(_ fields: ((String) -> Bool) -> Bool) -> Bool {
        fields(hit) != inverted
    }
}

/// A case-insensitive substring search over UTF-8 bytes: fast enough to filter 100,000 rows.
///
/// ASCII letters fold case; other characters must match exactly as typed (lower-cased).
struct LiteralNeedle {
    let bytes: [UInt8]

    init(_ text: String) { bytes = Array(text.lowercased().utf8) }

    @inline(__always)
    static func fold(_ b: UInt8) -> UInt8 { b &- 65 < 26 ? b | 0x20 : b }

    func found(in s: String) -> Bool {
        if bytes.isEmpty { return true }
        if let r = s.utf8.withContiguousStorageIfAvailable({ search($0) }) { return r }
        return Array(s.utf8).withUnsafeBufferPointer { search($0) }
    }

    private func search(_ hay: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = bytes.count
        guard hay.count >= n else { return false }
        return bytes.withUnsafeBufferPointer { needle in
            let first = needle[0]
            var i = 0
            let last = hay.count - n
            while i <= last {
                if LiteralNeedle.fold(hay[i]) == first {
                    var j = 1
                    while j < n && LiteralNeedle.fold(hay[i + j]) == needle[j] { j += 1 }
                    if j == n { return true }
                }
                i += 1
            }
            return false
        }
    }
}

/// The column the instances table is sorted by (`s` cycles, `S` reverses).
public enum InstanceSort: String, Sendable, CaseIterable {
    /// The engine's order (busiest first): no sorting at all.
    case activity = "busiest", lastSeen = "last seen", service, state, age, invocations, coldInit = "init", db

    public var next: InstanceSort {
        let all = InstanceSort.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// A snapshot with the derived lists the views and keys need, computed once per snapshot.
///
/// Filtering and sorting are cached by (generation, pane, filter, sort), so a frame never sorts or
/// filters 100,000 traces again; only the visible window is laid out.
public final class DashboardModel {
    public private(set) var snapshot: Snapshot
    /// Bumped on every new snapshot; caches key on it.
    public private(set) var generation: Int = 0
    public var mode: FeedMode
    public var memoryBytes: Int
    /// The trace the detail view shows, fetched by the caller on `.requestDetail`.
    public var detail: TraceDetail?

    private var rowCache: [Pane: (filter: String, rows: RowSet)] = [:]
    private var instanceCache: (key: InstanceKey, rows: [InstanceRow])?

    private struct InstanceKey: Equatable {
        var filter: String, sort: InstanceSort, descending: Bool, grouped: Bool
    }

    public init(snapshot: Snapshot, mode: FeedMode = .live, memoryBytes: Int = 0, detail: TraceDetail? = nil) {
        self.snapshot = snapshot; self.mode = mode; self.memoryBytes = memoryBytes; self.detail = detail
    }

    /// Replaces the snapshot and drops every cache built on the old one.
    public func update(snapshot: Snapshot) {
        self.snapshot = snapshot
        generation &+= 1
        rowCache.removeAll(keepingCapacity: true)
        instanceCache = nil
    }

    /// Rows of a list pane other than instances, filtered by `filter`.
    public func rows(_ pane: Pane, filter: String) -> RowSet {
        if let c = rowCache[pane], c.filter == filter { return c.rows }
        let count = itemCount(pane)
        let matcher = RowMatcher(filter)
        let rows: RowSet
        if matcher.isEmpty {
            rows = RowSet(all: count)
        } else {
            // The closure holds the snapshot value, not the model: the set stays valid on its own.
            let snap = snapshot
            rows = RowSet(total: count) { i in matcher.accepts { DashboardModel.anyField(snap, pane, i, $0) } }
        }
        rowCache[pane] = (filter, rows)
        return rows
    }

    /// The instances table's rows: filtered, sorted, and grouped by deploy model when asked.
    public func instanceRows(filter: String, sort: InstanceSort, descending: Bool, grouped: Bool) -> [InstanceRow] {
        let key = InstanceKey(filter: filter, sort: sort, descending: descending, grouped: grouped)
        if let c = instanceCache, c.key == key { return c.rows }
        let list = snapshot.instances
        let matcher = RowMatcher(filter)
        var idx = Array(list.indices)
        if !matcher.isEmpty {
            let snap = snapshot
            idx = idx.filter { i in matcher.accepts { DashboardModel.anyField(snap, .instances, i, $0) } }
        }
        idx = InstanceOrder(sort: sort, descending: descending, grouped: grouped).sorted(idx, list)
        var rows: [InstanceRow] = []
        rows.reserveCapacity(idx.count + 4)
        if grouped {
            var i = 0
            while i < idx.count {
                let d = list[idx[i]].deploy
                var j = i
                while j < idx.count, list[idx[j]].deploy == d { j += 1 }
                rows.append(.group(d, count: j - i))
                for k in i..<j { rows.append(.instance(idx[k])) }
                i = j
            }
        } else {
            rows = idx.map { .instance($0) }
        }
        instanceCache = (key, rows)
        return rows
    }

    /// How many items a pane's list holds before filtering.
    public func itemCount(_ pane: Pane) -> Int {
        switch pane {
        case .instances: snapshot.instances.count
        case .coldStarts: snapshot.coldStarts.recent.count
        case .db: snapshot.db.byInstance.count
        case .traces: snapshot.recentTraces.count
        case .insights: snapshot.insights.count
        }
    }

    /// The text a filter looks at for one item.
    public func fields(_ pane: Pane, _ i: Int) -> [String?] { DashboardModel.fields(snapshot, pane, i) }

    static func fields(_ snapshot: Snapshot, _ pane: Pane, _ i: Int) -> [String?] {
        switch pane {
        case .instances:
            let x = snapshot.instances[i]
            return [x.service, x.instance, x.deploy?.rawValue, x.runtime, x.platform, x.region, x.state.rawValue]
        case .coldStarts:
            let c = snapshot.coldStarts.recent[i]
            return [c.service, c.instance, c.runtime, c.deploy?.rawValue, c.traceID]
        case .db:
            let c = snapshot.db.byInstance[i]
            return [c.service, c.instance, c.deploy?.rawValue]
        case .traces:
            let t = snapshot.recentTraces[i]
            var f: [String?] = [t.id, t.rootRoute, t.rootMethod, t.rootService, t.status.map(String.init)]
            f.append(contentsOf: t.aliases.map { Optional($0) })
            f.append(contentsOf: t.hops.map { Optional($0.service) })
            f.append(contentsOf: t.flags.names.map { Optional($0) })
            return f
        case .insights:
            let n = snapshot.insights[i]
            var f: [String?] = [n.kind.rawValue, n.severity.rawValue, n.message]
            f.append(contentsOf: n.evidence.map { Optional($0.detail) })
            return f
        }
    }

    /// Offers an item's fields to `hit` until one matches, without building a list per item.
    static func anyField(_ snapshot: Snapshot, _ pane: Pane, _ i: Int, _ hit: (String) -> Bool) -> Bool {
        switch pane {
        case .traces:
            // Fields are read in place (no copy of the summary): this runs for every trace a filter scans.
            return snapshot.recentTraces.withUnsafeBufferPointer { p in
                if hit(p[i].id) { return true }
                if let r = p[i].rootRoute, hit(r) { return true }
                if let m = p[i].rootMethod, hit(m) { return true }
                if let r = p[i].rootService, hit(r) { return true }
                if let st = p[i].status, hit(Format.status(st)) { return true }
                // Aliases and hops one at a time from the summary's own arrays (`aliases` and
                // `hops` build theirs).
                let t = p.baseAddress! + i
                for k in 0..<TraceSummary.aliasCount(of: t) where hit(TraceSummary.alias(of: t, at: k)) { return true }
                for k in 0..<TraceSummary.hopCount(of: t) where hit(TraceSummary.hopFields(of: t, at: k).service.string) {
                    return true
                }
                if !p[i].flags.isEmpty { for n in p[i].flags.names where hit(n) { return true } }
                return false
            }
        default:
            for f in fields(snapshot, pane, i) { if let f, hit(f) { return true } }
            return false
        }
    }

    /// The trace a row leads to on Enter, if any.
    public func traceID(_ pane: Pane, item i: Int) -> String? {
        switch pane {
        case .traces: snapshot.recentTraces[i].id
        case .coldStarts: snapshot.coldStarts.recent[i].traceID
        case .insights: snapshot.insights[i].evidence.first(where: { $0.traceID != nil })?.traceID
        case .instances, .db: nil
        }
    }

    /// What names an item across snapshots, so the cursor can stay on it as lists shift.
    public func identity(_ pane: Pane, item i: Int) -> String {
        switch pane {
        case .traces: return snapshot.recentTraces[i].id
        case .instances: return snapshot.instances[i].service + "\u{0}" + snapshot.instances[i].instance
        case .coldStarts: return snapshot.coldStarts.recent[i].instance + "\u{0}" + String(snapshot.coldStarts.recent[i].at.nanos)
        case .db: return snapshot.db.byInstance[i].service + "\u{0}" + snapshot.db.byInstance[i].instance
        case .insights: return snapshot.insights[i].kind.rawValue
        }
    }

    /// What `o`/`O` treat as "the same": a trace's root route, an item's service.
    public func relatedKey(_ pane: Pane, item i: Int) -> String? {
        switch pane {
        case .traces:
            let t = snapshot.recentTraces[i]
            return Format.request(method: t.rootMethod, route: t.rootRoute ?? t.rootService)
        case .instances: return snapshot.instances[i].service
        case .coldStarts: return snapshot.coldStarts.recent[i].service
        case .db: return snapshot.db.byInstance[i].service
        case .insights: return snapshot.insights[i].kind.rawValue
        }
    }

    /// The snapshot index behind a visible row of `pane` under `state`, or nil for a group header.
    public func item(_ pane: Pane, row: Int, state: DashboardState) -> Int? {
        if pane == .instances {
            let rows = instanceRows(for: state)
            guard row >= 0, row < rows.count, case .instance(let i) = rows[row] else { return nil }
            return i
        }
        let rows = self.rows(pane, filter: state.filter(pane))
        guard rows.has(row) else { return nil }
        return rows[row]
    }

    /// Exact row count of a pane under `state` (completes a lazy filter).
    public func rowCount(_ pane: Pane, state: DashboardState) -> Int {
        pane == .instances ? instanceRows(for: state).count : rows(pane, filter: state.filter(pane)).completeAll()
    }

    /// Rows known to exist up to `needed` (scanning a lazy filter only that far).
    public func availableRows(_ pane: Pane, state: DashboardState, needed: Int) -> Int {
        pane == .instances ? instanceRows(for: state).count : rows(pane, filter: state.filter(pane)).ensure(needed)
    }

    public func instanceRows(for state: DashboardState) -> [InstanceRow] {
        instanceRows(filter: state.filter(.instances), sort: state.instanceSort,
                     descending: state.sortDescending, grouped: state.groupByDeploy)
    }
}

/// The order behind the instances table's sort column.
///
/// Sorts precomputed integer keys (deploy group, column key, engine position) rather than calling
/// a comparator that copies instance records: 5,000 instances sort well inside a frame.
struct InstanceOrder {
    let sort: InstanceSort
    let descending: Bool
    let grouped: Bool

    func sorted(_ idx: [Int], _ list: [InstanceInfo]) -> [Int] {
        if sort == .activity && !grouped && !descending { return idx }
        if sort == .service {
            return list.withUnsafeBufferPointer { p in
                idx.sorted { a, b in
                    let ga = group(p[a].deploy), gb = group(p[b].deploy)
                    if ga != gb { return ga < gb }
                    let x = p[a], y = p[b]
                    if x.service != y.service { return descending ? x.service > y.service : x.service < y.service }
                    if x.instance != y.instance { return descending ? x.instance > y.instance : x.instance < y.instance }
                    return a < b
                }
            }
        }
        var keyed: [(Int, Int64, Int)] = []
        keyed.reserveCapacity(idx.count)
        list.withUnsafeBufferPointer { p in
            for i in idx {
                let k = key(p[i], position: i)
                keyed.append((group(p[i].deploy), descending ? -k : k, i))
            }
        }
        keyed.sort { $0 < $1 }
        return keyed.map { $0.2 }
    }

    private func group(_ d: DeployModel?) -> Int {
        guard grouped else { return 0 }
        switch d { case .edge: return 0; case .serverless: return 1; case .server: return 2; case nil: return 3 }
    }

    /// Smaller sorts first; the natural direction of each column (newest, busiest, slowest first).
    private func key(_ x: InstanceInfo, position: Int) -> Int64 {
        switch sort {
        case .activity, .service: return Int64(position)
        case .lastSeen: return -x.lastSeen.nanos
        case .state:
            switch x.state { case .busy: return 0; case .cold: return 1; case .idle: return 2; case .gone: return 3 }
        case .age: return x.firstSeen.nanos
        case .invocations: return -Int64(x.invocations)
        case .coldInit: return -Int64(((x.coldStart?.initMS ?? -1) * 1000).rounded())
        case .db: return -Int64(x.dbOpen)
        }
    }
}
