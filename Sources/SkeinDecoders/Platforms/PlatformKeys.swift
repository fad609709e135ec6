import SkeinCore

/// Which of the platform formats' telltale keys an object has at its top level, found in one pass.
///
/// Every JSON line is offered to the platform decoders before Skein's convention takes it, so their
/// `matches` run on every convention line too: this keeps that to one tight loop over the object's
/// keys, with no closure and no `String`.
struct PlatformKeys: OptionSet {
    let rawValue: UInt32

    static let messageType = PlatformKeys(rawValue: 1 << 0)
    static let logEvents = PlatformKeys(rawValue: 1 << 1)
    static let deploymentId = PlatformKeys(rawValue: 1 << 2)
    static let source = PlatformKeys(rawValue: 1 << 3)
    static let projectId = PlatformKeys(rawValue: 1 << 4)
    static let outcome = PlatformKeys(rawValue: 1 << 5)
    static let scriptName = PlatformKeys(rawValue: 1 << 6)
    static let eventTimestamp = PlatformKeys(rawValue: 1 << 7)
    static let resourceLogs = PlatformKeys(rawValue: 1 << 8)
    static let resourceSpans = PlatformKeys(rawValue: 1 << 9)
    static let resourceMetrics = PlatformKeys(rawValue: 1 << 10)
    static let time = PlatformKeys(rawValue: 1 << 11)
    static let type = PlatformKeys(rawValue: 1 << 12)
    static let record = PlatformKeys(rawValue: 1 << 13)
    static let timestamp = PlatformKeys(rawValue: 1 << 14)
    static let level = PlatformKeys(rawValue: 1 << 15)
    /// `requestId`, or `AWSRequestId` (Lambda's Java runtime's JSON log format).
    static let requestId = PlatformKeys(rawValue: 1 << 16)
    static let message = PlatformKeys(rawValue: 1 << 17)

    init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The telltale keys of the object at `object` (empty when it is not an object).
    init(_ doc: JSONDocument, _ object: Int) {
        var found: UInt32 = 0
        guard let base = doc.bytes.baseAddress else { self.rawValue = 0; return }
        // Read in place through `nodeBase` (`tape.nodes` would copy the whole tape into an array,
        // which on a Workers record cost more than the rest of the test).
        let nodes = doc.tape.nodeBase
        let count = doc.tape.nodeCount
        guard object >= 0, object < count, nodes[object].kind == .object else { self.rawValue = 0; return }
        var i = object + 1
        let end = min(Int(nodes[object].next), count)
        while i < end {
            let key = nodes[i]
            let v = i + 1
            guard v < count else { break }
            i = Int(nodes[v].next)
            if key.flag { continue }
            let p = base + Int(key.start)
            let n = Int(key.end - key.start)
            if n == 0 { continue }
            found |= PlatformKeys.bit(p, n)
        }
        self.rawValue = found
    }

    @inline(__always)
    private static func eq(_ p: UnsafePointer<UInt8>, _ n: Int, _ word: StaticString) -> Bool {
        guard n == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for j in 0..<n where p[j] != w[j] { return false }
        return true
    }

    /// Dispatches on length and first byte, so most keys cost two comparisons.
    @inline(__always)
    private static func bit(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        switch (n, p[0]) {
        case (4, UInt8(ascii: "t")):
            if eq(p, n, "time") { return time.rawValue }
            if eq(p, n, "type") { return type.rawValue }
        case (5, UInt8(ascii: "l")): if eq(p, n, "level") { return level.rawValue }
        case (6, UInt8(ascii: "s")): if eq(p, n, "source") { return source.rawValue }
        case (6, UInt8(ascii: "r")): if eq(p, n, "record") { return record.rawValue }
        case (7, UInt8(ascii: "m")): if eq(p, n, "message") { return message.rawValue }
        case (7, UInt8(ascii: "o")), (7, UInt8(ascii: "O")):
            if eq(p, n, "outcome") || eq(p, n, "Outcome") { return outcome.rawValue }
        case (9, UInt8(ascii: "t")): if eq(p, n, "timestamp") { return timestamp.rawValue }
        case (9, UInt8(ascii: "r")): if eq(p, n, "requestId") { return requestId.rawValue }
        case (9, UInt8(ascii: "p")): if eq(p, n, "projectId") { return projectId.rawValue }
        case (9, UInt8(ascii: "l")): if eq(p, n, "logEvents") { return logEvents.rawValue }
        case (10, UInt8(ascii: "s")), (10, UInt8(ascii: "S")):
            if eq(p, n, "scriptName") || eq(p, n, "ScriptName") { return scriptName.rawValue }
        case (11, UInt8(ascii: "m")): if eq(p, n, "messageType") { return messageType.rawValue }
        case (12, UInt8(ascii: "d")): if eq(p, n, "deploymentId") { return deploymentId.rawValue }
        case (12, UInt8(ascii: "A")): if eq(p, n, "AWSRequestId") { return requestId.rawValue }
        case (12, UInt8(ascii: "r")): if eq(p, n, "resourceLogs") { return resourceLogs.rawValue }
        case (13, UInt8(ascii: "r")): if eq(p, n, "resourceSpans") { return resourceSpans.rawValue }
        case (14, UInt8(ascii: "e")): if eq(p, n, "eventTimestamp") { return eventTimestamp.rawValue }
        case (15, UInt8(ascii: "r")): if eq(p, n, "resourceMetrics") { return resourceMetrics.rawValue }
        case (16, UInt8(ascii: "E")): if eq(p, n, "EventTimestampMs") { return eventTimestamp.rawValue }
        default: break
        }
        return 0
    }
}
