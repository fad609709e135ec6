import SkeinCore

/// JSON an app logged inside a platform's record (a Lambda message, a Vercel message, a Worker's
/// `console.log` of an object), mapped onto the platform's event with the convention's field names.
///
/// The platform's own facts (time, request id, instance) stay; the app adds its correlation id,
/// trace context, route, status and level, which is what links the platform's request id to the
/// app's ids.
enum EmbeddedJSON {
    /// Maps the members of the object at `obj` onto `event`, except those `skip` names.
    static func merge(_ doc: JSONDocument, _ obj: Int, into event: inout Event, context: inout DecodeContext,
                      skip: (Int) -> Bool) {
        guard doc.kind(obj) == .object else { return }
        doc.forEachMember(obj) { k, v in
            if skip(k) { return }
            mapMember(doc, key: k, value: v, prefix: "", into: &event, context: &context, depth: 0)
        }
    }

    /// When `text` is a JSON object, maps it onto `event` and returns true.
    static func mergeIfJSON(_ text: String, into event: inout Event, context: inout DecodeContext) -> Bool {
        var text = text
        return text.withUTF8 { b in
            let s = ByteText.skipSpaces(b, 0)
            guard s < b.count, b[s] == UInt8(ascii: "{") else { return false }
            var tape = JSONTape(maxDepth: 32, maxNodes: 4096)
            do throws(JSONTape.Failure) { try tape.parse(b) } catch { return false }
            let doc = JSONDocument(tape: tape, bytes: b)
            merge(doc, doc.root, into: &event, context: &context, skip: { _ in false })
            if event.message == nil { event.message = String(decoding: b, as: UTF8.self) }
            return true
        }
    }

    private static func mapMember(_ doc: JSONDocument, key k: Int, value v: Int, prefix: String,
                                  into e: inout Event, context: inout DecodeContext, depth: Int) {
        if let h = RequestHeaderIDs.header(doc, key: k) {
            if let s = doc.nonEmptyString(v) { RequestHeaderIDs.apply(h, value: s, to: &e) }
            return
        }
        if prefix.isEmpty {
            if mapTopLevel(doc, key: k, value: v, into: &e, context: &context) { return }
        } else if prefix == "req." || prefix == "request." {
            // pino-http / express-pino-logger: `req: {id, method, url, headers}`.
            if doc.keyEquals(k, "method"), e.method == nil { e.method = doc.nonEmptyString(v).map { context.interner.intern($0) }; return }
            if (doc.keyEquals(k, "url") || doc.keyEquals(k, "path")) && e.route == nil, let s = doc.nonEmptyString(v) {
                e.route = context.interner.intern(pathOnly(s))
                return
            }
            if doc.keyEquals(k, "id"), e.correlationID == nil, let s = doc.nonEmptyString(v) { e.correlationID = s; return }
        } else if prefix == "res." || prefix == "response." {
            if doc.keyEquals(k, "statusCode") || doc.keyEquals(k, "status") {
                if e.status == nil { e.status = doc.int(v) }
                return
            }
        }
        let name = prefix + doc.string(k)
        switch doc.kind(v) {
        case .object:
            guard depth < 6 else { return }
            let p = name + "."
            doc.forEachMember(v) { k2, v2 in
                mapMember(doc, key: k2, value: v2, prefix: p, into: &e, context: &context, depth: depth + 1)
            }
        case .null:
            return
        default:
            if e.attributes.count < 64 { e.attributes.append(Attribute(name, doc.string(v))) }
        }
    }

    /// Skein's convention names and their common aliases at the top level of an app record.
    private static func mapTopLevel(_ doc: JSONDocument, key k: Int, value v: Int, into e: inout Event,
                                    context: inout DecodeContext) -> Bool {
        func str() -> String? { doc.nonEmptyString(v) }
        switch doc.raw(k).count {
        case 2:
            if doc.keyEquals(k, "ts") { return true }
        case 3:
            if doc.keyEquals(k, "msg") { if let s = str() { e.message = s }; return true }
            if doc.keyEquals(k, "lvl") { setLevel(doc, v, &e); return true }
        case 4:
            if doc.keyEquals(k, "time") { return true }
        case 5:
            if doc.keyEquals(k, "level") { setLevel(doc, v, &e); return true }
            if doc.keyEquals(k, "route") { if let s = str() { e.route = context.interner.intern(s) }; return true }
            if doc.keyEquals(k, "event") {
                if let s = str(), let kind = EventKind(name: s), e.kind == .log { e.kind = kind }
                return true
            }
            if doc.keyEquals(k, "reqId") { if let s = str(), e.correlationID == nil { e.correlationID = s }; return true }
        case 6:
            if doc.keyEquals(k, "method") { if let s = str() { e.method = context.interner.intern(s) }; return true }
            if doc.keyEquals(k, "status") { if let n = doc.int(v) { e.status = n }; return true }
        case 7:
            if doc.keyEquals(k, "message") { if let s = str(), e.message == nil || doc.kind(v) == .string { e.message = s }; return true }
            if doc.keyEquals(k, "traceId") { setTrace(str(), &e); return true }
            if doc.keyEquals(k, "span_id") || doc.keyEquals(k, "spanId") { if let s = str() { e.spanID = PlatformIDs.normalisedSpanID(s) ?? e.spanID }; return true }
            if doc.keyEquals(k, "cpu_ms") { e.cpuMS = doc.double(v); return true }
            if doc.keyEquals(k, "init_ms") { e.initMS = doc.double(v); return true }
            if doc.keyEquals(k, "wait_ms") { e.waitMS = doc.double(v); return true }
            if doc.keyEquals(k, "db_pool") { e.dbPool = str(); return true }
            if doc.keyEquals(k, "db_open") { e.dbOpen = doc.int(v); return true }
            if doc.keyEquals(k, "service") { if let s = str() { e.service = context.interner.intern(s) }; return true }
        case 8:
            if doc.keyEquals(k, "trace_id") { setTrace(str(), &e); return true }
            if doc.keyEquals(k, "severity") { setLevel(doc, v, &e); return true }
            if doc.keyEquals(k, "db_error") {
                if let s = str(), let kind = DBErrorKind(rawValue: s) { e.dbError = kind }
                return true
            }
        case 10:
            if doc.keyEquals(k, "request_id") || doc.keyEquals(k, "statusCode") {
                if doc.keyEquals(k, "statusCode") { e.status = doc.int(v) ?? e.status }
                else if let s = str(), e.correlationID == nil { e.correlationID = s }
                return true
            }
            if doc.keyEquals(k, "cold_start") { e.coldStart = doc.bool(v); return true }
        case 11:
            if doc.keyEquals(k, "duration_ms") { e.durationMS = doc.double(v); return true }
        case 12:
            if doc.keyEquals(k, "responseTime") { if e.durationMS == nil { e.durationMS = doc.double(v) }; return true }
        case 13:
            if doc.keyEquals(k, "correlationId") { if let s = str() { e.correlationID = s }; return true }
        case 14:
            if doc.keyEquals(k, "correlation_id") { if let s = str() { e.correlationID = s }; return true }
        default:
            break
        }
        return false
    }

    private static func setLevel(_ doc: JSONDocument, _ v: Int, _ e: inout Event) {
        if doc.kind(v) == .number, let n = doc.int(v) { e.level = Level(pinoLevel: n); return }
        if let s = doc.nonEmptyString(v), let l = Level(name: s) { e.level = l }
    }

    private static func setTrace(_ s: String?, _ e: inout Event) {
        guard let s else { return }
        if let t = PlatformIDs.normalisedTraceID(s) { e.traceID = t }
        else if let t = PlatformIDs.traceID(xrayRoot: s) { e.traceID = t }
        else if e.correlationID == nil { e.correlationID = s }
    }

    /// `/api/feed?page=2` → `/api/feed`: the route without its query.
    static func pathOnly(_ url: String) -> String {
        var s = Substring(url)
        if let scheme = s.firstRange(of: "://") {
            s = s[scheme.upperBound...]
            s = s.firstIndex(of: "/").map { s[$0...] } ?? "/"
        }
        if let q = s.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<q] }
        return String(s)
    }
}
