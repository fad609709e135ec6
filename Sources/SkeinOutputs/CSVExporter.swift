import SkeinCore
import SkeinEngine

/// One row per trace (`skein export --format csv`), RFC 4180: CRLF line ends, a field quoted
/// when it holds a comma, a quote or a line break, quotes inside doubled.
///
/// Rows are oldest first, like the JSON export. Unknown values are empty fields; `flags` are
/// space-separated names (`COLD DB-WAIT`) so that spreadsheets keep them in one cell unquoted.
/// Field text is written as logged (only quoted), so a value can be recovered exactly; only
/// `hop_path`, a display string, has its service names sanitised. Values are not defused for
/// spreadsheets: a logged route beginning with `=` stays as it is (open untrusted logs with care).
public struct CSVExporter {
    public static let header = [
        "id", "start", "duration_ms", "root_service", "root_route", "method", "status", "hops",
        "hop_path", "cold_start", "init_ms", "db_wait_ms", "flags", "complete",
    ]

    public var chunkSize: Int

    public init(chunkSize: Int = 256 * 1024) {
        self.chunkSize = chunkSize
    }

    public func write(_ snapshot: Snapshot, to sink: ByteSink) throws {
        try write(traces: snapshot.recentTraces, to: sink)
    }

    public func write(traces: [TraceSummary], to sink: ByteSink) throws {
        var out = ByteBuffer(capacity: chunkSize + 4096)
        for (n, name) in Self.header.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            ByteText.append(name, to: &out)
        }
        ByteText.append("\r\n", to: &out)
        for i in JSONExporter.chronologicalOrder(traces) {
            Self.appendRow(traces[i], to: &out)
            if out.count >= chunkSize {
                try out.write(to: sink)
                out.removeAll()
            }
        }
        try out.write(to: sink)
    }

    public func render(_ snapshot: Snapshot) -> String {
        let sink = MemorySink()
        // A MemorySink never throws.
        try? write(snapshot, to: sink)
        return sink.text
    }

    static func appendRow(_ t: TraceSummary, to out: inout ByteBuffer) {
        let comma = UInt8(ascii: ",")
        appendField(t.id, to: &out)
        out.append(comma)
        ByteText.appendRFC3339(t.start, to: &out)
        out.append(comma)
        if t.durationMS.isFinite { ByteText.appendMilli(t.durationMS, to: &out) }
        out.append(comma)
        appendField(t.rootService, to: &out)
        out.append(comma)
        appendField(t.rootRoute, to: &out)
        out.append(comma)
        appendField(t.rootMethod, to: &out)
        out.append(comma)
        if let s = t.status { ByteText.appendInt(s, to: &out) }
        out.append(comma)
        ByteText.appendInt(t.hopCount, to: &out)
        out.append(comma)
        if t.hopCount > 0 {
            // A service name may hold a comma or a quote: build the path, then quote it if needed.
            appendField(TraceText.hopPath(t.hops), to: &out)
        }
        out.append(comma)
        ByteText.append(t.coldStart ? "true" : "false", to: &out)
        out.append(comma)
        if let i = t.coldStartInitMS, i.isFinite { ByteText.appendMilli(i, to: &out) }
        out.append(comma)
        if t.dbWaitMS.isFinite { ByteText.appendMilli(t.dbWaitMS, to: &out) }
        out.append(comma)
        for (k, name) in t.flags.names.enumerated() {
            if k > 0 { out.append(UInt8(ascii: " ")) }
            ByteText.append(name, to: &out)
        }
        out.append(comma)
        ByteText.append(t.complete ? "true" : "false", to: &out)
        ByteText.append("\r\n", to: &out)
    }

    /// RFC 4180: quote only when needed, double the quotes inside.
    static func appendField(_ s: String?, to out: inout ByteBuffer) {
        guard let s, !s.isEmpty else { return }
        var needsQuotes = false
        for b in s.utf8 where b == UInt8(ascii: ",") || b == UInt8(ascii: "\"") || b == 0x0a || b == 0x0d {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            ByteText.append(s, to: &out)
            return
        }
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            if b == UInt8(ascii: "\"") { out.append(b) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// One field as RFC 4180 text (tests, callers building their own rows).
    public static func quote(_ s: String) -> String {
        var out = ByteBuffer(capacity: s.utf8.count + 8)
        appendField(s, to: &out)
        return out.text
    }
}
