import SkeinCore

/// A CloudWatch Logs subscription payload (decompressed): `messageType`, `logGroup`,
/// `logStream`, `logEvents: [{id, timestamp, message}]`. Each message is decoded as the Lambda
/// line it is (text or JSON format); the group names the function, the stream the instance.
///
/// Named `aws-lambda` like the text decoder: `--format aws-lambda` takes both.
public struct CloudWatchLogsDecoder: JSONRecordDecoder {
    public let name = "aws-lambda"
    var lines = LambdaLineMapper()

    public init() {}

    public var signatureKeys: [StaticString]? { ["messageType"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        PlatformKeys(doc, doc.root).isSuperset(of: [.messageType, .logEvents])
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let root = doc.root
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
