import SkeinCore

/// One group of client backends from `pg_stat_activity`, as the sampler's query groups them.
public struct ActivityGroup: Sendable, Equatable {
    public var application: String
    public var user: String
    public var clientAddress: String
    /// `active`, `idle`, `idle in transaction`, ... (`unknown` when the role may not see it).
    public var state: String
    public var count: Int
    /// Seconds since the oldest `state_change` in the group.
    public var oldestStateAgeS: Double

    public init(application: String, user: String, clientAddress: String, state: String, count: Int, oldestStateAgeS: Double) {
        self.application = application
        self.user = user
        self.clientAddress = clientAddress
        self.state = state
        self.count = count
        self.oldestStateAgeS = oldestStateAgeS
    }
}

/// One reading of a PostgreSQL server: its limits and who holds its client backends.
public struct ServerSample: Sendable, Equatable {
    public var maxConnections: Int
    public var reservedConnections: Int
    /// Client backends except the sampler's own, grouped by application, user, address and state.
    public var groups: [ActivityGroup]

    public init(maxConnections: Int, reservedConnections: Int, groups: [ActivityGroup]) {
        self.maxConnections = maxConnections
        self.reservedConnections = reservedConnections
        self.groups = groups
    }

    /// Client backends open, the sampler's own excluded.
    public var open: Int { groups.reduce(0) { $0 + $1.count } }

    /// The `db.sample` event the engine reads: `dbOpen`/`dbMax`, and counts per application,
    /// state, user and client address as attributes (`application_name.<name>`, `state.<state>`,
    /// `usename.<user>`, `client_addr.<addr>`), `reserved`, and the oldest state age per state
    /// (`oldest_s.<state>`, whole seconds) so a stuck `idle in transaction` shows.
    public func event(at time: Timestamp, instance: String, source: SourceID) -> Event {
        var apps: [String: Int] = [:], states: [String: Int] = [:], users: [String: Int] = [:], addrs: [String: Int] = [:]
        var oldest: [String: Double] = [:]
        for g in groups {
            apps[g.application, default: 0] += g.count
            states[g.state, default: 0] += g.count
            users[g.user, default: 0] += g.count
            addrs[g.clientAddress, default: 0] += g.count
            oldest[g.state] = max(oldest[g.state] ?? 0, g.oldestStateAgeS)
        }
        var attrs: [Attribute] = [Attribute("reserved", String(reservedConnections))]
        func add(_ prefix: String, _ counts: [String: Int]) {
            for (k, v) in counts.sorted(by: { $0.key < $1.key }) { attrs.append(Attribute(prefix + k, String(v))) }
        }
        add("application_name.", apps)
        add("state.", states)
        add("usename.", users)
        add("client_addr.", addrs)
        for (k, v) in oldest.sorted(by: { $0.key < $1.key }) {
            attrs.append(Attribute("oldest_s." + k, String(Int(v.rounded(.down)))))
        }
        return Event(time: time, kind: .dbSample, level: .info, source: source,
                     service: "postgres", instance: instance, deploy: .server, platform: "postgres",
                     dbOpen: open, dbMax: maxConnections, attributes: attrs)
    }

    /// A name for an empty `application_name` (clients that never set one), as the engine names them.
    public static let unnamedApplication = "unknown"
}

/// One row of PgBouncer's `SHOW POOLS`.
public struct PoolRow: Sendable, Equatable {
    public var database: String
    public var user: String
    public var clientsActive: Int
    public var clientsWaiting: Int
    public var serversActive: Int
    public var serversIdle: Int
    /// Seconds the oldest waiting client has waited.
    public var maxWaitS: Int

    public init(database: String, user: String, clientsActive: Int, clientsWaiting: Int,
                serversActive: Int, serversIdle: Int, maxWaitS: Int) {
        self.database = database
        self.user = user
        self.clientsActive = clientsActive
        self.clientsWaiting = clientsWaiting
        self.serversActive = serversActive
        self.serversIdle = serversIdle
        self.maxWaitS = maxWaitS
    }

    /// Reads a row by column name, so PgBouncer versions that add columns still parse; nil when
    /// a column it needs is missing or not a number.
    public init?(columns: [String: String]) {
        func int(_ k: String) -> Int? { columns[k].flatMap { Int($0) } }
        guard let db = columns["database"], let user = columns["user"],
              let ca = int("cl_active"), let cw = int("cl_waiting"),
              let sa = int("sv_active"), let si = int("sv_idle") else { return nil }
        self.init(database: db, user: user, clientsActive: ca, clientsWaiting: cw,
                  serversActive: sa, serversIdle: si, maxWaitS: int("maxwait") ?? 0)
    }
}

/// One reading of PgBouncer's pools.
public struct BouncerSample: Sendable, Equatable {
    public var pools: [PoolRow]

    public init(pools: [PoolRow]) { self.pools = pools }

    /// Clients waiting for a server connection, over all pools.
    public var waiting: Int { pools.reduce(0) { $0 + $1.clientsWaiting } }

    /// A `db.sample` event with platform `pgbouncer`: no `dbOpen` (PgBouncer's clients are not the
    /// server's backends, so the server's count stays the server's), pools as attributes
    /// (`pool.<db>/<user>.cl_waiting`, ...), and totals (`cl_active`, `cl_waiting`, `sv_active`, `sv_idle`).
    public func event(at time: Timestamp, instance: String, source: SourceID) -> Event {
        var attrs: [Attribute] = []
        var totals = (0, 0, 0, 0)
        for p in pools.sorted(by: { ($0.database, $0.user) < ($1.database, $1.user) }) {
            let k = "pool.\(p.database)/\(p.user)."
            attrs.append(Attribute(k + "cl_active", String(p.clientsActive)))
            attrs.append(Attribute(k + "cl_waiting", String(p.clientsWaiting)))
            attrs.append(Attribute(k + "sv_active", String(p.serversActive)))
            attrs.append(Attribute(k + "sv_idle", String(p.serversIdle)))
            attrs.append(Attribute(k + "maxwait", String(p.maxWaitS)))
            totals.0 += p.clientsActive
            totals.1 += p.clientsWaiting
            totals.2 += p.serversActive
            totals.3 += p.serversIdle
        }
        attrs.append(contentsOf: [Attribute("cl_active", String(totals.0)), Attribute("cl_waiting", String(totals.1)),
                                  Attribute("sv_active", String(totals.2)), Attribute("sv_idle", String(totals.3))])
        return Event(time: time, kind: .dbSample, level: .info, source: source,
                     service: "pgbouncer", instance: instance, deploy: .server, platform: "pgbouncer", attributes: attrs)
    }

    /// A warning naming the pools whose clients wait, or nil when none does.
    public func waitWarning(at time: Timestamp, instance: String, source: SourceID) -> Event? {
        let waiting = pools.filter { $0.clientsWaiting > 0 }
        guard !waiting.isEmpty else { return nil }
        let list = waiting.sorted { ($0.clientsWaiting, $1.database) > ($1.clientsWaiting, $0.database) }
            .map { "\($0.database)/\($0.user) \($0.clientsWaiting) waiting (max \($0.maxWaitS) s)" }
            .joined(separator: ", ")
        return Event(time: time, kind: .log, level: .warn, source: source,
                     service: "pgbouncer", instance: instance, deploy: .server, platform: "pgbouncer",
                     message: "PgBouncer clients waiting for a server connection: \(list); the pool is smaller than the demand.")
    }
}
