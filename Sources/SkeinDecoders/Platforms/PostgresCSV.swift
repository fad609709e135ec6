import SkeinCore

/// PostgreSQL's `csvlog` destination (`log_destination = 'csvlog'`, the `.csv` file beside the
/// stderr log): one CSV record per entry, its columns in the order the server documents ("Using
/// CSV-Format Log Output"): `log_time`, `user_name`, `database_name`, `process_id`,
/// `connection_from`, `session_id`, `session_line_num`, `command_tag`, `session_start_time`,
/// `virtual_transaction_id`, `transaction_id`, `error_severity`, `sql_state_code`, `message`,
/// `detail`, `hint`, `internal_query`, `internal_query_pos`, `context`, `query`, `query_pos`,
/// `location`, `application_name`, then `backend_type` (13 and later), `leader_pid` and `query_id`
/// (14 and later). Text fields are quoted with `""` for a quote, and may hold newlines (a
/// multi-line statement or message): a record's lines are joined until its quotes close.
///
/// The same entries as the stderr log and `jsonlog`, so the same events (`PostgresMapping`), with
/// the record's own user, database and application.
public struct PostgresCSVLogDecoder: StandaloneTextDecoder {
    public let name = "postgres"
    public var standaloneContext = DecodeContext()
    /// The lines of a record whose quoted field is still open.
    private var partial: [UInt8] = []
    private var partialLines = 0
    private var late = 0
    private var fields: [Field] = []
    private static let maxRecordBytes = 256 * 1024
    private static let maxRecordLines = 2_000

    public init() {}

    struct Field {
        var start: Int
        var end: Int
        /// Holds `""` (a quote) to unescape.
        var escaped: Bool
    }

    /// The column numbers (0-based) read.
    private enum Column {
        static let time = 0, user = 1, database = 2, pid = 3, connectionFrom = 4, sessionID = 5
        static let severity = 11, stateCode = 12, message = 13, detail = 14, hint = 15, context = 18
        static let query = 19, application = 22, backendType = 23
    }

    /// The time, a comma, and a severity word in the twelfth column: every `csvlog` record's first line.
    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = frame.first, ByteText.isDigit(first), let (_, end) = PlatformTime.parse(frame),
              end < frame.count, frame[end] == UInt8(ascii: ",") else { return false }
        var f: [Field] = []
        _ = Self.split(frame, into: &f, upTo: Column.severity + 1)
        guard f.count > Column.severity, f[Column.time].end == end, !f[Column.severity].escaped else { return false }
        return PostgresLogDecoder.Severity(name: ByteText.slice(frame, f[Column.severity].start, f[Column.severity].end)) != nil
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        partial.removeAll(keepingCapacity: true)
        partialLines = 0
        if !Self.split(frame, into: &fields, upTo: Int.max) {
            partial.append(contentsOf: frame)
            partialLines = 1
            return .absorbed
        }
        return record(frame, source: source, context: &context, into: &events)
    }

    public mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID,
                                       context: inout DecodeContext, into events: inout [Event]) -> Bool {
        guard partialLines > 0 else { return false }
        if partial.count + frame.count + 1 > Self.maxRecordBytes || partialLines + 1 > Self.maxRecordLines {
            late += partialLines
            partial.removeAll(keepingCapacity: false)
            partialLines = 0
            return false
        }
        partial.append(0x0a)
        partial.append(contentsOf: frame)
        partialLines += 1
        // Only a quote can close the open field: a line without one is not split again.
        guard ByteText.find(frame, "\"", from: 0) != nil else { return true }
        let joined = partial
        return joined.withUnsafeBufferPointer { all in
            guard Self.split(all, into: &fields, upTo: Int.max) else { return true }
            partial.removeAll(keepingCapacity: true)
            partialLines = 0
            if case .malformed = record(all, source: source, context: &context, into: &events) { late += 1 }
            return true
        }
    }

    public mutating func flush(source: SourceID, into events: inout [Event]) {
        // A record whose quote never closed: its lines were counted as absorbed.
        late += partialLines
        partial.removeAll(keepingCapacity: false)
        partialLines = 0
    }

    public mutating func drainLateMalformed() -> [(reason: MalformedReason, count: Int)] {
        guard late > 0 else { return [] }
        defer { late = 0 }
        return [(.missingFields, late)]
    }

    public var mayHaveLateMalformed: Bool { mutating get { late > 0 } }

    private mutating func record(_ b: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                 into events: inout [Event]) -> DecodeOutcome {
        let f = fields
        guard f.count > Column.message,
              let (time, end) = PlatformTime.parse(ByteText.slice(b, f[Column.time].start, f[Column.time].end)),
              end == f[Column.time].end - f[Column.time].start,
              let severity = PostgresLogDecoder.Severity(name: ByteText.slice(b, f[Column.severity].start, f[Column.severity].end)),
              !severity.isContinuation else {
            return .malformed(.missingFields)
        }
        func text(_ i: Int) -> String? {
            guard i < f.count, f[i].end > f[i].start else { return nil }
            guard f[i].escaped else { return ByteText.string(b, f[i].start, f[i].end) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(f[i].end - f[i].start)
            var k = f[i].start
            while k < f[i].end {
                bytes.append(b[k])
                // `""` is one quote.
                k += b[k] == UInt8(ascii: "\"") && k + 1 < f[i].end && b[k + 1] == UInt8(ascii: "\"") ? 2 : 1
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let message = text(Column.message) ?? ""
        var shown = (text(Column.severity) ?? "") + ":  " + message
        var session = PostgresMapping.Session()
        session.learn(user: text(Column.user), database: text(Column.database), application: text(Column.application))
        let pid = f[Column.pid].end > f[Column.pid].start
            ? NumberParsing.int(ByteText.slice(b, f[Column.pid].start, f[Column.pid].end)) : nil
        var e = shown.withUTF8 { all in
            PostgresMapping.event(time: time, pid: pid, severity: severity, message: all,
                                  text: ByteText.slice(all, all.count - message.utf8.count, all.count),
                                  session: &session, source: source, interner: &context.interner)
        }
        for (column, attribute) in Self.kept {
            if let v = text(column) { e.attributes.append(Attribute(attribute, v)) }
        }
        if e.kind == .dbConnect || e.kind == .dbDisconnect, e.attribute("client_host") == nil,
           let from = text(Column.connectionFrom) {
            // `10.0.0.5:51234` (or `[local]`): the host.
            let host = from.lastIndex(of: ":").map { String(from[..<$0]) } ?? from
            e.attributes.append(Attribute("client_host", host))
        }
        context.lastTime = time
        events.append(e)
        return .events(1)
    }

    /// Columns kept as attributes, under the names the stderr and `jsonlog` decoders give them.
    private static let kept: [(Int, String)] = [
        (Column.stateCode, "state_code"), (Column.detail, "detail"), (Column.hint, "hint"),
        (Column.query, "statement"), (Column.context, "context"), (Column.backendType, "backend_type"),
        (Column.sessionID, "session_id"),
    ]

    /// Splits one CSV record into `fields` (at most `limit`); false when it ends inside a quoted
    /// field (the record goes on on the next line).
    static func split(_ b: UnsafeBufferPointer<UInt8>, into fields: inout [Field], upTo limit: Int) -> Bool {
        fields.removeAll(keepingCapacity: true)
        var p = 0
        while fields.count < limit {
            if p < b.count, b[p] == UInt8(ascii: "\"") {
                var q = p + 1
                var escaped = false
                while true {
                    guard let close = ByteText.find(b, "\"", from: q) else { return false }
                    if close + 1 < b.count, b[close + 1] == UInt8(ascii: "\"") {
                        escaped = true
                        q = close + 2
                        continue
                    }
                    fields.append(Field(start: p + 1, end: close, escaped: escaped))
                    p = close + 1
                    break
                }
                // A comma follows a closing quote; anything else up to the next comma is dropped.
                guard let comma = ByteText.find(b, ",", from: p) else { return true }
                p = comma + 1
            } else {
                let comma = ByteText.find(b, ",", from: p) ?? b.count
                fields.append(Field(start: p, end: comma, escaped: false))
                if comma >= b.count { return true }
                p = comma + 1
            }
        }
        return true
    }
}
