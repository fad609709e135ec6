import SkeinCore

/// An OTLP `AnyValue`, independent of its wire encoding (JSON here; protobuf in the collector).
public indirect enum OTLPValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case bytes(String)
    case array([OTLPValue])
    case kvlist([OTLPKeyValue])
    case empty

    /// The value as an attribute's text: scalars as written, arrays and maps as compact JSON-ish text.
    public var text: String {
        switch self {
        case .string(let s), .bytes(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .array(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .kvlist(let kv): return "{" + kv.map { "\($0.key):\($0.value.text)" }.joined(separator: ",") + "}"
        case .empty: return ""
        }
    }

    public var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    public var int: Int? {
        switch self {
        case .int(let i): return Int(truncatingIfNeeded: i)
        case .double(let d): return d.isFinite && abs(d) < 9e15 ? Int(d) : nil
        case .string(let s): return Int(s)
        default: return nil
        }
    }

    public var bool: Bool? {
        switch self {
        case .bool(let b): return b
        case .string(let s): return s == "true" ? true : s == "false" ? false : nil
        case .int(let i): return i != 0
        default: return nil
        }
    }
}

public struct OTLPKeyValue: Sendable, Equatable {
    public var key: String
    public var value: OTLPValue
    public init(_ key: String, _ value: OTLPValue) { self.key = key; self.value = value }
}

/// One `LogRecord`.
public struct OTLPLogRecord: Sendable {
    public var timeUnixNano: Int64 = 0
    public var observedTimeUnixNano: Int64 = 0
    public var severityNumber: Int = 0
    public var severityText: String?
    public var body: OTLPValue?
    public var attributes: [OTLPKeyValue] = []
    /// Hex, as OTLP/JSON writes them (the protobuf decoder hex-encodes its bytes).
    public var traceID: String?
    public var spanID: String?
    public var eventName: String?
    public init() {}
}

/// One `Span`.
public struct OTLPSpan: Sendable {
    public var traceID: String?
    public var spanID: String?
    public var parentSpanID: String?
    public var name: String = ""
    /// `SpanKind`: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    public var kind: Int = 0
    public var startTimeUnixNano: Int64 = 0
    public var endTimeUnixNano: Int64 = 0
    public var attributes: [OTLPKeyValue] = []
    /// `Status.code`: 0 unset, 1 ok, 2 error.
    public var statusCode: Int = 0
    public var statusMessage: String?
    /// The span's `exception` events (OpenTelemetry's semantic conventions for recording an
    /// exception), each as `exception.type: exception.message`.
    public var exceptions: [String] = []
    public init() {}
}

/// One number data point of a gauge or sum (or a histogram's mean, for wait times).
public struct OTLPNumberPoint: Sendable {
    public var metric: String
    public var unit: String
    public var timeUnixNano: Int64
    public var value: Double
    public var attributes: [OTLPKeyValue]
    /// A sum with delta temporality: the value is the change since the last point, not a running total.
    public var isDelta: Bool
    public init(metric: String, unit: String, timeUnixNano: Int64, value: Double, attributes: [OTLPKeyValue],
                isDelta: Bool = false) {
        self.metric = metric; self.unit = unit; self.timeUnixNano = timeUnixNano; self.value = value
        self.attributes = attributes; self.isDelta = isDelta
    }
}

/// OTLP's data model onto Skein's events: resources become where an event ran, log records `log`
/// events, spans `span` events, and the database client pool metrics readings of a pool.
///
/// Shared by the `otlp-json` file decoder and the network collector (OTLP/HTTP JSON and protobuf),
/// which decode their wire format into these values and hand them here.
public struct OTLPMapping {
    /// Last cumulative pool-timeout count per pool, to turn the counter into `db.error` events.
    private var timeoutCounts: [String: Double] = [:]
    private static let maxPools = 4096

    public init() {}

    /// Where a resource's telemetry ran.
    public func scope(resource: [OTLPKeyValue], interner: inout Interner) -> (PlatformScope, [Attribute]) {
        var s = PlatformScope()
        var extra: [Attribute] = []
        var runtimeName: String?
        var runtimeVersion: String?
        var language: String?
        var faasName: String?
        var provider: String?
        var vercel = false
        for kv in resource {
            switch kv.key {
            case "service.name":
                let v = kv.value.text
                if !v.hasPrefix("unknown_service") { s.service = interner.intern(v) }
            case "faas.instance": s.instance = interner.intern(kv.value.text)
            case "service.instance.id", "k8s.pod.name":
                if s.instance == nil { s.instance = interner.intern(kv.value.text) }
            case "faas.name": faasName = kv.value.text
            case "cloud.region": s.region = interner.intern(kv.value.text)
            case "cloud.provider": provider = kv.value.text
            case "cloud.platform":
                let (platform, deploy) = Self.platform(kv.value.text)
                s.platform = interner.intern(platform)
                s.deploy = deploy
            case "process.runtime.name": runtimeName = kv.value.text
            case "process.runtime.version": runtimeVersion = kv.value.text
            case "telemetry.sdk.language": language = kv.value.text
            case "faas.coldstart":
                // Normally a span attribute; a resource that says it marks every record of that instance
                // (the engine counts one cold start per instance lifecycle).
                if kv.value.bool == true { extra.append(Attribute(kv.key, "true")) }
            case "vercel.projectId", "vercel.deploymentId":
                // Vercel's trace drain adds these to every resource (its functions' spans: Edge runtime
                // spans are not forwarded).
                vercel = true
                extra.append(Attribute(kv.key, kv.value.text))
            case "deployment.environment", "deployment.environment.name", "service.version", "host.name",
                 "cloud.account.id", "faas.version", "faas.max_memory", "k8s.namespace.name", "container.id":
                extra.append(Attribute(kv.key, kv.value.text))
            default:
                break
            }
        }
        if s.service == nil, let faasName { s.service = interner.intern(faasName) }
        if s.platform == nil, let provider {
            if provider == "cloudflare" { s.platform = "cloudflare-workers"; s.deploy = .edge }
        }
        if s.platform == nil, vercel { s.platform = "vercel"; s.deploy = .serverless }
        if let r = Self.runtime(name: runtimeName ?? language, version: runtimeVersion) { s.runtime = interner.intern(r) }
        if s.deploy == nil, s.instance != nil, extra.contains(where: { $0.key == "k8s.namespace.name" }) {
            s.platform = s.platform ?? "k8s"
            s.deploy = .server
        }
        return (s, extra)
    }

    /// `cloud.platform` values → Skein's platform and deploy model.
    static func platform(_ v: String) -> (String, DeployModel?) {
        switch v {
        case "aws_lambda": return ("aws-lambda", .serverless)
        case "gcp_cloud_functions": return ("cloud-functions", .serverless)
        case "gcp_cloud_run": return ("cloud-run", .serverless)
        case "azure_functions": return ("azure-functions", .serverless)
        case "gcp_app_engine", "azure_app_service", "aws_elastic_beanstalk", "heroku": return (v.replacingUnderscores, .server)
        case "aws_ecs": return ("ecs", .server)
        case "aws_eks", "gcp_kubernetes_engine", "azure_aks", "alibaba_cloud_ack", "tencent_cloud_tke", "ibm_cloud_openshift":
            return ("k8s", .server)
        case "aws_ec2", "gcp_compute_engine", "azure_vm", "alibaba_cloud_ecs": return ("vm", .server)
        case "cloudflare.workers", "cloudflare_workers": return ("cloudflare-workers", .edge)
        default: return (v.replacingUnderscores, DeployModel.inferred(platform: v))
        }
    }

    /// `nodejs` 20.11.1 → `nodejs20`; `CPython` 3.12.1 → `python3.12`; `go` → `go`; Java → `java21`.
    static func runtime(name: String?, version: String?) -> String? {
        guard let name else { return nil }
        let n = name.lowercased()
        let parts = version?.split(separator: ".") ?? []
        if n.contains("python") {
            return parts.count >= 2 ? "python\(parts[0]).\(parts[1])" : "python"
        }
        if n == "nodejs" || n == "node" || n == "node.js" || n == "javascript" || n == "js" {
            let major = parts.first.map { $0.hasPrefix("v") ? String($0.dropFirst()) : String($0) }
            return "nodejs" + (major ?? "")
        }
        if n == "go" || n == "golang" { return "go" }
        if n.contains("java") || n.contains("openjdk") || n.contains("jdk") {
            return "java" + (parts.first.map(String.init) ?? "")
        }
        if n.contains("bun") { return "bun" }
        if n.contains("deno") { return "deno" }
        if n == "webjs" || n.contains("workerd") { return "workerd" }
        return n
    }

    /// Semantic-convention attributes Skein has fields for; anything else is kept as an attribute.
    static func apply(_ kv: OTLPKeyValue, to e: inout Event, interner: inout Interner) {
        let v = kv.value
        switch kv.key {
        case "http.route": e.route = interner.intern(v.text)
        case "url.path", "http.target":
            if e.route == nil { e.route = interner.intern(EmbeddedJSON.pathOnly(v.text)) }
        case "http.request.method", "http.method": e.method = interner.intern(v.text)
        case "http.response.status_code", "http.status_code": e.status = v.int
        case "faas.invocation_id": e.requestID = v.text
        case "faas.coldstart": e.coldStart = v.bool
        case "faas.instance": e.instance = interner.intern(v.text)
        case "faas.name": if e.service == nil { e.service = interner.intern(v.text) }
        case "cloud.region": e.region = interner.intern(v.text)
        case "service.name": e.service = interner.intern(v.text)
        case "x-request-id", "correlation_id", "correlation.id", "request.id", "http.request.header.x-request-id":
            e.correlationID = v.text.isEmpty ? e.correlationID : v.text
        case "http.request.header.traceparent":
            RequestHeaderIDs.apply(.traceparent, value: firstOfArray(v), to: &e)
        case "http.request.header.x-amzn-trace-id", "aws.xray.trace_id":
            RequestHeaderIDs.apply(.amznTraceID, value: firstOfArray(v), to: &e)
        case "http.request.header.cf-ray", "cf.ray_id", "cloudflare.ray_id":
            RequestHeaderIDs.apply(.cfRay, value: firstOfArray(v), to: &e)
        case "aws.lambda.invoked_arn", "aws.request_id":
            e.attributes.append(Attribute(kv.key, v.text))
        case "event", "event.name":
            if let kind = EventKind(name: v.text), e.kind == .log { e.kind = kind } else { e.attributes.append(Attribute(kv.key, v.text)) }
        case "duration_ms": e.durationMS = v.double
        case "cpu_ms": e.cpuMS = v.double
        case "init_ms": e.initMS = v.double
        case "wait_ms": e.waitMS = v.double
        case "db_pool": e.dbPool = interner.intern(v.text)
        case "db_open": e.dbOpen = v.int
        case "db_max": e.dbMax = v.int
        case "cold_start": e.coldStart = v.bool
        case "route": e.route = interner.intern(v.text)
        case "status": e.status = v.int
        case "trace_id": if let t = PlatformIDs.normalisedTraceID(v.text) { e.traceID = t } else { e.correlationID = v.text }
        case "db_error":
            if let k = DBErrorKind(rawValue: v.text) { e.dbError = k }
        default:
            flatten(kv.key, v, into: &e.attributes)
        }
    }

    /// Header attributes are string arrays (`http.request.header.x-request-id: ["abc"]`).
    private static func firstOfArray(_ v: OTLPValue) -> String {
        if case .array(let a) = v, let f = a.first { return f.text }
        return v.text
    }

    private static func flatten(_ key: String, _ v: OTLPValue, into out: inout [Attribute]) {
        guard out.count < 64 else { return }
        if case .kvlist(let kvs) = v {
            for kv in kvs { flatten(key + "." + kv.key, kv.value, into: &out) }
        } else if case .array(let a) = v, a.count == 1 {
            out.append(Attribute(key, a[0].text))
        } else {
            out.append(Attribute(key, v.text))
        }
    }

    /// OTLP severity numbers: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal.
    static func level(number: Int, text: String?) -> Level {
        switch number {
        case 1...4: return .trace
        case 5...8: return .debug
        case 9...12: return .info
        case 13...16: return .warn
        case 17...20: return .error
        case 21...24: return .fatal
        default: return text.flatMap { Level(name: $0) } ?? .info
        }
    }

    public func log(_ r: OTLPLogRecord, scope s: PlatformScope, resourceAttributes: [Attribute], source: SourceID,
                    interner: inout Interner) -> Event? {
        let nanos = r.timeUnixNano != 0 ? r.timeUnixNano : r.observedTimeUnixNano
        guard nanos > 0 else { return nil }
        var e = s.event(Timestamp(nanos: nanos), level: Self.level(number: r.severityNumber, text: r.severityText), source: source)
        e.traceID = r.traceID.flatMap(PlatformIDs.normalisedTraceID)
        e.spanID = r.spanID.flatMap(PlatformIDs.normalisedSpanID)
        for kv in r.attributes { Self.apply(kv, to: &e, interner: &interner) }
        switch r.body {
        case .kvlist(let kvs)?:
            // A structured body: the app's record, with the convention's names where it uses them.
            for kv in kvs {
                if kv.key == "msg" || kv.key == "message" { e.message = kv.value.text } else { Self.apply(kv, to: &e, interner: &interner) }
            }
        case let body?:
            e.message = body.text
        case nil:
            e.message = r.eventName
        }
        if let name = r.eventName, e.kind == .log, let kind = EventKind(name: name) { e.kind = kind }
        Self.applyResourceColdStart(resourceAttributes, to: &e)
        e.attributes.append(contentsOf: resourceAttributes)
        DBErrorClassifier.apply(to: &e)
        return e
    }

    public func span(_ sp: OTLPSpan, scope s: PlatformScope, resourceAttributes: [Attribute], source: SourceID,
                     interner: inout Interner) -> Event? {
        guard sp.startTimeUnixNano > 0 else { return nil }
        var e = s.event(Timestamp(nanos: sp.startTimeUnixNano), .span, source: source)
        e.traceID = sp.traceID.flatMap(PlatformIDs.normalisedTraceID)
        e.spanID = sp.spanID.flatMap(PlatformIDs.normalisedSpanID)
        e.parentSpanID = sp.parentSpanID.flatMap(PlatformIDs.normalisedSpanID)
        if sp.endTimeUnixNano >= sp.startTimeUnixNano {
            e.durationMS = Double(sp.endTimeUnixNano - sp.startTimeUnixNano) / 1_000_000
        }
        e.message = sp.name
        for kv in sp.attributes { Self.apply(kv, to: &e, interner: &interner) }
        if e.route == nil, sp.kind == 2 { e.route = interner.intern(sp.name) }
        let kinds = ["unspecified", "internal", "server", "client", "producer", "consumer"]
        if sp.kind > 0 && sp.kind < kinds.count { e.attributes.append(Attribute("span.kind", kinds[sp.kind])) }
        if sp.statusCode == 2 {
            e.level = .error
            e.attributes.append(Attribute("status.code", "error"))
            if let m = sp.statusMessage, !m.isEmpty {
                e.attributes.append(Attribute("status.message", m))
                if let k = DBErrorClassifier.classify(m) { e.dbError = k }
            }
        } else if let st = e.status, st >= 500, sp.kind == 2 {
            e.level = .error
        }
        for x in sp.exceptions {
            if e.attribute("exception") == nil { e.attributes.append(Attribute("exception", x)) }
            if e.dbError == nil, let k = DBErrorClassifier.classify(x) { e.dbError = k }
        }
        // A database span's SQLSTATE (`db.response.status_code`; older conventions put it in `error.type`):
        // 53300 is Postgres' too_many_connections.
        if e.dbError == nil, sp.attributes.contains(where: {
            ($0.key == "db.response.status_code" || $0.key == "error.type") && $0.value.text == "53300"
        }) {
            e.dbError = .tooManyClients
        }
        if e.dbError != nil { e.level = max(e.level, .error) }
        Self.applyResourceColdStart(resourceAttributes, to: &e)
        e.attributes.append(contentsOf: resourceAttributes)
        return e
    }

    /// Appends a mapped span and, after it, the `db.error` its failure implies (`dbError(of:)`), once per
    /// trace among the spans of one request (`failedTraces`): a DB client span's error is usually
    /// recorded again on the spans above it (the handler's, the server's). Both OTLP decoders use it.
    public static func appendSpan(_ span: Event, failedTraces: inout Set<String>, to events: inout [Event]) {
        var failure = dbError(of: span)
        if failure != nil, let t = span.traceID, !failedTraces.insert(t).inserted { failure = nil }
        events.append(span)
        if let failure { events.append(failure) }
    }

    /// An `exception` span event's text from its attributes: `exception.type: exception.message`
    /// (either alone when the other is missing or empty), or nil when both are.
    public static func exceptionText(_ attributes: [OTLPKeyValue]) -> String? {
        var type: String?, message: String?
        for kv in attributes {
            if kv.key == "exception.type" { type = kv.value.text }
            if kv.key == "exception.message" { message = kv.value.text }
        }
        let text = [type, message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        return text.isEmpty ? nil : text
    }

    /// The `db.error` a span's failure implies (its status message, an exception event or its SQLSTATE
    /// named a DB error): the span itself stays a span, and the engine counts DB errors from
    /// `db.error` events only. At the span's end, with its ids.
    public static func dbError(of span: Event) -> Event? {
        guard span.kind == .span, span.dbError != nil else { return nil }
        var e = span
        e.kind = .dbError
        if let d = span.durationMS { e.time = span.time.adding(ms: d) }
        e.durationMS = nil
        if let m = span.attribute("exception") ?? span.attribute("status.message") { e.message = m }
        return e
    }

    private static func applyResourceColdStart(_ resourceAttributes: [Attribute], to e: inout Event) {
        if e.coldStart == nil, resourceAttributes.contains(where: { $0.key == "faas.coldstart" }) { e.coldStart = true }
    }

    /// DB client pool metric names, current and pre-1.26 semantic conventions.
    enum PoolMetric { case count, max, pending, timeouts, wait }

    /// Whether `pools` reads this metric; wire decoders skip every other metric's points.
    public static func isPoolMetric(_ name: String) -> Bool { poolMetric(name) != nil }

    static func poolMetric(_ name: String) -> PoolMetric? {
        switch name {
        case "db.client.connection.count", "db.client.connections.usage": return .count
        case "db.client.connection.max", "db.client.connections.max": return .max
        case "db.client.connection.pending_requests", "db.client.connections.pending_requests": return .pending
        case "db.client.connection.timeouts", "db.client.connections.timeouts": return .timeouts
        case "db.client.connection.wait_time", "db.client.connections.wait_time": return .wait
        default: return nil
        }
    }

    /// One reading per pool and time: connections held (`dbOpen` = used + idle), the pool's own
    /// maximum (`db.pool.max`), wait and queue; a rise in the cumulative timeout count becomes a `db.error` (`pool_timeout`).
    public mutating func pools(_ points: [OTLPNumberPoint], scope s: PlatformScope, source: SourceID,
                               interner: inout Interner) -> [Event] {
        struct Reading {
            var time: Int64
            var used: Double?
            var idle: Double?
            var max: Double?
            var pending: Double?
            var timeouts: Double?
            var timeoutsDelta = false
            var waitMS: Double?
        }
        var order: [String] = []
        var readings: [String: Reading] = [:]
        for p in points {
            guard let metric = Self.poolMetric(p.metric) else { continue }
            var pool = ""
            var state = ""
            for kv in p.attributes {
                switch kv.key {
                case "db.client.connection.pool.name", "db.client.connections.pool.name", "pool.name", "pool":
                    pool = kv.value.text
                case "db.client.connection.state", "db.client.connections.state", "state":
                    state = kv.value.text
                default: break
                }
            }
            let key = pool + "\u{1}" + String(p.timeUnixNano)
            if readings[key] == nil { order.append(key); readings[key] = Reading(time: p.timeUnixNano) }
            switch metric {
            case .count:
                if state == "idle" { readings[key]!.idle = (readings[key]!.idle ?? 0) + p.value }
                else { readings[key]!.used = (readings[key]!.used ?? 0) + p.value }
            case .max: readings[key]!.max = p.value
            case .pending: readings[key]!.pending = p.value
            case .timeouts:
                readings[key]!.timeouts = (readings[key]!.timeouts ?? 0) + p.value
                readings[key]!.timeoutsDelta = p.isDelta
            case .wait: readings[key]!.waitMS = p.unit == "s" ? p.value * 1000 : p.value
            }
        }
        var out: [Event] = []
        for key in order {
            guard let r = readings[key], r.time > 0 else { continue }
            let pool = String(key.prefix(while: { $0 != "\u{1}" }))
            var e = s.event(Timestamp(nanos: r.time), .log, level: .debug, source: source)
            e.dbPool = pool.isEmpty ? nil : interner.intern(pool)
            if r.used != nil || r.idle != nil { e.dbOpen = Int((r.used ?? 0) + (r.idle ?? 0)) }
            // The pool's own ceiling (a client-side setting such as node-postgres' `max`), not
            // Postgres' `max_connections`: `dbMax` would have made a pool of 10 the server's limit,
            // and ten instances of it "1000 % of max_connections".
            if let m = r.max { e.attributes.append(Attribute("db.pool.max", String(Int(m)))) }
            e.waitMS = r.waitMS
            var parts: [String] = ["db pool" + (pool.isEmpty ? "" : " \(pool)")]
            if let u = r.used { parts.append("used \(Int(u))"); e.attributes.append(Attribute("db.used", String(Int(u)))) }
            if let i = r.idle { parts.append("idle \(Int(i))"); e.attributes.append(Attribute("db.idle", String(Int(i)))) }
            if let m = r.max { parts.append("max \(Int(m))") }
            if let p = r.pending { parts.append("pending \(Int(p))"); e.attributes.append(Attribute("db.pending_requests", String(Int(p)))) }
            e.message = parts.joined(separator: " ")
            out.append(e)
            if let t = r.timeouts, r.timeoutsDelta {
                if t > 0 { out.append(timeoutError(count: t, pool: pool, dbPool: e.dbPool, time: r.time, scope: s, source: source)) }
            } else if let t = r.timeouts {
                let counter = [s.service ?? "", s.instance ?? "", pool].joined(separator: "\u{1}")
                let previous = timeoutCounts[counter]
                if timeoutCounts.count >= Self.maxPools, previous == nil { timeoutCounts.removeAll(keepingCapacity: true) }
                timeoutCounts[counter] = t
                // The first reading only sets the baseline; a counter reset (restart) is not a timeout.
                if let previous, t > previous {
                    out.append(timeoutError(count: t - previous, pool: pool, dbPool: e.dbPool, time: r.time, scope: s, source: source))
                }
            }
        }
        return out
    }

    private func timeoutError(count: Double, pool: String, dbPool: String?, time: Int64, scope s: PlatformScope,
                              source: SourceID) -> Event {
        var err = s.event(Timestamp(nanos: time), .dbError, level: .error, source: source)
        err.dbPool = dbPool
        err.dbError = .poolTimeout
        err.message = "db pool" + (pool.isEmpty ? "" : " \(pool)") + ": \(Int(count)) connection timeouts"
        err.attributes.append(Attribute("db.timeouts", String(Int(count))))
        return err
    }
}

extension String {
    fileprivate var replacingUnderscores: String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
