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
    /// Lines and formats not yet told to the sink: counted per frame here, told once per chunk.
    @exclusivity(unchecked) private var untoldLines = 0
    @exclusivity(unchecked) private var untoldFormat: String?
    @exclusivity(unchecked) private var untoldFormatCount = 0

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

    /// Frames and decodes a chunk; lines split across chunks are carried over. The chunk's events
    /// and counts reach the sink before this returns, together: one hand-over per chunk, not per line.
    public func consume(_ bytes: UnsafeBufferPointer<UInt8>, into sink: any IngestSink) {
        // The decoder is read once per chunk: read per frame from the property (which `restart`
        // may replace), it was a retain and a release for each of three calls per line.
        let box = decoder
        framer.feed(bytes) { frame, _ in self.handle(frame, sink, box) }
        deliver(sink)
    }

    public func consume(_ bytes: UnsafeRawBufferPointer, into sink: any IngestSink) {
        consume(bytes.bindMemory(to: UInt8.self), into: sink)
    }

    /// End of input: frames the final unterminated line and flushes the decoder.
    public func finish(into sink: any IngestSink) {
        let box = decoder
        framer.finish { frame, _ in self.handle(frame, sink, box) }
        deliver(sink)
        flush(into: sink)
    }

    /// The source went quiet: lets the decoder release an event it was holding back.
    public func flush(into sink: any IngestSink) {
        decoder.flush(source: source, into: &events)
        deliver(sink)
        countLateMalformed(sink, decoder)
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

    private func handle(_ frame: LineFramer.Frame, _ sink: any IngestSink, _ decoder: DecoderBox) {
        lines += 1
        untoldLines += 1
        switch frame {
        case .oversize:
            malformed += 1
            tellCounts(sink)
            sink.countMalformed(source: source, reason: MalformedReason.lineTooLong.rawValue)
        case .line(let bytes):
            switch decoder.decode(bytes, source: source, into: &events) {
            case .events, .absorbed:
                // A line a decoder took into a multi-line event it holds counts for that decoder too
                // (a Postgres log's DETAIL line, Lambda's END/REPORT); blank lines name no format.
                if let format = decoder.lastFormat {
                    // Formats rarely change from line to line: a run of one is told as one count.
                    if format == untoldFormat {
                        untoldFormatCount += 1
                    } else {
                        tellFormat(sink)
                        untoldFormat = format
                        untoldFormatCount = 1
                    }
                }
            case .malformed(let reason):
                malformed += 1
                tellCounts(sink)
                sink.countMalformed(source: source, reason: reason.rawValue)
            }
            countLateMalformed(sink, decoder)
        }
    }

    /// Lines a decoder held (the start of a multi-line value) and then abandoned are malformed too:
    /// counted when the decoder gives up on them, never dropped silently.
    private func countLateMalformed(_ sink: any IngestSink, _ decoder: DecoderBox) {
        guard decoder.mayHaveLateMalformed else { return }
        let late = decoder.drainLateMalformed()
        if late.isEmpty { return }
        tellCounts(sink)
        for (reason, count) in late {
            malformed += count
            for _ in 0..<count { sink.countMalformed(source: source, reason: reason.rawValue) }
        }
    }

    /// Tells the sink the lines (and formats) counted so far, so a malformed count never arrives
    /// before the line it belongs to.
    private func tellCounts(_ sink: any IngestSink) {
        if untoldLines > 0 {
            sink.countLines(source: source, count: untoldLines)
            untoldLines = 0
        }
        tellFormat(sink)
    }

    private func tellFormat(_ sink: any IngestSink) {
        if let format = untoldFormat, untoldFormatCount > 0 {
            sink.countFormat(source: source, format: format, count: untoldFormatCount)
        }
        untoldFormatCount = 0
    }

    private func deliver(_ sink: any IngestSink) {
        tellCounts(sink)
        if events.isEmpty { return }
        eventCount += events.count
        // The source id is this ingest's, whatever the decoder set (ids change when a replay rebinds).
        events.withUnsafeMutableBufferPointer { all in
            for i in all.indices { all[i].source = source }
        }
        sink.ingest(moving: &events)
        if !events.isEmpty { events.removeAll(keepingCapacity: true) }
    }
}
