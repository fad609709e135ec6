import SkeinCore

/// Decodes Skein's own log convention (and, through its aliases, pino, bunyan, zap, slog and structlog JSON).
///
/// Takes any JSON object, so the auto-detector offers it last. The field mapping itself lives in
/// `ConventionMapper`, which platform decoders reuse for the app JSON inside their envelopes.
public struct ConventionDecoder: JSONRecordDecoder {
    public let name = "skein"
    /// Copying a blank event is far cheaper than calling `Event.init` with its thirty defaults per line.
    private let blank = BlankEvent()

    public init() {}

    public func matches(_ doc: JSONDocument) -> Bool { doc.kind(doc.root) == .object }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        guard doc.kind(doc.root) == .object else { return .malformed(.unrecognised) }
        // Built in its slot: an event is large, and moving it into the array afterwards is a copy.
        blank.append(to: &events)
        let at = events.count - 1
        events[at].source = source
        let timed = ConventionMapper.apply(doc, object: doc.root, to: &events[at], context: &context, record: true)
        return ConventionDecoder.finish(&events, at: at, timed: timed, context: &context)
    }

    /// What every mapped convention event goes through last (here and in `FlatConvention`): the
    /// missing-time rule, an embedded JSON message, DB-error classification.
    static func finish(_ events: inout [Event], at: Int, timed: Bool, context: inout DecodeContext) -> DecodeOutcome {
        guard ConventionMapper.settleTime(&events[at], found: timed, context: &context) else {
            events.removeLast()
            return .malformed(.missingFields)
        }
        EmbeddedJSON.expandMessage(&events[at], context: &context)
        DBErrorClassifier.apply(to: &events[at])
        return .events(1)
    }
}

/// Maps the fields of one JSON object (or one logfmt line) onto an `Event`, with every alias the
/// convention accepts.
///
/// Rules worth knowing:
/// - Fields present in the object overwrite what the event already holds; fields absent leave it
///   alone. A platform decoder can fill the envelope's facts first and then apply the app's JSON.
/// - Ids: `trace_id` holding a W3C id (32 hex) is the trace id; any other `trace_id` is a correlation
///   id. `correlation_id` beats `x-request-id`, which beats `reqId`, which beats a non-hex `trace_id`;
///   the losers stay as attributes. `request_id`/`requestId` is the platform request id when the line
///   also has a correlation id, otherwise it *is* the correlation id (apps that log one id call it
///   that). `function_request_id`/`aws_request_id` are always the platform's. `traceparent` and
///   `x-amzn-trace-id`/`xray_trace_id` give the trace id and caller span unless explicit fields do.
/// - Fallbacks fill only what the primary names left empty: `name` → service (bunyan, pino);
///   `hostname`/`host`/`pod` → instance; `path`/`url`/`http.target` → route (query string dropped);
///   structlog's `event` → message when it is not a Skein event kind; ASP.NET Core's `State.Path`
///   → route only when nothing else named one.
/// - .NET's JSON console formatter (`IncludeScopes`) writes the request's ids in a top-level `Scopes`
///   array of objects: `TraceId` (32 hex), `SpanId`, `ParentId` (16 hex, not all zeros), `RequestId`
///   (as `request_id`) and `RequestPath` (as `path`) are read from it, below every top-level source of
///   the same fact; the array also stays whole as the attribute `Scopes`.
/// - Time: `ts|time|timestamp|@timestamp` as RFC 3339 text, or an epoch number of any unit (at least
///   10 integral digits, i.e. ≥ 1e9 in its unit; zap's float seconds, pino's ms), read exactly from its
///   digits. See `settleTime` for lines without one.
/// - Durations are milliseconds; text with Go units (`12.5ms`, `1.2s`, `350µs`, `1m30s`) is converted.
/// - Nested objects flatten to dotted keys (`req.headers.host`), which are matched against the aliases
///   too (`service.name`, `http.route`, `log.level`, `req.headers.x-request-id`). At most
///   `maxAttributes` attributes per event, values cut at `maxValueBytes`, messages at `maxMessageBytes`;
///   anything dropped or cut is counted in the attribute `skein.truncated`.
public enum ConventionMapper {
    public static let maxAttributes = 64
    public static let maxValueBytes = 1024
    public static let maxMessageBytes = 8192
    /// Epoch numbers smaller than this (in their own unit) are counts, not times.
    static let minimumEpoch = 1e9

    /// Maps the object at `object` onto `event`; returns whether the object carried a usable time.
    /// `record`: the object is the whole line (not a message inside a platform's envelope), so the
    /// context's `keepsEveryMessage` applies to it.
    @discardableResult
    public static func apply(_ doc: JSONDocument, object: Int, to event: inout Event,
                             context: inout DecodeContext, record: Bool = false) -> Bool {
        guard doc.kind(object) == .object else { return false }
        var builder = ConventionBuilder(attributeBase: event.attributes.count,
                                        notableTextOnly: record && !context.keepsEveryMessage)
        var scratch: [UInt8] = []
        swap(&scratch, &context.pathScratch)
        mapMembers(doc, object: object, nested: false, path: &scratch, builder: &builder, event: &event,
                   context: &context)
        scratch.removeAll(keepingCapacity: scratch.capacity <= 4096)
        swap(&scratch, &context.pathScratch)
        return builder.finish(&event, context: &context)
    }

    /// What an embedded message turned out to be.
    public enum EmbeddedFormat: Sendable, Equatable {
        /// A JSON object, mapped field by field (`timed`: it carried its own time).
        case json(timed: Bool)
        /// Anything else: set as the event's message.
        case text
    }

    /// Maps an app's message found inside a platform envelope (Lambda's tab-separated line, a Vercel or
    /// Cloudflare record's `message`): a JSON object is mapped with `apply`, anything else becomes the
    /// message (cut at `maxMessageBytes`). `bytes` must be unescaped text; `tape` is the caller's scratch.
    public static func applyMessage(_ bytes: UnsafeBufferPointer<UInt8>, tape: inout JSONTape, to event: inout Event,
                                    context: inout DecodeContext) -> EmbeddedFormat {
        var s = 0
        while s < bytes.count, bytes[s] == 0x20 || bytes[s] == 0x09 { s += 1 }
        if s < bytes.count, bytes[s] == UInt8(ascii: "{") {
            do throws(JSONTape.Failure) {
                try tape.parse(bytes)
                let doc = JSONDocument(tape: tape, bytes: bytes)
                return .json(timed: apply(doc, object: doc.root, to: &event, context: &context))
            } catch {
                // Not JSON after all (`{user} logged in`): it is text.
            }
        }
        var e = bytes.count
        while e > s, bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 || bytes[e - 1] == 0x0a || bytes[e - 1] == 0x0d { e -= 1 }
        let text = UnsafeBufferPointer(rebasing: bytes[s..<e])
        let cut = ByteText.boundary(text, maxMessageBytes)
        event.message = String(decoding: UnsafeBufferPointer(rebasing: text[..<cut]), as: UTF8.self)
        if cut < text.count { event.attributes.append(Attribute("skein.truncated", "1")) }
        return .text
    }

    /// Applies the missing-time rule: a line without a time takes the last time its source logged
    /// (marked with the attribute `skein.time=inherited`), so one untimed line in a timed stream is kept
    /// in place; only when the source has never logged a time is the line malformed (`missingFields`).
    /// Returns false in that case. Call it once per event, after all mapping.
    public static func settleTime(_ event: inout Event, found: Bool, context: inout DecodeContext) -> Bool {
        if found {
            context.lastTime = event.time
            return true
        }
        guard let last = context.lastTime else { return false }
        event.time = last
        event.attributes.append(Attribute("skein.time", "inherited"))
        return true
    }

    private static func mapMembers(_ doc: JSONDocument, object: Int, nested: Bool, path: inout [UInt8],
                                   builder: inout ConventionBuilder, event: inout Event,
                                   context: inout DecodeContext) {
        let tape = doc.tape
        var i = object + 1
        let end = Int(tape.node(object).next)
        // Members are key/value pairs ending at `end`, and `next` never leaves the object: one check
        // covers every node read below.
        precondition(end <= tape.nodeCount)
        let nodes = tape.nodeBase
        // Read once: each use of a global `let` checks that it is initialised.
        let aliases = ConventionField.table
        let prefixLength = path.count
        while i < end {
            let k = i
            let v = i + 1
            let keyNode = nodes[k]
            let valueNode = nodes[v]
            i = Int(valueNode.next)
            if !nested && !keyNode.flag {
                // The common case: a plain top-level key, matched in place without copying.
                let key = doc.raw(node: keyNode)
                let field = aliases.lookup(key)
                // One compare for the scalars nearly every key holds; objects and arrays sort out below.
                if valueNode.kind.rawValue <= JSONTape.Kind.array.rawValue {
                    if valueNode.kind == .object && (field == nil || valueNode.count > 0) {
                        path.removeAll(keepingCapacity: true)
                        path.append(contentsOf: key)
                        descend(doc, v, path: &path, builder: &builder, event: &event, context: &context)
                        continue
                    }
                    if field == .scopes && valueNode.kind == .array { builder.scopes(doc, array: v, context: &context) }
                }
                builder.take(field, value(doc, valueNode), key: key, event: &event, context: &context)
                continue
            }
            if path.count > prefixLength { path.removeSubrange(prefixLength...) }
            if nested { path.append(UInt8(ascii: ".")) }
            if keyNode.flag {
                path.append(contentsOf: JSONDocument.unescape(doc.raw(k)).utf8)
            } else {
                path.append(contentsOf: doc.raw(k))
            }
            if valueNode.kind == .object {
                descend(doc, v, path: &path, builder: &builder, event: &event, context: &context)
                continue
            }
            path.withUnsafeBufferPointer { key in
                let field = ConventionField.classify(key) ?? ConventionField.classifyHeader(key)
                if field == .scopes && valueNode.kind == .array { builder.scopes(doc, array: v, context: &context) }
                builder.take(field, value(doc, v), key: key, event: &event, context: &context)
            }
        }
        if path.count > prefixLength { path.removeSubrange(prefixLength...) }
    }

    private static func descend(_ doc: JSONDocument, _ v: Int, path: inout [UInt8], builder: inout ConventionBuilder,
                                event: inout Event, context: inout DecodeContext) {
        if doc.tape.node(v).count == 0 {
            path.withUnsafeBufferPointer { key in
                builder.take(nil, .raw(doc.raw(v)), key: key, event: &event, context: &context)
            }
            return
        }
        mapMembers(doc, object: v, nested: true, path: &path, builder: &builder, event: &event, context: &context)
    }

    @inline(__always)
    private static func value(_ doc: JSONDocument, _ v: Int) -> FieldValue {
        value(doc, doc.tape.node(v))
    }

    @inline(__always)
    private static func value(_ doc: JSONDocument, _ nd: JSONTape.Node) -> FieldValue {
        switch nd.kind {
        case .string: return .text(doc.raw(node: nd), escaped: nd.flag)
        case .number: return .number(doc.raw(node: nd))
        case .bool: return .bool(nd.flag)
        case .null: return .null
        case .object, .array: return .raw(doc.raw(node: nd))
        }
    }
}

/// One field's value, still as bytes: a JSON string (maybe escaped), number, literal, or raw JSON.
enum FieldValue {
    /// Text; `escaped` when it holds JSON-style backslash escapes (JSON strings, quoted logfmt values).
    case text(UnsafeBufferPointer<UInt8>, escaped: Bool)
    case number(UnsafeBufferPointer<UInt8>)
    case bool(Bool)
    case null
    /// An array or object kept as its JSON text.
    case raw(UnsafeBufferPointer<UInt8>)

    /// Runs `body` over the unescaped bytes of the value (numbers and raw JSON as written).
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch self {
        case .text(let b, let escaped):
            if !escaped { return body(b) }
            var s = JSONDocument.unescape(b)
            return s.withUTF8(body)
        case .number(let b), .raw(let b): return body(b)
        case .bool(let v):
            var s = v ? "true" : "false"
            return s.withUTF8(body)
        case .null:
            var s = "null"
            return s.withUTF8(body)
        }
    }

    var isNull: Bool { if case .null = self { return true } else { return false } }

    /// Neither null nor the empty string.
    var nonEmpty: Bool {
        switch self {
        case .null: return false
        case .text(let b, _): return !b.isEmpty
        default: return true
        }
    }

    func string() -> String {
        switch self {
        case .text(let b, let escaped): return escaped ? JSONDocument.unescape(b) : String(decoding: b, as: UTF8.self)
        case .number(let b), .raw(let b): return String(decoding: b, as: UTF8.self)
        case .bool(let v): return v ? "true" : "false"
        case .null: return "null"
        }
    }

    func interned(_ interner: inout Interner) -> String {
        if case .text(let b, false) = self { return interner.intern(b) }
        return interner.intern(string())
    }

    /// A path or URL value as a route: its path part (`ConventionBuilder.routePart`), interned.
    func routePath(_ interner: inout Interner) -> String {
        withBytes { interner.intern(ConventionBuilder.routePart($0)) }
    }

    func symbol(_ interner: inout Interner) -> Symbol {
        if case .text(let b, false) = self { return interner.symbol(b) }
        return interner.symbol(string())
    }

    /// Like `string`, through the cache of recent ids.
    func id(_ ids: inout RecentStrings) -> String {
        if case .text(let b, false) = self { return ids.string(b) }
        return string()
    }

    /// Like `nonEmptyString`, through the cache of recent ids.
    func nonEmptyID(_ ids: inout RecentStrings) -> String? {
        switch self {
        case .null: return nil
        case .text(let b, _) where b.isEmpty: return nil
        default: return id(&ids)
        }
    }

    /// The value as text, or nil for null and the empty string.
    func nonEmptyString() -> String? {
        switch self {
        case .null: return nil
        case .text(let b, _) where b.isEmpty: return nil
        default: return string()
        }
    }

    func double() -> Double? {
        switch self {
        case .number(let b): return NumberParsing.double(b)
        case .text(let b, false): return NumberParsing.double(b)
        default: return nil
        }
    }

    func int() -> Int? {
        switch self {
        case .number(let b), .text(let b, false):
            if let v = NumberParsing.int(b) { return v }
            if let d = NumberParsing.double(b), d.isFinite, d.rounded() == d, abs(d) < 9e15 { return Int(d) }
            return nil
        default: return nil
        }
    }

    func bool() -> Bool? {
        switch self {
        case .bool(let v): return v
        case .number, .text(_, false):
            return withBytes { b in
                if b.count == 1 { return b[0] == UInt8(ascii: "1") ? true : b[0] == UInt8(ascii: "0") ? false : nil }
                if ByteText.equalsIgnoringCase(b, "true") || ByteText.equalsIgnoringCase(b, "yes") { return true }
                if ByteText.equalsIgnoringCase(b, "false") || ByteText.equalsIgnoringCase(b, "no") { return false }
                return nil
            }
        default: return nil
        }
    }
}

/// Gathers one record's fields, resolves aliases that compete (ids, fallbacks), and keeps attributes
/// within their bounds. Shared by the JSON and logfmt decoders so there is one alias table.
///
/// Values are byte ranges into the record; `finish` must run while those bytes are alive.
struct ConventionBuilder {
    /// A fallback field held until the end: used as the field if the primary name never came, else kept as an attribute.
    private struct Deferred {
        var key: String
        var value: FieldValue
    }

    private let attributeBase: Int
    private let notableTextOnly: Bool
    private var timed = false
    private var truncated = 0
    /// The rank of the alias the event's correlation id came from (0: none yet).
    private var correlationRank = 0
    private var explicitTrace = false
    private var explicitParent = false
    private var headerRank = 0
    /// What few lines have, all of it holding strings: behind one optional reference, allocated by
    /// the first line that has any, so that a builder without (nearly every line's) is destroyed
    /// with one check and copied as one word. Held field by field, destroying the builder took a
    /// release call per field and some 260 instructions per line.
    private var rare: Rare?
    /// The message's value, its text not made yet (`DecodeContext.keepsEveryMessage` off): bytes of
    /// the line, valid until `finish`.
    private var pendingMessage: FieldValue?
    private var sawService = false, sawInstance = false, sawRoute = false, sawMessage = false
    private var explicitSpan = false

    private final class Rare {
        var ambiguousRequestID: Deferred?
        var headerTrace: TraceContext.Header?
        var serviceFallback: Deferred?
        var instanceFallback: Deferred?
        var routeFallback: Deferred?
        var routeLastResort: Deferred?
        var messageFallback: Deferred?
        /// What a `Scopes` array held.
        var scope: ScopeFacts?
    }

    /// The ids and path of a .NET `Scopes` array: each the first valid one found, values pointing into the record.
    private struct ScopeFacts {
        var traceID: String?
        var span: SpanID?
        var parent: SpanID?
        var requestID: FieldValue?
        var route: FieldValue?

        /// Takes one scope member (`name` unescaped) if it is one of the ids or the path and valid.
        mutating func take(_ name: UnsafeBufferPointer<UInt8>, _ v: FieldValue, context: inout DecodeContext) {
            switch name.count {
            case 6 where ByteText.equal(name, "SpanId"):
                if span == nil { span = ScopeFacts.spanID(v) }
            case 7 where ByteText.equal(name, "TraceId"):
                // `ConventionBuilder.traceID` refuses all zeros and anything not 32 hex (an
                // `ActivityIdFormat.Hierarchical` root id): such a scope names no trace.
                if traceID == nil { traceID = ConventionBuilder.traceID(v, &context.ids) }
            case 8 where ByteText.equal(name, "ParentId"):
                // In W3C mode .NET writes the parent *span* here, and 16 zeros when there is none.
                if parent == nil { parent = ScopeFacts.spanID(v) }
            case 9 where ByteText.equal(name, "RequestId"):
                if requestID == nil, v.nonEmpty { requestID = v }
            case 11 where ByteText.equal(name, "RequestPath"):
                if route == nil, v.nonEmpty { route = v }
            default:
                break
            }
        }

        /// A W3C span id (16 hex, not all zeros), packed; nil for anything else.
        private static func spanID(_ v: FieldValue) -> SpanID? {
            v.withBytes { TraceContext.isW3CSpanID($0) ? SpanID(hex: $0) : nil }
        }
    }

    /// `notableTextOnly`: a whole line's builder when the context does not keep every message (see
    /// `DecodeContext.keepsEveryMessage`). A platform's embedded app JSON keeps its text: the
    /// platform's decoder reads it after the mapping.
    init(attributeBase: Int, notableTextOnly: Bool = false) {
        self.attributeBase = attributeBase
        self.notableTextOnly = notableTextOnly
    }

    /// Takes one field (`field` nil: not a convention field, kept as an attribute under `key`).
    mutating func take(_ field: ConventionField?, _ v: FieldValue, key: UnsafeBufferPointer<UInt8>,
                       event e: inout Event, context: inout DecodeContext) {
        guard let field else { attribute(key, v, event: &e, context: &context); return }
        if v.isNull {
            // `Scopes` was an unknown field until it was read: a null one stays an attribute, as it was.
            if field == .scopes { attribute(key, v, event: &e, context: &context) }
            return
        }
        var used = true
        switch field {
        case .time:
            if !timed, let t = ConventionBuilder.time(v) { e.time = t; timed = true } else { used = false }
        case .level:
            if let l = ConventionBuilder.level(v) { e.level = l } else { used = false }
        case .message:
            if sawMessage { used = false } else {
                sawMessage = true
                if notableTextOnly { pendingMessage = v } else { e.message = clippedMessage(v) }
            }
        case .service:
            sawService = true
            e.$service = v.symbol(&context.interner)
        case .instance:
            sawInstance = true
            e.$instance = v.symbol(&context.interner)
        case .serviceFallback:
            used = hold(\.serviceFallback, key, v, context: &context)
        case .instanceFallback:
            used = hold(\.instanceFallback, key, v, context: &context)
        case .routeFallback:
            used = hold(\.routeFallback, key, v, context: &context)
        case .routeLastResort:
            used = hold(\.routeLastResort, key, v, context: &context)
        case .scopes:
            // Read (when an array of objects) by `scopes`; kept whole so nothing the scopes said is lost.
            used = false
        case .deploy:
            if let d = v.withBytes(ConventionBuilder.deploy) { e.deploy = d } else { used = false }
        case .platform: e.$platform = v.symbol(&context.interner)
        case .runtime: e.$runtime = v.symbol(&context.interner)
        case .region: e.$region = v.symbol(&context.interner)
        case .traceID where ConventionBuilder.isZeroID(v), .spanID where ConventionBuilder.isZeroID(v),
             .parentSpanID where ConventionBuilder.isZeroID(v):
            // `0` / all zeros: no trace context (OpenTelemetry's logging instrumentation writes it
            // outside a span); as an id it would join every such line into one trace.
            used = false
        case .traceID:
            if let id = ConventionBuilder.traceID(v, &context.ids) {
                if explicitTrace { used = false } else { e.traceID = id; explicitTrace = true }
            } else {
                used = offerCorrelation(v, rank: 1, event: &e, context: &context)
            }
        case .spanID:
            if let s = ConventionBuilder.spanID(v, &context.ids) { e.$spanID = s; explicitSpan = true } else { used = false }
        case .parentSpanID:
            if let s = ConventionBuilder.spanID(v, &context.ids) { e.$parentSpanID = s; explicitParent = true } else { used = false }
        case .traceparent:
            if headerRank < 2, let h = v.withBytes({ TraceContext.parseTraceparent($0) }) {
                setRare(\.headerTrace, h); headerRank = 2
            } else { used = false }
        case .xray:
            if headerRank < 1, let h = v.withBytes({ TraceContext.parseXRay($0) }) {
                setRare(\.headerTrace, h); headerRank = 1
            } else { used = false }
        case .correlationID: used = offerCorrelation(v, rank: 4, event: &e, context: &context)
        case .xRequestID: used = offerCorrelation(v, rank: 3, event: &e, context: &context)
        case .reqID:
            // pino-http's default `req.id`/`reqId` is a per-process counter (1, 2, 3, ...): every
            // process has a request 1, so as an id it would join unrelated requests. Kept as an
            // attribute; a generated id (`genReqId`, a UUID) links as usual.
            used = !ConventionBuilder.isCounter(v) && offerCorrelation(v, rank: 2, event: &e, context: &context)
        case .requestID:
            used = hold(\.ambiguousRequestID, key, v, context: &context)
        case .platformRequestID:
            if let s = v.nonEmptyID(&context.ids) { e.requestID = s } else { used = false }
        case .cfRay:
            // Cloudflare's Ray id names the edge request; the colo suffix is dropped to match Logpush's `RayID`.
            if e.requestID == nil, let s = v.nonEmptyString() { e.requestID = RequestHeaderIDs.rayID(s) } else { used = false }
        case .event:
            if let k = v.withBytes({ ConventionBuilder.eventKind($0) }) {
                e.kind = k
            } else if case .text = v {
                used = hold(\.messageFallback, key, v, context: &context)
            } else { used = false }
        case .route:
            sawRoute = true
            e.route = v.interned(&context.interner)
        case .method: e.method = v.interned(&context.interner)
        case .status:
            if let s = v.int(), (0...999).contains(s) { e.status = s } else { used = false }
        case .durationMS:
            if let d = ConventionBuilder.milliseconds(v) { e.durationMS = d } else { used = false }
        case .cpuMS:
            if let d = ConventionBuilder.milliseconds(v) { e.cpuMS = d } else { used = false }
        case .initMS:
            if let d = ConventionBuilder.milliseconds(v) { e.initMS = d } else { used = false }
        case .coldStart:
            if let b = v.bool() { e.coldStart = b } else { used = false }
        case .dbPool: e.$dbPool = v.symbol(&context.interner)
        case .dbOpen:
            if let n = v.int() { e.dbOpen = n } else { used = false }
        case .dbMax:
            if let n = v.int() { e.dbMax = n } else { used = false }
        case .waitMS:
            if let d = ConventionBuilder.milliseconds(v) { e.waitMS = d } else { used = false }
        case .dbError:
            if let k = v.withBytes({ DBErrorKind(rawValue: String(decoding: $0, as: UTF8.self)) }) {
                e.dbError = k
            } else {
                // An error the convention has no name for is still an error; its text stays as an attribute.
                e.dbError = .other
                used = false
            }
        }
        if !used { attribute(key, v, event: &e, context: &context) }
    }

    /// Resolves competing aliases and fallbacks; returns whether the record had a time.
    mutating func finish(_ e: inout Event, context: inout DecodeContext) -> Bool {
        if let r = rare { settle(r, event: &e, context: &context) }
        if let v = pendingMessage { settleMessage(v, event: &e) }
        if truncated > 0 { e.attributes.append(Attribute("skein.truncated", String(truncated))) }
        return timed
    }

    /// `finish`'s part for the rare fields: ids from headers and scopes, fallbacks.
    private mutating func settle(_ rare: Rare, event e: inout Event, context: inout DecodeContext) {
        if let r = rare.ambiguousRequestID?.value ?? rare.scope?.requestID {
            let id = r.id(&context.ids)
            if correlationRank > 0 { e.requestID = id } else { e.correlationID = id }
        }
        var parentSet = explicitParent
        if let h = rare.headerTrace {
            if !explicitTrace { e.traceID = h.traceID }
            // The header's parent span belongs to its own trace; an explicit, different trace id disowns it.
            if !explicitParent, let p = h.parentSpanID, e.traceID == h.traceID { e.parentSpanID = p; parentSet = true }
        }
        if let s = rare.scope, let t = s.traceID {
            if !explicitTrace && rare.headerTrace == nil { e.traceID = t }
            // Like the header's: the scope's spans belong to the scope's trace, so a line whose own
            // fields name another trace keeps only its own.
            if e.traceID == t {
                if !explicitSpan, let sp = s.span { e.$spanID = sp }
                if !parentSet, let p = s.parent { e.$parentSpanID = p }
            }
        }
        if let d = rare.serviceFallback {
            if sawService { deferredAttribute(d, event: &e) } else { e.$service = d.value.symbol(&context.interner) }
        }
        if let d = rare.instanceFallback {
            if sawInstance { deferredAttribute(d, event: &e) } else { e.$instance = d.value.symbol(&context.interner) }
        }
        if let d = rare.routeFallback {
            if sawRoute { deferredAttribute(d, event: &e) } else {
                e.route = d.value.routePath(&context.interner)
            }
        } else if !sawRoute, let r = rare.scope?.route {
            e.route = r.routePath(&context.interner)
        }
        if let d = rare.routeLastResort {
            if sawRoute || rare.routeFallback != nil || rare.scope?.route != nil { deferredAttribute(d, event: &e) } else {
                e.route = d.value.routePath(&context.interner)
            }
        }
        if let d = rare.messageFallback {
            if sawMessage { deferredAttribute(d, event: &e) } else if notableTextOnly {
                pendingMessage = d.value
            } else {
                e.message = clippedMessage(d.value)
            }
        }
    }

    /// Reads .NET's `Scopes` array (at `array`) for the request's ids and path; `finish` applies them
    /// where the record's own fields did not. Elements that are not objects (a `BeginScope("text")`
    /// scope is a string), and members that are not strings, are passed over; a second `Scopes` key is
    /// ignored. Allocates only for escaped keys.
    mutating func scopes(_ doc: JSONDocument, array: Int, context: inout DecodeContext) {
        guard rare?.scope == nil else { return }
        let tape = doc.tape
        var found = ScopeFacts()
        let end = Int(tape.node(array).next)
        var i = array + 1
        while i < end {
            let element = tape.node(i)
            if element.kind == .object {
                let members = Int(element.next)
                var k = i + 1
                while k < members {
                    let keyNode = tape.node(k)
                    let valueNode = tape.node(k + 1)
                    k = Int(valueNode.next)
                    guard valueNode.kind == .string else { continue }
                    let v = FieldValue.text(doc.raw(node: valueNode), escaped: valueNode.flag)
                    if keyNode.flag {
                        var name = JSONDocument.unescape(doc.raw(node: keyNode))
                        name.withUTF8 { found.take($0, v, context: &context) }
                    } else {
                        found.take(doc.raw(node: keyNode), v, context: &context)
                    }
                }
            }
            i = Int(element.next)
        }
        setRare(\.scope, found)
    }

    /// Holds a fallback for `finish`; a second value for the same slot is not held (returns false).
    private mutating func hold(_ slot: ReferenceWritableKeyPath<Rare, Deferred?>, _ key: UnsafeBufferPointer<UInt8>,
                               _ v: FieldValue, context: inout DecodeContext) -> Bool {
        guard rare?[keyPath: slot] == nil, v.nonEmpty else { return false }
        setRare(slot, Deferred(key: context.interner.intern(key), value: v))
        return true
    }

    private mutating func setRare<T>(_ slot: ReferenceWritableKeyPath<Rare, T?>, _ value: T) {
        let r: Rare
        if let existing = rare { r = existing } else { r = Rare(); rare = r }
        r[keyPath: slot] = value
    }

    private mutating func offerCorrelation(_ v: FieldValue, rank: Int, event e: inout Event,
                                           context: inout DecodeContext) -> Bool {
        guard rank > correlationRank, let s = v.nonEmptyID(&context.ids) else { return false }
        // The id taken before is the event's (only this sets it before `finish`): a copy of it
        // here too was a retain and a release per line of a string the engine's thread also counts.
        if correlationRank > 0, let previous = e.correlationID {
            // Demoted, not lost: the weaker id stays visible as an attribute.
            appendAttribute(Attribute(ConventionBuilder.correlationKeyNames[correlationRank], previous), event: &e)
        }
        correlationRank = rank
        e.correlationID = s
        return true
    }

    static let correlationKeyNames = ["", "trace_id", "reqId", "x-request-id", "correlation_id"]

    /// Adds an attribute within the event's bounds.
    mutating func attribute(_ key: UnsafeBufferPointer<UInt8>, _ v: FieldValue, event e: inout Event,
                            context: inout DecodeContext) {
        if e.attributes.count - attributeBase >= ConventionMapper.maxAttributes { truncated += 1; return }
        var keyBytes = key
        if keyBytes.count > 128 {
            keyBytes = UnsafeBufferPointer(rebasing: keyBytes[..<ByteText.boundary(keyBytes, 128)])
            truncated += 1
        }
        let k = context.interner.intern(keyBytes)
        e.attributes.append(Attribute(k, clippedValue(v)))
    }

    private mutating func deferredAttribute(_ d: Deferred, event e: inout Event) {
        if e.attributes.count - attributeBase >= ConventionMapper.maxAttributes { truncated += 1; return }
        e.attributes.append(Attribute(d.key, clippedValue(d.value)))
    }

    private mutating func appendAttribute(_ a: Attribute, event e: inout Event) {
        if e.attributes.count - attributeBase >= ConventionMapper.maxAttributes { truncated += 1; return }
        e.attributes.append(a)
    }

    private mutating func clippedValue(_ v: FieldValue) -> String {
        clippedText(v, limit: ConventionMapper.maxValueBytes)
    }

    /// The value's text, cut at a character boundary within `limit` bytes (counted in `truncated`).
    private mutating func clippedText(_ v: FieldValue, limit: Int) -> String {
        let (text, cut) = v.withBytes { b -> (String, Bool) in
            let c = ConventionBuilder.clip(b, limit)
            return (String(decoding: c.bytes, as: UTF8.self), c.cut)
        }
        if cut { truncated += 1 }
        return text
    }

    /// `b`, or when longer than `limit` bytes its start cut at the last character boundary within it.
    @inline(__always)
    static func clip(_ b: UnsafeBufferPointer<UInt8>, _ limit: Int) -> (bytes: UnsafeBufferPointer<UInt8>, cut: Bool) {
        b.count <= limit ? (b, false) : (UnsafeBufferPointer(rebasing: b[..<ByteText.boundary(b, limit)]), true)
    }

    /// The message's facts (and DB error) read from its bytes, clipped as `clippedMessage` clips;
    /// its text made only when `notable`.
    private mutating func settleMessage(_ v: FieldValue, event e: inout Event) {
        // Read before the closure: capturing `e` there would copy the whole event.
        let loud = e.level >= .warn || (e.status ?? 0) >= 500
        let (facts, text, clipped) = v.withBytes { b -> (MessageFacts, String?, Bool) in
            let (m, cut) = ConventionBuilder.clip(b, ConventionMapper.maxMessageBytes)
            let facts = MessageFacts(bytes: m)
            let keep = loud || ConventionBuilder.notable(m, facts)
            return (facts, keep ? String(decoding: m, as: UTF8.self) : nil, cut)
        }
        if clipped { truncated += 1 }
        if let text { e.message = text }
        // After the text: setting `message` forgets the facts.
        e.messageFacts = facts
    }

    /// Whether a message's text is kept when not every one is, beside a warning's or an error's (a
    /// level of `warn` and above, a status of 500 and above): what the engine may print (a timeout's
    /// detail), what later steps read (an embedded JSON object, a DB error phrase). The rest
    /// (routine info lines) are known by their facts alone.
    static func notable(_ m: UnsafeBufferPointer<UInt8>, _ facts: MessageFacts) -> Bool {
        if facts.timedOut || facts.timeout || facts.exceededCPU { return true }
        if let first = m.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "["), m.count > 1 { return true }
        return DBErrorClassifier.classify(bytes: m) != nil
    }

    private mutating func clippedMessage(_ v: FieldValue) -> String {
        clippedText(v, limit: ConventionMapper.maxMessageBytes)
    }

    // MARK: - Value readers

    static func time(_ v: FieldValue) -> Timestamp? {
        switch v {
        case .number(let b):
            // Exact from the digits when plain (19-digit nanoseconds overflow a Double's precision).
            if let t = TimeParsing.epoch(text: b) { return t }
            guard let d = NumberParsing.double(b), abs(d) >= ConventionMapper.minimumEpoch else { return nil }
            return TimeParsing.epoch(d)
        case .text:
            return v.withBytes { TimeParsing.parse($0) }
        default:
            return nil
        }
    }

    static func deploy(_ b: UnsafeBufferPointer<UInt8>) -> DeployModel? {
        if ByteText.equal(b, "serverless") { return .serverless }
        if ByteText.equal(b, "server") { return .server }
        if ByteText.equal(b, "edge") { return .edge }
        return DeployModel(name: String(decoding: b, as: UTF8.self))
    }

    static func level(_ v: FieldValue) -> Level? {
        switch v {
        case .number(let b):
            return NumberParsing.int(b).map { Level(pinoLevel: $0) }
        case .text:
            return v.withBytes { b in
                if let n = NumberParsing.int(b) { return Level(pinoLevel: n) }
                return levelName(b)
            }
        default: return nil
        }
    }

    /// Level names (`Level(name:)`, any case), with the common spellings matched without
    /// allocating; slog's `INFO+2` style offsets are cut off. The one reader of level names on
    /// bytes: platform records use it too (`PlatformLevel`).
    static func levelName(_ b0: UnsafeBufferPointer<UInt8>) -> Level? {
        var b = b0
        if let cut = b.firstIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }), cut > 0 {
            b = UnsafeBufferPointer(rebasing: b[..<cut])
        }
        switch b.count {
        case 3:
            if ByteText.equalsIgnoringCase(b, "log") || ByteText.equalsIgnoringCase(b, "inf") { return .info }
            if ByteText.equalsIgnoringCase(b, "err") { return .error }
            if ByteText.equalsIgnoringCase(b, "dbg") { return .debug }
        case 4:
            if ByteText.equalsIgnoringCase(b, "info") { return .info }
            if ByteText.equalsIgnoringCase(b, "warn") { return .warn }
        case 5:
            if ByteText.equalsIgnoringCase(b, "error") { return .error }
            if ByteText.equalsIgnoringCase(b, "debug") { return .debug }
            if ByteText.equalsIgnoringCase(b, "trace") { return .trace }
            if ByteText.equalsIgnoringCase(b, "fatal") { return .fatal }
        case 7:
            // .NET's and Serilog's names (`Warning`, `Verbose`, `Critical`, `Information`): every line of theirs has one.
            if ByteText.equalsIgnoringCase(b, "warning") { return .warn }
            if ByteText.equalsIgnoringCase(b, "verbose") { return .trace }
        case 8:
            if ByteText.equalsIgnoringCase(b, "critical") { return .fatal }
        case 11:
            if ByteText.equalsIgnoringCase(b, "information") { return .info }
        case 0, 17...: return nil
        default: break
        }
        return Level(name: String(decoding: b, as: UTF8.self))
    }

    /// The event kind `b` names, compared in place (by length first): no table, no `String`.
    /// `EventKindNamesTests` checks it against every `EventKind` raw value.
    static func eventKind(_ b: UnsafeBufferPointer<UInt8>) -> EventKind? {
        switch b.count {
        case 3:
            if ByteText.equal(b, "log") { return .log }
        case 4:
            if ByteText.equal(b, "span") { return .span }
        case 6:
            if ByteText.equal(b, "bg.end") { return .bgEnd }
        case 7:
            if ByteText.equal(b, "ws.open") { return .wsOpen }
        case 8:
            if ByteText.equal(b, "db.error") { return .dbError }
            if ByteText.equal(b, "bg.start") { return .bgStart }
            if ByteText.equal(b, "ws.close") { return .wsClose }
        case 9:
            if ByteText.equal(b, "db.sample") { return .dbSample }
        case 10:
            if ByteText.equal(b, "db.connect") { return .dbConnect }
            if ByteText.equal(b, "db.acquire") { return .dbAcquire }
            if ByteText.equal(b, "db.release") { return .dbRelease }
        case 11:
            if ByteText.equal(b, "request.end") { return .requestEnd }
        case 13:
            if ByteText.equal(b, "request.start") { return .requestStart }
            if ByteText.equal(b, "response.sent") { return .responseSent }
            if ByteText.equal(b, "instance.stop") { return .instanceStop }
            if ByteText.equal(b, "db.disconnect") { return .dbDisconnect }
        case 14:
            if ByteText.equal(b, "instance.start") { return .instanceStart }
        default:
            break
        }
        return nil
    }

    /// A duration in ms: numbers as milliseconds, text optionally with Go duration units.
    static func milliseconds(_ v: FieldValue) -> Double? {
        switch v {
        case .number(let b): return NumberParsing.double(b).flatMap { $0.isFinite ? $0 : nil }
        case .text: return v.withBytes { GoDuration.milliseconds($0) }
        default: return nil
        }
    }

    /// The path of a URL: scheme and host dropped, query and fragment cut.
    static func routePart(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var s = 0
        if let scheme = ByteText.find(b, "://") {
            s = scheme + 3
            while s < b.count, b[s] != UInt8(ascii: "/") { s += 1 }
        }
        var e = s
        while e < b.count, b[e] != UInt8(ascii: "?") && b[e] != UInt8(ascii: "#") { e += 1 }
        return UnsafeBufferPointer(rebasing: b[s..<e])
    }

    /// A span id: hex lower-cased (one canonical spelling for linking), anything else as logged.
    static func spanID(_ v: FieldValue, _ ids: inout RecentStrings) -> SpanID? {
        guard v.nonEmpty else { return nil }
        if case .text(let b, false) = v, let packed = SpanID(hex: b) { return packed }
        if case .text(let b, false) = v, TraceContext.isHex(b) {
            if TraceContext.hasUpperCase(b) { return TraceContext.lowercasedHex(b).map(SpanID.init) }
            return SpanID(ids.string(b))
        }
        return SpanID(v.string())
    }

    /// Whether a value is a small counter (digits only, at most nine of them).
    static func isCounter(_ v: FieldValue) -> Bool {
        switch v {
        case .number(let b), .text(let b, false):
            return !b.isEmpty && b.count <= 9 && !b.contains { $0 < UInt8(ascii: "0") || $0 > UInt8(ascii: "9") }
        default:
            return false
        }
    }

    /// Whether an id is made of zeros only (`0`, `00000000000000000000000000000000`): W3C's invalid id.
    static func isZeroID(_ v: FieldValue) -> Bool {
        switch v {
        case .text(let b, _), .number(let b):
            return !b.isEmpty && !b.contains { $0 != UInt8(ascii: "0") }
        default:
            return false
        }
    }

    /// A W3C trace id in its canonical lower case, or nil when the value is not one.
    static func traceID(_ v: FieldValue, _ ids: inout RecentStrings) -> String? {
        if case .text(let b, false) = v {
            guard TraceContext.isW3CTraceID(b) else { return nil }
            return TraceContext.hasUpperCase(b) ? TraceContext.canonicalTraceID(b) : ids.string(b)
        }
        return v.withBytes { TraceContext.canonicalTraceID($0) }
    }
}

/// Go's `time.Duration` text (`1.5s`, `350µs`, `1m30s`); a bare number is milliseconds.
enum GoDuration {
    static func milliseconds(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = b.count
        guard n > 0 else { return nil }
        if let plain = NumberParsing.double(b) { return plain.isFinite ? plain : nil }
        var p = 0
        var neg = false
        if b[0] == UInt8(ascii: "-") { neg = true; p = 1 }
        var total = 0.0
        var sawPart = false
        while p < n {
            let start = p
            while p < n, (b[p] >= 0x30 && b[p] <= 0x39) || b[p] == UInt8(ascii: ".") { p += 1 }
            guard p > start, let number = NumberParsing.double(UnsafeBufferPointer(rebasing: b[start..<p])) else { return nil }
            let unitStart = p
            while p < n, !((b[p] >= 0x30 && b[p] <= 0x39) || b[p] == UInt8(ascii: ".")) { p += 1 }
            let unit = UnsafeBufferPointer(rebasing: b[unitStart..<p])
            guard let scale = scale(unit) else { return nil }
            total += number * scale.times / scale.over
            sawPart = true
        }
        guard sawPart else { return nil }
        return neg ? -total : total
    }

    /// Milliseconds per unit, as a ratio: dividing by 1000 keeps `350µs` at 0.35, where multiplying by 0.001 would not.
    private static func scale(_ u: UnsafeBufferPointer<UInt8>) -> (times: Double, over: Double)? {
        if ByteText.equal(u, "ms") { return (1, 1) }
        if ByteText.equal(u, "s") { return (1_000, 1) }
        if ByteText.equal(u, "us") || ByteText.equal(u, "µs") || ByteText.equal(u, "μs") { return (1, 1_000) }
        if ByteText.equal(u, "ns") { return (1, 1_000_000) }
        if ByteText.equal(u, "m") { return (60_000, 1) }
        if ByteText.equal(u, "h") { return (3_600_000, 1) }
        return nil
    }
}

/// Small byte comparisons the decoders share.
enum ByteText {
    /// Byte equality of two `n`-byte runs (the shared word-at-a-time comparison).
    @inline(__always)
    static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        ByteCompare.same(a, b, n)
    }

    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }

    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard a.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for i in 0..<a.count where a[i] != w[i] { return false }
        return true
    }

    /// ASCII case-insensitive; `word` must be lower case.
    @inline(__always)
    static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard a.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for i in 0..<a.count {
            var c = a[i]
            if c >= 0x41 && c <= 0x5a { c |= 0x20 }
            if c != w[i] { return false }
        }
        return true
    }

    static func find(_ a: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Int? {
        let n = word.utf8CodeUnitCount
        guard a.count >= n else { return nil }
        let w = word.utf8Start
        outer: for i in 0...(a.count - n) {
            for j in 0..<n where a[i + j] != w[j] { continue outer }
            return i
        }
        return nil
    }

    /// The largest cut ≤ `limit` that does not split a UTF-8 sequence.
    static func boundary(_ b: UnsafeBufferPointer<UInt8>, _ limit: Int) -> Int {
        if b.count <= limit { return b.count }
        var cut = limit
        while cut > 0, b[cut] & 0xc0 == 0x80 { cut -= 1 }
        return cut
    }
}
