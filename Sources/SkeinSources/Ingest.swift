import SkeinCore
import SkeinDecoders
import SkeinEngine

/// One source's path from bytes to the sink: a `LineFramer` and a `FrameDecoder` of its own.
///
/// Every frame is counted as a line; a malformed frame is counted with its reason; an oversize
/// line is counted as `line_too_long`; blank and absorbed frames are lines only. Events go to
/// `sink.ingest` in the order the decoder produced them. Not thread-safe: one owner.
public final class Ingest {
    public let source: SourceID
    public let decoderFactory: DecoderFactory
    // The per-line path touches these several times per frame. Only this object's methods reach
    // them, and the one overlap (decoding inside the framer's callback) touches different
    // properties, so the dynamic exclusivity checks (a fifth of the cost per line) are skipped.
    @exclusivity(unchecked) private var framer: LineFramer
    @exclusivity(unchecked) private var decoder: DecoderBox
    @exclusivity(unchecked) private var events: [Event] = []

    /// Frames read, events produced and frames counted malformed, since creation.
    @exclusivity(unchecked) public private(set) var lines = 0
    @exclusivity(unchecked) public private(set) var eventCount = 0
    @exclusivity(unchecked) public private(set) var malformed = 0

    public init(source: SourceID, decoder: DecoderFactory, maxLineLength: Int = LineFramer.defaultMaxLineLength) {
        self.source = source
        decoderFactory = decoder
        framer = LineFramer(maxLineLength: maxLineLength)
        self.decoder = decoder.makeBox()
        events.reserveCapacity(16)
    }

    /// Stream offset just past the last byte consumed.
    public var offset: Int64 { framer.bytesFed }

    /// True when an unterminated line is pending.
    public var hasPartialLine: Bool { framer.hasPartialLine }

    /// Frames and decodes a chunk; lines split across chunks are carried over.
    public func consume(_ bytes: UnsafeBufferPointer<UInt8>, into sink: any IngestSink) {
        framer.feed(bytes) { frame, _ in self.handle(frame, sink) }
    }

    public func consume(_ bytes: UnsafeRawBufferPointer, into sink: any IngestSink) {
        consume(bytes.bindMemory(to: UInt8.self), into: sink)
    }

    /// End of input: frames the final unterminated line and flushes the decoder.
    public func finish(into sink: any IngestSink) {
        framer.finish { frame, _ in self.handle(frame, sink) }
        flush(into: sink)
    }

    /// The source went quiet: lets the decoder release an event it was holding back.
    public func flush(into sink: any IngestSink) {
        decoder.flush(source: source, into: &events)
        deliver(sink)
        countLateMalformed(sink)
    }

    /// Starts a new stream at `offset` with a fresh framer and decoder (rotation, a seek): anything
    /// pending from the old stream is finished first unless `finishing` is false.
    public func restart(at offset: Int64 = 0, finishing: Bool = true, into sink: any IngestSink) {
        if finishing { finish(into: sink) }
        framer = LineFramer(maxLineLength: framer.maxLineLength, startOffset: offset)
        decoder = decoderFactory.makeBox()
    }

    /// Bytes were lost before this point: drop the torn line rather than glue it to the next.
    public func resynchronize() {
        framer.resynchronize()
    }

    private func handle(_ frame: LineFramer.Frame, _ sink: any IngestSink) {
        lines += 1
        sink.countLine(source: source)
        switch frame {
        case .oversize:
            malformed += 1
            sink.countMalformed(source: source, reason: MalformedReason.lineTooLong.rawValue)
        case .line(let bytes):
            switch decoder.decode(bytes, source: source, into: &events) {
            case .events:
                if let format = decoder.lastFormat {
                    sink.countFormat(source: source, format: format)
                }
            case .absorbed:
                break
            case .malformed(let reason):
                malformed += 1
                sink.countMalformed(source: source, reason: reason.rawValue)
            }
            // A decoder may release a held event on any outcome, so deliver regardless.
            if !events.isEmpty { deliver(sink) }
            countLateMalformed(sink)
        }
    }

    /// Lines a decoder held (the start of a multi-line value) and then abandoned are malformed too:
    /// counted when the decoder gives up on them, never dropped silently.
    private func countLateMalformed(_ sink: any IngestSink) {
        for (reason, count) in decoder.drainLateMalformed() {
            malformed += count
            for _ in 0..<count { sink.countMalformed(source: source, reason: reason.rawValue) }
        }
    }

    private func deliver(_ sink: any IngestSink) {
        eventCount += events.count
        // The source id is this ingest's, whatever the decoder set (ids change when a replay rebinds).
        for var event in events {
            event.source = source
            sink.ingest(event)
        }
        events.removeAll(keepingCapacity: true)
    }
}
