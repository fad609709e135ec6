import SkeinCore
import SkeinEngine

/// One line per finished trace and one per insight: what `tail`, `replay` and `demo` print when
/// stdout is not a terminal (DESIGN.md, "Commands"), so the output composes with grep and jq.
///
/// Text lines have a fixed field order separated by single spaces, a `-` for anything unknown,
/// and every piece of log data passed through `Sanitizer.clean` (no control characters, no
/// escape sequences, no line breaks: one record is always one line):
///
///     2026-11-23T10:00:01.120Z 4bf92f35 GET /api/feed 200 182ms ◆edge-api›λfeed-api›chat COLD,DB-WAIT
///     INSIGHT critical connection_exhaustion 2026-11-23T10:00:05.000Z too many clients: ...
///
/// The JSON style prints one compact object per line with the members of an export's
/// `trace_summaries` or `insights` item (the same code writes both) after `"type":"trace"` or
/// `"type":"insight"`.
public struct TracePrinter {
    public enum Style: Sendable, Equatable {
        case text, json
    }

    public var style: Style
    /// Print whole trace ids in text lines instead of their first 8 characters.
    public var fullIDs: Bool

    public init(style: Style = .text, fullIDs: Bool = false) {
        self.style = style
        self.fullIDs = fullIDs
    }

    /// The line for a finished trace, without its newline.
    public func line(for trace: TraceSummary) -> String {
        var out = ByteBuffer(capacity: 256)
        append(trace, to: &out)
        return out.text
    }

    /// The line for a raised or escalated insight, without its newline.
    public func line(for insight: Insight) -> String {
        var out = ByteBuffer(capacity: 256)
        append(insight, to: &out)
        return out.text
    }

    /// Writes the lines (each ending in a newline) in one call, traces first: a batch drained
    /// from the engine reaches the pipe whole.
    public func write(traces: [TraceSummary], insights: [Insight] = [], to sink: ByteSink) throws {
        guard !traces.isEmpty || !insights.isEmpty else { return }
        var out = ByteBuffer(capacity: (traces.count + insights.count) * 160)
        for t in traces {
            append(t, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
        for i in insights {
            append(i, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
        try out.write(to: sink)
    }

    /// One `--json` line: the export's own item fields, tagged with what the line is.
    private func appendJSON(type: StaticString, to out: inout ByteBuffer, _ fields: (inout JSONWriter) -> Void) {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.key("type"); w.string(String(describing: type))
        fields(&w)
        w.endObject()
        w.buffer.withBytes { out.append($0) }
    }

    func append(_ t: TraceSummary, to out: inout ByteBuffer) {
        switch style {
        case .json:
            appendJSON(type: "trace", to: &out) { JSONExporter.writeTraceFields(t, into: &$0) }
        case .text:
            ByteText.appendRFC3339(t.start, to: &out)
            out.append(UInt8(ascii: " "))
            let id = TraceText.field(t.id)
            ByteText.append(fullIDs ? id : String(id.prefix(8)), to: &out)
            out.append(UInt8(ascii: " "))
            ByteText.append(TraceText.request(method: t.rootMethod, route: t.rootRoute), to: &out)
            out.append(UInt8(ascii: " "))
            if let s = t.status { ByteText.appendInt(s, to: &out) } else { out.append(UInt8(ascii: "-")) }
            out.append(UInt8(ascii: " "))
            ByteText.append(TraceText.duration(t.durationMS), to: &out)
            out.append(UInt8(ascii: " "))
            TraceText.appendHopPath(t.hops, to: &out)
            out.append(UInt8(ascii: " "))
            let flags = t.flags.names
            ByteText.append(flags.isEmpty ? "-" : flags.joined(separator: ","), to: &out)
        }
    }

    func append(_ i: Insight, to out: inout ByteBuffer) {
        switch style {
        case .json:
            appendJSON(type: "insight", to: &out) { JSONExporter.writeInsightFields(i, into: &$0) }
        case .text:
            ByteText.append("INSIGHT ", to: &out)
            ByteText.append(i.severity.rawValue, to: &out)
            out.append(UInt8(ascii: " "))
            ByteText.append(i.kind.rawValue, to: &out)
            out.append(UInt8(ascii: " "))
            ByteText.appendRFC3339(i.firstAt, to: &out)
            out.append(UInt8(ascii: " "))
            ByteText.append(TraceText.field(i.message), to: &out)
        }
    }
}

/// Text pieces shared by the printer, the CSV and the Markdown report.
enum TraceText {
    /// Marks a hop's deploy model in a hop path: `◆` edge, `λ` serverless, nothing for a server
    /// (the default, and the one that needs no marking).
    static func glyph(_ deploy: DeployModel?) -> StaticString {
        switch deploy {
        case .edge: "◆"
        case .serverless: "λ"
        case .server, nil: ""
        }
    }

    /// `◆edge-api›λfeed-api›chat`: hops in order, no spaces, so the path stays one field for awk.
    static func hopPath(_ hops: [Hop]) -> String {
        var out = ByteBuffer(capacity: 64)
        appendHopPath(hops, to: &out)
        return out.text
    }

    static func appendHopPath(_ hops: [Hop], to out: inout ByteBuffer) {
        if hops.isEmpty {
            out.append(UInt8(ascii: "-"))
            return
        }
        for (n, h) in hops.enumerated() {
            if n > 0 { ByteText.append("›", to: &out) }
            ByteText.append(glyph(h.deploy), to: &out)
            appendField(h.service, to: &out)
        }
    }

    /// `field(_:)` straight into bytes; text with no control bytes (the usual case) is copied as is.
    static func appendField(_ s: String, to out: inout ByteBuffer) {
        if s.isEmpty {
            out.append(UInt8(ascii: "-"))
            return
        }
        // 0xC2 leads the UTF-8 form of the C1 controls (U+0080–U+009F), which Sanitizer also replaces.
        if s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0xc2 }) {
            ByteText.append(field(s), to: &out)
        } else {
            ByteText.append(s, to: &out)
        }
    }

    /// `GET /api/feed`, without repeating a method the route already starts with.
    static func request(method: String?, route: String?) -> String {
        let r = route.map(field)
        guard let m = method.map(field), !m.isEmpty else { return r ?? "-" }
        guard let r, !r.isEmpty else { return m }
        if r.hasPrefix(m + " ") { return r }
        return m + " " + r
    }

    /// `182ms`, `0.4ms`, `1530ms`: whole milliseconds except below 10 ms.
    static func duration(_ ms: Double) -> String {
        guard ms.isFinite else { return "-" }
        guard abs(ms) < 1e15 else { return "\(ms)ms" }
        if ms < 10 {
            let tenths = (ms * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))ms" : "\(tenths)ms"
        }
        return "\(Int(ms.rounded()))ms"
    }

    /// Log data made safe for one line of text: sanitised, never empty.
    static func field(_ s: String) -> String {
        let c = Sanitizer.clean(s)
        return c.isEmpty ? "-" : c
    }
}
