import SkeinCore

/// Cloudflare Workers invocations: `wrangler tail --format json` records (camelCase: `outcome`,
/// `scriptName`, `eventTimestamp`, `event.request`, `logs`, `exceptions`) and Workers Trace Events
/// Logpush records (PascalCase: `Outcome`, `ScriptName`, `EventTimestampMs`, `Event.RayID`,
/// `Logs`, `Exceptions`, `CPUTimeMs`, `WallTimeMs`).
///
/// One invocation becomes `request.start`, one event per `console.*` call and uncaught exception,
/// and `request.end` carrying the outcome; all carry the Ray id (`requestID`) and, when the
/// request had them, the forwarded `x-request-id` and `traceparent`, so the engine links the edge
/// hop to the origin's.
public struct CloudflareWorkersDecoder: JSONRecordDecoder {
    public let name = "cloudflare-workers"
    private var tape = JSONTape(maxDepth: 64, maxNodes: 1 << 16)

    public init() {}

    public var signatureKeys: [StaticString]? { ["outcome", "Outcome"] }

    /// One of these must come with `outcome` (a constant: an array literal would be built per line).
    private static let alongsideOutcome = PlatformKeys(rawValue: PlatformKeys.scriptName.rawValue | PlatformKeys.eventTimestamp.rawValue)

    public func matches(_ doc: JSONDocument) -> Bool {
        let keys = PlatformKeys(doc, doc.root)
        return keys.contains(.outcome) && !keys.isDisjoint(with: Self.alongsideOutcome)
    }

    /// The two spellings of one field.
    private struct Keys {
        let pascal: Bool
        func member(_ doc: JSONDocument, _ obj: Int, _ camel: StaticString, _ pascalName: StaticString) -> Int? {
            doc.member(obj, pascal ? pascalName : camel) ?? doc.member(obj, pascal ? camel : pascalName)
        }
    }

    /// The record's top-level members `decode` reads, in both spellings (the first of each name, as
    /// `member` finds them), found in one pass instead of one pass per name.
    private struct RootMembers {
        var outcome: Int?, Outcome: Int?, eventTimestamp: Int?, EventTimestampMs: Int?, scriptName: Int?
        var ScriptName: Int?, event: Int?, Event: Int?, cpuTime: Int?, CPUTimeMs: Int?, wallTime: Int?
        var WallTimeMs: Int?, logs: Int?, Logs: Int?, exceptions: Int?, Exceptions: Int?, EventType: Int?
        var scriptVersion: Int?, ScriptVersion: Int?, durableObjectId: Int?

        init(_ doc: JSONDocument, _ root: Int) {
            doc.forEachMember(root) { k, v in
                let key = doc.raw(k)
                guard !key.isEmpty, !doc.tape.node(k).flag else { return }
                @inline(__always) func take(_ slot: inout Int?, _ name: StaticString) {
                    if slot == nil, ByteText.equal(key, name) { slot = v }
                }
                switch key.count {
                case 4: take(&logs, "logs"); take(&Logs, "Logs")
                case 5: take(&event, "event"); take(&Event, "Event")
                case 7: take(&outcome, "outcome"); take(&Outcome, "Outcome"); take(&cpuTime, "cpuTime")
                case 8: take(&wallTime, "wallTime")
                case 9: take(&CPUTimeMs, "CPUTimeMs"); take(&EventType, "EventType")
                case 10:
                    take(&scriptName, "scriptName"); take(&ScriptName, "ScriptName")
                    take(&exceptions, "exceptions"); take(&Exceptions, "Exceptions"); take(&WallTimeMs, "WallTimeMs")
                case 13: take(&scriptVersion, "scriptVersion"); take(&ScriptVersion, "ScriptVersion")
                case 14: take(&eventTimestamp, "eventTimestamp")
                case 15: take(&durableObjectId, "durableObjectId")
                case 16: take(&EventTimestampMs, "EventTimestampMs")
                default: break
                }
            }
        }
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let root = doc.root
        let r = RootMembers(doc, root)
        let keys = Keys(pascal: r.Outcome != nil)
        /// `keys.member(doc, root, camel, pascal)` from the one pass.
        func pick(_ camel: Int?, _ pascal: Int?) -> Int? { keys.pascal ? pascal ?? camel : camel ?? pascal }
        // `eventTimestamp` may be null (the tail API types it `number | null`): then the first log's time.
        let timeNode = pick(r.eventTimestamp, r.EventTimestampMs)
        guard let start = timeNode.flatMap({ LambdaJSONMapping.time(doc, $0) }) ?? firstTime(doc, root, keys) else {
            return .malformed(.missingFields)
        }

        var scope = PlatformScope(deploy: .edge, platform: "cloudflare-workers", runtime: "workerd")
        if let s = PlatformEvent.interned(doc, pick(r.scriptName, r.ScriptName), &context) {
            scope.service = s
        }
        // A Durable Object's invocations (Tail Workers' `TraceItem.durableObjectId`) run in that one object.
        if let id = PlatformEvent.interned(doc, r.durableObjectId, &context) { scope.instance = id }
        var base = scope.event(start, source: source)
        let outcome = pick(r.outcome, r.Outcome).flatMap { doc.nonEmptyString($0) } ?? "unknown"

        // The triggering event: a fetch (request/response), a cron, a queue batch, an alarm.
        let eventNode = pick(r.event, r.Event)
        if let ev = eventNode, doc.kind(ev) == .object {
            if let ray = keys.member(doc, ev, "rayId", "RayID").flatMap({ doc.nonEmptyString($0) }) {
                base.requestID = RequestHeaderIDs.rayID(ray)
            }
            if let req = keys.member(doc, ev, "request", "Request"), doc.kind(req) == .object {
                if let url = keys.member(doc, req, "url", "URL").flatMap({ doc.nonEmptyString($0) }) {
                    base.route = EmbeddedJSON.internedPath(url, &context.interner)
                    base.attributes.append(Attribute("url", url))
                }
                if let m = PlatformEvent.interned(doc, keys.member(doc, req, "method", "Method"), &context) {
                    base.method = m
                }
                if let h = keys.member(doc, req, "headers", "Headers") { RequestHeaderIDs.scan(doc, headers: h, into: &base) }
                if let colo = PlatformEvent.interned(doc, doc.member(req, "cf").flatMap { doc.member($0, "colo") }, &context) {
                    base.region = colo
                }
            } else if let cron = keys.member(doc, ev, "cron", "Cron").flatMap({ doc.nonEmptyString($0) }) {
                base.route = context.interner.intern("cron \(cron)")
            } else if let queue = keys.member(doc, ev, "queue", "Queue").flatMap({ doc.nonEmptyString($0) }) {
                base.route = context.interner.intern("queue \(queue)")
            } else if keys.member(doc, ev, "scheduledTime", "ScheduledTimeMs") != nil {
                // A Durable Object alarm (`TraceItemAlarmEventInfo`: a scheduled time, no cron).
                base.route = context.interner.intern("alarm")
            }
        }
        if base.route == nil, let type = PlatformEvent.interned(doc, r.EventType, &context) {
            base.route = type
        }
        let status = eventNode
            .flatMap { keys.member(doc, $0, "response", "Response") }
            .flatMap { keys.member(doc, $0, "status", "Status") }
            .flatMap { doc.int($0) }
        let cpu = pick(r.cpuTime, r.CPUTimeMs).flatMap { doc.double($0) }
        let wall = pick(r.wallTime, r.WallTimeMs).flatMap { doc.double($0) }
        if let v = r.scriptVersion.flatMap({ doc.member($0, "id") }) ?? r.ScriptVersion.flatMap({ doc.member($0, "ID") }),
           let s = doc.nonEmptyString(v) {
            base.attributes.append(Attribute("script_version", s))
        }

        // Each event is built in place at the end of `events` (one copy of `base` each; building a
        // local and appending it would copy it once more and destroy the local).
        var produced = 0
        var k = events.count
        events.append(base)
        events[k].kind = .requestStart
        let what: String
        switch (base.method, base.route) {
        case let (m?, r?): what = m + " " + r
        case let (m?, nil): what = m
        case let (nil, r?): what = r
        case (nil, nil): what = ""
        }
        events[k].message = what.isEmpty ? nil : what
        DBErrorClassifier.apply(to: &events[k])
        produced += 1
        var last = start

        if let logs = pick(r.logs, r.Logs), doc.kind(logs) == .array {
            var item = logs + 1
            let stop = doc.next(logs)
            while item < stop {
                defer { item = doc.next(item) }
                guard doc.kind(item) == .object else { continue }
                k = events.count
                events.append(base)
                events[k].attributes = []
                let time = keys.member(doc, item, "timestamp", "TimestampMs").flatMap { LambdaJSONMapping.time(doc, $0) } ?? start
                events[k].time = time
                last = max(last, time)
                if let l = keys.member(doc, item, "level", "Level"), let level = PlatformLevel.named(doc, l) {
                    events[k].level = level
                }
                if let m = keys.member(doc, item, "message", "Message") {
                    logMessage(doc, m, into: &events[k], context: &context)
                }
                DBErrorClassifier.apply(to: &events[k])
                produced += 1
            }
        }
        if let exceptions = pick(r.exceptions, r.Exceptions), doc.kind(exceptions) == .array {
            var item = exceptions + 1
            let stop = doc.next(exceptions)
            while item < stop {
                defer { item = doc.next(item) }
                guard doc.kind(item) == .object else { continue }
                k = events.count
                events.append(base)
                events[k].attributes = [Attribute("outcome", "exception")]
                events[k].level = .error
                let time = keys.member(doc, item, "timestamp", "TimestampMs").flatMap { LambdaJSONMapping.time(doc, $0) } ?? start
                events[k].time = time
                last = max(last, time)
                let n = keys.member(doc, item, "name", "Name").flatMap { doc.nonEmptyString($0) } ?? "Error"
                let m = keys.member(doc, item, "message", "Message").flatMap { doc.nonEmptyString($0) } ?? ""
                events[k].message = "\(n): \(m)"
                DBErrorClassifier.apply(to: &events[k])
                produced += 1
            }
        }

        // The last event is `base` itself, swapped in for a blank (no copy of its strings).
        k = events.count
        events.append(PlatformScope.blank)
        swap(&events[k], &base)
        PlatformEvent.finishEnd(&events[k], start: start, last: last, wall: wall, cpu: cpu, status: status, outcome: outcome)
        produced += 1
        return .events(produced)
    }
}

extension PlatformEvent {
    /// A Workers invocation's `request.end`, filled in from its outcome, then classified.
    static func finishEnd(_ end: inout Event, start: Timestamp, last: Timestamp, wall: Double?, cpu: Double?,
                          status: Int?, outcome: String) {
        end.kind = .requestEnd
        // A wall time that is no duration (negative, or past `Timestamp.maxDurationMS`, the bound the
        // engine holds any duration to: `"WallTimeMs":1e300` once trapped here) is left out.
        let wall = wall.flatMap { $0 >= 0 && $0 <= Timestamp.maxDurationMS ? $0 : nil }
        // The invocation cannot end before its last log: wall time and log times are rounded apart.
        end.time = max(wall.map { start.adding(ms: $0) } ?? last, last)
        end.durationMS = wall
        end.cpuMS = cpu
        end.status = status
        end.attributes.append(Attribute("outcome", outcome))
        switch outcome {
        case "ok":
            break
        case "exceededCpu", "exceededMemory", "exceededResources":
            // The isolate was killed over a limit; the client got Cloudflare's 1102 error page (503).
            end.level = .error
            if end.status == nil { end.status = 503 }
        case "exception", "scriptNotFound", "internalError", "killSwitch", "loadShed", "daemonDown":
            end.level = .error
            if end.status == nil { end.status = 500 }
        case "canceled", "responseStreamDisconnected":
            end.level = .warn
        default:
            end.level = .warn
        }
        end.message = status.map { outcome + " " + String($0) } ?? outcome
        DBErrorClassifier.apply(to: &end)
    }
}

extension CloudflareWorkersDecoder {

    private func firstTime(_ doc: JSONDocument, _ root: Int, _ keys: Keys) -> Timestamp? {
        var first: Timestamp?
        for list in [keys.member(doc, root, "logs", "Logs"), keys.member(doc, root, "exceptions", "Exceptions")] {
            guard let list else { continue }
            doc.forEachElement(list) { item in
                if let t = keys.member(doc, item, "timestamp", "TimestampMs").flatMap({ LambdaJSONMapping.time(doc, $0) }) {
                    first = min(first ?? t, t)
                }
            }
        }
        return first
    }

    /// A `console.*` call's arguments: strings joined by spaces; a lone object (or a string that is
    /// one) is an app's structured record and is mapped with the convention's names.
    private mutating func logMessage(_ doc: JSONDocument, _ m: Int, into e: inout Event, context: inout DecodeContext) {
        guard doc.kind(m) == .array else {
            let text = doc.string(m)
            if !EmbeddedJSON.mergeIfJSON(text, tape: &tape, into: &e, context: &context) { e.message = text }
            return
        }
        var single: Int?
        var count = 0
        doc.forEachElement(m) { item in
            count += 1
            single = item
        }
        if count == 1, let item = single, doc.kind(item) != .object {
            // The usual `console.log("one string")`: its text is the message (no list, no join).
            let text = doc.string(item)
            if doc.kind(item) == .string, EmbeddedJSON.mergeIfJSON(text, tape: &tape, into: &e, context: &context) { return }
            e.message = text
            return
        }
        var parts: [String] = []
        parts.reserveCapacity(count)
        doc.forEachElement(m) { parts.append(doc.string($0)) }
        if count == 1, let item = single {
            if doc.kind(item) == .object {
                EmbeddedJSON.merge(doc, item, into: &e, context: &context)
                if e.message == nil { e.message = doc.string(item) }
                return
            }
            if doc.kind(item) == .string, EmbeddedJSON.mergeIfJSON(parts[0], tape: &tape, into: &e, context: &context) { return }
        }
        e.message = parts.joined(separator: " ")
        // `console.log("ws message from", {room, requestId})`: the objects' fields count too.
        doc.forEachElement(m) { item in
            guard doc.kind(item) == .object else { return }
            let text = e.message
            EmbeddedJSON.merge(doc, item, into: &e, context: &context)
            e.message = text
        }
    }
}
