import PostgresNIO
import SkeinCore
import SkeinEngine
import SkeinSources

/// Samples a PostgreSQL server (or PgBouncer's admin console) into events, on its own task.
///
/// One read-only connection (`application_name` `skein`, a statement timeout shorter than the
/// interval), one reading per interval. Readings, health and the sampler's own notices go into a
/// bounded `IngestQueue` that the engine's thread drains, so a slow, dead or full database never
/// blocks the dashboard: the sampler reconnects with exponential backoff and reports
/// `.reconnecting(attempt:reason:)` meanwhile. Nothing it emits carries the password.
public final class PostgresSampler: Sendable {
    public enum Kind: String, Sendable {
        case postgres
        case pgbouncer
    }

    public let target: PostgresTarget
    public let kind: Kind
    public let intervalS: Double
    public let backoff: Backoff
    private let clock: any Clock
    private let queue: IngestQueue

    public init(target: PostgresTarget, kind: Kind = .postgres, intervalS: Double = 1, backoff: Backoff = Backoff(),
                clock: any Clock, queue: IngestQueue) {
        self.target = target
        self.kind = kind
        self.intervalS = min(3_600, max(0.05, intervalS))
        self.backoff = backoff
        self.clock = clock
        self.queue = queue
    }

    /// The source's name on screen: `pg host:port/db` (no user, no password).
    public var sourceName: String { "\(kind == .postgres ? "pg" : "pgbouncer") \(target)" }

    /// Statement timeout: below the interval, so one slow reading cannot pile up behind the next.
    var statementTimeoutMS: Int { Int(min(5_000, max(200, intervalS * 800))) }

    /// Samples until the task is cancelled.
    public func run() async {
        let source = queue.addSource(name: sourceName)
        queue.setHealth(.waiting, for: source)
        var logger = Logger(label: "skein.postgres")
        // Library chatter would land on the dashboard's terminal; the health line says what matters.
        logger.logLevel = .critical
        var attempt = 0
        var everConnected = false
        while !Task.isCancelled {
            do {
                // Connected is not yet healthy: a server can accept and then fail every query, so
                // the backoff resets only after the first good reading.
                func firstReading() {
                    queue.setHealth(.reading, for: source)
                    if attempt > 0 && everConnected {
                        notice(.info, "\(sourceName) connected again after \(attempt) attempt\(attempt == 1 ? "" : "s")", source: source)
                    }
                    attempt = 0
                    everConnected = true
                }
                switch kind {
                case .postgres: try await samplePostgres(logger: logger, source: source, firstReading: firstReading)
                case .pgbouncer: try await sampleBouncer(source: source, firstReading: firstReading)
                }
            } catch where Task.isCancelled {
                // Stopping, not failing.
            } catch {
                attempt += 1
                let reason = target.redact(PostgresSampler.reason(error))
                queue.setHealth(.reconnecting(attempt: attempt, reason: reason), for: source)
                if let refused = PostgresSampler.refusal(error) {
                    // The server refused Skein itself: server truth that it is full.
                    let what = kind == .postgres ? "the server" : "the pooler"
                    queue.ingest(Event(time: clock.now(), kind: .dbError, level: .error, source: source,
                                       service: kind.rawValue, instance: target.address, deploy: .server,
                                       platform: kind.rawValue, dbError: refused,
                                       message: "\(sourceName) refused the sampler (\(what) is full): \(reason)",
                                       attributes: [Attribute("application_name", "skein"), Attribute("refused", "sampler")]))
                } else if attempt == 1 {
                    // A server that answered "no" (bad password, unknown database) is not an outage.
                    let what = PostgresSampler.answered(error) ? "refused the sampler" : "unreachable"
                    notice(.warn, "\(sourceName) \(what): \(reason); reconnecting", source: source)
                }
            }
            if Task.isCancelled { break }
            if attempt > 0 {
                try? await Task.sleep(for: .milliseconds(Int(backoff.delay(attempt: attempt) * 1000)))
            }
        }
        queue.setHealth(.finished, for: source)
    }

    private func notice(_ level: Level, _ message: String, source: SourceID) {
        queue.ingest(Event(time: clock.now(), kind: .log, level: level, source: source,
                           service: kind.rawValue, instance: target.address, deploy: .server, platform: kind.rawValue,
                           message: message))
    }

    /// One connection's life against PostgreSQL: connect, set the session up, sample until it fails.
    private func samplePostgres(logger: Logger, source: SourceID, firstReading: () -> Void) async throws {
        let c = try await PostgresConnection.connect(configuration: try configuration(), id: 1, logger: logger)
        do {
            try await prepareSession(c, logger: logger)
            try await sampleLoop(c, logger: logger, source: source, firstReading: firstReading)
        } catch {
            // postgres-nio insists on an explicit close, also when the task was cancelled.
            try? await c.close()
            throw error
        }
        try? await c.close()
    }

    /// One connection's life against PgBouncer's console: log in, read its settings, sample until it fails.
    private func sampleBouncer(source: SourceID, firstReading: () -> Void) async throws {
        let timeout = Double(statementTimeoutMS) / 1000 + 2
        let c = try await ConsoleConnection.connect(target, timeoutS: max(5, timeout))
        defer { c.close() }
        // Settings change rarely (RELOAD); once per connection is enough.
        let config = try await PostgresSampler.optional(c, "SHOW CONFIG", timeoutS: timeout)
        let wall = ContinuousClock()
        var wasWaiting = false
        var first = true
        while !Task.isCancelled {
            let started = wall.now
            let pools = try await c.query("SHOW POOLS", timeoutS: timeout).first?.records ?? []
            let databases = try await PostgresSampler.optional(c, "SHOW DATABASES", timeoutS: timeout)
            let lists = try await PostgresSampler.optional(c, "SHOW LISTS", timeoutS: timeout)
            let s = BouncerSample(pools: pools, databases: databases, config: config, lists: lists)
            let now = clock.now()
            queue.ingest(s.event(at: now, instance: target.address, source: source))
            // Once per episode of waiting, not once a second.
            if let w = s.waitWarning(at: now, instance: target.address, source: source), !wasWaiting { queue.ingest(w) }
            wasWaiting = s.waiting > 0
            if first {
                first = false
                firstReading()
            }
            let left = Duration.milliseconds(Int(intervalS * 1000)) - (wall.now - started)
            if left > .zero { try await Task.sleep(for: left) }
        }
    }

    /// A console command whose answer only adds detail: a refusal (a role not allowed, a version
    /// without it) leaves that detail out instead of failing the reading. The connection stays in
    /// step because the reply is read to its ReadyForQuery either way.
    static func optional(_ c: ConsoleConnection, _ sql: String, timeoutS: Double) async throws -> [[String: String]] {
        do {
            return try await c.query(sql, timeoutS: timeoutS).first?.records ?? []
        } catch ConsoleError.server {
            return []
        }
    }

    private func prepareSession(_ c: PostgresConnection, logger: Logger) async throws {
        try await c.query(PostgresQuery(unsafeSQL: "SET statement_timeout = \(statementTimeoutMS)"), logger: logger)
        try await c.query(PostgresQuery(unsafeSQL: "SET default_transaction_read_only = on"), logger: logger)
        try await c.query(PostgresQuery(unsafeSQL: "SET application_name = 'skein'"), logger: logger)
    }

    private func sampleLoop(_ c: PostgresConnection, logger: Logger, source: SourceID, firstReading: () -> Void) async throws {
        let wall = ContinuousClock()
        var first = true
        while !Task.isCancelled {
            let started = wall.now
            // A server that goes away mid-query can leave the read waiting for ever; the deadline
            // closes the connection and reconnects instead.
            let deadline = Double(statementTimeoutMS) / 1000 + 2
            let s = try await Deadline.run(seconds: deadline, onExpiry: { let closing: EventLoopFuture<Void> = c.close(); _ = closing }) {
                try await PostgresSampler.readServer(c, logger: logger)
            }
            queue.ingest(s.event(at: clock.now(), instance: target.address, source: source))
            if first {
                first = false
                firstReading()
            }
            let left = Duration.milliseconds(Int(intervalS * 1000)) - (wall.now - started)
            if left > .zero { try await Task.sleep(for: left) }
        }
    }

    static let settingsSQL = """
        SELECT current_setting('max_connections')::int8, current_setting('superuser_reserved_connections')::int8,
               coalesce(current_setting('reserved_connections', true), '-1')::int8
        """
    /// Client backends by application, user, address and state, the sampler's own excluded.
    static let activitySQL = """
        SELECT coalesce(nullif(application_name, ''), '\(ServerSample.unnamedApplication)'),
               coalesce(usename::text, ''),
               coalesce(host(client_addr), 'local'),
               coalesce(state, 'unknown'),
               count(*)::int8,
               coalesce(extract(epoch from max(now() - state_change)), 0)::float8
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        GROUP BY 1, 2, 3, 4
        """

    static func readServer(_ c: PostgresConnection, logger: Logger) async throws -> ServerSample {
        var maxConnections = 0, reserved = 0, rolesReserved: Int?
        // reserved_connections (for pg_use_reserved_connections) exists from PostgreSQL 16; -1 before.
        let settings = try await c.query(PostgresQuery(unsafeSQL: settingsSQL), logger: logger)
        for try await (m, r, roles) in settings.decode((Int, Int, Int).self) {
            maxConnections = m
            reserved = r
            rolesReserved = roles >= 0 ? roles : nil
        }
        var groups: [ActivityGroup] = []
        let rows = try await c.query(PostgresQuery(unsafeSQL: activitySQL), logger: logger)
        for try await (app, user, addr, state, n, age) in rows.decode((String, String, String, String, Int, Double).self) {
            groups.append(ActivityGroup(application: app, user: user, clientAddress: addr, state: state, count: n, oldestStateAgeS: age))
        }
        return ServerSample(maxConnections: maxConnections, reservedConnections: reserved, rolesReservedConnections: rolesReserved,
                            groups: groups)
    }

    func configuration() throws -> PostgresConnection.Configuration {
        var c: PostgresConnection.Configuration
        if let dir = target.socketDirectory {
            c = .init(unixSocketPath: "\(dir)/.s.PGSQL.\(target.port)", username: target.user,
                      password: target.password, database: target.database)
        } else {
            c = .init(host: target.host, port: target.port, username: target.user, password: target.password,
                      database: target.database, tls: try PostgresSampler.tls(target.tls))
        }
        c.options.connectTimeout = .seconds(5)
        c.options.additionalStartupParameters = [("application_name", "skein")]
        return c
    }

    static func tls(_ mode: PostgresTarget.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        var config = TLSConfiguration.makeClientConfiguration()
        switch mode {
        case .disable:
            return .disable
        case .allow, .prefer:
            config.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: config))
        case .require:
            // libpq's `require` encrypts without checking the certificate.
            config.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: config))
        case .verifyCA:
            config.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: config))
        case .verifyFull:
            return .require(try NIOSSLContext(configuration: config))
        }
    }

    /// A short, user-facing reason: the server's own message when it sent one.
    static func reason(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let m = e.serverInfo?[.message] { return m }
            if let u = e.underlying { return "\(e.code.description): \(u)" }
            return e.code.description
        }
        if let e = error as? ConsoleError { return e.description }
        return "\(error)"
    }

    /// Whether the server itself answered with an error (as opposed to a network failure or timeout).
    static func answered(_ error: any Error) -> Bool {
        if let e = error as? PSQLError { return e.serverInfo != nil }
        switch error as? ConsoleError {
        case .server?, .scram?, .passwordRequired?, .unsupportedAuthentication?: return true
        default: return false
        }
    }

    /// The connection error as Skein's vocabulary when the server refused a client for lack of slots.
    static func refusal(_ error: any Error) -> DBErrorKind? {
        if case .server(let n)? = error as? ConsoleError {
            // PgBouncer: "no more connections allowed (max_client_conn)" (08P01), or a server's 53300 passed on.
            if n.sqlState == "53300" || n.message.contains("max_client_conn") || n.message.contains("too many") {
                return n.message.contains("reserved") ? .reservedSlots : .tooManyClients
            }
            return nil
        }
        guard let e = error as? PSQLError, let state = e.serverInfo?[.sqlState], state == "53300" else { return nil }
        let message = e.serverInfo?[.message] ?? ""
        return message.contains("reserved") ? .reservedSlots : .tooManyClients
    }
}
