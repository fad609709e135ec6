import Foundation
import SkeinCore

/// One row of PgBouncer's `SHOW POOLS`: one pool per database and user.
public struct PoolRow: Sendable, Equatable {
    public var database: String
    public var user: String
    /// Clients paired with a server connection or idle and able to run a query (`cl_active`).
    public var clientsActive: Int
    /// Clients that sent a query and wait for a server connection (`cl_waiting`): the queue.
    public var clientsWaiting: Int
    /// Server connections linked to a client (`sv_active`).
    public var serversActive: Int
    /// Server connections idle and ready (`sv_idle`).
    public var serversIdle: Int
    /// Server connections idle, waiting for `server_check_query` (`sv_used`).
    public var serversUsed: Int
    /// How long the oldest waiting client has waited, in ms (`maxwait` s + `maxwait_us` µs).
    public var maxWaitMS: Double
    /// `session`, `transaction` or `statement`, when the version says.
    public var poolMode: String?

    public init(database: String, user: String, clientsActive: Int, clientsWaiting: Int, serversActive: Int,
                serversIdle: Int, serversUsed: Int = 0, maxWaitMS: Double = 0, poolMode: String? = nil) {
        self.database = database
        self.user = user
        self.clientsActive = clientsActive
        self.clientsWaiting = clientsWaiting
        self.serversActive = serversActive
        self.serversIdle = serversIdle
        self.serversUsed = serversUsed
        self.maxWaitMS = maxWaitMS
        self.poolMode = poolMode
    }

    /// Reads a row by column name, so versions that add, rename or drop other columns still parse;
    /// nil when a column it needs is missing or not a number.
    public init?(columns: [String: String]) {
        func int(_ k: String) -> Int? { columns[k].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        guard let db = columns["database"], let user = columns["user"],
              let ca = int("cl_active"), let cw = int("cl_waiting"),
              let sa = int("sv_active"), let si = int("sv_idle") else { return nil }
        // maxwait_us came in 1.8; before it only whole seconds.
        let waitMS = Double(int("maxwait") ?? 0) * 1000 + Double(int("maxwait_us") ?? 0) / 1000
        self.init(database: db, user: user, clientsActive: ca, clientsWaiting: cw, serversActive: sa, serversIdle: si,
                  serversUsed: int("sv_used") ?? 0, maxWaitMS: waitMS,
                  poolMode: columns["pool_mode"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `database/user`: the pool's name on screen and in attribute keys.
    public var name: String { "\(database)/\(user)" }
}

/// One reading of PgBouncer's console: pools, per-database pool sizes and the limits that matter.
public struct BouncerSample: Sendable, Equatable {
    public var pools: [PoolRow]
    /// `pool_size` per database from `SHOW DATABASES` (the per-pool cap on server connections).
    public var poolSizes: [String: Int]
    /// From `SHOW CONFIG`.
    public var maxClientConn: Int?
    public var defaultPoolSize: Int?
    /// Client connections PgBouncer holds, all pools and the console (`SHOW LISTS` `used_clients`).
    public var usedClients: Int?
    /// Rows the sampler could not read (a version with different columns): counted, not hidden.
    public var unreadRows: Int

    public init(pools: [PoolRow], poolSizes: [String: Int] = [:], maxClientConn: Int? = nil, defaultPoolSize: Int? = nil,
                usedClients: Int? = nil, unreadRows: Int = 0) {
        self.usedClients = usedClients
        self.pools = pools
        self.poolSizes = poolSizes
        self.maxClientConn = maxClientConn
        self.defaultPoolSize = defaultPoolSize
        self.unreadRows = unreadRows
    }

    /// The console's own pseudo-database, where Skein's connection sits: not a pool of the apps.
    public static let consoleDatabase = "pgbouncer"

    /// Reads `SHOW POOLS`, `SHOW DATABASES`, `SHOW CONFIG` and `SHOW LISTS` records (column name → text).
    public init(pools poolRecords: [[String: String]], databases: [[String: String]] = [], config: [[String: String]] = [],
                lists: [[String: String]] = []) {
        var rows: [PoolRow] = [], unread = 0
        for r in poolRecords {
            guard let p = PoolRow(columns: r) else { unread += 1; continue }
            if p.database != BouncerSample.consoleDatabase { rows.append(p) }
        }
        var sizes: [String: Int] = [:]
        for d in databases {
            if let name = d["name"], name != BouncerSample.consoleDatabase, let s = d["pool_size"].flatMap({ Int($0) }) { sizes[name] = s }
        }
        var settings: [String: String] = [:]
        for c in config { if let k = c["key"], let v = c["value"] { settings[k] = v } }
        self.init(pools: rows, poolSizes: sizes, maxClientConn: settings["max_client_conn"].flatMap { Int($0) },
                  defaultPoolSize: settings["default_pool_size"].flatMap { Int($0) },
                  usedClients: lists.first { $0["list"] == "used_clients" }?["items"].flatMap { Int($0) }, unreadRows: unread)
    }

    /// Clients waiting for a server connection, over all pools.
    public var waiting: Int { pools.reduce(0) { $0 + $1.clientsWaiting } }

    /// The server-connection cap of a pool: its database's `pool_size`, else `default_pool_size`.
    public func poolSize(_ p: PoolRow) -> Int? { poolSizes[p.database] ?? defaultPoolSize }

    /// A `db.sample` event with platform `pgbouncer` (Skein's convention for pooler readings).
    ///
    /// No `db_open`: PgBouncer's clients are not the server's backends, so the server's count
    /// stays the server's. Attributes: per pool `pool.<database>/<user>.<field>` with fields
    /// `cl_active`, `cl_waiting`, `sv_active`, `sv_idle`, `sv_used`, `maxwait_ms`, `pool_size`,
    /// `pool_mode`; totals `cl_active`, `cl_waiting`, `sv_active`, `sv_idle`, `sv_used`,
    /// `maxwait_ms` (the longest wait of any pool); `max_client_conn`, `default_pool_size` when known.
    public func event(at time: Timestamp, instance: String, source: SourceID) -> Event {
        var attrs: [Attribute] = []
        var ca = 0, cw = 0, sa = 0, si = 0, su = 0, wait = 0.0
        for p in pools.sorted(by: { ($0.database, $0.user) < ($1.database, $1.user) }) {
            let k = "pool.\(p.name)."
            attrs.append(Attribute(k + "cl_active", String(p.clientsActive)))
            attrs.append(Attribute(k + "cl_waiting", String(p.clientsWaiting)))
            attrs.append(Attribute(k + "sv_active", String(p.serversActive)))
            attrs.append(Attribute(k + "sv_idle", String(p.serversIdle)))
            attrs.append(Attribute(k + "sv_used", String(p.serversUsed)))
            attrs.append(Attribute(k + "maxwait_ms", BouncerSample.ms(p.maxWaitMS)))
            if let s = poolSize(p) { attrs.append(Attribute(k + "pool_size", String(s))) }
            if let m = p.poolMode { attrs.append(Attribute(k + "pool_mode", m)) }
            ca += p.clientsActive; cw += p.clientsWaiting; sa += p.serversActive; si += p.serversIdle; su += p.serversUsed
            wait = max(wait, p.maxWaitMS)
        }
        attrs.append(contentsOf: [Attribute("cl_active", String(ca)), Attribute("cl_waiting", String(cw)),
                                  Attribute("sv_active", String(sa)), Attribute("sv_idle", String(si)),
                                  Attribute("sv_used", String(su)), Attribute("maxwait_ms", BouncerSample.ms(wait))])
        if let m = maxClientConn { attrs.append(Attribute("max_client_conn", String(m))) }
        if let d = defaultPoolSize { attrs.append(Attribute("default_pool_size", String(d))) }
        if let u = usedClients { attrs.append(Attribute("used_clients", String(u))) }
        if unreadRows > 0 { attrs.append(Attribute("unread_rows", String(unreadRows))) }
        return Event(time: time, kind: .dbSample, level: .info, source: source,
                     service: "pgbouncer", instance: instance, deploy: .server, platform: "pgbouncer", attributes: attrs)
    }

    /// Milliseconds to 0.1 ms, without a trailing `.0`.
    static func ms(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// A warning naming the pools whose clients wait, or nil when none does.
    public func waitWarning(at time: Timestamp, instance: String, source: SourceID) -> Event? {
        let waiting = pools.filter { $0.clientsWaiting > 0 }
        guard !waiting.isEmpty else { return nil }
        let list = waiting.sorted { ($0.clientsWaiting, $1.name) > ($1.clientsWaiting, $0.name) }
            .map { p in
                let cap = poolSize(p).map { " of \($0)" } ?? ""
                return "\(p.name) \(p.clientsWaiting) waiting (max \(BouncerSample.seconds(p.maxWaitMS))), \(p.serversActive)\(cap) server connections busy"
            }
            .joined(separator: "; ")
        return Event(time: time, kind: .log, level: .warn, source: source,
                     service: "pgbouncer", instance: instance, deploy: .server, platform: "pgbouncer",
                     message: "PgBouncer clients waiting for a server connection: \(list).")
    }

    static func seconds(_ ms: Double) -> String {
        ms < 1000 ? "\(Int(ms.rounded())) ms" : "\((ms / 100).rounded() / 10) s"
    }
}
