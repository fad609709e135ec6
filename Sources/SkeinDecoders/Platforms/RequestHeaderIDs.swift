import SkeinCore

/// The request headers that name a trace, wherever a log carries them (a header object, a
/// JSON field, an embedded message): `traceparent`, `X-Amzn-Trace-Id`, `x-request-id`, `cf-ray`.
///
/// Putting two of them on one event is what lets the engine's linker join an edge hop (cf-ray)
/// to the origin's correlation id (x-request-id) and to its W3C or X-Ray trace.
enum RequestHeaderIDs {
    enum Header { case traceparent, amznTraceID, requestID, cfRay }

    /// Which id header `key` names (case-insensitive; `_` and `-` alike), if any.
    static func header(_ doc: JSONDocument, key: Int) -> Header? {
        let r = doc.raw(key)
        switch r.count {
        case 11: return doc.keyEqualsIgnoringCase(key, "traceparent") ? .traceparent : nil
        case 6: return doc.keyEqualsIgnoringCase(key, "cf-ray") || doc.keyEqualsIgnoringCase(key, "cf_ray") ? .cfRay : nil
        case 12:
            return doc.keyEqualsIgnoringCase(key, "x-request-id") || doc.keyEqualsIgnoringCase(key, "x_request_id")
                ? .requestID : nil
        case 15:
            return doc.keyEqualsIgnoringCase(key, "x-amzn-trace-id") || doc.keyEqualsIgnoringCase(key, "x_amzn_trace_id")
                ? .amznTraceID : nil
        default: return nil
        }
    }

    /// Sets the event's ids from one header value; ids already set are kept.
    static func apply(_ header: Header, value: String, to event: inout Event) {
        switch header {
        case .traceparent:
            if let tp = TraceContext.parseTraceparent(value) {
                if event.traceID == nil { event.traceID = tp.traceID }
                if event.parentSpanID == nil { event.parentSpanID = tp.parentSpanID }
            }
        case .amznTraceID:
            let h = PlatformIDs.amznTraceHeader(value)
            if event.traceID == nil, let t = h.traceID { event.traceID = t }
        case .requestID:
            if event.correlationID == nil, !value.isEmpty { event.correlationID = value }
        case .cfRay:
            if event.requestID == nil, !value.isEmpty { event.requestID = rayID(value) }
        }
    }

    /// `8c1f2a3b4c5d6e7f-SJC` (the header, with the colo) → `8c1f2a3b4c5d6e7f` (Logpush's `RayID`),
    /// so that both spellings name one request.
    static func rayID(_ value: String) -> String {
        guard let dash = value.utf8.firstIndex(of: UInt8(ascii: "-")) else { return value }
        let head = value.utf8[..<dash]
        guard head.count >= 8, head.allSatisfy(PlatformIDs.isHexByte) else { return value }
        return String(value[..<dash])
    }

    /// `apply` on a value's bytes (a string without escapes): a `String` only for what the event keeps.
    static func apply(_ header: Header, bytes: UnsafeBufferPointer<UInt8>, to event: inout Event) {
        switch header {
        case .traceparent:
            guard event.traceID == nil || event.parentSpanID == nil else { return }
            if let tp = TraceContext.parseTraceparent(bytes) {
                if event.traceID == nil { event.traceID = tp.traceID }
                if event.parentSpanID == nil { event.parentSpanID = tp.parentSpanID }
            }
        case .amznTraceID:
            if event.traceID == nil, let t = TraceContext.parseXRay(bytes)?.traceID { event.traceID = t }
        case .requestID:
            if event.correlationID == nil, !bytes.isEmpty { event.correlationID = String(decoding: bytes, as: UTF8.self) }
        case .cfRay:
            if event.requestID == nil, !bytes.isEmpty { event.requestID = rayID(bytes) }
        }
    }

    /// `rayID` of a value's bytes.
    static func rayID(_ b: UnsafeBufferPointer<UInt8>) -> String {
        var dash = 0
        while dash < b.count, b[dash] != UInt8(ascii: "-") { dash += 1 }
        guard dash < b.count, dash >= 8 else { return String(decoding: b, as: UTF8.self) }
        for i in 0..<dash where !PlatformIDs.isHexByte(b[i]) { return String(decoding: b, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: b[..<dash]), as: UTF8.self)
    }

    /// Looks through a header object (`req.headers`, `event.request.headers`) for id headers.
    static func scan(_ doc: JSONDocument, headers: Int, into event: inout Event) {
        doc.forEachMember(headers) { k, v in
            guard let h = header(doc, key: k) else { return }
            let nd = doc.tape.node(v)
            if nd.kind == .string && !nd.flag {
                // The value's own bytes (`nonEmptyString` would copy them into a `String` first).
                if nd.start != nd.end { apply(h, bytes: doc.raw(v), to: &event) }
            } else if let s = doc.nonEmptyString(v) {
                apply(h, value: s, to: &event)
            }
        }
    }
}
