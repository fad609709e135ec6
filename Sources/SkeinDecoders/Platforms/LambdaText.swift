import SkeinCore

/// AWS Lambda's plain-text logs as CloudWatch stores them and `aws logs tail` prints them (`detailed`
/// and `short` formats; SAM's stream-first lines):
/// the platform lines (`INIT_START`, `START`, `END`, `REPORT`, `XRAY`, `INIT_REPORT`), the Node.js
/// runtime's app lines (`<time>\t<requestId>\t<LEVEL>\t<message>`), Python's
/// (`[LEVEL]\t<time>\t<requestId>\t<message>`), timeouts and multi-line messages; also CloudWatch
/// Logs subscription payloads and Lambda JSON-format records met in the same stream.
public struct LambdaTextDecoder: TextFrameDecoder {
    public let name = "aws-lambda"
    var lines = LambdaLineMapper()
    /// Used when the decoder runs on its own (not inside an `AutoDecoder`, which shares its context).
    var ownContext = DecodeContext()
    var tape = JSONTape()
    var cloudWatch = CloudWatchLogsDecoder()
    /// The last frame `continueFrame` found to start with an `aws logs tail` prefix (a time, then a
    /// log stream like `…/fn[$LATEST]…`), which `recognises` accepts: the auto-detector asks
    /// `recognises` about that same frame next, and a byte compare is cheaper than parsing it again.
    /// A reference, since `recognises` cannot mutate; any copy's answer for equal bytes is the same.
    private let recognised = RememberedLine<Void>()

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        recognised.result(for: frame) != nil || LambdaText.recognises(frame)
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                into events: inout [Event]) -> DecodeOutcome {
        var context = ownContext
        defer { ownContext = context }
        let s = ByteText.skipSpaces(frame, 0)
        if s < frame.count, frame[s] == UInt8(ascii: "{"), !lines.holdsMultiLineMessage {
            // On its own the decoder also reads CloudWatch subscription payloads (inside an `AutoDecoder`
            // they go to `CloudWatchLogsDecoder` directly). JSON-format records are lines like any other.
            do throws(JSONTape.Failure) {
                try tape.parse(frame)
                let doc = JSONDocument(tape: tape, bytes: frame)
                if cloudWatch.matches(doc) {
                    var out = 0
                    lines.flush(into: &events, count: &out)
                    let outcome = cloudWatch.decode(doc, source: source, context: &context, into: &events)
                    if case .events(let n) = outcome { return .events(n + out) }
                    return out > 0 ? .events(out) : outcome
                }
            } catch {
                // Not a whole JSON value: an ordinary line that happens to start with a brace.
            }
        }
        return lines.decode(frame, source: source, context: &context, into: &events)
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        lines.decode(frame, source: source, context: &context, into: &events)
    }

    public mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                       context: inout DecodeContext, into events: inout [Event]) -> Bool {
        continuation(frame, context: &context, into: &events) != nil
    }

    private mutating func continuation(_ frame: UnsafeBufferPointer<UInt8>, context: inout DecodeContext,
                                       into events: inout [Event]) -> DecodeOutcome? {
        let line = ByteText.slice(frame, 0, ByteText.trimmedEnd(frame, 0, frame.count))
        if line.isEmpty { return lines.holdsMultiLineMessage ? .absorbed : nil }
        if let (_, stream, _) = lines.parsePrefix(line) {
            // Time first, then a log stream's name (`tailPrefix` checks it): exactly the first case
            // of `LambdaText.recognises` (the frame differs from `line` only by trailing blanks,
            // after every byte either reads).
            if let stream, stream.lowerBound > 0 {
                recognised.remember(frame, ())
            }
            return nil
        }
        return lines.continuation(line, into: &events)
    }

    public mutating func flush(source: SourceID, into events: inout [Event]) {
        var n = 0
        lines.flush(into: &events, count: &n)
    }
}

/// Turns Lambda text lines into events, holding the last record back for its continuation lines
/// (a stack trace, a pretty-printed object, the `XRAY` line after `REPORT`).
struct LambdaLineMapper {
    private enum Held { case none, message, report }

    private var held: Held = .none
    private var pending: [Event] = []
    private(set) var lastTime: Timestamp?
    private var lastReportRequestID: String?
    /// Runtime and region per log stream, learnt from `INIT_START`; bounded.
    private var streams: [String: (runtime: String?, region: String?)] = [:]
    /// Per log stream, the invocation in progress and the correlation id its lines carry.
    private var invocations: [String: (requestID: String, correlation: String)] = [:]
    private var tape = JSONTape(maxDepth: 64, maxNodes: 1 << 16)
    private static let maxStreams = 4096
    /// The last line whose `aws logs tail` prefix was parsed, and what it gave: the auto-detector
    /// offers each line to `continueFrame` before `decode`, and both need the prefix.
    private let prefix = RememberedLine<(Timestamp, Range<Int>?, Int)?>()
    /// The last log stream named by a prefix, with its interned name and function: consecutive lines
    /// mostly come from one stream, so this spares two interner look-ups per line.
    private var streamBytes: [UInt8] = []
    private var streamName: String?
    private var streamFunction: String?
    /// The stream `streamFacts` (its entry in `streams`) belongs to; nil when `streams` changed since.
    private var factsStream: String?
    private var streamFacts: (runtime: String?, region: String?)?
    /// The stream `invocation` (its entry in `invocations`) belongs to; nil when not known.
    private var invocationStream: String?
    private var invocation: (requestID: String, correlation: String)?

    var holdsMultiLineMessage: Bool { held == .message }

    /// Facts a prefix (`aws logs tail`) or an envelope (CloudWatch) gives about the next line.
    struct Origin {
        var time: Timestamp?
        var stream: String?
        var function: String?
    }

    mutating func flush(into events: inout [Event], count: inout Int) {
        count += pending.count
        // Moved out rather than copied: reversed so that taking from the back keeps their order.
        if pending.count > 1 { pending.reverse() }
        while let e = pending.popLast() { PlatformEvent.emit(e, into: &events) }
        held = .none
    }

    /// `LambdaText.tailPrefix(line)`, remembered for the next call with the same bytes.
    func parsePrefix(_ line: UnsafeBufferPointer<UInt8>) -> (Timestamp, Range<Int>?, Int)? {
        if let known = prefix.result(for: line) { return known }
        let parsed = LambdaText.tailPrefix(line)
        prefix.remember(line, parsed)
        return parsed
    }

    /// The origin a line's prefix gives (nil without one), its strings interned.
    private mutating func origin(_ line: UnsafeBufferPointer<UInt8>, context: inout DecodeContext) -> (Origin, Int)? {
        let parsed = parsePrefix(line)
        prefix.forget()
        guard let (time, stream, rest) = parsed else { return nil }
        var origin = Origin(time: time)
        if let stream {
            let name = ByteText.slice(line, stream.lowerBound, stream.upperBound)
            if streamName == nil || !streamBytes.withUnsafeBufferPointer({ ByteText.same($0, name) }) {
                streamBytes.removeAll(keepingCapacity: true)
                streamBytes.append(contentsOf: name)
                streamName = context.interner.intern(name)
                streamFunction = LambdaText.function(fromStream: name).map { context.interner.intern($0) }
            }
            origin.stream = streamName
            origin.function = streamFunction
        }
        return (origin, rest)
    }

    /// One line of a text stream: an `aws logs tail` prefix, if any, gives time and log stream.
    mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                         into events: inout [Event]) -> DecodeOutcome {
        let end = ByteText.trimmedEnd(frame, 0, frame.count)
        let line = ByteText.slice(frame, 0, end)
        if line.isEmpty || ByteText.skipSpaces(line, 0) == line.count { return .absorbed }
        if let (origin, rest) = origin(line, context: &context) {
            return record(ByteText.slice(line, rest, line.count), origin: origin, source: source,
                          context: &context, into: &events)
        }
        if let outcome = continuation(line, into: &events) { return outcome }
        return record(line, origin: Origin(), source: source, context: &context, into: &events)
    }

    /// A line without prefix that continues the held record, if it does.
    mutating func continuation(_ line: UnsafeBufferPointer<UInt8>, into events: inout [Event]) -> DecodeOutcome? {
        switch held {
        case .none:
            return nil
        case .report:
            guard ByteText.hasPrefix(line, "XRAY TraceId: ") else { return nil }
            let trace = LambdaText.xrayTraceID(line)
            for i in pending.indices where pending[i].traceID == nil { pending[i].traceID = trace }
            var n = 0
            flush(into: &events, count: &n)
            return .events(n)
        case .message:
            if LambdaText.startsRecord(line) || LambdaText.isWholeJSONObject(line) { return nil }
            PlatformEvent.appendLine(line, to: &pending[pending.count - 1])
            return .absorbed
        }
    }

    /// A line that starts a record. `origin` carries what a prefix or envelope knew.
    mutating func record(_ line: UnsafeBufferPointer<UInt8>, origin: Origin, source: SourceID,
                         context: inout DecodeContext, into events: inout [Event]) -> DecodeOutcome {
        var out = 0
        // A separately delivered XRAY line still belongs to the REPORT before it.
        if held == .report, ByteText.hasPrefix(line, "XRAY TraceId: ") {
            if case .events(let n)? = continuation(line, into: &events) { return .events(n) }
        }
        flush(into: &events, count: &out)

        // Names through this decoder's interner, as symbols: a scope is built for every line, and
        // setting its names as text went through the process-wide table and its lock five times.
        var scope = PlatformScope(deploy: .serverless)
        scope.$service = (origin.function ?? context.facts[LambdaJSONMapping.functionFact]).map { context.interner.symbol($0) }
        scope.$instance = origin.stream.map { context.interner.symbol($0) }
        scope.$platform = context.interner.symbol("aws-lambda")
        let runtime: String?, region: String?
        if let stream = origin.stream {
            // One source may carry many functions' streams (a subscription, a multi-group tail): runtime
            // and region are known per stream, from its own INIT_START.
            let known = facts(of: stream)
            runtime = known?.runtime
            region = known?.region
        } else {
            runtime = context.facts[LambdaJSONMapping.runtimeFact]
            region = context.facts[LambdaJSONMapping.regionFact]
        }
        scope.$runtime = runtime.map { context.interner.symbol($0) }
        scope.$region = region.map { context.interner.symbol($0) }
        if let t = origin.time { lastTime = t; context.lastTime = t }

        // Platform lines: keyword first. Every keyword starts with a capital letter (app lines start
        // with a digit, `[` or `{`), so most lines skip the whole list on their first byte.
        if let first = line.first, first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z") {
            if ByteText.hasPrefix(line, "START RequestId: ") {
                guard let t = lastTime else { return missing(out) }
                // Built in place at the end of `events`: a local event appended would be copied once more.
                let k = events.count
                events.append(scope.event(t, .requestStart, source: source))
                events[k].requestID = LambdaText.id(after: "RequestId: ", in: line, &context.ids)
                if let v = LambdaText.token(after: "Version: ", in: line) { events[k].attributes.append(Attribute("version", v)) }
                events[k].message = String(decoding: line, as: UTF8.self)
                DBErrorClassifier.apply(to: &events[k])
                return .events(out + 1)
            }
            if ByteText.hasPrefix(line, "END RequestId: ") {
                guard let t = lastTime else { return missing(out) }
                let k = events.count
                events.append(scope.event(t, .log, level: .debug, source: source))
                events[k].requestID = LambdaText.id(after: "RequestId: ", in: line, &context.ids)
                events[k].message = String(decoding: line, as: UTF8.self)
                DBErrorClassifier.apply(to: &events[k])
                return .events(out + 1)
            }
            if ByteText.hasPrefix(line, "REPORT RequestId: ") {
                guard let t = lastTime else { return missing(out) }
                pending = LambdaText.report(line, scope: scope, time: t, source: source)
                lastReportRequestID = pending.last?.requestID
                held = .report
                return out > 0 ? .events(out) : .absorbed
            }
            // SnapStart's `RESTORE_START` names the runtime as `INIT_START` does.
            if ByteText.hasPrefix(line, "INIT_START ") || ByteText.hasPrefix(line, "RESTORE_START ") {
                guard let t = lastTime else { return missing(out) }
                let runtime = LambdaText.token(after: "Runtime Version: ", in: line).map {
                    context.interner.intern(PlatformEvent.runtimeName($0))
                }
                let region = LambdaText.token(after: "Runtime Version ARN: ", in: line)
                    .flatMap(LambdaText.region(fromARN:)).map { context.interner.intern($0) }
                if let runtime { scope.runtime = runtime; context.facts[LambdaJSONMapping.runtimeFact] = runtime }
                if let region { scope.region = region; context.facts[LambdaJSONMapping.regionFact] = region }
                if let stream = origin.stream { remember(stream, runtime: runtime, region: region) }
                var e = scope.event(t, .log, source: source)
                e.message = String(decoding: line, as: UTF8.self)
                PlatformEvent.emit(e, into: &events)
                return .events(out + 1)
            }
            if ByteText.hasPrefix(line, "XRAY TraceId: ") {
                guard let t = lastTime else { return missing(out) }
                var e = scope.event(t, .log, level: .debug, source: source)
                e.traceID = LambdaText.xrayTraceID(line)
                e.requestID = lastReportRequestID
                e.message = String(decoding: line, as: UTF8.self)
                PlatformEvent.emit(e, into: &events)
                return .events(out + 1)
            }
            if ByteText.hasPrefix(line, "INIT_REPORT ") || ByteText.hasPrefix(line, "EXTENSION")
                || ByteText.hasPrefix(line, "TELEMETRY") || ByteText.hasPrefix(line, "LOGS\t")
                || ByteText.hasPrefix(line, "RESTORE_") {
                guard let t = lastTime else { return missing(out) }
                var e = scope.event(t, .log, level: .debug, source: source)
                if let status = LambdaText.token(after: "Status: ", in: line) {
                    e.level = .error
                    e.attributes.append(Attribute("outcome", status))
                }
                if let initMS = ByteText.number(after: "Init Duration: ", in: line) {
                    e.attributes.append(Attribute("init_ms", LambdaJSONMapping.format(initMS)))
                }
                e.message = String(decoding: line, as: UTF8.self)
                PlatformEvent.emit(e, into: &events)
                return .events(out + 1)
            }
            if ByteText.hasPrefix(line, "RequestId: ") {
                // `RequestId: … Error: Runtime exited with error: exit status 1` then `Runtime.ExitError`.
                guard let t = lastTime else { return missing(out) }
                var e = scope.event(t, .log, level: .error, source: source)
                e.requestID = LambdaText.token(after: "RequestId: ", in: line)
                e.attributes.append(Attribute("outcome", "error"))
                e.message = String(decoding: line, as: UTF8.self)
                pending.removeAll(keepingCapacity: true)
                pending.append(e)
                held = .message
                return out > 0 ? .events(out) : .absorbed
            }
        }

        // A whole JSON object: a JSON-format record, or an app logger writing JSON straight to stdout (pino, Powertools).
        if LambdaText.isWholeJSONObject(line), let outcome = jsonRecord(line, origin: origin, scope: scope, source: source,
                                                                        context: &context, into: &events) {
            if case .events(let n) = outcome { return .events(out + n) }
            return out > 0 ? .events(out) : outcome
        }

        // App lines.
        guard let app = LambdaText.appLine(line) else {
            if origin.time != nil, let t = lastTime {
                // A prefixed line in no runtime's shape: a raw stdout write. Still the function's.
                // (`LAMBDA_WARNING: Unhandled exception. …`, the runtime's note after an uncaught error, is a warning.)
                var e = scope.event(t, .log, level: ByteText.hasPrefix(line, "LAMBDA_WARNING") ? .warn : .info, source: source)
                e.message = String(decoding: line, as: UTF8.self)
                pending.removeAll(keepingCapacity: true)
                pending.append(e)
                held = .message
                return out > 0 ? .events(out) : .absorbed
            }
            return out > 0 ? .events(out) : .malformed(.unrecognised)
        }
        // The runtime's own time is the more precise (`--format short` prints whole seconds), unless it
        // is itself whole seconds within the CloudWatch time's second (log4j2's `%d{yyyy-MM-dd HH:mm:ss}`).
        if let t = app.time, !(t.nanos % 1_000_000_000 == 0 && origin.time.map { $0 >= t && $0.nanos - t.nanos < 1_000_000_000 } == true) {
            lastTime = t
            context.lastTime = t
        }
        guard let t = lastTime else { return missing(out) }
        // Built in place as the held record (`pending` is empty after the flush above).
        pending.removeAll(keepingCapacity: true)
        pending.append(scope.event(t, .log, level: app.level ?? .info, source: source))
        // The invocation's lines share one request id string (no new one per line).
        let requestID = app.requestIDRange.map { context.ids.string(ByteText.slice(line, $0.lowerBound, $0.upperBound)) }
        pending[0].requestID = requestID
        let message = ByteText.slice(line, app.messageStart, line.count)
        if ByteText.hasPrefix(message, "Task timed out after ") {
            pending[0].level = .error
            pending[0].attributes.append(Attribute("outcome", "timeout"))
        }
        if !EmbeddedJSON.mergeIfJSON(bytes: message, tape: &tape, into: &pending[0], context: &context) {
            pending[0].message = String(decoding: message, as: UTF8.self)
        } else if let rid = requestID, pending[0].correlationID == rid {
            pending[0].correlationID = nil
        }
        if let rid = requestID, staleInvocation(stream: origin.stream, requestID: rid, correlation: pending[0].correlationID) {
            // Work an earlier invocation left running (frozen, resumed now) logs inside this one, and the
            // runtime stamps the current request id on it: linking that id to the line's own correlation
            // id would join two requests. The line keeps its own ids; the runtime's stays an attribute.
            if pending[0].requestID == rid { pending[0].requestID = nil }
            pending[0].attributes.append(Attribute("lambda.request_id", rid))
        } else if let rid = requestID {
            // The runtime's request id is the platform's; an app's own `request_id` stays visible.
            if let own = pending[0].requestID, own != rid { pending[0].attributes.append(Attribute("app.request_id", own)) }
            pending[0].requestID = rid
        }
        held = .message
        return out > 0 ? .events(out) : .absorbed
    }

    private mutating func jsonRecord(_ line: UnsafeBufferPointer<UInt8>, origin: Origin, scope: PlatformScope,
                                     source: SourceID, context: inout DecodeContext,
                                     into events: inout [Event]) -> DecodeOutcome? {
        do throws(JSONTape.Failure) { try tape.parse(line) } catch { return nil }
        let doc = JSONDocument(tape: tape, bytes: line)
        if LambdaJSONMapping.recognises(doc, doc.root) {
            var s = scope
            let outcome = LambdaJSONMapping.map(doc, doc.root, scope: &s, fallbackTime: origin.time ?? lastTime,
                                                source: source, context: &context, into: &events)
            if let t = events.last?.time, case .events = outcome { lastTime = t }
            if let stream = origin.stream, s.runtime != scope.runtime || s.region != scope.region {
                remember(stream, runtime: s.runtime, region: s.region)
            }
            return outcome
        }
        var e = scope.event(origin.time ?? lastTime ?? .zero, source: source)
        let timed = EmbeddedJSON.mergeKeepingTime(doc, doc.root, into: &e, context: &context)
        if let t = origin.time {
            // The platform's receive time orders the stream, as for every other line of it.
            e.time = t
        } else if timed {
            lastTime = e.time
            context.lastTime = e.time
        } else if let t = lastTime {
            e.time = t
        } else {
            return .malformed(.missingFields)
        }
        if e.message == nil { e.message = String(decoding: line, as: UTF8.self) }
        PlatformEvent.emit(e, into: &events)
        return .events(1)
    }

    /// Whether an app line stamped with invocation `requestID` carries another request's correlation id
    /// than the invocation's first correlated line did (per log stream; bounded).
    private mutating func staleInvocation(stream: String?, requestID: String, correlation: String?) -> Bool {
        guard let correlation else { return false }
        let key = stream ?? ""
        let current: (requestID: String, correlation: String)?
        if let s = invocationStream, s == key {
            current = invocation
        } else {
            current = invocations[key]
        }
        if let seen = current, seen.requestID == requestID {
            invocationStream = key
            invocation = seen
            return seen.correlation != correlation
        }
        if invocations.count >= Self.maxStreams, current == nil { invocations.removeAll(keepingCapacity: true) }
        invocations[key] = (requestID, correlation)
        invocationStream = key
        invocation = (requestID, correlation)
        return false
    }

    private mutating func remember(_ stream: String, runtime: String?, region: String?) {
        if streams.count >= Self.maxStreams, streams[stream] == nil { streams.removeAll(keepingCapacity: true) }
        streams[stream] = (runtime, region)
        factsStream = nil
    }

    /// `streams[stream]`, remembered for the next line of the same stream (one hash of the long
    /// stream name per change of stream rather than per line).
    private mutating func facts(of stream: String) -> (runtime: String?, region: String?)? {
        if let s = factsStream, s == stream { return streamFacts }
        let known = streams[stream]
        factsStream = stream
        streamFacts = known
        return known
    }

    private func missing(_ out: Int) -> DecodeOutcome {
        out > 0 ? .events(out) : .malformed(.missingFields)
    }
}

/// The shapes of Lambda's text lines.
enum LambdaText {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    /// `aws logs tail`'s `<RFC 3339> <log stream> <message>` (or SAM's `<log stream> <time> <message>`):
    /// the prefix's time, log stream (nil for `--format short`) and where the message starts.
    static func tailPrefix(_ b: Bytes) -> (Timestamp, Range<Int>?, Int)? {
        guard !b.isEmpty, ByteText.isDigit(b[0]) else { return nil }
        var p = 0
        var time: Timestamp?
        var stream: Range<Int>?
        for _ in 0..<2 {
            if time == nil, let (t, e) = PlatformTime.parse(b, at: p), e < b.count, b[e] == 0x20 {
                time = t
                p = e + 1
            } else if stream == nil {
                let e = ByteText.tokenEnd(b, p)
                // A Lambda log stream: `2026/11/23/[$LATEST]…`, or `2026/11/23/fn[$LATEST]…` in a shared
                // group. Other `<time> <source> <message>` logs (Heroku's `heroku[router]:`, Fly's
                // `app[…]`) are not Lambda's.
                guard isStreamName(ByteText.slice(b, p, e)), e < b.count else {
                    // `aws logs tail --format short`: the time, then the message without its stream.
                    if let time, stream == nil, p > 0, startsRecord(ByteText.slice(b, p, b.count)) { return (time, nil, p) }
                    return nil
                }
                stream = p..<e
                p = e + 1
            }
        }
        guard let time, let stream else { return nil }
        return (time, stream, p)
    }

    /// Whether a token is a Lambda log stream's name: a `YYYY/MM/DD/` date, then `[version]`.
    static func isStreamName(_ t: Bytes) -> Bool {
        guard t.count > 12 else { return false }
        for i in [0, 1, 2, 3, 5, 6, 8, 9] where !ByteText.isDigit(t[i]) { return false }
        guard t[4] == UInt8(ascii: "/"), t[7] == UInt8(ascii: "/"), t[10] == UInt8(ascii: "/"),
              let open = ByteText.find(t, "[", from: 11) else { return false }
        return ByteText.find(t, "]", from: open + 1) != nil
    }

    /// `2026/11/23/checkout[$LATEST]0123…` → `checkout` (streams in a shared log group name their
    /// function; the default `2026/11/23/[$LATEST]…` does not).
    static func function(fromStream b: Bytes) -> Bytes? {
        var slashes = 0
        var start = 0
        for i in 0..<b.count {
            if b[i] == UInt8(ascii: "/") { slashes += 1; start = i + 1; if slashes == 3 { break } }
        }
        guard slashes == 3, let open = ByteText.find(b, "[", from: start), open > start else { return nil }
        return ByteText.slice(b, start, open)
    }

    static func function(fromStream s: String) -> String? {
        var s = s
        return s.withUTF8 { b in function(fromStream: b).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// `/aws/lambda/checkout` → `checkout`.
    static func function(fromGroup g: String) -> String? {
        let prefix = "/aws/lambda/"
        guard g.hasPrefix(prefix), g.utf8.count > prefix.utf8.count else { return nil }
        return String(g.dropFirst(prefix.count))
    }

    /// `arn:aws:lambda:us-east-1::runtime:…` → `us-east-1`.
    static func region(fromARN arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count > 4, parts[0] == "arn", !parts[3].isEmpty else { return nil }
        return String(parts[3])
    }

    /// Whether a line is in this format (for detection): an `aws logs tail` prefix, a platform
    /// keyword line, or a runtime's app line with its request id (or `undefined`) after the time.
    static func recognises(_ b: Bytes) -> Bool {
        guard !b.isEmpty else { return false }
        switch b[0] {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if let (_, e) = PlatformTime.parse(b), e < b.count, ByteText.isSpace(b[e]) {
                let s = e + 1
                var te = s
                while te < b.count, !ByteText.isSpace(b[te]) { te += 1 }
                let token = ByteText.slice(b, s, te)
                // `aws logs tail`: a log stream (`…/[$LATEST]…`) after the time (`--format short`: a
                // Lambda line right after it); or a runtime's request id.
                if b[e] == 0x20, isStreamName(token) { return true }
                if te < b.count && isRequestIDToken(b, s, te) { return true }
                return b[e] == 0x20 && startsRecord(ByteText.slice(b, s, b.count))
            }
            // SAM's `<log stream> <time> <message>`.
            let te = ByteText.tokenEnd(b, 0)
            return te < b.count && ByteText.find(ByteText.slice(b, 0, te), "[$", from: 0) != nil
                && PlatformTime.parse(b, at: te + 1) != nil
        case UInt8(ascii: "["):
            guard let app = appLine(b) else { return false }
            return app.time != nil || ByteText.hasPrefix(b, "[ERROR] ")
        default:
            return startsRecord(b)
        }
    }

    /// A complete JSON object on one line is a record of its own (another format's line), never the
    /// continuation of a message: a pretty-printed object inside a message starts with a lone `{`.
    static func isWholeJSONObject(_ b: Bytes) -> Bool {
        guard b.count >= 2, b[0] == UInt8(ascii: "{"), b[b.count - 1] == UInt8(ascii: "}") else { return false }
        var tape = JSONTape(maxDepth: 64, maxNodes: 1 << 16)
        do throws(JSONTape.Failure) { try tape.parse(b) } catch { return false }
        return true
    }

    /// Whether a line without prefix starts a record of its own rather than continuing one.
    static func startsRecord(_ b: Bytes) -> Bool {
        if b.isEmpty { return false }
        switch b[0] {
        case UInt8(ascii: "S"): return hasPrefix(b, "START RequestId: ")
        case UInt8(ascii: "E"): return hasPrefix(b, "END RequestId: ") || hasPrefix(b, "EXTENSION")
        case UInt8(ascii: "R"): return hasPrefix(b, "REPORT RequestId: ") || hasPrefix(b, "RequestId: ") || hasPrefix(b, "RESTORE_")
        case UInt8(ascii: "I"): return hasPrefix(b, "INIT_START ") || hasPrefix(b, "INIT_REPORT ")
        case UInt8(ascii: "X"): return hasPrefix(b, "XRAY TraceId: ")
        case UInt8(ascii: "T"): return hasPrefix(b, "TELEMETRY")
        case UInt8(ascii: "["): return appLine(b) != nil
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let (_, e) = PlatformTime.parse(b) else { return false }
            return e < b.count && ByteText.isSpace(b[e])
        default: return false
        }
    }

    @inline(__always)
    private static func hasPrefix(_ b: Bytes, _ w: StaticString) -> Bool { ByteText.hasPrefix(b, w) }

    /// The token after `key` (`RequestId: `), up to a space or tab.
    static func token(after key: StaticString, in b: Bytes) -> String? {
        ByteText.value(after: key, in: b).map { ByteText.string(b, $0.lowerBound, $0.upperBound) }
    }

    /// `token(after:in:)` for an id, through `ids`: the lines of one request share its string.
    static func id(after key: StaticString, in b: Bytes, _ ids: inout RecentStrings) -> String? {
        ByteText.value(after: key, in: b).map { ids.string(ByteText.slice(b, $0.lowerBound, $0.upperBound)) }
    }

    static func xrayTraceID(_ b: Bytes) -> String? {
        guard let r = ByteText.value(after: "TraceId: ", in: b) else { return nil }
        return PlatformIDs.traceID(xrayRoot: ByteText.slice(b, r.lowerBound, r.upperBound))
    }

    /// Where each key of a REPORT line first occurs (its start), as `ByteText.find` from the line's start
    /// would say, found in one pass over the line's `: `s: every key ends in one, so for each key the
    /// first `: ` it ends at is its first occurrence. `duration` is the first `Duration: ` that is not
    /// `Billed `, `Init ` or `Restore Duration: ` (the request's own).
    private struct ReportKeys {
        var requestID: Int?, duration: Int?, initDuration: Int?, billed: Int?, memorySize: Int?
        var maxMemoryUsed: Int?, restoreDuration: Int?, status: Int?, errorType: Int?

        init(_ b: Bytes) {
            var from = 0
            while let colon = ByteText.find(b, ": ", from: from) {
                let end = colon + 2
                @inline(__always) func starts(_ key: StaticString) -> Int? {
                    let k = end - key.utf8CodeUnitCount
                    return k >= 0 && ByteText.hasPrefix(b, key, at: k) ? k : nil
                }
                if requestID == nil { requestID = starts("RequestId: ") }
                if duration == nil, let k = starts("Duration: "),
                   !((k >= 7 && ByteText.hasPrefix(b, "Billed ", at: k - 7))
                     || (k >= 5 && ByteText.hasPrefix(b, "Init ", at: k - 5))
                     || (k >= 8 && ByteText.hasPrefix(b, "Restore ", at: k - 8))) {
                    duration = k
                }
                if initDuration == nil { initDuration = starts("Init Duration: ") }
                if billed == nil { billed = starts("Billed Duration: ") }
                if memorySize == nil { memorySize = starts("Memory Size: ") }
                if maxMemoryUsed == nil { maxMemoryUsed = starts("Max Memory Used: ") }
                if restoreDuration == nil { restoreDuration = starts("Restore Duration: ") }
                if status == nil { status = starts("Status: ") }
                if errorType == nil { errorType = starts("Error Type: ") }
                from = colon + 1
            }
        }
    }

    /// `token(after:in:)` once its key is found: the token starting at `s`, if not empty.
    private static func token(at s: Int, in b: Bytes) -> String? {
        let e = ByteText.tokenEnd(b, s)
        return e > s ? ByteText.string(b, s, e) : nil
    }

    /// `ByteText.number(after:in:)` once its key is found.
    private static func number(at s: Int, in b: Bytes) -> Double? {
        let e = ByteText.tokenEnd(b, s)
        return e > s ? NumberParsing.double(ByteText.slice(b, s, e)) : nil
    }

    /// `REPORT RequestId: … Duration: … Init Duration: … Status: timeout`: the request's end, and
    /// before it the cold start when the report carries an init duration.
    static func report(_ b: Bytes, scope: PlatformScope, time t: Timestamp, source: SourceID) -> [Event] {
        let keys = ReportKeys(b)
        let requestID = keys.requestID.flatMap { token(at: $0 + 11, in: b) }
        let restoreMS = keys.restoreDuration.flatMap { number(at: $0 + 18, in: b) }
        // A SnapStart function's cold start is its snapshot's restore (`Restore Duration:`, no `Init
        // Duration:`): the environment was made for this request, which waited for the restore.
        let initMS = keys.initDuration.flatMap { number(at: $0 + 15, in: b) } ?? restoreMS
        // Built in place in `out` (a local event appended would be copied once more).
        var out: [Event] = []
        out.reserveCapacity(initMS == nil ? 1 : 2)
        if let initMS {
            out.append(scope.event(t, .instanceStart, source: source))
            out[0].requestID = requestID
            out[0].initMS = initMS
            out[0].coldStart = true
            out[0].message = keys.initDuration == nil ? restoreColdStartMessage(initMS) : coldStartMessage(initMS)
        }
        let k = out.count
        out.append(scope.event(t, .requestEnd, source: source))
        out[k].requestID = requestID
        out[k].durationMS = keys.duration.flatMap { number(at: $0 + 10, in: b) }
        out[k].initMS = initMS
        out[k].coldStart = initMS != nil ? true : nil
        out[k].message = String(decoding: b, as: UTF8.self)
        out[k].attributes.reserveCapacity(4)
        if let v = keys.billed.flatMap({ number(at: $0 + 17, in: b) }) {
            out[k].attributes.append(Attribute("billed_ms", LambdaJSONMapping.format(v)))
        }
        if let v = keys.memorySize.flatMap({ number(at: $0 + 13, in: b) }) {
            out[k].attributes.append(Attribute("memory_mb", LambdaJSONMapping.format(v)))
        }
        if let v = keys.maxMemoryUsed.flatMap({ number(at: $0 + 17, in: b) }) {
            out[k].attributes.append(Attribute("max_memory_used_mb", LambdaJSONMapping.format(v)))
        }
        if let v = keys.restoreDuration.flatMap({ number(at: $0 + 18, in: b) }) {
            out[k].attributes.append(Attribute("restore_ms", LambdaJSONMapping.format(v)))
        }
        if let status = keys.status.flatMap({ token(at: $0 + 8, in: b) }), status != "success" {
            out[k].level = .error
            out[k].attributes.append(Attribute("outcome", status))
            if let r = keys.errorType {
                let s = r + 12
                out[k].attributes.append(Attribute("errorType", ByteText.string(b, s, ByteText.tokenEnd(b, s))))
            }
        }
        return out
    }

    /// The message of the `instance.start` a report's init duration implies (worded like Lambda's
    /// own `INIT_REPORT` line).
    static func coldStartMessage(_ initMS: Double) -> String {
        "INIT_REPORT Init Duration: \(LambdaJSONMapping.format(initMS)) ms (cold start)"
    }

    /// The same for a SnapStart restore (worded like Lambda's own `RESTORE_REPORT` line).
    static func restoreColdStartMessage(_ restoreMS: Double) -> String {
        "RESTORE_REPORT Restore Duration: \(LambdaJSONMapping.format(restoreMS)) ms (cold start, SnapStart restore)"
    }

    struct AppLine {
        var time: Timestamp?
        /// Where the request id (a UUID) sits in the line.
        var requestIDRange: Range<Int>?
        var level: Level?
        var messageStart: Int
    }

    /// Node.js `<time>\t<requestId>\t<LEVEL>\t<message>` (request id `undefined` during init; no level
    /// on `Task timed out` lines) or Python `[LEVEL]\t<time>\t<requestId>\t<message>`.
    static func appLine(_ b: Bytes) -> AppLine? {
        var p = 0
        if !b.isEmpty, b[0] == UInt8(ascii: "[") {
            guard let close = ByteText.find(ByteText.slice(b, 0, min(b.count, 12)), "]", from: 0), close > 1,
                  let l = PlatformLevel.named(ByteText.slice(b, 1, close)) else { return nil }
            p = close + 1
            guard p < b.count, ByteText.isSpace(b[p]) else { return AppLine(level: l, messageStart: p) }
            p += 1
            guard let (t, e) = PlatformTime.parse(b, at: p), e < b.count, ByteText.isSpace(b[e]) else {
                // `[ERROR] Runtime.ImportModuleError: …`: a level and a message only.
                return AppLine(level: l, messageStart: p)
            }
            var a = AppLine(time: t, level: l, messageStart: e + 1)
            let idEnd = fieldEnd(b, e + 1)
            a.requestIDRange = requestID(b, e + 1, idEnd)
            a.messageStart = min(b.count, idEnd + 1)
            return a
        }
        guard let (t, e) = PlatformTime.parse(b, at: 0), e < b.count, ByteText.isSpace(b[e]) else { return nil }
        var a = AppLine(time: t, messageStart: e + 1)
        p = e + 1
        let idEnd = fieldEnd(b, p)
        guard isRequestIDToken(b, p, idEnd) else { return a }
        a.requestIDRange = requestID(b, p, idEnd)
        p = min(b.count, idEnd + 1)
        a.messageStart = p
        let levelEnd = fieldEnd(b, p)
        if levelEnd - p <= 5, levelEnd > p, allUpper(b, p, levelEnd), let l = PlatformLevel.named(ByteText.slice(b, p, levelEnd)) {
            a.level = l
            a.messageStart = min(b.count, levelEnd + 1)
            // Space-separated (log4j2's `%X{AWSRequestId} %-5p`), the level is padded to five.
            if levelEnd < b.count, b[levelEnd] == 0x20 {
                while a.messageStart < b.count, b[a.messageStart] == 0x20 { a.messageStart += 1 }
            }
        }
        return a
    }

    /// The end of a tab-separated field (or space-separated, when a tool turned tabs into spaces).
    private static func fieldEnd(_ b: Bytes, _ p: Int) -> Int {
        ByteText.tokenEnd(b, p)
    }

    private static func allUpper(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
        for i in s..<e where !(b[i] >= 0x41 && b[i] <= 0x5a) { return false }
        return true
    }

    /// A UUID, or `undefined`/`None`/empty during init.
    static func isRequestIDToken(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
        if e - s == 36 { return b[s + 8] == UInt8(ascii: "-") && b[s + 13] == UInt8(ascii: "-") }
        let t = ByteText.slice(b, s, e)
        return ByteText.hasPrefix(t, "undefined") && t.count == 9 || ByteText.hasPrefix(t, "None") && t.count == 4
    }

    private static func requestID(_ b: Bytes, _ s: Int, _ e: Int) -> Range<Int>? {
        guard e - s == 36 else { return nil }
        return s..<e
    }
}
