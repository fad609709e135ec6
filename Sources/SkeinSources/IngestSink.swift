import SkeinCore
import SkeinDecoders
import SkeinEngine

/// Where sources deliver what they read: exactly the input side of `Engine`.
///
/// The engine conforms with `extension Engine: IngestSink {}`; tests use an in-memory sink.
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
}

/// How a source gets its decoder, and how to ask that decoder which format took the last frame.
///
/// Each source gets a decoder of its own (decoders keep per-source state: a pending multi-line
/// event, facts learnt from earlier lines). An auto-detecting decoder reports the format it picked
/// through `lastFormat`; a fixed decoder's name is its format.
public struct DecoderFactory: Sendable {
    public var make: @Sendable () -> any FrameDecoder
    /// The format that decoded the most recent frame, or nil to count none.
    public var lastFormat: @Sendable (any FrameDecoder) -> String?

    public init(make: @escaping @Sendable () -> any FrameDecoder,
                lastFormat: @escaping @Sendable (any FrameDecoder) -> String? = { $0.name }) {
        self.make = make
        self.lastFormat = lastFormat
    }
}
