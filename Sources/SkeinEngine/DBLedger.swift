import SkeinCore

/// A connection or client count as a log, a sample or a metric gives it, held to 0...2^30: real
/// counts are far below (Postgres' `max_connections` stops at 262,143), and the ledgers add and
/// compare them, which for a count near `Int.max` (an OTLP `as_int`, a recorded attribute) trapped.
@inline(__always)
func saneCount(_ n: Int) -> Int { min(max(n, 0), 1 << 30) }

/// `saneCount` of a count written as text; nil when it is not an integer.
@inline(__always)
func saneCount(text: String) -> Int? { Int(text).map(saneCount) }

/// `part` of `whole` in whole percent, for messages (`whole` > 0).
func percent(_ part: Int, of whole: Int) -> Int {
    let p = Double(part) / Double(whole) * 100
    return p.isFinite ? Int(min(max(p, -1e12), 1e12).rounded()) : 0
}

/// Database connections as the apps report them and as the server counts them.
///
/// App side: each instance's `dbOpen` (absolute from `db_open`, or ±1 on connect/disconnect); the
/// sum runs over instances that are not gone, because a frozen serverless instance still holds its
/// connections: only `instance.stop` or reaping releases them. Server side: `db.sample` readings
/// (absolute) and Postgres server-log connects/disconnects (relative) give the server's own count,
/// which `open` prefers once any has been seen.
struct DBLedger {
    var appOpen = 0
    var byService: [String: Int] = [:]
    /// Instances holding at least one connection, per service (for the pooler advice).
    var holders: [String: Int] = [:]
    var serverOpen: Int?
    var byApplication: [String: Int] = [:]
    var maxConnections: Int?
    var maxSource: DBMaxSource?
    var reserved: Int?
    var rolesReserved: Int?
    /// PgBouncer's pools (a pooled setup's queue).
    var pools = PoolLedger()
    var peakOpen = 0
    var peakAt: Timestamp?
    var firstExhaustionAt: Timestamp?
    /// Failures as the server side (Postgres' log, a pooler) reported them, and as the clients did.
    /// One refused connection is usually logged by both, so a kind counts the larger side: each
    /// failure once, whichever side (or both) logged it.
    var serverErrorsByKind: [String: Int] = [:]
    var clientErrorsByKind: [String: Int] = [:]
    var poolWaits = 0
    var poolWait = LatencyDigest()
    var series: BucketSeries

    init(config: EngineConfig) {
        series = BucketSeries(bucketMS: config.seriesBucketMS, length: config.seriesLength, mode: .gauge)
        if let m = config.dbMax {
            maxConnections = m
            maxSource = .flag
        }
    }

    var open: Int { serverOpen ?? appOpen }

    /// Moves one instance's count from `old` to `new`.
    mutating func instanceChanged(service: String, from old: Int, to new: Int) {
        guard old != new else { return }
        appOpen += new - old
        byService[service, default: 0] += new - old
        if old == 0 && new > 0 { holders[service, default: 0] += 1 }
        if old > 0 && new == 0 { holders[service, default: 0] -= 1 }
    }

    /// Learns `max_connections` from an event unless the flag already set it.
    mutating func learnMax(_ m: Int, source: DBMaxSource) {
        guard m > 0, maxSource != .flag else { return }
        if maxSource == .sampler && source == .event { return }
        maxConnections = m
        maxSource = source
    }

    mutating func error(_ kind: DBErrorKind, at t: Timestamp, serverSide: Bool) {
        if serverSide {
            serverErrorsByKind[kind.rawValue, default: 0] += 1
        } else {
            clientErrorsByKind[kind.rawValue, default: 0] += 1
        }
        if kind.isExhaustion { firstExhaustionAt = minOpt(firstExhaustionAt, t) }
    }

    /// Failures per kind, each counted once (see `serverErrorsByKind`).
    var errorsByKind: [String: Int] {
        serverErrorsByKind.merging(clientErrorsByKind, uniquingKeysWith: max)
    }


    /// Records the current level (peak, series, exhaustion) after any change.
    mutating func observe(at t: Timestamp) {
        let o = open
        if o > peakOpen || peakAt == nil && o > 0 {
            peakOpen = o
            peakAt = t
        }
        series.set(Double(o), at: t)
        if let m = maxConnections, m > 0, o >= m { firstExhaustionAt = minOpt(firstExhaustionAt, t) }
    }
}
