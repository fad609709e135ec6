import SkeinCore

/// Where a platform record ran: the fields every event of one record shares.
///
/// The names are kept as symbols, as in `Event`: a scope is set once per record or log stream and
/// stamped on each of its events, which then copies numbers. (Kept as text, every event converted
/// five names back into symbols through the process-wide table and its lock.)
public struct PlatformScope: Sendable, Equatable {
    @SymbolText public var service: String?
    @SymbolText public var instance: String?
    public var deploy: DeployModel?
    @SymbolText public var platform: String?
    @SymbolText public var runtime: String?
    @SymbolText public var region: String?

    public init(service: String? = nil, instance: String? = nil, deploy: DeployModel? = nil, platform: String? = nil,
                runtime: String? = nil, region: String? = nil) {
        self.service = service; self.instance = instance; self.deploy = deploy
        self.platform = platform; self.runtime = runtime; self.region = region
    }

    public func event(_ time: Timestamp, _ kind: EventKind = .log, level: Level = .info, source: SourceID) -> Event {
        // Filled in from a blank event rather than through `Event`'s memberwise initialiser, which
        // (called across modules) copies the whole event it builds once more.
        var e = PlatformScope.blank
        e.time = time
        e.kind = kind
        e.level = level
        e.source = source
        e.$service = $service
        e.$instance = $instance
        e.deploy = deploy
        e.$platform = $platform
        e.$runtime = $runtime
        e.$region = $region
        return e
    }

    /// An event with every field at its default; `event(_:_:level:source:)` starts from it.
    static let blank = Event(time: .zero)
}

/// Finishing touches every platform decoder applies to what it emits.
enum PlatformEvent {
    /// Longest message kept; continuation lines past it are dropped (the line is still counted).
    static let maxMessageBytes = 64 * 1024

    /// Appends one continuation line to a held event's message, within the bound.
    static func appendLine(_ line: UnsafeBufferPointer<UInt8>, to event: inout Event) {
        var m = event.message ?? ""
        guard m.utf8.count + line.count < maxMessageBytes else { return }
        m += "\n"
        m += String(decoding: line, as: UTF8.self)
        event.message = m
    }

    /// DB error classification on the message, then out. Takes the event over: a caller's last use
    /// of an owned value (a call's result, a `let` from `popLast`) moves it into the array; a local
    /// `var` is still copied, so hot paths build their events in place in `events` instead.
    static func emit(_ event: consuming Event, into events: inout [Event]) {
        DBErrorClassifier.apply(to: &event)
        events.append(event)
    }

    /// `doc.nonEmptyString(node)` through the interner, read from the bytes when the string has no
    /// escapes (values that repeat on every record: no new `String` each time).
    static func interned(_ doc: JSONDocument, _ node: Int?, _ context: inout DecodeContext) -> String? {
        guard let node else { return nil }
        let nd = doc.tape.node(node)
        if nd.kind == .string && !nd.flag {
            return nd.start == nd.end ? nil : context.interner.intern(doc.raw(node))
        }
        return doc.nonEmptyString(node).map { context.interner.intern($0) }
    }

    /// A runtime name as Skein's convention spells it: `nodejs:20.v13` → `nodejs20`,
    /// `python:3.12.v30` → `python3.12`, `java:21.v10` → `java21`, `nodejs20.x` → `nodejs20`.
    static func runtimeName(_ raw: String) -> String {
        var chars = Array(raw.utf8)
        if let colon = lastIndex(of: Array("runtime:".utf8), in: chars) { chars = Array(chars[(colon + 8)...]) }
        if let v = lastIndex(of: [UInt8(ascii: "."), UInt8(ascii: "v")], in: chars),
           v + 2 < chars.count, chars[(v + 2)...].allSatisfy(ByteText.isDigit) {
            chars = Array(chars[..<v])
        }
        if chars.count > 2, chars[chars.count - 2] == UInt8(ascii: "."), chars[chars.count - 1] == UInt8(ascii: "x") {
            chars.removeLast(2)
        }
        chars.removeAll { $0 == UInt8(ascii: ":") }
        return String(decoding: chars, as: UTF8.self)
    }

    private static func lastIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.count - needle.count
        while i >= 0 {
            if Array(hay[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return nil
    }
}

/// Level names in platform records, read from the bytes.
enum PlatformLevel {
    /// `Level(name:)` of the node's string value (nil for null, empty, objects and arrays); the
    /// short names platforms write are matched in place, anything else goes through `Level(name:)`.
    static func named(_ doc: JSONDocument, _ node: Int) -> Level? {
        let nd = doc.tape.node(node)
        switch nd.kind {
        case .null, .object, .array: return nil
        case .string where nd.start == nd.end: return nil
        case .string where nd.flag: return Level(name: doc.string(node))
        default: return named(doc.raw(node))
        }
    }

    /// `Level(name:)` of the bytes, without a `String` for the common names (ASCII, any case).
    static func named(_ b: UnsafeBufferPointer<UInt8>) -> Level? {
        ConventionBuilder.levelName(b)
    }
}
