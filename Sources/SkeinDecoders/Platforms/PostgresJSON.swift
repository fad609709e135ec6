import SkeinCore

/// PostgreSQL's `jsonlog` destination (PostgreSQL 15 and later, `log_destination = 'jsonlog'`):
/// one object per line with `timestamp`, `user`, `dbname`, `pid`, `remote_host`, `session_id`,
/// `error_severity`, `state_code`, `message`, `detail`, `hint`, `statement`, `application_name`,
/// `backend_type`, ... The same entries as the stderr log, so the same events: connections,
/// disconnections and refusals (`PostgresMapping`), with the record's own user, database and
/// application instead of a prefix's.
public struct PostgresJSONLogDecoder: JSONRecordDecoder {
    public let name = "postgres"

    public init() {}

    public var signatureKeys: [StaticString]? { ["error_severity"] }

    /// `timestamp`, `error_severity` and `message`, and a `pid` or `backend_type`: the keys
    /// `jsonlog` writes for every entry of a backend.
    public func matches(_ doc: JSONDocument) -> Bool {
        guard doc.kind(doc.root) == .object, let sev = doc.member(doc.root, "error_severity"),
              doc.kind(sev) == .string, doc.member(doc.root, "timestamp") != nil,
              doc.member(doc.root, "message") != nil else { return false }
        return doc.member(doc.root, "pid") != nil || doc.member(doc.root, "backend_type") != nil
    }

    public mutating func decode(_ doc: JSONDocument, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        let root = doc.root
        guard let ts = doc.member(root, "timestamp"), doc.kind(ts) == .string,
              let (time, end) = PlatformTime.parse(doc.raw(ts)), end == doc.raw(ts).count,
              let sevNode = doc.member(root, "error_severity"),
              let severity = PostgresLogDecoder.Severity(name: doc.raw(sevNode)), !severity.isContinuation,
              let messageNode = doc.member(root, "message") else {
            return .malformed(.missingFields)
        }
        let text = doc.string(messageNode)
        var shown = String(decoding: doc.raw(sevNode), as: UTF8.self) + ":  " + text
        var session = PostgresMapping.Session()
        session.learn(user: doc.member(root, "user").flatMap { doc.nonEmptyString($0) },
                      database: doc.member(root, "dbname").flatMap { doc.nonEmptyString($0) },
                      application: doc.member(root, "application_name").flatMap { doc.nonEmptyString($0) })
        let pid = doc.member(root, "pid").flatMap { doc.int($0) }
        var e = shown.withUTF8 { all in
            PostgresMapping.event(time: time, pid: pid, severity: severity, message: all,
                                  text: ByteText.slice(all, all.count - text.utf8.count, all.count),
                                  session: &session, source: source, interner: &context.interner)
        }
        for (key, attribute) in PostgresJSONLogDecoder.kept {
            if let v = doc.member(root, key).flatMap({ doc.nonEmptyString($0) }) { e.attributes.append(Attribute(attribute, v)) }
        }
        events.append(e)
        return .events(1)
    }

    /// Members kept as attributes, under the names the stderr decoder gives the same facts.
    private static let kept: [(StaticString, String)] = [
        ("state_code", "state_code"), ("detail", "detail"), ("hint", "hint"), ("statement", "statement"),
        ("context", "context"), ("backend_type", "backend_type"), ("session_id", "session_id"),
    ]
}

extension PostgresLogDecoder.Severity {
    /// From the severity word alone (`LOG`, `FATAL`, `DEBUG`), as `jsonlog` writes it: the words
    /// of the stderr log's table (`PostgresLogDecoder.severities`) without their colon, so both
    /// formats know the same words (`DEBUG` for every debug level included).
    init?(name b: UnsafeBufferPointer<UInt8>) {
        for (word, severity) in PostgresLogDecoder.severities where word.utf8CodeUnitCount == b.count + 1
            && ByteText.same(UnsafeBufferPointer(start: word.utf8Start, count: b.count), b) {
            self = severity
            return
        }
        return nil
    }
}
