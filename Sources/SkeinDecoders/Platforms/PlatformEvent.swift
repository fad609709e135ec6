import SkeinCore

/// Where a platform record ran: the fields every event of one record shares.
public struct PlatformScope: Sendable, Equatable {
    public var service: String?
    public var instance: String?
    public var deploy: DeployModel?
    public var platform: String?
    public var runtime: String?
    public var region: String?

    public init(service: String? = nil, instance: String? = nil, deploy: DeployModel? = nil, platform: String? = nil,
                runtime: String? = nil, region: String? = nil) {
        self.service = service; self.instance = instance; self.deploy = deploy
        self.platform = platform; self.runtime = runtime; self.region = region
    }

    public func event(_ time: Timestamp, _ kind: EventKind = .log, level: Level = .info, source: SourceID) -> Event {
        Event(time: time, kind: kind, level: level, source: source, service: service, instance: instance,
              deploy: deploy, platform: platform, runtime: runtime, region: region)
    }
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

    /// DB error classification on the message, then out.
    static func emit(_ event: Event, into events: inout [Event]) {
        var e = event
        DBErrorClassifier.apply(to: &e)
        events.append(e)
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
