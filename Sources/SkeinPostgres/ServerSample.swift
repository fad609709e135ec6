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
    /// `superuser_reserved_connections`.
    public var reservedConnections: Int
    /// `reserved_connections` (PostgreSQL 16+: slots for roles with `pg_use_reserved_connections`).
    public var rolesReservedConnections: Int?
    /// Client backends except the sampler's own, grouped by application, user, address and state.
    public var groups: [ActivityGroup]

    public init(maxConnections: Int, reservedConnections: Int, rolesReservedConnections: Int? = nil, groups: [ActivityGroup]) {
        self.maxConnections = maxConnections
        self.reservedConnections = reservedConnections
        self.rolesReservedConnections = rolesReservedConnections
        self.groups = groups
    }

    /// Client backends open, the sampler's own excluded.
    public var open: Int { groups.reduce(0) { $0 + $1.count } }

    /// The `db.sample` event the engine reads: `dbOpen`/`dbMax`, and counts per application,
    /// state, user and client address as attributes (`application_name.<name>`, `state.<state>`,
    /// `usename.<user>`, `client_addr.<addr>`), `superuser_reserved_connections` and (PostgreSQL 16+)
    /// `reserved_connections`, and the oldest state age per state
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
        var attrs: [Attribute] = [Attribute("superuser_reserved_connections", String(reservedConnections))]
        if let r = rolesReservedConnections { attrs.append(Attribute("reserved_connections", String(r))) }
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
