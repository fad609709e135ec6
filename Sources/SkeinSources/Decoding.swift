import SkeinCore
import SkeinDecoders
import SkeinEngine

/// The engine takes input exactly as sources deliver it.
extension Engine: IngestSink {
    /// Chunks are lent to the engine event by event, not copied (`Engine.ingest(draining:)`).
    public func ingest(moving events: inout [Event]) {
        ingest(draining: &events)
    }
}

/// How every verb decodes: one auto-detecting decoder per source, or the format `--format` forces.
public enum Decoding {
    /// `keepsEveryMessage: false` for a consumer that prints no log lines (an export): see
    /// `DecodeContext.keepsEveryMessage`.
    /// `recentIDSlots`: see `DecodeContext.remembersIDs(slots:)`.
    /// `clock`: the year of a date logged without one (RFC 3164 syslog) before its source gives a full
    /// time (`DecodeContext.clock`, `BSDSyslog.resolve`); the wall clock unless told.
    public static func factory(format: String? = nil, keepsEveryMessage: Bool = true, recentIDSlots: Int? = nil,
                               clock: any Clock = WallClock()) -> DecoderFactory {
        DecoderFactory(make: {
            var d = AutoDecoder.standard(forced: format)
            d.context.clock = clock
            d.context.keepsEveryMessage = keepsEveryMessage
            if let slots = recentIDSlots { d.context.remembersIDs(slots: slots) }
            return d
        }, lastFormat: { $0.lastFormat })
    }

    /// Names `--format` accepts.
    public static var formatNames: [String] { AutoDecoder.formatNames }
}
