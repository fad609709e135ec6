import SkeinCore

/// Decodes Docker's `json-file` log records: `{"log":"<the app's line>\n","stream":"stdout","time":"…"}`.
///
/// The app's line inside `log` is decoded like any line (JSON with the convention's aliases, logfmt, or
/// plain text as the message); Docker's `time` is the fallback when the app logs none. Docker splits
/// lines longer than 16 KiB into several records; those parts arrive as separate events.
public struct DockerJSONLineDecoder: JSONRecordDecoder {
    public let name = "docker"
    private var tape = JSONTape()
    private var line: [UInt8] = []
    private let blank = BlankEvent()

    public init() {}

    /// An object with a string `log` and a `stream`, the two fields every json-file record has.
    public var signatureKeys: [StaticString]? { ["log"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        guard doc.kind(doc.root) == .object, doc.tape.node(doc.root).count <= 4,
              let log = doc.member(doc.root, "log"), doc.kind(log) == .string else { return false }
        return doc.member(doc.root, "stream") != nil
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        guard let log = doc.member(doc.root, "log") else { return .malformed(.missingFields) }
        var event = blank.event
        event.source = source
        var timed = false
        if let t = doc.member(doc.root, "time"), let time = TimeParsing.parse(doc.raw(t)) {
            event.time = time
            timed = true
        }
        if let stream = doc.member(doc.root, "stream"), doc.keyEquals(stream, "stderr") {
            event.attributes.append(Attribute("stream", "stderr"))
        }
        let node = doc.tape.node(log)
        if node.flag {
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: JSONDocument.unescape(doc.raw(log)).utf8)
        }
        let appTimed = node.flag
            ? line.withUnsafeBufferPointer { ContainerLine.apply($0, tape: &tape, to: &event, context: &context) }
            : ContainerLine.apply(doc.raw(log), tape: &tape, to: &event, context: &context)
        guard ConventionMapper.settleTime(&event, found: timed || appTimed, context: &context) else {
            return .malformed(.missingFields)
        }
        DBErrorClassifier.apply(to: &event)
        events.append(consume event)
        return .events(1)
    }
}

/// Decodes the CRI container log format kubelet writes under `/var/log/pods`:
/// `2026-11-23T18:40:04.123456789Z stdout F <the app's line>`.
///
/// A line the runtime split is tagged `P` (partial) until its last part, tagged `F`; the parts are
/// joined (through `continueFrame`) before the app's line is decoded. A partial line left dangling
/// at `flush` is released as it is.
public struct CRIDecoder: StandaloneTextDecoder {
    public let name = "cri"
    private var tape = JSONTape()
    private var partial: [UInt8] = []
    private var partialTime: Timestamp?
    private var partialStderr = false
    private var holding = false
    public var standaloneContext = DecodeContext()
    private let blank = BlankEvent()
    /// Parts beyond this are dropped (counted in `skein.truncated`) so one endless partial line stays bounded.
    public static let maxLineBytes = 1 << 20

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        CRIDecoder.split(frame) != nil
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        guard let parts = CRIDecoder.split(frame) else { return .malformed(.unrecognised) }
        if holding { release(source: source, context: &context, into: &events) }
        if parts.partial {
            hold(parts)
            return .absorbed
        }
        return emit(parts.content, time: parts.time, stderr: parts.stderr, truncated: false, source: source,
                    context: &context, into: &events)
    }

    public mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                       context: inout DecodeContext, into events: inout [Event]) -> Bool {
        guard holding, let parts = CRIDecoder.split(frame) else { return false }
        var truncated = false
        if partial.count + parts.content.count <= CRIDecoder.maxLineBytes {
            partial.append(contentsOf: parts.content)
        } else {
            truncated = true
        }
        if parts.partial { return true }
        holding = false
        let whole = partial
        let time = partialTime ?? parts.time
        _ = whole.withUnsafeBufferPointer {
            emit($0, time: time, stderr: parts.stderr, truncated: truncated, source: source, context: &context, into: &events)
        }
        partial.removeAll(keepingCapacity: true)
        return true
    }

    public mutating func flush(source: SourceID, into events: inout [Event]) {
        guard holding else { return }
        var context = standaloneContext
        release(source: source, context: &context, into: &events)
        standaloneContext = context
    }

    private mutating func hold(_ parts: Parts) {
        holding = true
        partialTime = parts.time
        partialStderr = parts.stderr
        partial.removeAll(keepingCapacity: true)
        partial.append(contentsOf: parts.content.prefix(CRIDecoder.maxLineBytes))
    }

    private mutating func release(source: SourceID, context: inout DecodeContext, into events: inout [Event]) {
        holding = false
        let whole = partial
        _ = whole.withUnsafeBufferPointer {
            emit($0, time: partialTime ?? .zero, stderr: partialStderr, truncated: false, source: source, context: &context,
                 into: &events)
        }
        partial.removeAll(keepingCapacity: true)
    }

    private mutating func emit(_ content: UnsafeBufferPointer<UInt8>, time: Timestamp, stderr: Bool, truncated: Bool,
                               source: SourceID, context: inout DecodeContext, into events: inout [Event]) -> DecodeOutcome {
        // An empty line from the container is as blank as an empty line anywhere.
        guard FrameScan.hasContent(content, from: 0) else { return .absorbed }
        var event = blank.event
        event.source = source
        event.time = time
        if stderr { event.attributes.append(Attribute("stream", "stderr")) }
        _ = ContainerLine.apply(content, tape: &tape, to: &event, context: &context)
        if truncated { event.attributes.append(Attribute("skein.truncated", "1")) }
        _ = ConventionMapper.settleTime(&event, found: true, context: &context)
        DBErrorClassifier.apply(to: &event)
        events.append(consume event)
        return .events(1)
    }

    struct Parts {
        var time: Timestamp
        var stderr: Bool
        var partial: Bool
        var content: UnsafeBufferPointer<UInt8>
    }

    /// `<time> <stdout|stderr> <P|F> <content>`; nil when the line is not in that shape.
    static func split(_ b: UnsafeBufferPointer<UInt8>) -> Parts? {
        guard b.count >= 20, b[0] >= 0x30 && b[0] <= 0x39, let s1 = b.firstIndex(of: 0x20), s1 >= 10 else { return nil }
        let streamStart = s1 + 1
        guard streamStart + 8 <= b.count, b[streamStart + 6] == 0x20 else { return nil }
        let stream = UnsafeBufferPointer(rebasing: b[streamStart..<(streamStart + 6)])
        let stderr = ByteText.equal(stream, "stderr")
        guard stderr || ByteText.equal(stream, "stdout") else { return nil }
        let tag = b[streamStart + 7]
        guard tag == UInt8(ascii: "F") || tag == UInt8(ascii: "P") else { return nil }
        let afterTag = streamStart + 8
        guard afterTag == b.count || b[afterTag] == 0x20 else { return nil }
        guard let time = TimeParsing.parse(UnsafeBufferPointer(rebasing: b[0..<s1])) else { return nil }
        let contentStart = min(afterTag + 1, b.count)
        return Parts(time: time, stderr: stderr, partial: tag == UInt8(ascii: "P"),
                     content: UnsafeBufferPointer(rebasing: b[contentStart...]))
    }
}

/// An app's own line found inside a container runtime's record.
enum ContainerLine {
    /// Decodes `bytes` as JSON (convention aliases), logfmt, or plain text; returns whether it carried a time.
    static func apply(_ bytes: UnsafeBufferPointer<UInt8>, tape: inout JSONTape, to event: inout Event,
                      context: inout DecodeContext) -> Bool {
        var e = bytes.count
        while e > 0, bytes[e - 1] == 0x0a || bytes[e - 1] == 0x0d { e -= 1 }
        let line = UnsafeBufferPointer(rebasing: bytes[..<e])
        let logfmt = LogfmtDecoder()
        if line.first != UInt8(ascii: "{"), logfmt.recognises(line) {
            return LogfmtDecoder.apply(line, to: &event, context: &context)
        }
        if case .json(let timed) = ConventionMapper.applyMessage(line, tape: &tape, to: &event, context: &context) {
            return timed
        }
        return false
    }
}
