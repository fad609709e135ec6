import SkeinCore

/// Vercel log drain records, delivered as a JSON array (the `json` drain) or one per line
/// (`ndjson`): `id`, `message`, `timestamp` (ms), `type`, `source`, `projectId`/`projectName`,
/// `deploymentId`, `host`, `path`, `statusCode`, `requestId`, `traceId`/`spanId`,
/// `executionRegion`, `level`, `proxy{…}`.
///
/// `requestId` and `traceId` go on the same event, so the linker joins Vercel's request to the
/// W3C trace the app propagates.
public struct VercelDecoder: JSONRecordDecoder {
    public let name = "vercel"
    private var tape = JSONTape(maxDepth: 64, maxNodes: 1 << 16)

    public init() {}

    public var signatureKeys: [StaticString]? { ["deploymentId"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        switch doc.kind(doc.root) {
        case .object: return Self.isRecord(doc, doc.root)
        case .array:
            var first: Int?
            doc.forEachElement(doc.root) { if first == nil { first = $0 } }
            return first.map { Self.isRecord(doc, $0) } ?? false
        default: return false
        }
    }

    /// One of these must come with `deploymentId` (a constant: an array literal would be built per line).
    private static let alongsideDeploymentId = PlatformKeys(rawValue: PlatformKeys.source.rawValue | PlatformKeys.projectId.rawValue)

    static func isRecord(_ doc: JSONDocument, _ obj: Int) -> Bool {
        let keys = PlatformKeys(doc, obj)
        return keys.contains(.deploymentId) && !keys.isDisjoint(with: alongsideDeploymentId)
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        if doc.kind(doc.root) == .array {
            var n = 0
            var bad = 0
            doc.forEachElement(doc.root) { item in
                let produced = Self.isRecord(doc, item) ? map(doc, item, source: source, context: &context, into: &events) : 0
                if produced > 0 {
                    n += produced
                } else {
                    bad += 1
                }
            }
            if n == 0 { return bad > 0 ? .malformed(.missingFields) : .absorbed }
            return .events(n)
        }
        let n = map(doc, doc.root, source: source, context: &context, into: &events)
        return n > 0 ? .events(n) : .malformed(.missingFields)
    }

    /// Where the members a record is read from sit (the first of each name, as `member` finds them),
    /// found in one pass over the object instead of one pass per name.
    private struct Members {
        var timestamp: Int?, source: Int?, projectName: Int?, projectId: Int?, executionRegion: Int?
        var level: Int?, type: Int?, requestId: Int?, traceId: Int?, spanId: Int?, path: Int?
        var statusCode: Int?, deploymentId: Int?, host: Int?, entrypoint: Int?, environment: Int?
        var id: Int?, message: Int?, proxy: Int?
        // In `proxy`.
        var region: Int?, method: Int?, vercelCache: Int?, clientIp: Int?

        init(_ doc: JSONDocument, record obj: Int) {
            doc.forEachMember(obj) { k, v in
                let key = doc.raw(k)
                guard !key.isEmpty, !doc.tape.node(k).flag else { return }
                switch (key.count, key[0]) {
                case (2, UInt8(ascii: "i")): if ByteText.equal(key, "id") { id = id ?? v }
                case (4, UInt8(ascii: "p")): if ByteText.equal(key, "path") { path = path ?? v }
                case (4, UInt8(ascii: "t")): if ByteText.equal(key, "type") { type = type ?? v }
                case (4, UInt8(ascii: "h")): if ByteText.equal(key, "host") { host = host ?? v }
                case (5, UInt8(ascii: "l")): if ByteText.equal(key, "level") { level = level ?? v }
                case (5, UInt8(ascii: "p")): if ByteText.equal(key, "proxy") { proxy = proxy ?? v }
                case (6, UInt8(ascii: "s")):
                    if ByteText.equal(key, "source") { source = source ?? v }
                    if ByteText.equal(key, "spanId") { spanId = spanId ?? v }
                case (7, UInt8(ascii: "m")): if ByteText.equal(key, "message") { message = message ?? v }
                case (7, UInt8(ascii: "t")): if ByteText.equal(key, "traceId") { traceId = traceId ?? v }
                case (9, UInt8(ascii: "t")): if ByteText.equal(key, "timestamp") { timestamp = timestamp ?? v }
                case (9, UInt8(ascii: "r")): if ByteText.equal(key, "requestId") { requestId = requestId ?? v }
                case (9, UInt8(ascii: "p")): if ByteText.equal(key, "projectId") { projectId = projectId ?? v }
                case (10, UInt8(ascii: "s")): if ByteText.equal(key, "statusCode") { statusCode = statusCode ?? v }
                case (10, UInt8(ascii: "e")): if ByteText.equal(key, "entrypoint") { entrypoint = entrypoint ?? v }
                case (11, UInt8(ascii: "p")): if ByteText.equal(key, "projectName") { projectName = projectName ?? v }
                case (11, UInt8(ascii: "e")): if ByteText.equal(key, "environment") { environment = environment ?? v }
                case (12, UInt8(ascii: "d")): if ByteText.equal(key, "deploymentId") { deploymentId = deploymentId ?? v }
                case (15, UInt8(ascii: "e")): if ByteText.equal(key, "executionRegion") { executionRegion = executionRegion ?? v }
                default: break
                }
            }
            if let p = proxy, doc.kind(p) == .object {
                var proxyTimestamp: Int?, proxyPath: Int?, proxyStatus: Int?
                doc.forEachMember(p) { k, v in
                    let key = doc.raw(k)
                    guard !doc.tape.node(k).flag else { return }
                    switch key.count {
                    case 4: if ByteText.equal(key, "path") { proxyPath = proxyPath ?? v }
                    case 6:
                        if ByteText.equal(key, "region") { region = region ?? v }
                        if ByteText.equal(key, "method") { method = method ?? v }
                    case 8: if ByteText.equal(key, "clientIp") { clientIp = clientIp ?? v }
                    case 9: if ByteText.equal(key, "timestamp") { proxyTimestamp = proxyTimestamp ?? v }
                    case 10: if ByteText.equal(key, "statusCode") { proxyStatus = proxyStatus ?? v }
                    case 11: if ByteText.equal(key, "vercelCache") { vercelCache = vercelCache ?? v }
                    default: break
                    }
                }
                self.proxyTimestamp = proxyTimestamp
                self.proxyPath = proxyPath
                self.proxyStatus = proxyStatus
            } else {
                proxy = nil
            }
        }
        var proxyTimestamp: Int?, proxyPath: Int?, proxyStatus: Int?
    }

    private mutating func map(_ doc: JSONDocument, _ obj: Int, source: SourceID, context: inout DecodeContext,
                     into events: inout [Event]) -> Int {
        let f = Members(doc, record: obj)
        func str(_ node: Int?) -> String? { node.flatMap { doc.nonEmptyString($0) } }
        func interned(_ node: Int?, _ context: inout DecodeContext) -> String? { PlatformEvent.interned(doc, node, &context) }
        /// Whether `str(node)` is not nil, without making the string.
        func present(_ node: Int?) -> Bool {
            guard let node else { return false }
            let nd = doc.tape.node(node)
            switch nd.kind {
            case .null, .object, .array: return false
            case .string: return nd.start != nd.end
            default: return true
            }
        }
        /// A string node's bytes when it has no escapes and is not empty (then they are `str(node)`'s).
        func plain(_ node: Int?) -> UnsafeBufferPointer<UInt8>? {
            guard let node else { return nil }
            let nd = doc.tape.node(node)
            guard nd.kind == .string, !nd.flag, nd.start != nd.end else { return nil }
            return doc.raw(node)
        }
        guard let t = f.timestamp.flatMap({ LambdaJSONMapping.time(doc, $0) })
            ?? f.proxyTimestamp.flatMap({ LambdaJSONMapping.time(doc, $0) }) else {
            return 0
        }
        let src = interned(f.source, &context)
        // Built in place at the end of `events` (a local event appended would be copied once more).
        let k = events.count
        events.append(PlatformScope(platform: "vercel").event(t, source: source))
        switch src {
        case "lambda": events[k].deploy = .serverless
        case "edge", "middleware": events[k].deploy = .edge
        case "static", "external", "firewall", "redirect": events[k].deploy = .edge
        default: break
        }
        if let p = interned(f.projectName, &context) ?? interned(f.projectId, &context) { events[k].service = p }
        if let r = interned(f.executionRegion, &context) ?? interned(f.region, &context) { events[k].region = r }
        if events[k].deploy == .edge, let src {
            // Edge and CDN records name no instance: without one they would share the project's name
            // with its functions' records, as one instance whose deploy model is whichever came first.
            events[k].instance = context.interner.intern(src + ":" + (events[k].region ?? "global"))
        }
        if let l = f.level, let level = PlatformLevel.named(doc, l) { events[k].level = level }
        let type = interned(f.type, &context)
        if type == "stderr", events[k].level < .warn, str(f.level) == nil { events[k].level = .warn }
        events[k].requestID = str(f.requestId)
        // Ids and the path read in place when they have no escapes (no `String` made to be re-read).
        if let b = plain(f.traceId) {
            if let w3c = TraceContext.canonicalTraceID(b) {
                events[k].traceID = w3c
            } else {
                events[k].attributes.append(Attribute("traceId", String(decoding: b, as: UTF8.self)))
            }
        } else if let tr = str(f.traceId) {
            if let w3c = PlatformIDs.normalisedTraceID(tr) { events[k].traceID = w3c } else { events[k].attributes.append(Attribute("traceId", tr)) }
        }
        if let b = plain(f.spanId) {
            events[k].spanID = TraceContext.isW3CSpanID(b) ? TraceContext.lowercasedHex(b) : nil
        } else if let sp = str(f.spanId) {
            events[k].spanID = PlatformIDs.normalisedSpanID(sp)
        }
        let pathNode = present(f.path) ? f.path : f.proxyPath
        if let b = plain(pathNode) {
            events[k].route = EmbeddedJSON.internedPath(bytes: b, &context.interner)
        } else if let path = str(pathNode) {
            events[k].route = EmbeddedJSON.internedPath(path, &context.interner)
        }
        if let m = interned(f.method, &context) { events[k].method = m }
        let proxyStatus = f.proxyStatus.flatMap { doc.int($0) }
        let status = f.statusCode.flatMap { doc.int($0) }
        if let status, status != -1 {
            events[k].status = status
        } else if status == -1 {
            // Vercel: `statusCode: -1` means no response was returned, the function crashed.
            events[k].level = max(events[k].level, .error)
            events[k].attributes.append(Attribute("outcome", "crashed"))
        } else if let proxyStatus, proxyStatus != -1 {
            // (`proxy.statusCode: -1` is a background revalidation, not a response.)
            events[k].status = proxyStatus
        }
        events[k].attributes.reserveCapacity(events[k].attributes.count + 9)
        if let v = src { events[k].attributes.append(Attribute("source", v)) }
        if let v = type { events[k].attributes.append(Attribute("type", v)) }
        if let v = interned(f.deploymentId, &context) { events[k].attributes.append(Attribute("deploymentId", v)) }
        if let v = interned(f.host, &context) { events[k].attributes.append(Attribute("host", v)) }
        if let v = interned(f.entrypoint, &context) { events[k].attributes.append(Attribute("entrypoint", v)) }
        if let v = interned(f.environment, &context) { events[k].attributes.append(Attribute("environment", v)) }
        if let v = str(f.id) { events[k].attributes.append(Attribute("id", v)) }
        if let v = interned(f.vercelCache, &context) { events[k].attributes.append(Attribute("vercelCache", v)) }
        if let v = str(f.clientIp) { events[k].attributes.append(Attribute("clientIp", v)) }
        if let message = str(f.message) {
            if Self.isLambdaOutput(message) {
                // A Vercel Function runs on Lambda: its output comes as the runtime wrote it, one line
                // (`<time>\t<id>\tINFO\t…`) or a whole invocation (`START …`, the app's lines,
                // `END …`, `REPORT …` with the cold start) in one message.
                let base = events.removeLast()
                return mapLambdaOutput(message, base: base, source: source, context: &context, into: &events)
            }
            if !EmbeddedJSON.mergeIfJSON(message, tape: &tape, into: &events[k], context: &context) { events[k].message = message }
            if let rid = events[k].requestID, events[k].correlationID == rid { events[k].correlationID = nil }
            if let seconds = Self.timedOutSeconds(message) {
                // The function's timeout (`Task timed out after 10.02 seconds`, also behind `Vercel
                // Runtime Timeout Error: `): no REPORT follows on Vercel, so this line is the
                // invocation's end and says how long it ran (the trace read 0 ms before).
                events[k].kind = .requestEnd
                events[k].durationMS = seconds * 1000
                events[k].level = max(events[k].level, .error)
                events[k].attributes.append(Attribute("outcome", "timeout"))
            }
        } else if f.proxy != nil {
            // A request record without output: the proxy's view of one request.
            events[k].kind = .requestEnd
            let e = events[k]
            events[k].message = [e.method, e.route, e.status.map(String.init)].compactMap { $0 }.joined(separator: " ")
        }
        DBErrorClassifier.apply(to: &events[k])
        return 1
    }

    /// The seconds of `Task timed out after N seconds` anywhere in a message (a positive finite
    /// number of at most a day), else nil.
    static func timedOutSeconds(_ message: String) -> Double? {
        var message = message
        return message.withUTF8 { b -> Double? in
            guard let at = ByteText.find(b, "Task timed out after ", from: 0) else { return nil }
            let start = at + 21
            var end = start
            while end < b.count, ByteText.isDigit(b[end]) || b[end] == UInt8(ascii: ".") { end += 1 }
            guard end > start, ByteText.hasPrefix(ByteText.slice(b, end, b.count), " second"),
                  let v = NumberParsing.double(ByteText.slice(b, start, end)), v.isFinite, v > 0, v <= 86_400
            else { return nil }
            return v
        }
    }

    /// Whether a message is Lambda runtime output: a platform line (`START`/`END`/`REPORT RequestId:`)
    /// or a Node.js/Python line with its time and request id (`2026-…Z\t<uuid>\tINFO\t…`).
    static func isLambdaOutput(_ message: String) -> Bool {
        var message = message
        return message.withUTF8 { b in
            if ByteText.hasPrefix(b, "START RequestId: ") || ByteText.hasPrefix(b, "REPORT RequestId: ")
                || ByteText.hasPrefix(b, "END RequestId: ") { return true }
            guard let first = b.first, ByteText.isDigit(first) || first == UInt8(ascii: "[") else { return false }
            let lineEnd = ByteText.find(b, "\n", from: 0) ?? b.count
            guard let app = LambdaText.appLine(ByteText.slice(b, 0, lineEnd)) else { return false }
            return app.time != nil && app.requestIDRange != nil
        }
    }

    /// Lambda runtime output in a Vercel record: each line as the Lambda text decoder reads it (the
    /// REPORT's cold start and duration, each app line's time, level and JSON), lines in no such shape
    /// continuing the line before. Every event keeps the record's request id, trace, route and status;
    /// Lambda's own request id is kept as `lambda_request_id`. See
    /// `Fixtures/vercel/lambda-output.input` for the shapes (Logflare's Vercel parser tests).
    private mutating func mapLambdaOutput(_ message: String, base: Event, source: SourceID,
                                          context: inout DecodeContext, into events: inout [Event]) -> Int {
        var message = message
        let scope = PlatformScope(service: base.service, instance: base.instance, deploy: base.deploy ?? .serverless,
                                  platform: "vercel", runtime: base.runtime, region: base.region)
        var out: [Event] = []
        var firstAppTime: Timestamp?
        message.withUTF8 { all in
            var s = 0
            while s < all.count {
                let nl = ByteText.find(all, "\n", from: s) ?? all.count
                let line = ByteText.slice(all, s, ByteText.trimmedEnd(all, s, nl))
                s = nl + 1
                if line.isEmpty { continue }
                if ByteText.hasPrefix(line, "START RequestId: ") {
                    var e = scope.event(base.time, .requestStart, source: source)
                    e.requestID = LambdaText.token(after: "RequestId: ", in: line)
                    e.message = String(decoding: line, as: UTF8.self)
                    out.append(e)
                } else if ByteText.hasPrefix(line, "END RequestId: ") {
                    continue
                } else if ByteText.hasPrefix(line, "REPORT RequestId: ") {
                    let time = max(base.time, out.last?.time ?? base.time)
                    out.append(contentsOf: LambdaText.report(line, scope: scope, time: time, source: source))
                } else if let app = LambdaText.appLine(line), app.time != nil || app.requestIDRange != nil {
                    var e = scope.event(app.time ?? base.time, .log, level: app.level ?? base.level, source: source)
                    if let t = app.time { firstAppTime = min(firstAppTime ?? t, t) }
                    if let r = app.requestIDRange { e.requestID = ByteText.string(line, r.lowerBound, r.upperBound) }
                    let text = ByteText.slice(line, app.messageStart, line.count)
                    if !EmbeddedJSON.mergeIfJSON(bytes: text, tape: &tape, into: &e, context: &context) {
                        e.message = String(decoding: text, as: UTF8.self)
                    }
                    if let t = app.time { e.time = t }
                    out.append(e)
                } else if LambdaText.isWholeJSONObject(line) {
                    var e = scope.event(base.time, .log, level: base.level, source: source)
                    if !EmbeddedJSON.mergeIfJSON(bytes: line, tape: &tape, into: &e, context: &context) {
                        e.message = String(decoding: line, as: UTF8.self)
                    }
                    out.append(e)
                } else if let i = out.indices.last, out[i].kind == .log {
                    // A multi-line message (a stack, an object Node printed over lines) continues.
                    PlatformEvent.appendLine(line, to: &out[i])
                } else {
                    var e = scope.event(base.time, .log, level: base.level, source: source)
                    e.message = String(decoding: line, as: UTF8.self)
                    out.append(e)
                }
            }
        }
        // The record's time is when the message was sent, at the invocation's end: it started no later
        // than its first line, and its REPORT's duration before the REPORT.
        var started = firstAppTime
        if let end = out.last(where: { $0.kind == .requestEnd }), let d = end.durationMS, d >= 0, d <= Timestamp.maxDurationMS {
            let t = end.time.adding(ms: -d)
            started = min(started ?? t, t)
        }
        if let started {
            for i in out.indices where out[i].kind == .requestStart { out[i].time = min(out[i].time, started) }
        }
        // Changed in place, then moved out in order (iterating would copy each event, and appending a
        // loop variable copy it again).
        for i in out.indices {
            if let lambdaID = out[i].requestID { out[i].attributes.append(Attribute("lambda_request_id", lambdaID)) }
            out[i].requestID = base.requestID ?? out[i].requestID
            out[i].traceID = base.traceID ?? out[i].traceID
            out[i].spanID = base.spanID ?? out[i].spanID
            out[i].route = base.route ?? out[i].route
            out[i].method = base.method ?? out[i].method
            out[i].status = base.status ?? out[i].status
            out[i].attributes.append(contentsOf: base.attributes)
        }
        let n = out.count
        out.reverse()
        while let e = out.popLast() { PlatformEvent.emit(e, into: &events) }
        return n
    }
}

extension ByteText {
    static func hasPrefixString(_ s: String, _ p: StaticString) -> Bool {
        var s = s
        return s.withUTF8 { hasPrefix($0, p) }
    }
}
