import SkeinCore

/// One PgBouncer pool (database/user) as its latest `SHOW POOLS` reading had it.
public struct PoolStats: Sendable, Equatable {
    /// The pooler's `host:port`.
    public var pooler: String
    public var database: String
    public var user: String
    public var clientsActive: Int
    /// Clients queued for a server connection: where a pooled setup's queue is.
    public var clientsWaiting: Int
    public var serversActive: Int
    public var serversIdle: Int
    public var serversUsed: Int
    public var maxWaitMS: Double
    /// The pool's cap on server connections (`pool_size`), when known.
    public var poolSize: Int?
    public var poolMode: String?
    /// The most clients this pool had waiting in any reading, and its longest wait.
    public var peakWaiting = 0
    public var peakWaitMS = 0.0

    public init(pooler: String, database: String, user: String, clientsActive: Int = 0, clientsWaiting: Int = 0,
                serversActive: Int = 0, serversIdle: Int = 0, serversUsed: Int = 0, maxWaitMS: Double = 0,
                poolSize: Int? = nil, poolMode: String? = nil) {
        self.pooler = pooler; self.database = database; self.user = user
        self.clientsActive = clientsActive; self.clientsWaiting = clientsWaiting
        self.serversActive = serversActive; self.serversIdle = serversIdle; self.serversUsed = serversUsed
        self.maxWaitMS = maxWaitMS; self.poolSize = poolSize; self.poolMode = poolMode
    }

    /// `database/user`.
    public var name: String { "\(database)/\(user)" }
    /// Server connections held by the pool (busy, idle or being checked).
    public var servers: Int { serversActive + serversIdle + serversUsed }
}

/// What the poolers' latest readings say, over all of them.
public struct PoolerStats: Sendable, Equatable {
    /// Most clients waiting first, then most active.
    public var pools: [PoolStats] = []
    public var clientsActive = 0
    public var clientsWaiting = 0
    public var serversActive = 0
    public var serversIdle = 0
    /// The longest current wait of any pool.
    public var maxWaitMS = 0.0
    /// The most clients waiting at once, and when.
    public var peakWaiting = 0
    public var peakWaitingAt: Timestamp?
    /// The longest wait seen.
    public var peakWaitMS = 0.0
    public var maxClientConn: Int?
    /// Client connections PgBouncer holds (`SHOW LISTS` `used_clients`), to compare with `maxClientConn`.
    public var usedClients: Int?
    public var defaultPoolSize: Int?
    public var sampledAt: Timestamp?
    public init() {}
}

/// PgBouncer readings (`db.sample` events with platform `pgbouncer`), per pooler.
///
/// The event's attributes are Skein's convention for pooler samples: `pool.<database>/<user>.<field>`
/// with fields `cl_active`, `cl_waiting`, `sv_active`, `sv_idle`, `sv_used`, `maxwait_ms`,
/// `pool_size`, `pool_mode`, and `max_client_conn`, `default_pool_size` for the pooler.
struct PoolLedger {
    private var latest: [String: [PoolStats]] = [:]
    /// Per pooler and pool name: the worst queue seen, kept across readings.
    private var peaks: [String: (waiting: Int, waitMS: Double)] = [:]
    private var settings: [String: (maxClientConn: Int?, defaultPoolSize: Int?, usedClients: Int?)] = [:]
    private var peakWaiting = 0
    private var peakWaitingAt: Timestamp?
    private var peakWaitMS = 0.0
    private var sampledAt: Timestamp?
    /// The queue level last raised: 0 none, 1 warning, 2 critical (an insight per episode, not per sample).
    var level = 0
    /// Clients PgBouncer refused (`max_client_conn`), as `db.error` events from platform `pgbouncer` say.
    var refusals = 0

    /// The platform name of the pooler's own lines and samples.
    static let poolerPlatform = "pgbouncer"

    /// Replaces the pooler's pools with this reading.
    mutating func read(_ e: Event) {
        let pooler = e.instance ?? e.service ?? "pgbouncer"
        var pools: [String: PoolStats] = [:]
        var maxClientConn: Int?, defaultPoolSize: Int?, usedClients: Int?
        for a in e.attributes {
            if a.key == "max_client_conn" { maxClientConn = saneCount(text: a.value); continue }
            if a.key == "used_clients" { usedClients = saneCount(text: a.value); continue }
            if a.key == "default_pool_size" { defaultPoolSize = saneCount(text: a.value); continue }
            guard a.key.hasPrefix("pool."), let dot = a.key.lastIndex(of: ".") else { continue }
            let name = a.key[a.key.index(a.key.startIndex, offsetBy: 5)..<dot]
            let field = a.key[a.key.index(after: dot)...]
            guard let slash = name.firstIndex(of: "/") else { continue }
            var p = pools[String(name)] ?? PoolStats(pooler: pooler, database: String(name[..<slash]),
                                                     user: String(name[name.index(after: slash)...]))
            let n = saneCount(text: a.value) ?? 0
            switch field {
            case "cl_active": p.clientsActive = n
            case "cl_waiting": p.clientsWaiting = n
            case "sv_active": p.serversActive = n
            case "sv_idle": p.serversIdle = n
            case "sv_used": p.serversUsed = n
            case "maxwait_ms": p.maxWaitMS = Double(a.value) ?? 0
            // Recordings from before maxwait_ms carried whole seconds.
            case "maxwait": p.maxWaitMS = max(p.maxWaitMS, (Double(a.value) ?? 0) * 1000)
            case "pool_size": p.poolSize = saneCount(text: a.value)
            case "pool_mode": p.poolMode = a.value
            default: break
            }
            pools[String(name)] = p
        }
        for (name, var p) in pools {
            let key = pooler + " " + name
            let old = peaks[key] ?? (0, 0)
            let peak = (max(old.waiting, p.clientsWaiting), max(old.waitMS, p.maxWaitMS))
            peaks[key] = peak
            p.peakWaiting = peak.0
            p.peakWaitMS = peak.1
            pools[name] = p
        }
        latest[pooler] = Array(pools.values)
        settings[pooler] = (maxClientConn, defaultPoolSize, usedClients)
        sampledAt = maxOpt(sampledAt, e.time)
        let waiting = latest.values.joined().reduce(0) { $0 + $1.clientsWaiting }
        if waiting > peakWaiting {
            peakWaiting = waiting
            peakWaitingAt = e.time
        }
        peakWaitMS = max(peakWaitMS, pools.values.map(\.maxWaitMS).max() ?? 0)
    }

    var stats: PoolerStats? {
        guard sampledAt != nil else { return nil }
        var s = PoolerStats()
        s.pools = latest.values.joined().sorted {
            ($0.clientsWaiting, $0.clientsActive, $1.pooler, $1.name) > ($1.clientsWaiting, $1.clientsActive, $0.pooler, $0.name)
        }
        for p in s.pools {
            s.clientsActive += p.clientsActive
            s.clientsWaiting += p.clientsWaiting
            s.serversActive += p.serversActive
            s.serversIdle += p.serversIdle
            s.maxWaitMS = max(s.maxWaitMS, p.maxWaitMS)
        }
        s.peakWaiting = peakWaiting
        s.peakWaitingAt = peakWaitingAt
        s.peakWaitMS = peakWaitMS
        s.maxClientConn = settings.values.compactMap(\.maxClientConn).max()
        let used = settings.values.compactMap(\.usedClients)
        s.usedClients = used.isEmpty ? nil : used.reduce(0, +)
        s.defaultPoolSize = settings.values.compactMap(\.defaultPoolSize).max()
        s.sampledAt = sampledAt
        return s
    }

    /// A wait users notice (1 s) is a warning; 5 s, a critical one.
    static let warnWaitMS = 1_000.0
    static let criticalWaitMS = 5_000.0

    /// The queue's level now: 0 when no pool makes clients wait noticeably; 2 at a long wait or
    /// when a pooler holds `max_client_conn` clients (it refuses new ones).
    var currentLevel: Int {
        if full != nil { return 2 }
        let wait = latest.values.joined().filter { $0.clientsWaiting > 0 }.map(\.maxWaitMS).max() ?? -1
        return wait >= PoolLedger.criticalWaitMS ? 2 : wait >= PoolLedger.warnWaitMS ? 1 : 0
    }

    /// A pooler at its `max_client_conn` (its name, clients, limit), if any.
    var full: (pooler: String, used: Int, limit: Int)? {
        for (pooler, s) in settings.sorted(by: { $0.key < $1.key }) {
            if let used = s.usedClients, let limit = s.maxClientConn, limit > 0, used >= limit { return (pooler, used, limit) }
        }
        return nil
    }

    /// What a pooler at `max_client_conn` means.
    var fullMessage: String? {
        guard let f = full else { return nil }
        var text = "PgBouncer \(f.pooler) at max_client_conn (\(f.used)/\(f.limit) clients): new clients are refused"
        if let q = queueClauseWaiting { text += "; \(q)" }
        return text + "; raise max_client_conn (it costs file descriptors, not server connections) or find who opens so many clients."
    }

    /// The pool with the worst queue, if any client waits.
    var worstQueue: PoolStats? {
        latest.values.joined().filter { $0.clientsWaiting > 0 }
            .max { ($0.maxWaitMS, $0.clientsWaiting, $1.name) < ($1.maxWaitMS, $1.clientsWaiting, $0.name) }
    }

    /// Where the queue of a pooled setup is, and what to do: the pool (Postgres has room) or the
    /// server (Postgres is near its own limit too). `open`/`max` are the server's count when known.
    func queueMessage(open: Int?, max: Int?) -> String? {
        let queued = latest.values.joined().filter { $0.clientsWaiting > 0 }
            .sorted { ($0.clientsWaiting, $1.name) > ($1.clientsWaiting, $0.name) }
        guard let first = queued.first else { return nil }
        let total = queued.reduce(0) { $0 + $1.clientsWaiting }
        let longest = queued.map(\.maxWaitMS).max() ?? 0
        let pools = queued.prefix(3).map { p in
            let cap = p.poolSize.map { " of \($0)" } ?? ""
            return "\(p.name) \(p.clientsWaiting) waiting, \(p.serversActive)\(cap) server connections busy"
        }.joined(separator: "; ")
        var text = "PgBouncer queue: \(total) client\(total == 1 ? "" : "s") waiting for a server connection (longest \(PoolLedger.seconds(longest))): \(pools)"
        let full = first.poolSize.map { first.serversActive + first.serversUsed >= $0 } ?? (first.serversIdle == 0)
        if let o = open, let m = max, m > 0 {
            let ratio = Double(o) / Double(m)
            text += "; Postgres at \(o)/\(m) connections (\(percent(o, of: m))%)"
            if ratio >= InsightRules.connectionWarning {
                text += ": the server is the limit too, so a bigger pool would only move the queue; shorten transactions or raise max_connections."
            } else if full {
                text += ": the pool, not the server, is the limit; raise \(first.database)'s pool_size (Postgres has room) or shorten transactions."
            } else {
                text += "; the pool is not full, so PgBouncer cannot open server connections fast enough (check its log and server_login_retry)."
            }
        } else if full {
            text += "; every server connection of the pool is busy: raise pool_size if Postgres has room (add --pg to see its count), or shorten transactions."
        } else {
            text += "; the pool is not full, so PgBouncer cannot open server connections fast enough (add --pg to see Postgres' count)."
        }
        return text
    }

    private var queueClauseWaiting: String? {
        let total = latest.values.joined().reduce(0) { $0 + $1.clientsWaiting }
        guard total > 0 else { return nil }
        let longest = latest.values.joined().map(\.maxWaitMS).max() ?? 0
        return "PgBouncer has \(total) client\(total == 1 ? "" : "s") waiting (longest \(PoolLedger.seconds(longest)))"
    }

    /// A short clause for the Postgres exhaustion message when a pooler also queues or refuses clients.
    var queueClause: String? {
        var parts: [String] = []
        if let w = queueClauseWaiting { parts.append(w) }
        if let f = full { parts.append("PgBouncer at max_client_conn (\(f.used)/\(f.limit) clients)") }
        if refusals > 0 {
            let limit = settings.values.compactMap(\.maxClientConn).max().map { " \($0)" } ?? ""
            parts.append("PgBouncer refused \(refusals) client\(refusals == 1 ? "" : "s") at max_client_conn\(limit)")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    static func seconds(_ ms: Double) -> String {
        guard ms.isFinite else { return "? ms" }
        return ms < 1000 ? "\(Int(max(ms, -1e15).rounded())) ms" : "\((ms / 100).rounded() / 10) s"
    }
}
