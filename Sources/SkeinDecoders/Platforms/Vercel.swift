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

    static func isRecord(_ doc: JSONDocument, _ obj: Int) -> Bool {
        let keys = PlatformKeys(doc, obj)
        return keys.contains(.deploymentId) && !keys.isDisjoint(with: [.source, .projectId])
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

    private mutating func map(_ doc: JSONDocument, _ obj: Int, source: SourceID, context: inout DecodeContext,
                     into events: inout [Event]) -> Int {
        func str(_ key: StaticString) -> String? { doc.member(obj, key).flatMap { doc.nonEmptyString($0) } }
        let proxy = doc.member(obj, "proxy").flatMap { doc.kind($0) == .object ? $0 : nil }
        func proxyStr(_ key: StaticString) -> String? { proxy.flatMap { doc.member($0, key) }.flatMap { doc.nonEmptyString($0) } }
        guard let t = doc.member(obj, "timestamp").flatMap({ LambdaJSONMapping.time(doc, $0) })
            ?? proxy.flatMap({ doc.member($0, "timestamp") }).flatMap({ LambdaJSONMapping.time(doc, $0) }) else {
            return 0
        }
        let src = str("source")
        var e = Event(time: t, source: source, platform: "vercel")
        switch src {
        case "lambda": e.deploy = .serverless
        case "edge", "middleware": e.deploy = .edge
        case "static", "external", "firewall", "redirect": e.deploy = .edge
        default: break
        }
        if let p = str("projectName") ?? str("projectId") { e.service = context.interner.intern(p) }
        if let r = str("executionRegion") ?? proxyStr("region") { e.region = context.interner.intern(r) }
        if let l = str("level"), let level = Level(name: l) { e.level = level }
        if str("type") == "stderr", e.level < .warn, str("level") == nil { e.level = .warn }
        e.requestID = str("requestId")
        if let tr = str("traceId") {
            if let w3c = PlatformIDs.normalisedTraceID(tr) { e.traceID = w3c } else { e.attributes.append(Attribute("traceId", tr)) }
        }
        if let sp = str("spanId") { e.spanID = PlatformIDs.normalisedSpanID(sp) }
        if let path = str("path") ?? proxyStr("path") { e.route = context.interner.intern(EmbeddedJSON.pathOnly(path)) }
        if let m = proxyStr("method") { e.method = context.interner.intern(m) }
        let proxyStatus = proxy.flatMap { doc.member($0, "statusCode") }.flatMap { doc.int($0) }
        if let status = doc.member(obj, "statusCode").flatMap({ doc.int($0) }), status != -1 {
            e.status = status
        } else if doc.member(obj, "statusCode").flatMap({ doc.int($0) }) == -1 {
            // Vercel: `statusCode: -1` means no response was returned, the function crashed.
            e.level = max(e.level, .error)
            e.attributes.append(Attribute("outcome", "crashed"))
        } else if let proxyStatus, proxyStatus != -1 {
            // (`proxy.statusCode: -1` is a background revalidation, not a response.)
            e.status = proxyStatus
        }
        for (key, value) in [("source", src), ("type", str("type")), ("deploymentId", str("deploymentId")),
                             ("host", str("host")), ("entrypoint", str("entrypoint")), ("environment", str("environment")),
                             ("id", str("id")), ("vercelCache", proxyStr("vercelCache")), ("clientIp", proxyStr("clientIp"))] {
            if let value { e.attributes.append(Attribute(key, value)) }
        }
        if let message = str("message") {
            if ByteText.hasPrefixString(message, "REPORT RequestId: ") || ByteText.hasPrefixString(message, "START RequestId: ") {
                // A Vercel Function runs on Lambda; its REPORT line carries the cold start.
                return mapLambdaLine(message, base: e, source: source, into: &events)
            }
            if !EmbeddedJSON.mergeIfJSON(message, tape: &tape, into: &e, context: &context) { e.message = message }
            if let rid = e.requestID, e.correlationID == rid { e.correlationID = nil }
        } else if proxy != nil {
            // A request record without output: the proxy's view of one request.
            e.kind = .requestEnd
            e.message = [e.method, e.route, e.status.map(String.init)].compactMap { $0 }.joined(separator: " ")
        }
        PlatformEvent.emit(e, into: &events)
        return 1
    }

    private func mapLambdaLine(_ message: String, base: Event, source: SourceID, into events: inout [Event]) -> Int {
        var message = message
        return message.withUTF8 { b in
            let scope = PlatformScope(service: base.service, instance: base.instance, deploy: base.deploy ?? .serverless,
                                      platform: "vercel", runtime: base.runtime, region: base.region)
            var out: [Event]
            if ByteText.hasPrefix(b, "REPORT RequestId: ") {
                out = LambdaText.report(b, scope: scope, time: base.time, source: source)
            } else {
                var s = scope.event(base.time, .requestStart, source: source)
                s.message = String(decoding: b, as: UTF8.self)
                out = [s]
            }
            for var e in out {
                if let lambdaID = e.requestID { e.attributes.append(Attribute("lambda_request_id", lambdaID)) }
                e.requestID = base.requestID ?? e.requestID
                e.traceID = base.traceID
                e.spanID = base.spanID
                e.route = base.route
                e.method = base.method
                e.status = base.status
                e.attributes.append(contentsOf: base.attributes)
                PlatformEvent.emit(e, into: &events)
            }
            return out.count
        }
    }
}

extension ByteText {
    static func hasPrefixString(_ s: String, _ p: StaticString) -> Bool {
        var s = s
        return s.withUTF8 { hasPrefix($0, p) }
    }
}
