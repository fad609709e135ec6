import Foundation

/// The collector's own counters, per endpoint, for `GET /metrics` (Prometheus text format).
///
/// Event loops bump them concurrently; one lock, taken once per request.
public final class CollectorMetrics: @unchecked Sendable {
    /// One request's contribution.
    public struct Sample: Sendable {
        public var endpoint: String
        public var status: Int
        public var bytes: Int
        /// Events decoded and queued for the engine (answered 200).
        public var events = 0
        public var malformed = 0
        /// Events decoded but refused because the queue was full (answered 429; the client retries).
        public var rejected = 0
        public init(endpoint: String, status: Int, bytes: Int) {
            self.endpoint = endpoint
            self.status = status
            self.bytes = bytes
        }
    }

    private struct Counts {
        var requests: [Int: Int] = [:]
        var bytes = 0
        var events = 0
        var malformed = 0
        var rejected = 0
    }

    private let lock = NSLock()
    private var byEndpoint: [String: Counts] = [:]
    private var refusedConnections = 0
    private var timeouts = 0

    public init() {}

    public func record(_ s: Sample) {
        lock.lock(); defer { lock.unlock() }
        var c = byEndpoint[s.endpoint] ?? Counts()
        c.requests[s.status, default: 0] += 1
        c.bytes += s.bytes
        c.events += s.events
        c.malformed += s.malformed
        c.rejected += s.rejected
        byEndpoint[s.endpoint] = c
    }

    /// A connection closed on arrival because `maxConnections` were open.
    public func countRefusedConnection() {
        lock.lock(); defer { lock.unlock() }
        refusedConnections += 1
    }

    /// A request that did not complete within the request timeout.
    public func countTimeout() {
        lock.lock(); defer { lock.unlock() }
        timeouts += 1
    }

    /// Totals over every endpoint, for tests and the benchmark.
    public var totals: (requests: Int, events: Int, malformed: Int, rejected: Int, refusedConnections: Int, timeouts: Int) {
        lock.lock(); defer { lock.unlock() }
        var t = (requests: 0, events: 0, malformed: 0, rejected: 0, refusedConnections: refusedConnections, timeouts: timeouts)
        for c in byEndpoint.values {
            t.requests += c.requests.values.reduce(0, +)
            t.events += c.events
            t.malformed += c.malformed
            t.rejected += c.rejected
        }
        return t
    }

    /// Prometheus text exposition (version 0.0.4).
    ///
    /// `dropped`: events the queue accepted and then lost before the engine (the collector never
    /// does this by design: a full queue refuses whole requests with 429, counted as rejected).
    public func render(queueDepth: Int, queueCapacity: Int, dropped: Int = 0, connections: Int = 0, maxConnections: Int = 0) -> String {
        lock.lock()
        let snapshot = byEndpoint
        let refused = refusedConnections, timeouts = self.timeouts
        lock.unlock()
        let endpoints = snapshot.keys.sorted()
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ rows: [(String, Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in rows { out += "\(name)\(labels) \(v)\n" }
        }
        var requests: [(String, Int)] = []
        for e in endpoints {
            for (status, n) in snapshot[e]!.requests.sorted(by: { $0.key < $1.key }) {
                requests.append(("{endpoint=\"\(e)\",code=\"\(status)\"}", n))
            }
        }
        family("skein_collector_requests_total", "counter", "HTTP requests answered, by endpoint and response code.", requests)
        func per(_ key: KeyPath<Counts, Int>) -> [(String, Int)] { endpoints.map { ("{endpoint=\"\($0)\"}", snapshot[$0]![keyPath: key]) } }
        family("skein_collector_received_bytes_total", "counter", "Request body bytes received (as sent, before gzip is undone).", per(\.bytes))
        family("skein_collector_events_total", "counter", "Events decoded and accepted: queued for the engine, answered 200.", per(\.events))
        family("skein_collector_rejected_events_total", "counter",
               "Events decoded but refused because the queue to the engine was full: answered 429 with Retry-After, for the client to send again (a request refused from its head, the queue being full already, is not decoded: see requests_total code 429).",
               per(\.rejected))
        family("skein_collector_malformed_total", "counter", "Records or lines that could not be decoded.", per(\.malformed))
        family("skein_collector_dropped_total", "counter",
               "Events accepted and then lost before the engine (a full queue refuses whole requests instead, so this stays 0 for the collector).",
               [("", dropped)])
        family("skein_collector_queue_depth", "gauge", "Events waiting for the engine.", [("", queueDepth)])
        family("skein_collector_queue_capacity", "gauge", "Events the queue holds before refusing requests.", [("", queueCapacity)])
        family("skein_collector_connections_open", "gauge", "Client connections open now.", [("", connections)])
        family("skein_collector_connections_max", "gauge", "Connections allowed at once (--max-connections).", [("", maxConnections)])
        family("skein_collector_connections_refused_total", "counter", "Connections answered 503 and closed on arrival because the maximum were open.", [("", refused)])
        family("skein_collector_request_timeouts_total", "counter", "Requests not completed within the request timeout (answered 408 or closed).", [("", timeouts)])
        return out
    }
}
