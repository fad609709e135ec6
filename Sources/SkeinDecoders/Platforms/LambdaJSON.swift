import SkeinCore

/// AWS Lambda's JSON log format (`LoggingConfig.LogFormat = JSON`): the app's records
/// (`timestamp`, `level`, `requestId`, `message`, extra keys) and the platform's `platform.*`
/// records (`time`, `type`, `record`), as Lambda writes them to CloudWatch.
public struct LambdaJSONLineDecoder: JSONRecordDecoder {
    public let name = "aws-lambda-json"

    public init() {}

    public var signatureKeys: [StaticString]? { ["record", "requestId", "AWSRequestId"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        LambdaJSONMapping.recognises(doc, doc.root)
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        var scope = LambdaJSONMapping.scope(from: context)
        return LambdaJSONMapping.map(doc, doc.root, scope: &scope, fallbackTime: nil, source: source,
                                     context: &context, into: &events)
    }
}

/// The mapping of one Lambda JSON record, shared by the JSON decoder and the text and CloudWatch
/// decoders (which meet the same records inside `aws logs tail` lines and subscription payloads).
enum LambdaJSONMapping {
    static let functionFact = "lambda.function"
    static let runtimeFact = "lambda.runtime"
    static let regionFact = "lambda.region"

    /// A platform record (`type: platform.*` with `time` and `record`), or an app record with
    /// Lambda's own four keys (`timestamp`, `level`, `requestId`, `message`; the Java runtime's
    /// JSON format, `LambdaLogger` and `aws-lambda-java-log4j2`, names the id `AWSRequestId`).
    static func recognises(_ doc: JSONDocument, _ obj: Int) -> Bool {
        let keys = PlatformKeys(doc, obj)
        if keys.isSuperset(of: [.time, .type, .record]) {
            guard let t = doc.member(obj, "type"), doc.kind(t) == .string else { return false }
            return ByteText.hasPrefix(doc.raw(t), "platform.") || doc.keyEquals(t, "function") || doc.keyEquals(t, "extension")
        }
        return keys.isSuperset(of: [.timestamp, .level, .requestId, .message]) && !keys.contains(.deploymentId)
    }

    static func scope(from context: DecodeContext) -> PlatformScope {
        PlatformScope(service: context.facts[functionFact], instance: nil, deploy: .serverless, platform: "aws-lambda",
                      runtime: context.facts[runtimeFact], region: context.facts[regionFact])
    }

    static func string(_ doc: JSONDocument, _ obj: Int, _ key: StaticString) -> String? {
        doc.member(obj, key).flatMap { doc.nonEmptyString($0) }
    }

    static func time(_ doc: JSONDocument, _ node: Int) -> Timestamp? {
        switch doc.kind(node) {
        case .string: return PlatformTime.parseValue(doc.raw(node))
        case .number: return doc.double(node).flatMap(PlatformTime.epoch)
        default: return nil
        }
    }

    static func map(_ doc: JSONDocument, _ obj: Int, scope: inout PlatformScope, fallbackTime: Timestamp?,
                    source: SourceID, context: inout DecodeContext, into events: inout [Event]) -> DecodeOutcome {
        if let typeNode = doc.member(obj, "type"), let recordNode = doc.member(obj, "record") {
            let t = doc.member(obj, "time").flatMap { time(doc, $0) } ?? fallbackTime
            guard let t else { return .malformed(.missingFields) }
            return mapPlatform(doc, type: typeNode, record: recordNode, time: t, scope: &scope, source: source,
                               context: &context, into: &events)
        }
        let t = doc.member(obj, "timestamp").flatMap { time(doc, $0) } ?? fallbackTime
        guard let t else { return .malformed(.missingFields) }
        var e = scope.event(t, source: source)
        // Node.js logs `undefined` (Python `None`) for lines written during init, before any request.
        let rawRequestID = string(doc, obj, "requestId") ?? string(doc, obj, "AWSRequestId")
        let requestID = rawRequestID.flatMap { $0 == "undefined" || $0 == "None" ? nil : $0 }
        // The record's extra keys are the app's (`logger`, `errorType`, its own ids): the convention's names apply.
        EmbeddedJSON.merge(doc, obj, into: &e, context: &context)
        e.time = t
        if let m = doc.member(obj, "message") {
            switch doc.kind(m) {
            case .object:
                // console.log(object) under the JSON format logs the object itself as `message`.
                e.attributes.removeAll { $0.key.hasPrefix("message.") }
                e.message = nil
                EmbeddedJSON.merge(doc, m, into: &e, context: &context)
                if e.message == nil { e.message = doc.string(m) }
            case .string:
                let text = doc.string(m)
                var scratch = JSONTape(maxDepth: 32, maxNodes: 4096)
                if EmbeddedJSON.mergeIfJSON(text, tape: &scratch, into: &e, context: &context) { e.time = t }
            default:
                break
            }
        }
        if let raw = rawRequestID {
            if e.correlationID == raw { e.correlationID = nil }
            if e.requestID == raw { e.requestID = nil }
        }
        if let requestID { e.requestID = requestID }
        PlatformEvent.emit(e, into: &events)
        return .events(1)
    }

    private static func mapPlatform(_ doc: JSONDocument, type typeNode: Int, record: Int, time t: Timestamp,
                                    scope: inout PlatformScope, source: SourceID, context: inout DecodeContext,
                                    into events: inout [Event]) -> DecodeOutcome {
        let type = doc.string(typeNode)
        if type == "function" || type == "extension" {
            // The telemetry API's own envelope around an app line: `record` is the line.
            var e = scope.event(t, source: source)
            if doc.kind(record) == .string {
                let text = doc.string(record)
                var scratch = JSONTape(maxDepth: 32, maxNodes: 4096)
                if !EmbeddedJSON.mergeIfJSON(text, tape: &scratch, into: &e, context: &context) { e.message = text }
            } else {
                EmbeddedJSON.merge(doc, record, into: &e, context: &context)
            }
            PlatformEvent.emit(e, into: &events)
            return .events(1)
        }
        guard doc.kind(record) == .object else { return .malformed(.missingFields) }
        let requestID = string(doc, record, "requestId")
        let status = string(doc, record, "status")
        let errorType = string(doc, record, "errorType")
        var traceID: String?
        var parentSpan: String?
        if let tv = doc.member(record, path: ["tracing", "value"]), let v = doc.nonEmptyString(tv) {
            let h = PlatformIDs.amznTraceHeader(v)
            traceID = h.traceID
            parentSpan = h.parent
        }
        func base(_ kind: EventKind, _ level: Level = .info) -> Event {
            var e = scope.event(t, kind, level: level, source: source)
            e.requestID = requestID
            e.traceID = traceID
            e.parentSpanID = parentSpan
            return e
        }
        func statusAttributes(_ e: inout Event) {
            guard let status, status != "success" else { return }
            e.level = max(e.level, .error)
            e.attributes.append(Attribute("outcome", status))
            if let errorType { e.attributes.append(Attribute("errorType", errorType)) }
        }
        let metric: (StaticString) -> Double? = { key in
            doc.member(record, path: ["metrics", key]).flatMap { doc.double($0) }
        }
        switch type {
        case "platform.initStart", "platform.restoreStart":
            if let fn = string(doc, record, "functionName") {
                scope.service = context.interner.intern(fn)
                context.facts[functionFact] = scope.service
            }
            if let rv = string(doc, record, "runtimeVersion") {
                scope.runtime = context.interner.intern(PlatformEvent.runtimeName(rv))
                context.facts[runtimeFact] = scope.runtime
            }
            if let arn = string(doc, record, "runtimeVersionArn"), let region = LambdaText.region(fromARN: arn) {
                scope.region = context.interner.intern(region)
                context.facts[regionFact] = scope.region
            }
            var e = base(.log)
            e.service = scope.service
            e.runtime = scope.runtime
            e.region = scope.region
            // (`platform.restoreStart`, SnapStart's, has no `initializationType`: it is `snap-start`.)
            let initType = string(doc, record, "initializationType") ?? (type == "platform.restoreStart" ? "snap-start" : "on-demand")
            // Messages read like the text format's lines, so both formats look alike downstream.
            let word = type == "platform.restoreStart" ? "RESTORE_START" : "INIT_START"
            e.message = "\(word) Runtime Version: \(string(doc, record, "runtimeVersion") ?? "?") Initialization Type: \(initType)"
            e.attributes.append(Attribute("initializationType", initType))
            if let phase = string(doc, record, "phase") { e.attributes.append(Attribute("phase", phase)) }
            PlatformEvent.emit(e, into: &events)
            return .events(1)
        case "platform.start":
            var e = base(.requestStart)
            e.message = "START RequestId: \(requestID ?? "?")" + (string(doc, record, "version").map { " Version: \($0)" } ?? "")
            if let v = string(doc, record, "version") { e.attributes.append(Attribute("version", v)) }
            PlatformEvent.emit(e, into: &events)
            return .events(1)
        case "platform.runtimeDone":
            var e = base(.log, .debug)
            e.message = "PLATFORM runtimeDone RequestId: \(requestID ?? "?") Status: \(status ?? "?")"
            if let d = metric("durationMs") { e.attributes.append(Attribute("runtime_ms", format(d))) }
            statusAttributes(&e)
            PlatformEvent.emit(e, into: &events)
            return .events(1)
        case "platform.report":
            var n = 0
            // SnapStart: the restore (`restoreDurationMs`) is the cold start, as in the text REPORT.
            let restoreMS = metric("restoreDurationMs")
            let initMS = metric("initDurationMs") ?? restoreMS
            if let initMS {
                var s = base(.instanceStart)
                s.initMS = initMS
                s.coldStart = true
                s.message = metric("initDurationMs") == nil ? LambdaText.restoreColdStartMessage(initMS) : LambdaText.coldStartMessage(initMS)
                PlatformEvent.emit(s, into: &events)
                n += 1
            }
            var e = base(.requestEnd)
            e.durationMS = metric("durationMs")
            e.initMS = initMS
            e.coldStart = initMS != nil ? true : nil
            var text = "REPORT RequestId: \(requestID ?? "?")"
            if let v = e.durationMS { text += " Duration: \(format(v)) ms" }
            if let v = metric("billedDurationMs") {
                e.attributes.append(Attribute("billed_ms", format(v)))
                text += " Billed Duration: \(format(v)) ms"
            }
            if let v = metric("memorySizeMB") {
                e.attributes.append(Attribute("memory_mb", format(v)))
                text += " Memory Size: \(format(v)) MB"
            }
            if let v = metric("maxMemoryUsedMB") {
                e.attributes.append(Attribute("max_memory_used_mb", format(v)))
                text += " Max Memory Used: \(format(v)) MB"
            }
            if let v = metric("initDurationMs") { text += " Init Duration: \(format(v)) ms" }
            if let v = restoreMS {
                e.attributes.append(Attribute("restore_ms", format(v)))
                text += " Restore Duration: \(format(v)) ms"
            }
            if let status { text += " Status: \(status)" }
            e.message = text
            statusAttributes(&e)
            PlatformEvent.emit(e, into: &events)
            return .events(n + 1)
        case "platform.initRuntimeDone", "platform.initReport", "platform.restoreRuntimeDone", "platform.restoreReport":
            var e = base(.log, .debug)
            // `platform.initRuntimeDone` → `INIT_RUNTIME_DONE`, as Lambda's own text names these phases.
            e.message = Self.upperSnake(type.dropFirst("platform.".count)) + (status.map { " Status: \($0)" } ?? "")
            if let d = metric("durationMs") { e.attributes.append(Attribute("duration_ms", format(d))) }
            statusAttributes(&e)
            PlatformEvent.emit(e, into: &events)
            return .events(1)
        default:
            var e = base(.log, .debug)
            e.message = "PLATFORM \(type)"
            PlatformEvent.emit(e, into: &events)
            return .events(1)
        }
    }

    /// `initRuntimeDone` → `INIT_RUNTIME_DONE`.
    static func upperSnake(_ s: Substring) -> String {
        var out = ""
        for c in s {
            if c.isUppercase { out += "_" }
            out += c.uppercased()
        }
        return out
    }

    static func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }
}
