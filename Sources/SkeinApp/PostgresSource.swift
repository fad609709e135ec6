#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SkeinCore
import SkeinPostgres
import SkeinSources

/// A PostgreSQL or PgBouncer sampler as a live source of `skein tail`.
///
/// The sampler runs on its own task and fills a small bounded queue; `poll` drains it on the
/// engine's thread, so a database that hangs or refuses costs the dashboard nothing.
public final class PostgresSource: LiveSource {
    public let sourceName: String
    private let queue: IngestQueue
    private let task: Task<Void, Never>

    public init(target: PostgresTarget, kind: PostgresSampler.Kind = .postgres, intervalS: Double = 1,
                backoff: Backoff = Backoff(), clock: any Clock = WallClock()) {
        // A few minutes of samples: if the engine stalls that long, dropping (counted) is right.
        let queue = IngestQueue(capacity: 4_096)
        let sampler = PostgresSampler(target: target, kind: kind, intervalS: intervalS, backoff: backoff,
                                      clock: clock, queue: queue)
        self.queue = queue
        sourceName = sampler.sourceName
        task = Task.detached { await sampler.run() }
    }

    public func poll(into sink: any IngestSink) -> Bool { queue.drain(into: sink) > 0 }

    public func close() { task.cancel() }

    /// The sources `--pg` and `--pgbouncer` name; each URL's missing parts come from the `PG*` variables.
    public static func sources(pg: String?, pgbouncer: String?, intervalS: Double,
                               environment: [String: String] = PostgresSource.environment()) throws -> [PostgresSource] {
        var out: [PostgresSource] = []
        if let url = pg {
            out.append(PostgresSource(target: try target(url, environment), kind: .postgres, intervalS: intervalS))
        }
        if let url = pgbouncer {
            var env = environment
            // The console's database is always `pgbouncer`, whatever PGDATABASE says.
            env["PGDATABASE"] = "pgbouncer"
            out.append(PostgresSource(target: try target(url, env), kind: .pgbouncer, intervalS: intervalS))
        }
        return out
    }

    /// Checks `--pg` / `--pgbouncer` values without connecting.
    public static func validate(pg: String?, pgbouncer: String?, intervalS: Double) throws {
        let env = environment()
        if let url = pg { _ = try target(url, env) }
        if let url = pgbouncer {
            let t = try target(url, env)
            switch t.tls {
            case .disable, .allow, .prefer:
                break
            case .require, .verifyCA, .verifyFull:
                // Said now rather than as a reconnecting source that never connects.
                throw AppError.io("--pgbouncer: sslmode=\(t.tls.rawValue) is not supported (Skein reads the console in plain text); use sslmode=disable")
            }
        }
        guard intervalS >= 0.05 && intervalS <= 3_600 else { throw AppError.io("bad --pg-interval \(intervalS): 0.05 to 3600 seconds") }
    }

    private static func target(_ url: String, _ env: [String: String]) throws -> PostgresTarget {
        do {
            return try PostgresTarget.parse(url: url, environment: env)
        } catch {
            throw AppError.io("\(error)")
        }
    }

    /// libpq's variables (and `USER`, its default user) from the process environment.
    public static func environment() -> [String: String] {
        var env: [String: String] = [:]
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "USER"] {
            if let v = getenv(key) { env[key] = String(cString: v) }
        }
        return env
    }
}
