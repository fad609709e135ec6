import SkeinCore

/// A field of Skein's log convention, whatever name a logger gives it.
enum ConventionField: UInt8, Sendable {
    case time, level, message
    case service, serviceFallback, instance, instanceFallback
    case deploy, platform, runtime, region
    case traceID, spanID, parentSpanID, traceparent, xray
    case correlationID, xRequestID, reqID, requestID, platformRequestID, cfRay
    case event, route, routeFallback, routeLastResort, method, status
    case durationMS, cpuMS, initMS, coldStart
    case dbPool, dbOpen, dbMax, waitMS, dbError
    /// .NET's JSON console `Scopes` array: read by `ConventionBuilder.scopes`, kept whole as an attribute.
    case scopes

    /// Every accepted name, in one place: the convention's own names first, then the common loggers'
    /// (pino/bunyan, zap, slog, structlog, winston, Lambda Powertools, python-json-logger with
    /// OpenTelemetry's logging instrumentation, Serilog's compact JSON; .NET's JSON console formatter's
    /// `Timestamp`/`LogLevel`/`Message`/`Scopes` and Serilog's `JsonFormatter`'s `Level`/`RenderedMessage`),
    /// then OpenTelemetry / ECS dotted names (which nested objects flatten into). Names with a `-` are HTTP
    /// headers and match in any case; all others only exactly.
    static let aliases: [(String, ConventionField)] = [
        ("ts", .time), ("time", .time), ("timestamp", .time), ("@timestamp", .time), ("asctime", .time), ("@t", .time),
        ("Timestamp", .time),
        ("level", .level), ("severity", .level), ("lvl", .level), ("levelname", .level), ("log.level", .level),
        ("@l", .level), ("LogLevel", .level), ("Level", .level),
        ("msg", .message), ("message", .message), ("@m", .message), ("@mt", .message), ("Message", .message),
        ("RenderedMessage", .message),
        ("service", .service), ("svc", .service), ("app", .service), ("service_name", .service),
        ("serviceName", .service), ("service.name", .service), ("otelServiceName", .service),
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
        ("otelTraceID", .traceID), ("@tr", .traceID),
        ("span_id", .spanID), ("spanId", .spanID), ("spanID", .spanID), ("span.id", .spanID),
        ("otelSpanID", .spanID), ("@sp", .spanID),
        ("parent_span_id", .parentSpanID), ("parentSpanId", .parentSpanID), ("parentSpanID", .parentSpanID),
        ("traceparent", .traceparent),
        ("x-amzn-trace-id", .xray), ("xray_trace_id", .xray),
        ("correlation_id", .correlationID), ("correlationId", .correlationID), ("correlationID", .correlationID),
        ("x-correlation-id", .correlationID),
        ("x-request-id", .xRequestID),
        ("reqId", .reqID), ("req_id", .reqID), ("req.id", .reqID),
        ("request_id", .requestID), ("requestId", .requestID), ("requestID", .requestID),
        ("function_request_id", .platformRequestID), ("aws_request_id", .platformRequestID),
        ("awsRequestId", .platformRequestID), ("AWSRequestId", .platformRequestID), ("faas.invocation_id", .platformRequestID),
        ("cf-ray", .cfRay),
        ("event", .event),
        ("route", .route), ("http.route", .route),
        ("path", .routeFallback), ("url", .routeFallback), ("url.path", .routeFallback),
        ("http.target", .routeFallback), ("http.url", .routeFallback), ("req.url", .routeFallback),
        // ASP.NET Core's "Request starting"/"Request finished" state; on other lines `State.Path` is
        // whatever an app's message template named `{Path}` (a file, say), so it comes last.
        ("State.Path", .routeLastResort),
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
        ("Scopes", .scopes),
    ]

    /// The field `key` names, matched by length, first byte, then bytes: no `String` is made.
    @inline(__always)
    static func classify(_ key: UnsafeBufferPointer<UInt8>) -> ConventionField? {
        table.lookup(key)
    }

    /// A request header nested under `headers` (`req.headers.x-request-id`, `request.headers.traceparent`).
    static func classifyHeader(_ path: UnsafeBufferPointer<UInt8>) -> ConventionField? {
        var dot = path.count - 1
        while dot >= 0, path[dot] != UInt8(ascii: ".") { dot -= 1 }
        guard dot >= 7, path[dot - 1] == UInt8(ascii: "s") else { return nil }
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

/// Alias names hashed by (length, first letter) into buckets, so a lookup is one bucket probe and,
/// almost always, one byte comparison. Built once; never freed (it lives as long as the process).
struct AliasTable: @unchecked Sendable {
    private struct Entry {
        var start: Int32
        var next: Int16
        var field: ConventionField
        var caseless: Bool
    }

    private static let maxLength = 63
    private let buckets: UnsafeMutablePointer<Int16>
    private let entries: UnsafeMutablePointer<Entry>
    private let storage: UnsafeMutablePointer<UInt8>

    init(_ aliases: [(String, ConventionField)]) {
        let bucketCount = (AliasTable.maxLength + 1) << 5
        buckets = .allocate(capacity: bucketCount)
        buckets.initialize(repeating: -1, count: bucketCount)
        entries = .allocate(capacity: aliases.count)
        let bytes = aliases.flatMap { Array($0.0.utf8) }
        storage = .allocate(capacity: max(bytes.count, 1))
        storage.initialize(from: bytes, count: bytes.count)
        var offset = 0
        // Inserted in reverse so each bucket's chain keeps the table's order.
        var starts: [Int] = []
        for (name, _) in aliases { starts.append(offset); offset += name.utf8.count }
        for index in aliases.indices.reversed() {
            let (name, field) = aliases[index]
            let length = name.utf8.count
            precondition(length > 0 && length <= AliasTable.maxLength, "alias too long: \(name)")
            let bucket = AliasTable.bucket(length, name.utf8.first!)
            entries.advanced(by: index).initialize(to: Entry(start: Int32(starts[index]), next: buckets[bucket],
                                                             field: field, caseless: name.utf8.contains(UInt8(ascii: "-"))))
            buckets[bucket] = Int16(index)
        }
    }

    @inline(__always)
    private static func bucket(_ length: Int, _ first: UInt8) -> Int {
        let lower = first >= 0x41 && first <= 0x5a ? first | 0x20 : first
        return length << 5 | Int(lower & 31)
    }

    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> ConventionField? {
        let n = key.count
        guard n > 0, n <= AliasTable.maxLength, let k = key.baseAddress else { return nil }
        var i = Int(buckets[AliasTable.bucket(n, k[0])])
        while i >= 0 {
            let e = entries[i]
            let name = storage + Int(e.start)
            var same = true
            if e.caseless {
                for j in 0..<n {
                    var c = k[j]
                    if c >= 0x41 && c <= 0x5a { c |= 0x20 }
                    if c != name[j] { same = false; break }
                }
            } else {
                same = ByteText.same(k, name, n)
            }
            if same { return e.field }
            i = Int(e.next)
        }
        return nil
    }
}
