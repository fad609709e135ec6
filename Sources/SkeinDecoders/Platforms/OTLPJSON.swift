import SkeinCore

/// OTLP/JSON export requests, one per line, as the OpenTelemetry Collector's file exporter writes
/// them: `resourceLogs`, `resourceSpans` and `resourceMetrics`.
public struct OTLPJSONLineDecoder: JSONRecordDecoder {
    public let name = "otlp-json"
    var mapping = OTLPMapping()

    public init() {}

    public var signatureKeys: [StaticString]? { ["resourceLogs", "resourceSpans", "resourceMetrics"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        !PlatformKeys(doc, doc.root).isDisjoint(with: [.resourceLogs, .resourceSpans, .resourceMetrics])
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let before = events.count
        var records = 0
        doc.forEachMember(doc.root) { k, v in
            guard doc.kind(v) == .array else { return }
            if doc.keyEquals(k, "resourceLogs") {
                doc.forEachElement(v) { rl in
                    let (scope, extra) = resource(doc, rl, context: &context)
                    forEachScoped(doc, rl, "scopeLogs", "logRecords") { r in
                        records += 1
                        if let e = mapping.log(Self.logRecord(doc, r), scope: scope, resourceAttributes: extra, source: source,
                                               interner: &context.interner) {
                            events.append(e)
                        }
                    }
                }
            } else if doc.keyEquals(k, "resourceSpans") {
                var failedTraces: Set<String> = []
                doc.forEachElement(v) { rs in
                    let (scope, extra) = resource(doc, rs, context: &context)
                    forEachScoped(doc, rs, "scopeSpans", "spans") { sp in
                        records += 1
                        if let e = mapping.span(Self.span(doc, sp), scope: scope, resourceAttributes: extra, source: source,
                                                interner: &context.interner) {
                            OTLPMapping.appendSpan(e, failedTraces: &failedTraces, to: &events)
                        }
                    }
                }
            } else if doc.keyEquals(k, "resourceMetrics") {
                doc.forEachElement(v) { rm in
                    let (scope, _) = resource(doc, rm, context: &context)
                    var points: [OTLPNumberPoint] = []
                    forEachScoped(doc, rm, "scopeMetrics", "metrics") { m in
                        records += 1
                        Self.poolPoints(doc, m, into: &points)
                    }
                    if !points.isEmpty {
                        events.append(contentsOf: mapping.pools(points, scope: scope, source: source, interner: &context.interner))
                    }
                }
            }
        }
        let n = events.count - before
        if n > 0 { return .events(n) }
        return records > 0 ? .absorbed : .malformed(.missingFields)
    }

    private func resource(_ doc: JSONDocument, _ r: Int, context: inout DecodeContext) -> (PlatformScope, [Attribute]) {
        let attrs = doc.member(r, path: ["resource", "attributes"]).map { Self.attributes(doc, $0) } ?? []
        return mapping.scope(resource: attrs, interner: &context.interner)
    }

    /// Calls `body` for each item of `<scopeKey>[].<itemKey>[]`.
    private func forEachScoped(_ doc: JSONDocument, _ r: Int, _ scopeKey: StaticString, _ itemKey: StaticString,
                               _ body: (Int) -> Void) {
        guard let scopes = doc.member(r, scopeKey) else { return }
        doc.forEachElement(scopes) { sc in
            guard let items = doc.member(sc, itemKey) else { return }
            doc.forEachElement(items) { body($0) }
        }
    }

    // MARK: - OTLP/JSON → OTLP values

    static func attributes(_ doc: JSONDocument, _ list: Int) -> [OTLPKeyValue] {
        var out: [OTLPKeyValue] = []
        doc.forEachElement(list) { item in
            guard let k = doc.member(item, "key").flatMap({ doc.nonEmptyString($0) }) else { return }
            out.append(OTLPKeyValue(k, doc.member(item, "value").map { value(doc, $0) } ?? .empty))
        }
        return out
    }

    static func value(_ doc: JSONDocument, _ v: Int) -> OTLPValue {
        guard doc.kind(v) == .object else { return .empty }
        var out = OTLPValue.empty
        doc.forEachMember(v) { k, x in
            if doc.keyEquals(k, "stringValue") { out = .string(doc.string(x)) }
            else if doc.keyEquals(k, "boolValue") { out = .bool(doc.bool(x) ?? false) }
            else if doc.keyEquals(k, "intValue") {
                // int64 is a JSON string in OTLP/JSON; some writers use a number.
                out = doc.int(x).map { .int(Int64($0)) } ?? .string(doc.string(x))
            } else if doc.keyEquals(k, "doubleValue") { out = doc.double(x).map { .double($0) } ?? .empty }
            else if doc.keyEquals(k, "bytesValue") { out = .bytes(doc.string(x)) }
            else if doc.keyEquals(k, "arrayValue") {
                var items: [OTLPValue] = []
                if let vs = doc.member(x, "values") { doc.forEachElement(vs) { items.append(value(doc, $0)) } }
                out = .array(items)
            } else if doc.keyEquals(k, "kvlistValue") {
                out = .kvlist(doc.member(x, "values").map { attributes(doc, $0) } ?? [])
            }
        }
        return out
    }

    static func nanos(_ doc: JSONDocument, _ obj: Int, _ key: StaticString) -> Int64 {
        guard let n = doc.member(obj, key) else { return 0 }
        // Nanoseconds since 1970 have 19 digits: more than a Double (or `NumberParsing.int`) holds exactly.
        let r = doc.raw(n)
        var v: Int64 = 0
        var digits = 0
        for c in r {
            guard ByteText.isDigit(c) else { digits = 0; break }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - 0x30))
            if o1 || o2 { digits = 0; break }
            v = a
            digits += 1
        }
        if digits > 0 { return v }
        return doc.double(n).map { $0.isFinite && abs($0) < 9.2e18 ? Int64($0) : 0 } ?? 0
    }

    static func logRecord(_ doc: JSONDocument, _ r: Int) -> OTLPLogRecord {
        var out = OTLPLogRecord()
        out.timeUnixNano = nanos(doc, r, "timeUnixNano")
        out.observedTimeUnixNano = nanos(doc, r, "observedTimeUnixNano")
        out.severityNumber = doc.member(r, "severityNumber").flatMap { doc.int($0) } ?? 0
        out.severityText = doc.member(r, "severityText").flatMap { doc.nonEmptyString($0) }
        out.body = doc.member(r, "body").map { value(doc, $0) }
        out.attributes = doc.member(r, "attributes").map { attributes(doc, $0) } ?? []
        out.traceID = doc.member(r, "traceId").flatMap { doc.nonEmptyString($0) }
        out.spanID = doc.member(r, "spanId").flatMap { doc.nonEmptyString($0) }
        out.eventName = doc.member(r, "eventName").flatMap { doc.nonEmptyString($0) }
        return out
    }

    static func span(_ doc: JSONDocument, _ s: Int) -> OTLPSpan {
        var out = OTLPSpan()
        out.traceID = doc.member(s, "traceId").flatMap { doc.nonEmptyString($0) }
        out.spanID = doc.member(s, "spanId").flatMap { doc.nonEmptyString($0) }
        out.parentSpanID = doc.member(s, "parentSpanId").flatMap { doc.nonEmptyString($0) }
        out.name = doc.member(s, "name").map { doc.string($0) } ?? ""
        out.kind = doc.member(s, "kind").map { enumValue(doc, $0, names: ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]) } ?? 0
        out.startTimeUnixNano = nanos(doc, s, "startTimeUnixNano")
        out.endTimeUnixNano = nanos(doc, s, "endTimeUnixNano")
        out.attributes = doc.member(s, "attributes").map { attributes(doc, $0) } ?? []
        if let list = doc.member(s, "events") {
            doc.forEachElement(list) { ev in
                guard let n = doc.member(ev, "name"), doc.kind(n) == .string, doc.keyEquals(n, "exception"),
                      let attrs = doc.member(ev, "attributes") else { return }
                if let text = OTLPMapping.exceptionText(attributes(doc, attrs)) { out.exceptions.append(text) }
            }
        }
        if let st = doc.member(s, "status") {
            out.statusCode = doc.member(st, "code").map { enumValue(doc, $0, names: ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]) } ?? 0
            out.statusMessage = doc.member(st, "message").flatMap { doc.nonEmptyString($0) }
        }
        return out
    }

    /// Enums are integers in OTLP/JSON; some writers use their names.
    private static func enumValue(_ doc: JSONDocument, _ v: Int, names: [String]) -> Int {
        if let i = doc.int(v) { return i }
        let s = doc.string(v)
        if let i = names.firstIndex(of: s) { return i }
        // The short name, in any case: Vercel's trace drain writes `"kind": "server"`.
        guard !s.isEmpty else { return 0 }
        let suffix = "_" + s.uppercased()
        return names.firstIndex { $0.hasSuffix(suffix) } ?? 0
    }

    /// The data points of a pool metric (gauge or sum; a histogram's mean for wait times).
    static func poolPoints(_ doc: JSONDocument, _ m: Int, into out: inout [OTLPNumberPoint]) {
        guard let name = doc.member(m, "name").flatMap({ doc.nonEmptyString($0) }), OTLPMapping.poolMetric(name) != nil else { return }
        let unit = doc.member(m, "unit").map { doc.string($0) } ?? ""
        for kind: StaticString in ["gauge", "sum", "histogram"] {
            guard let body = doc.member(m, kind), let points = doc.member(body, "dataPoints") else { continue }
            // AGGREGATION_TEMPORALITY_DELTA = 1.
            let delta = doc.member(body, "aggregationTemporality").map {
                enumValue(doc, $0, names: ["AGGREGATION_TEMPORALITY_UNSPECIFIED", "AGGREGATION_TEMPORALITY_DELTA", "AGGREGATION_TEMPORALITY_CUMULATIVE"]) == 1
            } ?? false
            doc.forEachElement(points) { p in
                let attrs = doc.member(p, "attributes").map { attributes(doc, $0) } ?? []
                let t = nanos(doc, p, "timeUnixNano")
                var value: Double?
                if let v = doc.member(p, "asInt") { value = doc.double(v) }
                else if let v = doc.member(p, "asDouble") { value = doc.double(v) }
                else if let sum = doc.member(p, "sum").flatMap({ doc.double($0) }),
                        let count = doc.member(p, "count").flatMap({ doc.double($0) }), count > 0 {
                    value = sum / count
                }
                if let value {
                    out.append(OTLPNumberPoint(metric: name, unit: unit, timeUnixNano: t, value: value, attributes: attrs, isDelta: delta))
                }
            }
        }
    }
}
