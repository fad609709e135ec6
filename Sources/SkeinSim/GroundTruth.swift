import SkeinCore

/// What really happened in a simulation, counted by the simulator as it happened.
///
/// Nothing here comes from re-reading the emitted lines, so tests and the sample-logs README can
/// hold Skein's analysis up against it. Counts cover every line generated so far, including lines
/// still in flight to the collector (`Simulator.flush()` delivers those).
public struct GroundTruth: Sendable, Equatable {
    public var scenario: String
    public var seed: UInt64
    public var start: Timestamp
    public var scenarioEnd: Timestamp
    /// How far the simulation has run.
    public var through: Timestamp
    public var maxConnections: Int
    /// Whether functions reached Postgres through PgBouncer.
    public var pooler: Bool

    /// Requests that entered the edge; each has its own correlation id.
    public var traces = 0
    /// Requests the edge has answered.
    public var completedTraces = 0
    /// Requests the edge answered with a 5xx.
    public var errorTraces = 0
    /// Requests that carried a W3C trace id (the rest carry only a correlation id).
    public var tracesWithTraceID = 0
    /// Requests answered from the edge alone (cache hits and CPU-limit failures).
    public var edgeOnlyTraces = 0

    /// `instance.start` lines: every instance's initialisation, servers' boots included.
    public var coldStarts = 0
    public var coldStartsByRuntime: [String: Int] = [:]
    public var coldStartsByService: [String: Int] = [:]
    public var coldStartsByDeploy: [String: Int] = [:]
    /// Hops (request.start lines) per service.
    public var requestsByService: [String: Int] = [:]
    /// Hops answered with a 5xx per service.
    public var errorsByService: [String: Int] = [:]
    /// Distinct instances ever seen, by deploy model (`edge`, `serverless`, `server`).
    public var instancesByDeploy: [String: Int] = [:]
    /// `instance.stop` lines: isolates evicted and function instances reaped.
    public var instancesStopped = 0

    /// The most connections Postgres held at once, and when it first reached that many.
    public var peakServerConnections = 0
    public var peakServerConnectionsAt: Timestamp?
    /// Connections Postgres holds now.
    public var serverConnections = 0
    /// The first `too many clients` refusal.
    public var firstExhaustionAt: Timestamp?
    /// `db.error` lines with `too_many_clients`.
    public var tooManyClientsErrors = 0
    /// The most connections PgBouncer held to the server (pooler scenario).
    public var poolerServerConnections = 0

    /// Background jobs started after their response was sent (`bg.start` after `response.sent`).
    public var afterResponse = 0
    /// Of those, finished during later invocations, which alone let frozen work progress (`bg.end` much later).
    public var afterResponseFinishedLate = 0
    /// Of those, failed when a later invocation thawed them: their socket died during the freeze.
    public var afterResponseFailed = 0
    /// Of those, lost when the frozen instance was reaped (no `bg.end` ever).
    public var afterResponseLost = 0

    /// Edge requests that exceeded the 50 ms CPU limit.
    public var edgeCPULimitExceeded = 0
    public var webSocketsOpened = 0
    public var webSocketsClosed = 0
    /// Lines generated so far.
    public var lines = 0

    init(scenario: Scenario, seed: UInt64, start: Timestamp, scenarioEnd: Timestamp, maxConnections: Int, pooler: Bool) {
        self.scenario = scenario.rawValue
        self.seed = seed
        self.start = start
        self.scenarioEnd = scenarioEnd
        self.through = start
        self.maxConnections = maxConnections
        self.pooler = pooler
    }

    /// Pretty JSON with a fixed key order (dictionary keys sorted), ending in a newline.
    public var json: String {
        var w = TruthJSON()
        func raw(_ key: String, _ value: String) { w.raw(key, value) }
        let str = TruthJSON.string, time = TruthJSON.time, map = TruthJSON.counts
        raw("scenario", str(scenario))
        raw("seed", String(seed))
        raw("start", time(start))
        raw("scenario_end", time(scenarioEnd))
        raw("through", time(through))
        raw("max_connections", String(maxConnections))
        raw("pooler", pooler ? "true" : "false")
        raw("traces", String(traces))
        raw("completed_traces", String(completedTraces))
        raw("error_traces", String(errorTraces))
        raw("traces_with_trace_id", String(tracesWithTraceID))
        raw("edge_only_traces", String(edgeOnlyTraces))
        raw("cold_starts", String(coldStarts))
        raw("cold_starts_by_runtime", map(coldStartsByRuntime))
        raw("cold_starts_by_service", map(coldStartsByService))
        raw("cold_starts_by_deploy", map(coldStartsByDeploy))
        raw("requests_by_service", map(requestsByService))
        raw("errors_by_service", map(errorsByService))
        raw("instances_by_deploy", map(instancesByDeploy))
        raw("instances_stopped", String(instancesStopped))
        raw("peak_server_connections", String(peakServerConnections))
        raw("peak_server_connections_at", time(peakServerConnectionsAt))
        raw("server_connections", String(serverConnections))
        raw("first_exhaustion_at", time(firstExhaustionAt))
        raw("too_many_clients_errors", String(tooManyClientsErrors))
        raw("pooler_server_connections", String(poolerServerConnections))
        raw("after_response", String(afterResponse))
        raw("after_response_finished_late", String(afterResponseFinishedLate))
        raw("after_response_failed", String(afterResponseFailed))
        raw("after_response_lost", String(afterResponseLost))
        raw("edge_cpu_limit_exceeded", String(edgeCPULimitExceeded))
        raw("websockets_opened", String(webSocketsOpened))
        raw("websockets_closed", String(webSocketsClosed))
        raw("lines", String(lines))
        return w.finish()
    }
}

/// The truth files' JSON: one object, a key per line in the order written, dictionaries with
/// sorted keys, ending in a newline (so files diff well and compare byte for byte).
struct TruthJSON {
    private var text = "{\n"
    private var first = true

    mutating func raw(_ key: String, _ value: String) {
        if !first { text += ",\n" }
        first = false
        text += "  \"\(key)\": \(value)"
    }

    func finish() -> String { text + "\n}\n" }

    static func string(_ s: String) -> String {
        var b: [UInt8] = []
        LineWriter.string(&b, s)
        return String(decoding: b, as: UTF8.self)
    }

    static func time(_ t: Timestamp?) -> String { t.map { string($0.rfc3339) } ?? "null" }

    static func counts(_ m: [String: Int]) -> String {
        "{" + m.keys.sorted().map { "\(string($0)): \(m[$0]!)" }.joined(separator: ", ") + "}"
    }
}
