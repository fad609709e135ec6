import SkeinCore
import SkeinEngine

/// One trace summary as compact JSON, written straight into bytes: the text `JSONExporter`'s
/// `writeTraceFields` gives between `beginObject()` and `endObject()` in a compact writer, byte
/// for byte (a test compares the two on every sample log).
///
/// An export writes every finished trace (135k of them for a million lines), after the last line
/// is read, while nothing else runs: the general writer's bookkeeping per member (commas, depth,
/// the key that came before) was half of it. The shape is fixed, so member names are copied as
/// literals with their punctuation.
///
/// Service and instance names are `Symbol`s: their quoted text is kept per writer, so two writers
/// on two threads do not count references to the same shared strings.
struct CompactTraceWriter {
    /// Quoted, escaped text of every symbol seen, back to back; `spans`, indexed by the symbol's
    /// number (they are dense), holds offset << 32 | length, or 0 for one not seen yet (a quoted
    /// text is never empty).
    private var symbolText: [UInt8] = []
    private var spans: [UInt64] = []

    mutating func write(_ t: UnsafePointer<TraceSummary>, to b: inout ByteBuffer) {
        b.append("{\"id\":")
        JSONWriter.appendQuoted(t.pointee.id, to: &b)
        b.append(",\"aliases\":[")
        for (k, alias) in t.pointee.aliases.enumerated() {
            if k > 0 { b.append(UInt8(ascii: ",")) }
            JSONWriter.appendQuoted(alias, to: &b)
        }
        b.append("],\"start\":\"")
        ByteText.appendRFC3339(t.pointee.start, fractionDigits: 3, to: &b)
        b.append("\",\"duration_ms\":")
        JSONWriter.appendDouble(t.pointee.durationMS, style: .milli, to: &b)
        b.append(",\"root\":{\"service\":")
        JSONWriter.appendString(t.pointee.rootService, to: &b)
        b.append(",\"route\":")
        JSONWriter.appendString(t.pointee.rootRoute, to: &b)
        b.append(",\"method\":")
        JSONWriter.appendString(t.pointee.rootMethod, to: &b)
        b.append("},\"status\":")
        JSONWriter.appendInt(t.pointee.status, to: &b)
        b.append(",\"hops\":[")
        t.pointee.hops.withUnsafeBufferPointer { hops in
            for k in hops.indices {
                let h = hops.baseAddress! + k
                b.append(k == 0 ? "{\"service\":" : ",{\"service\":")
                symbol(h.pointee.serviceSymbol, to: &b)
                b.append(",\"deploy\":")
                if let d = h.pointee.deploy { Self.deploy(d, to: &b) } else { b.append("null") }
                b.append(",\"instance\":")
                if let i = h.pointee.$instance { symbol(i, to: &b) } else { b.append("null") }
                b.append(",\"offset_ms\":")
                JSONWriter.appendDouble(h.pointee.offsetMS, style: .milli, to: &b)
                b.append(",\"duration_ms\":")
                JSONWriter.appendDouble(h.pointee.durationMS, style: .milli, to: &b)
                b.append(",\"status\":")
                JSONWriter.appendInt(h.pointee.status, to: &b)
                b.append(",\"span_id\":")
                JSONWriter.appendSpanID(h.pointee.$spanID, to: &b)
                b.append(",\"parent\":")
                JSONWriter.appendInt(h.pointee.parent, to: &b)
                b.append(h.pointee.onCriticalPath ? ",\"critical\":true}" : ",\"critical\":false}")
            }
        }
        b.append(t.pointee.coldStart ? "],\"cold_start\":{\"hit\":true,\"init_ms\":" : "],\"cold_start\":{\"hit\":false,\"init_ms\":")
        JSONWriter.appendDouble(t.pointee.coldStartInitMS, style: .milli, to: &b)
        b.append("},\"db_wait_ms\":")
        JSONWriter.appendDouble(t.pointee.dbWaitMS, style: .milli, to: &b)
        b.append(",\"flags\":[")
        var first = true
        t.pointee.flags.forEachName { name in
            b.append(first ? "\"" : ",\"")
            first = false
            b.append(name)
            b.append(UInt8(ascii: "\""))
        }
        b.append(t.pointee.complete ? "],\"complete\":true}" : "],\"complete\":false}")
    }

    /// A symbol's quoted text, from this writer's own copy.
    private mutating func symbol(_ s: Symbol, to b: inout ByteBuffer) {
        let i = Int(s.raw)
        var span: UInt64 = i < spans.count ? spans[i] : 0
        if span == 0 {
            var quoted = ByteBuffer(capacity: 64)
            JSONWriter.appendQuoted(s.string, to: &quoted)
            span = UInt64(symbolText.count) << 32 | UInt64(quoted.count)
            quoted.withBytes { symbolText.append(contentsOf: $0) }
            if i >= spans.count { spans.append(contentsOf: repeatElement(0, count: i + 1 - spans.count)) }
            spans[i] = span
        }
        symbolText.withUnsafeBufferPointer { all in
            b.append(UnsafeBufferPointer(rebasing: all[Int(span >> 32)..<Int(span >> 32) + Int(span & 0xffff_ffff)]))
        }
    }

    private static func deploy(_ d: DeployModel, to b: inout ByteBuffer) {
        switch d {
        case .edge: b.append("\"edge\"")
        case .serverless: b.append("\"serverless\"")
        case .server: b.append("\"server\"")
        }
    }
}
