import SkeinCore

/// A CloudWatch Logs subscription payload (decompressed): `messageType`, `logGroup`,
/// `logStream`, `logEvents: [{id, timestamp, message}]`. Each message is decoded as the Lambda
/// line it is (text or JSON format); the group names the function, the stream the instance.
///
/// Named `aws-lambda` like the text decoder: `--format aws-lambda` takes both.
public struct CloudWatchLogsDecoder: JSONRecordDecoder {
    public let name = "aws-lambda"
    var lines = LambdaLineMapper()
    var tape = JSONTape(maxDepth: 64, maxNodes: 1 << 16)

    public init() {}

    public var signatureKeys: [StaticString]? { ["messageType"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        guard doc.kind(doc.root) == .object else { return false }
        var type = false, events = false
        doc.forEachMember(doc.root) { k, _ in
            if doc.keyEquals(k, "messageType") { type = true }
            if doc.keyEquals(k, "logEvents") { events = true }
        }
        return type && events
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

    /// One log event's message: a JSON-format record, or text whose first line starts a record and
    /// whose other lines continue it.
    private mutating func decodeMessage(_ message: String, origin: LambdaLineMapper.Origin, source: SourceID,
                                        context: inout DecodeContext, into events: inout [Event]) {
        var message = message
        message.withUTF8 { b in
            let s = ByteText.skipSpaces(b, 0)
            if s < b.count, b[s] == UInt8(ascii: "{") {
                do throws(JSONTape.Failure) {
                    try tape.parse(b)
                    let inner = JSONDocument(tape: tape, bytes: b)
                    if LambdaJSONMapping.recognises(inner, inner.root) {
                        var n = 0
                        lines.flush(into: &events, count: &n)
                        var scope = LambdaJSONMapping.scope(from: context)
                        scope.service = origin.function ?? scope.service
                        scope.instance = origin.stream
                        _ = LambdaJSONMapping.map(inner, inner.root, scope: &scope, fallbackTime: origin.time,
                                                  source: source, context: &context, into: &events)
                        return
                    }
                } catch {}
            }
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
                        var o = origin
                        o.time = nil
                        _ = lines.record(line, origin: o, source: source, context: &context, into: &events)
                    }
                }
                start = e + 1
            }
        }
    }
}
