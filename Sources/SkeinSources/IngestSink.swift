import SkeinCore
import SkeinDecoders
import SkeinEngine

/// Where sources deliver what they read: exactly the input side of `Engine`.
///
/// The engine conforms (`Decoding.swift`, beside the decoder factory every verb uses); tests use an
/// in-memory sink.
/// Sources never hold more than this, so the engine stays the one owner of state.
public protocol IngestSink: AnyObject {
    func addSource(name: String) -> SourceID
    func setHealth(_ health: SourceHealth, for source: SourceID)
    /// One frame read.
    func countLine(source: SourceID)
    /// `reason` is a `MalformedReason.rawValue`.
    func countMalformed(source: SourceID, reason: String)
    /// Which decoder took a frame.
    func countFormat(source: SourceID, format: String)
    /// Lines lost between a source and the engine (a full queue).
    func countDropped(_ n: Int)
    func ingest(_ event: Event)
    /// `count` frames read (a chunk's worth, counted once instead of per frame).
    func countLines(source: SourceID, count: Int)
    /// `count` frames taken by one decoder.
    func countFormat(source: SourceID, format: String, count: Int)
    /// Takes every event of `events`, in order, and leaves it empty (a batching sink may swap storage
    /// with it instead of copying, so its capacity can change).
    func ingest(moving events: inout [Event])
}

extension IngestSink {
    public func countLines(source: SourceID, count: Int) {
        for _ in 0..<max(0, count) { countLine(source: source) }
    }

    public func countFormat(source: SourceID, format: String, count: Int) {
        for _ in 0..<max(0, count) { countFormat(source: source, format: format) }
    }

    public func ingest(moving events: inout [Event]) {
        events.withUnsafeBufferPointer { all in
            for i in all.indices { ingest(all[i]) }
        }
        events.removeAll(keepingCapacity: true)
    }
}

/// How a source gets its decoder, and how to ask that decoder which format took the last frame.
///
/// Each source gets a decoder of its own (decoders keep per-source state: a pending multi-line
/// event, facts learnt from earlier lines). An auto-detecting decoder reports the format it picked
/// through `lastFormat`; by default a decoder's name is its format. Give the concrete decoder type
/// when you can: the per-line calls then go straight to it, with no existential or cast per line.
///
///     DecoderFactory(make: { AutoDecoder.standard(forced: nil) }, lastFormat: { $0.lastFormat })
public struct DecoderFactory: @unchecked Sendable {
    // Unchecked only because the generic init's closure captures `D`'s metatype, which Swift 6
    // cannot prove Sendable; everything it calls is one of the caller's `@Sendable` closures.
    let makeBox: () -> DecoderBox

    /// `lastFormat` takes the decoder `inout` only so that reading it needs no copy of the decoder
    /// (a copy per frame retains every buffer it holds); it must not change the decoder.
    public init<D: FrameDecoder>(make: @escaping @Sendable () -> D, lastFormat: @escaping @Sendable (inout D) -> String?) {
        makeBox = { TypedDecoderBox(make(), lastFormat: lastFormat) }
    }

    /// A fixed decoder: its name is the format of every frame it decodes.
    public init<D: FrameDecoder>(make: @escaping @Sendable () -> D) {
        makeBox = { TypedDecoderBox(make(), lastFormat: { $0.name }) }
    }

    /// For a decoder chosen at run time (`--format`).
    public init(make: @escaping @Sendable () -> any FrameDecoder,
                lastFormat: @escaping @Sendable (any FrameDecoder) -> String? = { $0.name }) {
        makeBox = { ExistentialDecoderBox(make(), lastFormat: lastFormat) }
    }
}

/// One source's decoder behind a class, so the per-line path is one virtual call into code
/// specialised for the concrete decoder.
class DecoderBox {
    func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        fatalError("abstract")
    }
    func flush(source: SourceID, into events: inout [Event]) { fatalError("abstract") }
    var lastFormat: String? { fatalError("abstract") }
    /// Frames the decoder first held and later gave up on (an unfinished multi-line value).
    func drainLateMalformed() -> [(reason: MalformedReason, count: Int)] { fatalError("abstract") }
    var mayHaveLateMalformed: Bool { fatalError("abstract") }
}

final class TypedDecoderBox<D: FrameDecoder>: DecoderBox {
    // One owner (an `Ingest`), and no method here re-enters another: the per-frame exclusivity
    // checks would cost more than the call they guard.
    @exclusivity(unchecked) var decoder: D
    let format: (inout D) -> String?
    init(_ decoder: D, lastFormat: @escaping (inout D) -> String?) {
        self.decoder = decoder
        format = lastFormat
    }
    override func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        decoder.decode(frame, source: source, into: &events)
    }
    override func flush(source: SourceID, into events: inout [Event]) { decoder.flush(source: source, into: &events) }
    override var lastFormat: String? { format(&decoder) }
    override func drainLateMalformed() -> [(reason: MalformedReason, count: Int)] { decoder.drainLateMalformed() }
    override var mayHaveLateMalformed: Bool { decoder.mayHaveLateMalformed }
}

final class ExistentialDecoderBox: DecoderBox {
    var decoder: any FrameDecoder
    let format: @Sendable (any FrameDecoder) -> String?
    init(_ decoder: any FrameDecoder, lastFormat: @escaping @Sendable (any FrameDecoder) -> String?) {
        self.decoder = decoder
        format = lastFormat
    }
    override func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        decoder.decode(frame, source: source, into: &events)
    }
    override func flush(source: SourceID, into events: inout [Event]) { decoder.flush(source: source, into: &events) }
    override var lastFormat: String? { format(decoder) }
    override func drainLateMalformed() -> [(reason: MalformedReason, count: Int)] { decoder.drainLateMalformed() }
    override var mayHaveLateMalformed: Bool { decoder.mayHaveLateMalformed }
}
