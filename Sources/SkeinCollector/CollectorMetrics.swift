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
        public var events = 0
        public var malformed = 0
        public var dropped = 0
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
        var dropped = 0
    }

    private let lock = NSLock()
    private var byEndpoint: [String: Counts] = [:]

    public init() {}

    public func record(_ s: Sample) {
        lock.lock(); defer { lock.unlock() }
        var c = byEndpoint[s.endpoint] ?? Counts()
        c.requests[s.status, default: 0] += 1
        c.bytes += s.bytes
        c.events += s.events
        c.malformed += s.malformed
        c.dropped += s.dropped
        byEndpoint[s.endpoint] = c
    }

    /// Totals over every endpoint, for tests and the benchmark.
    public var totals: (requests: Int, events: Int, malformed: Int, dropped: Int) {
        lock.lock(); defer { lock.unlock() }
        var t = (requests: 0, events: 0, malformed: 0, dropped: 0)
        for c in byEndpoint.values {
            t.requests += c.requests.values.reduce(0, +)
            t.events += c.events
            t.malformed += c.malformed
            t.dropped += c.dropped
        }
        return t
    }

    /// Prometheus text exposition (version 0.0.4).
    public func render(queueDepth: Int, queueCapacity: Int) -> String {
        lock.lock()
        let snapshot = byEndpoint
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
        family("skein_collector_requests_total", "counter", "HTTP requests received, by endpoint and response code.", requests)
        func per(_ key: KeyPath<Counts, Int>) -> [(String, Int)] { endpoints.map { ("{endpoint=\"\($0)\"}", snapshot[$0]![keyPath: key]) } }
        family("skein_collector_received_bytes_total", "counter", "Request body bytes received (as sent, before gzip is undone).", per(\.bytes))
        family("skein_collector_events_total", "counter", "Events decoded and queued for the engine.", per(\.events))
        family("skein_collector_malformed_total", "counter", "Records or lines that could not be decoded.", per(\.malformed))
        family("skein_collector_dropped_total", "counter", "Decoded events refused because the queue to the engine was full (answered 429).", per(\.dropped))
        family("skein_collector_queue_depth", "gauge", "Events waiting for the engine.", [("", queueDepth)])
        family("skein_collector_queue_capacity", "gauge", "Events the queue holds before refusing requests.", [("", queueCapacity)])
        return out
    }
}
