import SkeinCore

/// systemd's journal as `journalctl -o json` prints it: one object per entry with
/// `__REALTIME_TIMESTAMP` (microseconds since the epoch, as a string), `MESSAGE`, `PRIORITY`
/// (syslog's 0–7), `_PID`, `_HOSTNAME`, `SYSLOG_IDENTIFIER`, `_SYSTEMD_UNIT`, `_COMM`, ... — how
/// long-running servers (a Go binary, a worker) on a VM are usually logged.
///
/// The message is decoded like a container's line (the app's JSON with the convention's aliases,
/// logfmt, or text), so a service logging slog or pino JSON to the journal keeps its ids. The
/// process is the instance (`host[pid]`: a restart is a new one); the deploy model is `server`.
public struct JournaldJSONLineDecoder: JSONRecordDecoder {
    public let name = "journald"
    private var tape = JSONTape()
    private var line: [UInt8] = []

    public init() {}

    public var signatureKeys: [StaticString]? { ["__REALTIME_TIMESTAMP"] }

    public func matches(_ doc: JSONDocument) -> Bool {
        guard doc.kind(doc.root) == .object, let t = doc.member(doc.root, "__REALTIME_TIMESTAMP"),
              doc.kind(t) == .string || doc.kind(t) == .number else { return false }
        return doc.member(doc.root, "MESSAGE") != nil
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let root = doc.root
        var event = Event(time: .zero, source: source, deploy: .server, platform: "systemd")
        // The time the app gave the entry, else when the journal received it.
        let micros = (doc.member(root, "_SOURCE_REALTIME_TIMESTAMP") ?? doc.member(root, "__REALTIME_TIMESTAMP"))
            .flatMap { NumberParsing.int(doc.raw($0)) }
        guard let micros, micros > 0, micros < Int.max / 1000 else { return .malformed(.missingFields) }
        event.time = Timestamp(nanos: Int64(micros) * 1000)
        let unit = doc.member(root, "_SYSTEMD_UNIT").flatMap { doc.nonEmptyString($0) }
        let service = doc.member(root, "SYSLOG_IDENTIFIER").flatMap { doc.nonEmptyString($0) }
            ?? unit.map { $0.hasSuffix(".service") ? String($0.dropLast(".service".count)) : $0 }
            ?? doc.member(root, "_COMM").flatMap { doc.nonEmptyString($0) }
        if let service { event.service = context.interner.intern(service) }
        if let pid = doc.member(root, "_PID").flatMap({ doc.nonEmptyString($0) }) {
            let host = doc.member(root, "_HOSTNAME").flatMap { doc.nonEmptyString($0) }
            event.instance = context.interner.intern(host.map { "\($0)[\(pid)]" } ?? pid)
        }
        if let p = doc.member(root, "PRIORITY").flatMap({ doc.int($0) }) { event.level = Self.level(priority: p) }
        if let unit { event.attributes.append(Attribute("systemd_unit", unit)) }

        guard let message = doc.member(root, "MESSAGE") else { return .malformed(.missingFields) }
        line.removeAll(keepingCapacity: true)
        switch doc.kind(message) {
        case .string where !doc.tape.node(message).flag:
            line.append(contentsOf: doc.raw(message))
        case .string:
            line.append(contentsOf: JSONDocument.unescape(doc.raw(message)).utf8)
        case .array:
            // A message that is not valid UTF-8 comes as its bytes.
            doc.forEachElement(message) { i in
                if let b = doc.int(i), (0...255).contains(b) { line.append(UInt8(b)) }
            }
        default:
            break
        }
        var repaired = String(decoding: line, as: UTF8.self)
        // The app's own time, when its line has one, replaces the journal's.
        _ = repaired.withUTF8 { ContainerLine.apply($0, tape: &tape, to: &event, context: &context) }
        _ = ConventionMapper.settleTime(&event, found: true, context: &context)
        DBErrorClassifier.apply(to: &event)
        events.append(event)
        return .events(1)
    }

    /// syslog's priorities: 0 emerg … 2 crit are fatal, 3 err, 4 warning, 5 notice and 6 info, 7 debug.
    static func level(priority p: Int) -> Level {
        switch p {
        case ...2: .fatal
        case 3: .error
        case 4: .warn
        case 5, 6: .info
        default: .debug
        }
    }
}
