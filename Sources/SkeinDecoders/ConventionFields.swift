import SkeinCore

/// A field of Skein's log convention, whatever name a logger gives it.
enum ConventionField: UInt8, Sendable {
    case time, level, message
    case service, serviceFallback, instance, instanceFallback
    case deploy, platform, runtime, region
    case traceID, spanID, parentSpanID, traceparent, xray
    case correlationID, xRequestID, reqID, requestID, platformRequestID, cfRay
    case event, route, routeFallback, method, status
    case durationMS, cpuMS, initMS, coldStart
    case dbPool, dbOpen, dbMax, waitMS, dbError

    /// Every accepted name, in one place: the convention's own names first, then the common loggers'
    /// (pino/bunyan, zap, slog, structlog, winston, Lambda Powertools), then OpenTelemetry / ECS
    /// dotted names (which nested objects flatten into). Names with a `-` are HTTP headers and match
    /// in any case.
    static let aliases: [(String, ConventionField)] = [
        ("ts", .time), ("time", .time), ("timestamp", .time), ("@timestamp", .time),
        ("level", .level), ("severity", .level), ("lvl", .level), ("levelname", .level), ("log.level", .level),
        ("msg", .message), ("message", .message),
        ("service", .service), ("svc", .service), ("app", .service), ("service_name", .service),
        ("serviceName", .service), ("service.name", .service),
        ("name", .serviceFallback), ("function_name", .serviceFallback), ("faas.name", .serviceFallback),
        ("instance", .instance), ("instance_id", .instance), ("instanceId", .instance),
        ("service.instance.id", .instance), ("faas.instance", .instance),
        ("hostname", .instanceFallback), ("host", .instanceFallback), ("pod", .instanceFallback),
        ("pod_name", .instanceFallback), ("host.name", .instanceFallback), ("k8s.pod.name", .instanceFallback),
        ("deploy", .deploy),
        ("platform", .platform), ("cloud.platform", .platform),
        ("runtime", .runtime),
        ("region", .region), ("cloud.region", .region),
        ("trace_id", .traceID), ("traceId", .traceID), ("traceID", .traceID), ("trace.id", .traceID),
        ("span_id", .spanID), ("spanId", .spanID), ("spanID", .spanID), ("span.id", .spanID),
        ("parent_span_id", .parentSpanID), ("parentSpanId", .parentSpanID), ("parentSpanID", .parentSpanID),
        ("traceparent", .traceparent),
        ("x-amzn-trace-id", .xray), ("xray_trace_id", .xray),
        ("correlation_id", .correlationID), ("correlationId", .correlationID), ("correlationID", .correlationID),
        ("x-correlation-id", .correlationID),
        ("x-request-id", .xRequestID),
        ("reqId", .reqID), ("req_id", .reqID),
        ("request_id", .requestID), ("requestId", .requestID), ("requestID", .requestID),
        ("function_request_id", .platformRequestID), ("aws_request_id", .platformRequestID),
        ("awsRequestId", .platformRequestID), ("faas.invocation_id", .platformRequestID),
        ("cf-ray", .cfRay),
        ("event", .event),
        ("route", .route), ("http.route", .route),
        ("path", .routeFallback), ("url", .routeFallback), ("url.path", .routeFallback),
        ("http.target", .routeFallback), ("http.url", .routeFallback), ("req.url", .routeFallback),
        ("method", .method), ("http.method", .method), ("http.request.method", .method), ("req.method", .method),
        ("status", .status), ("statusCode", .status), ("status_code", .status), ("http.status_code", .status),
        ("http.response.status_code", .status), ("res.statusCode", .status),
        ("duration_ms", .durationMS), ("durationMs", .durationMS), ("duration", .durationMS),
        ("elapsed_ms", .durationMS), ("latency_ms", .durationMS), ("responseTime", .durationMS),
        ("response_time_ms", .durationMS),
        ("cpu_ms", .cpuMS), ("cpuMs", .cpuMS), ("cpu_time_ms", .cpuMS),
        ("init_ms", .initMS), ("initMs", .initMS), ("init_duration_ms", .initMS),
        ("cold_start", .coldStart), ("coldStart", .coldStart), ("faas.coldstart", .coldStart),
        ("db_pool", .dbPool), ("db_open", .dbOpen), ("db_max", .dbMax), ("wait_ms", .waitMS), ("db_error", .dbError),
    ]

    /// The field `key` names, matched by length, first byte, then bytes: no `String` is made.
    @inline(__always)
    static func classify(_ key: UnsafeBufferPointer<UInt8>) -> ConventionField? {
        table.lookup(key)
    }

    /// A request header nested under `headers` (`req.headers.x-request-id`, `request.headers.traceparent`).
    static func classifyHeader(_ path: UnsafeBufferPointer<UInt8>) -> ConventionField? {
        guard let dot = path.lastIndex(of: UInt8(ascii: ".")), dot >= 7 else { return nil }
        guard ByteText.equal(UnsafeBufferPointer(rebasing: path[(dot - 7)..<dot]), "headers") else { return nil }
        let name = UnsafeBufferPointer(rebasing: path[(dot + 1)...])
        switch table.lookup(name) {
        case .traceparent?: return .traceparent
        case .xRequestID?: return .xRequestID
        case .xray?: return .xray
        case .cfRay?: return .cfRay
        case .correlationID? where name.first == UInt8(ascii: "x") || name.first == UInt8(ascii: "X"): return .correlationID
        default: return nil
        }
    }

    static let table = AliasTable(aliases)
}

/// Alias names packed in one buffer, grouped by length, so a lookup touches a handful of bytes.
struct AliasTable: Sendable {
    private struct Entry: Sendable {
        var start: Int
        var field: ConventionField
        var first: UInt8
        var caseless: Bool
    }

    private let storage: [UInt8]
    private let entries: [Entry]
    /// `ranges[n]`: the entries whose name is `n` bytes long.
    private let ranges: [Range<Int>]

    init(_ aliases: [(String, ConventionField)]) {
        let sorted = aliases.sorted { $0.0.utf8.count < $1.0.utf8.count }
        var storage: [UInt8] = []
        var entries: [Entry] = []
        let longest = sorted.last?.0.utf8.count ?? 0
        var ranges = Array(repeating: 0..<0, count: longest + 1)
        var i = 0
        for length in 0...longest {
            let lower = entries.count
            while i < sorted.count, sorted[i].0.utf8.count == length {
                let bytes = Array(sorted[i].0.utf8)
                entries.append(Entry(start: storage.count, field: sorted[i].1, first: bytes[0],
                                     caseless: bytes.contains(UInt8(ascii: "-"))))
                storage.append(contentsOf: bytes)
                i += 1
            }
            ranges[length] = lower..<entries.count
        }
        self.storage = storage
        self.entries = entries
        self.ranges = ranges
    }

    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> ConventionField? {
        let n = key.count
        guard n > 0, n < ranges.count else { return nil }
        let first = key[0]
        let lowerFirst = first >= 0x41 && first <= 0x5a ? first | 0x20 : first
        return storage.withUnsafeBufferPointer { s -> ConventionField? in
            for e in entries[ranges[n]] {
                if e.caseless {
                    guard e.first == lowerFirst else { continue }
                    var same = true
                    for j in 1..<n {
                        var c = key[j]
                        if c >= 0x41 && c <= 0x5a { c |= 0x20 }
                        if c != s[e.start + j] { same = false; break }
                    }
                    if same { return e.field }
                } else {
                    guard e.first == first else { continue }
                    var same = true
                    for j in 1..<n where key[j] != s[e.start + j] { same = false; break }
                    if same { return e.field }
                }
            }
            return nil
        }
    }
}
