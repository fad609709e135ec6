import SkeinCore

/// CloudWatch Logs events as AWS hands them out, each message decoded as the Lambda line it is
/// (text or JSON format); the group names the function, the stream the instance:
/// - a subscription payload (decompressed): `messageType`, `logGroup`, `logStream`,
///   `logEvents: [{id, timestamp, message}]`;
/// - what `aws logs filter-log-events` and `get-log-events` print: `{"events": [{logStreamName,
///   timestamp, message, ingestionTime, eventId}], ...}` (pretty-printed: read as one value), and
///   those events one per line (`jq -c '.events[]'`).
///
/// Named `aws-lambda` like the text decoder: `--format aws-lambda` takes both.
public struct CloudWatchLogsDecoder: JSONRecordDecoder {
    public let name = "aws-lambda"
    var lines = LambdaLineMapper()

    public init() {}

    public var signatureKeys: [StaticString]? { ["messageType", "events", "logStreamName"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        let root = doc.root
        if PlatformKeys(doc, root).isSuperset(of: [.messageType, .logEvents]) { return true }
        if let list = doc.member(root, "events"), doc.kind(list) == .array {
            // The CLI's page: events that are CloudWatch's own (a time and a message each).
            var cloudWatch = false
            var other = false
            doc.forEachElement(list) { item in
                if Self.isLogEvent(doc, item) { cloudWatch = true } else { other = true }
            }
            // An empty page (nothing matched the filter) is still the CLI's: recognised, and absorbed.
            if !cloudWatch && !other {
                return doc.member(root, "searchedLogStreams") != nil || doc.member(root, "nextForwardToken") != nil
            }
            return cloudWatch && !other
        }
        return doc.member(root, "logStreamName") != nil && Self.isLogEvent(doc, root)
            && (doc.member(root, "eventId") != nil || doc.member(root, "ingestionTime") != nil)
    }

    /// An object with CloudWatch's numeric `timestamp` and string `message`.
    private static func isLogEvent(_ doc: JSONDocument, _ item: Int) -> Bool {
        guard doc.kind(item) == .object, let t = doc.member(item, "timestamp"), doc.kind(t) == .number,
              let m = doc.member(item, "message"), doc.kind(m) == .string else { return false }
        return true
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let root = doc.root
        if doc.member(root, "logEvents") == nil {
            return decodeCLI(doc, source: source, context: &context, into: &events)
        }
        if let t = doc.member(root, "messageType"), doc.keyEquals(t, "CONTROL_MESSAGE") { return .absorbed }
        guard let list = doc.member(root, "logEvents"), doc.kind(list) == .array else { return .malformed(.missingFields) }
        let group = doc.member(root, "logGroup").flatMap { doc.nonEmptyString($0) }
        let stream = doc.member(root, "logStream").flatMap { doc.nonEmptyString($0) }
        var function = group.flatMap(LambdaText.function(fromGroup:)) ?? stream.flatMap(LambdaText.function(fromStream:))
        if let f = function {
            function = context.interner.intern(f)
            context.facts[LambdaJSONMapping.functionFact] = function
        }
        let streamName = stream.map { context.interner.intern($0) }
        var produced = 0
        var bad = 0
        doc.forEachElement(list) { item in
            guard doc.kind(item) == .object,
                  let msgNode = doc.member(item, "message"), doc.kind(msgNode) == .string else { bad += 1; return }
            let time = doc.member(item, "timestamp").flatMap { LambdaJSONMapping.time(doc, $0) }
            let origin = LambdaLineMapper.Origin(time: time, stream: streamName, function: function)
            let before = events.count
            let message = doc.string(msgNode)
            decodeMessage(message, origin: origin, source: source, context: &context, into: &events)
            produced += events.count - before
        }
        var n = 0
        lines.flush(into: &events, count: &n)
        produced += n
        if produced == 0 { return bad > 0 ? .malformed(.missingFields) : .absorbed }
        return .events(produced)
    }

    /// The CLI's events (a page of them, or one per line): each names its own stream, and no group
    /// is given, so the function is what the stream or earlier lines of the source tell.
    private mutating func decodeCLI(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                    into events: inout [Event]) -> DecodeOutcome {
        var produced = 0
        var bad = 0
        let one = { (item: Int, mapper: inout CloudWatchLogsDecoder, context: inout DecodeContext, events: inout [Event]) in
            guard Self.isLogEvent(doc, item), let msgNode = doc.member(item, "message") else { bad += 1; return }
            let stream = doc.member(item, "logStreamName").flatMap { doc.nonEmptyString($0) }.map { context.interner.intern($0) }
            var function = stream.flatMap(LambdaText.function(fromStream:)).map { context.interner.intern($0) }
            if let f = function { context.facts[LambdaJSONMapping.functionFact] = f }
            function = function ?? context.facts[LambdaJSONMapping.functionFact]
            let time = doc.member(item, "timestamp").flatMap { LambdaJSONMapping.time(doc, $0) }
            let before = events.count
            mapper.decodeMessage(doc.string(msgNode), origin: LambdaLineMapper.Origin(time: time, stream: stream, function: function),
                                 source: source, context: &context, into: &events)
            produced += events.count - before
        }
        if let list = doc.member(doc.root, "events") {
            doc.forEachElement(list) { one($0, &self, &context, &events) }
        } else {
            one(doc.root, &self, &context, &events)
        }
        var n = 0
        lines.flush(into: &events, count: &n)
        produced += n
        if produced == 0 { return bad > 0 ? .malformed(.missingFields) : .absorbed }
        return .events(produced)
    }

    /// One log event's message: its first line starts a record (text or a JSON-format record), the
    /// other lines continue it.
    private mutating func decodeMessage(_ message: String, origin: LambdaLineMapper.Origin, source: SourceID,
                                        context: inout DecodeContext, into events: inout [Event]) {
        var message = message
        message.withUTF8 { b in
            var start = 0
            var first = true
            while start <= b.count {
                var e = start
                while e < b.count, b[e] != 0x0a { e += 1 }
                let line = ByteText.slice(b, start, ByteText.trimmedEnd(b, start, e))
                if first {
                    _ = lines.record(line, origin: origin, source: source, context: &context, into: &events)
                    first = false
                } else if !line.isEmpty {
                    if lines.continuation(line, into: &events) == nil {
                        // Another record in the same log event (or stray text, kept as a line of its own).
                        _ = lines.record(line, origin: origin, source: source, context: &context, into: &events)
                    }
                }
                start = e + 1
            }
        }
    }
}
