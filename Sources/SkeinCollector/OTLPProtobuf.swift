import Foundation
import SkeinCore
import SkeinDecoders

/// OTLP/HTTP protobuf export requests (`ExportLogsServiceRequest`, `ExportTraceServiceRequest`,
/// `ExportMetricsServiceRequest`) onto events, through the same `OTLPMapping` as OTLP/JSON.
///
/// Field numbers are those of opentelemetry-proto's `{logs,trace,metrics,common,resource}/v1`.
/// One per connection: the mapping keeps pool-timeout counters between requests.
public struct OTLPProtobufDecoder {
    public enum Signal: String, Sendable { case logs, traces, metrics }

    /// What one request gave: events, and the records that mapped to none (no time, say).
    public struct Result: Sendable {
        public var events: [Event] = []
        public var records = 0
        public var rejected = 0
    }

    var mapping = OTLPMapping()
    public var interner = Interner()

    public init() {}

    public mutating func decode(_ signal: Signal, _ bytes: UnsafeRawBufferPointer, source: SourceID) throws(ProtobufReader.Failure) -> Result {
        var out = Result()
        var r = ProtobufReader(bytes)
        // Traces whose DB failure this request already reported (see `resourceSpans`).
        var failedTraces: Set<String> = []
        while let (field, wire) = try r.nextField() {
            // Every Export*ServiceRequest has its resource list as field 1.
            guard field == 1, wire == .lengthDelimited else { try r.skip(wire); continue }
            var resource = try r.message()
            switch signal {
            case .traces: try resourceSpans(&resource, source: source, failedTraces: &failedTraces, into: &out)
            case .logs: try resourceLogs(&resource, source: source, into: &out)
            case .metrics: try resourceMetrics(&resource, source: source, into: &out)
            }
        }
        return out
    }

    // MARK: - Resource* → Scope* → records

    /// Reads `Resource` (field 1) and calls `item` for each record of each scope (field 2 → field 2).
    private mutating func forEachScoped(_ r: inout ProtobufReader,
                                        _ item: (inout ProtobufReader, PlatformScope, [Attribute], inout Self) throws(ProtobufReader.Failure) -> Void)
        throws(ProtobufReader.Failure) {
        // The resource may come after its scopes on the wire: keep the scopes' bytes until the end.
        var attributes: [OTLPKeyValue] = []
        var scopes: [ProtobufReader] = []
        while let (field, wire) = try r.nextField() {
            switch (field, wire) {
            case (1, .lengthDelimited):
                var res = try r.message()
                while let (f, w) = try res.nextField() {
                    if f == 1, w == .lengthDelimited { var kv = try res.message(); attributes.append(try Self.keyValue(&kv, interner: &interner)) }
                    else { try res.skip(w) }
                }
            case (2, .lengthDelimited): scopes.append(try r.message())
            default: try r.skip(wire)
            }
        }
        let (scope, extra) = mapping.scope(resource: attributes, interner: &interner)
        for var sc in scopes {
            while let (f, w) = try sc.nextField() {
                if f == 2, w == .lengthDelimited { var m = try sc.message(); try item(&m, scope, extra, &self) }
                else { try sc.skip(w) }
            }
        }
    }

    /// Spans, each followed by the `db.error` its failure implies (`OTLPMapping.dbError(of:)`), once
    /// per trace and request as OTLP/JSON does: a DB client span's error is usually recorded again on
    /// the spans above it.
    private mutating func resourceSpans(_ r: inout ProtobufReader, source: SourceID, failedTraces: inout Set<String>,
                                        into out: inout Result) throws(ProtobufReader.Failure) {
        try forEachScoped(&r) { (m: inout ProtobufReader, scope, extra, me: inout Self) throws(ProtobufReader.Failure) in
            out.records += 1
            let span = try Self.span(&m, interner: &me.interner)
            if let e = me.mapping.span(span, scope: scope, resourceAttributes: extra, source: source, interner: &me.interner) {
                OTLPMapping.appendSpan(e, failedTraces: &failedTraces, to: &out.events)
            } else {
                out.rejected += 1
            }
        }
    }

    private mutating func resourceLogs(_ r: inout ProtobufReader, source: SourceID, into out: inout Result) throws(ProtobufReader.Failure) {
        try forEachScoped(&r) { (m: inout ProtobufReader, scope, extra, me: inout Self) throws(ProtobufReader.Failure) in
            out.records += 1
            let record = try Self.logRecord(&m, interner: &me.interner)
            if let e = me.mapping.log(record, scope: scope, resourceAttributes: extra, source: source, interner: &me.interner) {
                out.events.append(e)
            } else {
                out.rejected += 1
            }
        }
    }

    private mutating func resourceMetrics(_ r: inout ProtobufReader, source: SourceID, into out: inout Result) throws(ProtobufReader.Failure) {
        var points: [OTLPNumberPoint] = []
        var resourceScope: PlatformScope?
        try forEachScoped(&r) { (m: inout ProtobufReader, scope, _, me: inout Self) throws(ProtobufReader.Failure) in
            resourceScope = scope
            out.records += 1
            try Self.metric(&m, into: &points, interner: &me.interner)
        }
        if let scope = resourceScope, !points.isEmpty {
            out.events.append(contentsOf: mapping.pools(points, scope: scope, source: source, interner: &interner))
        }
    }

    // MARK: - Messages

    /// Keys go through the interner (a handful of names repeat on every record); values do not,
    /// since urls and ids would only crowd it.
    static func keyValue(_ r: inout ProtobufReader, interner: inout Interner) throws(ProtobufReader.Failure) -> OTLPKeyValue {
        var key = ""
        var value = OTLPValue.empty
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (1, .lengthDelimited): key = try r.string(interner: &interner)
            case (2, .lengthDelimited): var v = try r.message(); value = try anyValue(&v, interner: &interner)
            default: try r.skip(w)
            }
        }
        return OTLPKeyValue(key, value)
    }

    static func anyValue(_ r: inout ProtobufReader, interner: inout Interner) throws(ProtobufReader.Failure) -> OTLPValue {
        var out = OTLPValue.empty
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (1, .lengthDelimited): out = .string(try r.string())
            case (2, .varint): out = .bool(try r.varint() != 0)
            case (3, .varint): out = .int(Int64(bitPattern: try r.varint()))
            case (4, .fixed64): out = .double(try r.double())
            case (5, .lengthDelimited), (6, .lengthDelimited):
                // ArrayValue and KeyValueList both hold their items as field 1.
                var list = try r.message()
                var values: [OTLPValue] = []
                var pairs: [OTLPKeyValue] = []
                while let (lf, lw) = try list.nextField() {
                    guard lf == 1, lw == .lengthDelimited else { try list.skip(lw); continue }
                    var item = try list.message()
                    if f == 5 { values.append(try anyValue(&item, interner: &interner)) } else { pairs.append(try keyValue(&item, interner: &interner)) }
                }
                out = f == 5 ? .array(values) : .kvlist(pairs)
            case (7, .lengthDelimited): out = .bytes(Data(try r.lengthDelimited()).base64EncodedString())
            default: try r.skip(w)
            }
        }
        return out
    }

    static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    static func span(_ r: inout ProtobufReader, interner: inout Interner) throws(ProtobufReader.Failure) -> OTLPSpan {
        var s = OTLPSpan()
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (1, .lengthDelimited): s.traceID = nonEmpty(try r.hex())
            case (2, .lengthDelimited): s.spanID = nonEmpty(try r.hex())
            case (4, .lengthDelimited): s.parentSpanID = nonEmpty(try r.hex())
            // Span names are few (a route, an operation) and repeat on every request.
            case (5, .lengthDelimited): s.name = try r.string(interner: &interner)
            case (6, .varint): s.kind = Int(truncatingIfNeeded: try r.varint())
            case (7, .fixed64): s.startTimeUnixNano = Int64(bitPattern: try r.fixed64())
            case (8, .fixed64): s.endTimeUnixNano = Int64(bitPattern: try r.fixed64())
            case (9, .lengthDelimited): var kv = try r.message(); s.attributes.append(try keyValue(&kv, interner: &interner))
            case (11, .lengthDelimited):
                // Span.Event { time_unix_nano = 1, name = 2, attributes = 3 }: only `exception`
                // events are kept, as `exception.type: exception.message`.
                var ev = try r.message()
                if let text = try exception(&ev, interner: &interner) { s.exceptions.append(text) }
            case (15, .lengthDelimited):
                var st = try r.message()
                while let (sf, sw) = try st.nextField() {
                    switch (sf, sw) {
                    case (2, .lengthDelimited): s.statusMessage = nonEmpty(try st.string())
                    case (3, .varint): s.statusCode = Int(truncatingIfNeeded: try st.varint())
                    default: try st.skip(sw)
                    }
                }
            default: try r.skip(w)
            }
        }
        return s
    }

    /// An `exception` span event's `exception.type: exception.message`, or nil for any other event.
    static func exception(_ r: inout ProtobufReader, interner: inout Interner) throws(ProtobufReader.Failure) -> String? {
        var name = ""
        var attributes: [OTLPKeyValue] = []
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (2, .lengthDelimited): name = try r.string(interner: &interner)
            case (3, .lengthDelimited): var kv = try r.message(); attributes.append(try keyValue(&kv, interner: &interner))
            default: try r.skip(w)
            }
        }
        return name == "exception" ? OTLPMapping.exceptionText(attributes) : nil
    }

    static func logRecord(_ r: inout ProtobufReader, interner: inout Interner) throws(ProtobufReader.Failure) -> OTLPLogRecord {
        var l = OTLPLogRecord()
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (1, .fixed64): l.timeUnixNano = Int64(bitPattern: try r.fixed64())
            case (11, .fixed64): l.observedTimeUnixNano = Int64(bitPattern: try r.fixed64())
            case (2, .varint): l.severityNumber = Int(truncatingIfNeeded: try r.varint())
            case (3, .lengthDelimited): l.severityText = nonEmpty(try r.string(interner: &interner))
            case (5, .lengthDelimited): var v = try r.message(); l.body = try anyValue(&v, interner: &interner)
            case (6, .lengthDelimited): var kv = try r.message(); l.attributes.append(try keyValue(&kv, interner: &interner))
            case (9, .lengthDelimited): l.traceID = nonEmpty(try r.hex())
            case (10, .lengthDelimited): l.spanID = nonEmpty(try r.hex())
            case (12, .lengthDelimited): l.eventName = nonEmpty(try r.string())
            default: try r.skip(w)
            }
        }
        return l
    }

    /// A metric's number points (gauge 5, sum 7; histogram 9 as its mean), only for pool metrics.
    static func metric(_ r: inout ProtobufReader, into points: inout [OTLPNumberPoint], interner: inout Interner) throws(ProtobufReader.Failure) {
        var name = ""
        var unit = ""
        var bodies: [(kind: Int, reader: ProtobufReader)] = []
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (1, .lengthDelimited): name = try r.string()
            case (3, .lengthDelimited): unit = try r.string()
            case (5, .lengthDelimited), (7, .lengthDelimited), (9, .lengthDelimited): bodies.append((f, try r.message()))
            default: try r.skip(w)
            }
        }
        guard OTLPMapping.isPoolMetric(name) else { return }
        for (kind, var body) in bodies {
            var raw: [ProtobufReader] = []
            var delta = false
            while let (f, w) = try body.nextField() {
                switch (f, w) {
                case (1, .lengthDelimited): raw.append(try body.message())
                // AGGREGATION_TEMPORALITY_DELTA = 1 (sum and histogram only).
                case (2, .varint): delta = try body.varint() == 1 && kind != 5
                default: try body.skip(w)
                }
            }
            for var p in raw {
                if let point = try kind == 9 ? histogramPoint(&p, name: name, unit: unit, delta: delta, interner: &interner)
                                             : numberPoint(&p, name: name, unit: unit, delta: delta, interner: &interner) {
                    points.append(point)
                }
            }
        }
    }

    static func numberPoint(_ r: inout ProtobufReader, name: String, unit: String, delta: Bool,
                            interner: inout Interner) throws(ProtobufReader.Failure) -> OTLPNumberPoint? {
        var time: Int64 = 0
        var value: Double?
        var attrs: [OTLPKeyValue] = []
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (3, .fixed64): time = Int64(bitPattern: try r.fixed64())
            case (4, .fixed64): value = try r.double()
            case (6, .fixed64): value = Double(Int64(bitPattern: try r.fixed64()))
            case (7, .lengthDelimited): var kv = try r.message(); attrs.append(try keyValue(&kv, interner: &interner))
            default: try r.skip(w)
            }
        }
        return value.map { OTLPNumberPoint(metric: name, unit: unit, timeUnixNano: time, value: $0, attributes: attrs, isDelta: delta) }
    }

    static func histogramPoint(_ r: inout ProtobufReader, name: String, unit: String, delta: Bool,
                               interner: inout Interner) throws(ProtobufReader.Failure) -> OTLPNumberPoint? {
        var time: Int64 = 0
        var count: UInt64 = 0
        var sum: Double?
        var attrs: [OTLPKeyValue] = []
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (3, .fixed64): time = Int64(bitPattern: try r.fixed64())
            case (4, .fixed64): count = try r.fixed64()
            case (5, .fixed64): sum = try r.double()
            case (9, .lengthDelimited): var kv = try r.message(); attrs.append(try keyValue(&kv, interner: &interner))
            default: try r.skip(w)
            }
        }
        guard let sum, count > 0 else { return nil }
        return OTLPNumberPoint(metric: name, unit: unit, timeUnixNano: time, value: sum / Double(count), attributes: attrs, isDelta: delta)
    }
}
