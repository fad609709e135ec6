import SkeinCore

/// Why a line produced no event. A small closed set, so the health line can count each.
public enum MalformedReason: String, Sendable, CaseIterable, Hashable {
    /// JSON that ends inside a value.
    case truncatedJSON = "truncated_json"
    case invalidJSON = "invalid_json"
    /// A complete JSON value followed by more (two objects on one line).
    case trailingData = "trailing_data"
    case invalidUTF8 = "invalid_utf8"
    /// NUL or other control bytes that no text log contains.
    case binary = "binary"
    /// Longer than the framer's maximum; the line is skipped up to its newline.
    case lineTooLong = "line_too_long"
    /// JSON nested deeper than the scanner allows, or with too many values.
    case tooComplex = "too_complex"
    /// Text no decoder recognises.
    case unrecognised = "unrecognised"
    /// Recognised, but without the fields its format requires (e.g. no time).
    case missingFields = "missing_fields"
}

/// What became of one frame.
public enum DecodeOutcome: Sendable, Equatable {
    /// The frame produced this many events (appended to the output).
    case events(Int)
    /// The frame was consumed without an event of its own: a blank line, a continuation merged into
    /// an earlier event, a record the format defines as noise. Not malformed.
    case absorbed
    case malformed(MalformedReason)
}

/// Turns frames (one line, or one document, without its terminator) into events.
///
/// Decoders may hold one pending event (multi-line records: stack traces, Lambda's XRAY line,
/// pretty-printed JSON) and release it on the next frame or on `flush`.
public protocol FrameDecoder {
    /// The name `--format` selects it by.
    var name: String { get }
    mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome
    /// Emits anything held back; called at end of input and when a source goes quiet.
    mutating func flush(source: SourceID, into events: inout [Event])
    /// Frames reported `absorbed` earlier that turned out malformed (a multi-line value that never
    /// completed); the pipeline counts these after each `decode` and `flush`. Empty almost always.
    mutating func drainLateMalformed() -> [(reason: MalformedReason, count: Int)]
    /// False when `drainLateMalformed` would return nothing (asked per frame, so the empty answer
    /// costs no array). The default says true: a decoder that drains something must be asked.
    /// (`mutating`: a plain getter on a decoder held generically copied the whole decoder.)
    var mayHaveLateMalformed: Bool { mutating get }
}

extension FrameDecoder {
    public mutating func flush(source: SourceID, into events: inout [Event]) {}
    public mutating func drainLateMalformed() -> [(reason: MalformedReason, count: Int)] { [] }
    public var mayHaveLateMalformed: Bool { true }
}

extension MalformedReason {
    public init(_ failure: JSONTape.Failure) {
        switch failure {
        case .truncated: self = .truncatedJSON
        case .invalid: self = .invalidJSON
        case .trailingData: self = .trailingData
        case .invalidUTF8: self = .invalidUTF8
        case .tooDeep, .tooLarge: self = .tooComplex
        }
    }
}

/// Maps one parsed JSON object (a line, or one value of a stream) onto events.
///
/// The auto-detecting decoder parses each JSON frame once and offers it to the record decoders
/// in order; the first whose `matches` says yes decodes it. Skein's own convention (with its field
/// aliases, which also covers pino, zap, slog and structlog) comes last and takes any object.
public protocol JSONRecordDecoder {
    var name: String { get }
    /// Cheap: looks at top-level keys only.
    func matches(_ doc: JSONDocument) -> Bool
    /// Top-level keys of which every object this decoder `matches` has at least one (unescaped), or nil
    /// when there is no such key. The auto-detector reads a line's keys once and asks `matches` only of
    /// the decoders whose keys it saw, instead of every decoder walking every line.
    var signatureKeys: [StaticString]? { get }
    mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                         into events: inout [Event]) -> DecodeOutcome
}

extension JSONRecordDecoder {
    public var signatureKeys: [StaticString]? { nil }
}

/// State decoders share within one source: the interner, and facts learnt from earlier lines
/// (a Lambda log stream's function name, an instance's runtime) that later lines inherit.
public struct DecodeContext {
    public var interner: Interner
    /// Free-form per-source facts (`lambda.function` → `checkout`), bounded by the decoders that set them.
    public var facts: [String: String]
    /// The time of the last timed line from this source; a line without a time of its own inherits it
    /// (`ConventionMapper.settleTime`), so a stray untimed line keeps its place in the stream.
    public var lastTime: Timestamp?
    /// The injected clock (DESIGN: the wall clock live; nil in a bare decoder and in tests that set
    /// none), read only for a date logged without its year (RFC 3164 syslog) while this source has
    /// given no full time yet: see `BSDSyslog.resolve`. The sources set it (`Decoding.factory`).
    public var clock: (any Clock)?
    /// Reused between lines for building dotted attribute keys, so nested JSON costs no allocation.
    var pathScratch: [UInt8] = []
    /// Recent ids' strings, shared by the lines of one request instead of allocated per line.
    var ids = RecentStrings()
    /// Whether every message's text is kept. Off (an export, whose report prints no log lines), the
    /// convention decoder reads a whole JSON line's message for its `MessageFacts` and DB error
    /// from the bytes and keeps its text only when it is notable (`ConventionBuilder.notable`): a
    /// `String` per line was a twentieth of the decoding thread's work, and freeing it on the
    /// engine's thread more. Platforms' decoders, and the app JSON inside their envelopes, keep
    /// every message either way.
    public var keepsEveryMessage = true

    /// How many recent ids are remembered (`RecentStrings`, 1,024 unless set). A stream that
    /// interleaves many requests over a long time (a big file read for an export: some 30 requests
    /// open at once, 450 ids between two lines of one request) loses a third of its ids from 1,024
    /// slots before their requests' next lines, each a new string to make (and, in the engine, an
    /// id it cannot recognise by identity); 4,096 slots (320 KB) lose about a tenth. Not for
    /// contexts that come by the thousand (a collector's sources).
    public mutating func remembersIDs(slots: Int) {
        ids = RecentStrings(slots: slots)
    }

    public init(interner: Interner = Interner()) {
        self.interner = interner
        facts = [:]
    }
}
