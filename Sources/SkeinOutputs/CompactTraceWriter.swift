import SkeinCore
import SkeinEngine

/// One trace summary as compact JSON, written straight into bytes: the text `JSONExporter`'s
/// `writeTraceFields` gives between `beginObject()` and `endObject()` in a compact writer, byte
/// for byte (a test compares the two on every sample log).
///
/// An export writes every finished trace (135k of them for a million lines), after the last line
/// is read, while nothing else runs. The shape is fixed, so member names are copied as literals
/// with their punctuation, and a summary is written under one capacity check: its worst case is
/// summed first (`bound`), then every value goes through a bare pointer (`Cursor`).
///
/// Service and instance names are `Symbol`s: their quoted text is kept per writer, so two writers
/// on two threads do not count references to the same shared strings.
struct CompactTraceWriter {
    /// Quoted, escaped text of every symbol seen, back to back; `spans`, indexed by the symbol's
    /// number (they are dense), holds offset << 32 | length, or 0 for one not seen yet (a quoted
    /// text is never empty). Neither is ever empty, so both always have an address.
    private var symbolText: [UInt8] = [0]
    private var spans: [UInt64] = [0]
    /// The last summary's start minute as text (summaries come in time order).
    private var minute = ByteText.MinuteText()

    mutating func write(_ t: UnsafePointer<TraceSummary>, to b: inout ByteBuffer) {
        // Each hop's fields read once, for the bound and then the text.
        let n = TraceSummary.hopCount(of: t)
        withUnsafeTemporaryAllocation(of: HopFields.self, capacity: max(n, 1)) { hops in
            TraceSummary.hopFields(of: t, into: hops)
            let bound = self.bound(t, UnsafeBufferPointer(rebasing: hops[..<n]))
            var minute = self.minute
            b.append(atMost: bound) { start in
                symbolText.withUnsafeBufferPointer { text in
                    spans.withUnsafeBufferPointer { spans in
                        var c = Cursor(p: start, symbolText: text.baseAddress!, spans: spans.baseAddress!)
                        c.write(t, hops: UnsafeBufferPointer(rebasing: hops[..<n]), minute: &minute)
                        return c.p - start
                    }
                }
            }
            self.minute = minute
            _ = hops.baseAddress!.deinitialize(count: n)
        }
    }

    /// The most bytes `t` can take (`hops`: its hops' fields), with every symbol it names made known
    /// to this writer.
    private mutating func bound(_ t: UnsafePointer<TraceSummary>, _ hops: UnsafeBufferPointer<HopFields>) -> Int {
        // Member names and punctuation (about 190 bytes), every flag's name (about 90), four numbers
        // (24 bytes at most in the shortest form), the status and the start; then each string at six
        // bytes per byte (all escaped) plus quotes.
        var n = 512
        n += Self.quotedBound(t.pointee.id)
        for k in 0..<TraceSummary.aliasCount(of: t) { n += Self.quotedBound(TraceSummary.alias(of: t, at: k)) + 1 }
        n += Self.quotedBound(t.pointee.rootService) + Self.quotedBound(t.pointee.rootRoute)
            + Self.quotedBound(t.pointee.rootMethod)
        for k in hops.indices {
            let h = hops[k]
            // Names and punctuation (about 130 bytes), two numbers, the status and the parent.
            n += 256
            n += symbolLength(h.service)
            if let i = h.instance { n += symbolLength(i) }
            switch h.span {
            case .none, .packed: n += 18
            case .text: n += TraceSummary.hop(of: t, at: k).span?.text.map(Self.quotedBound) ?? 18
            }
        }
        return n
    }

    @inline(__always)
    private static func quotedBound(_ s: String?) -> Int {
        guard let s else { return 4 }
        return 6 * s.utf8.count + 2
    }

    /// The length of a symbol's quoted text, remembering the text the first time.
    @inline(__always)
    private mutating func symbolLength(_ s: Symbol) -> Int {
        let i = Int(s.raw)
        if i < spans.count && spans[i] != 0 { return Int(spans[i] & 0xffff_ffff) }
        var quoted = ByteBuffer(capacity: 64)
        JSONWriter.appendQuoted(s.string, to: &quoted)
        let span = UInt64(symbolText.count) << 32 | UInt64(quoted.count)
        quoted.withBytes { symbolText.append(contentsOf: $0) }
        if i >= spans.count { spans.append(contentsOf: repeatElement(0, count: i + 1 - spans.count)) }
        spans[i] = span
        return quoted.count
    }

    /// A write position in memory reserved for the whole summary: no capacity checks.
    private struct Cursor {
        var p: UnsafeMutablePointer<UInt8>
        let symbolText: UnsafePointer<UInt8>
        let spans: UnsafePointer<UInt64>

        @inline(__always)
        mutating func put(_ s: StaticString) {
            ByteBuffer.copySmall(from: s.utf8Start, to: p, count: s.utf8CodeUnitCount)
            p += s.utf8CodeUnitCount
        }

        @inline(__always)
        mutating func put(_ byte: UInt8) {
            p[0] = byte
            p += 1
        }

        @inline(__always)
        mutating func quoted(_ s: String) {
            p[0] = UInt8(ascii: "\"")
            // Read in place: a native string's bytes, or a small one's copied to the stack.
            p = s.utf8.withContiguousStorageIfAvailable { JSONWriter.writeEscaped($0, at: p + 1) }
                ?? { var copy = s; return copy.withUTF8 { JSONWriter.writeEscaped($0, at: p + 1) } }()
            p[0] = UInt8(ascii: "\"")
            p += 1
        }

        @inline(__always)
        mutating func string(_ s: String?) {
            if let s { quoted(s) } else { put("null") }
        }

        @inline(__always)
        mutating func int(_ v: Int?) {
            if let v { p = ByteText.writeInt(v, at: p) } else { put("null") }
        }

        @inline(__always)
        mutating func milli(_ d: Double?) {
            guard let d, d.isFinite else { put("null"); return }
            if let end = ByteText.writeMilli(d, at: p) { p = end; return }
            // Past the fixed shape (9e12 ms and above): the shortest form, rare enough to go through
            // a buffer of its own.
            var other = ByteBuffer(capacity: 32)
            ByteText.appendShortest(d, to: &other)
            put(other)
        }

        /// The bytes of a rare form written through a buffer of its own.
        private mutating func put(_ other: borrowing ByteBuffer) {
            other.withBytes { raw in
                for k in 0..<raw.count { p[k] = raw[k] }
                p += raw.count
            }
        }

        @inline(__always)
        mutating func symbol(_ s: Symbol) {
            let span = spans[Int(s.raw)]
            ByteBuffer.copySmall(from: symbolText + Int(span >> 32), to: p, count: Int(span & 0xffff_ffff))
            p += Int(span & 0xffff_ffff)
        }

        @inline(__always)
        mutating func spanID(_ id: SpanID?) {
            guard let id else { put("null"); return }
            if let text = id.text { quoted(text); return }
            JSONWriter.writeQuotedHex(id, at: p)
            p += 18
        }

        mutating func write(_ t: UnsafePointer<TraceSummary>, hops: UnsafeBufferPointer<HopFields>,
                            minute: inout ByteText.MinuteText) {
            put("{\"id\":")
            quoted(t.pointee.id)
            put(",\"aliases\":[")
            for k in 0..<TraceSummary.aliasCount(of: t) {
                if k > 0 { put(UInt8(ascii: ",")) }
                quoted(TraceSummary.alias(of: t, at: k))
            }
            put("],\"start\":\"")
            if ByteText.writeRFC3339Millis(t.pointee.start, at: p, cache: &minute) {
                p += 24
            } else {
                var other = ByteBuffer(capacity: 40)
                ByteText.appendRFC3339(t.pointee.start, fractionDigits: 3, to: &other)
                put(other)
            }
            put("\",\"duration_ms\":")
            milli(t.pointee.durationMS)
            put(",\"root\":{\"service\":")
            string(t.pointee.rootService)
            put(",\"route\":")
            string(t.pointee.rootRoute)
            put(",\"method\":")
            string(t.pointee.rootMethod)
            put("},\"status\":")
            int(t.pointee.status)
            put(",\"hops\":[")
            for k in hops.indices { hop(hops[k], first: k == 0, of: t, at: k) }
            if t.pointee.coldStart { put("],\"cold_start\":{\"hit\":true,\"init_ms\":") } else { put("],\"cold_start\":{\"hit\":false,\"init_ms\":") }
            milli(t.pointee.coldStartInitMS)
            put("},\"db_wait_ms\":")
            milli(t.pointee.dbWaitMS)
            put(",\"flags\":[")
            var first = true
            t.pointee.flags.forEachName { name in
                if first { put(UInt8(ascii: "\"")) } else { put(",\"") }
                first = false
                put(name)
                put(UInt8(ascii: "\""))
            }
            if t.pointee.complete { put("],\"complete\":true}") } else { put("],\"complete\":false}") }
        }

        @inline(__always)
        private mutating func hop(_ h: HopFields, first: Bool, of t: UnsafePointer<TraceSummary>, at k: Int) {
            if first { put("{\"service\":") } else { put(",{\"service\":") }
            symbol(h.service)
            put(",\"deploy\":")
            switch h.deploy {
            case .edge: put("\"edge\"")
            case .serverless: put("\"serverless\"")
            case .server: put("\"server\"")
            case nil: put("null")
            }
            put(",\"instance\":")
            if let i = h.instance { symbol(i) } else { put("null") }
            put(",\"offset_ms\":")
            milli(h.offsetMS)
            put(",\"duration_ms\":")
            milli(h.durationMS)
            put(",\"status\":")
            int(h.status)
            put(",\"span_id\":")
            switch h.span {
            case .none: put("null")
            case .packed(let packed):
                JSONWriter.writeQuotedHex(SpanID(packed: packed), at: p)
                p += 18
            case .text: spanID(TraceSummary.hop(of: t, at: k).span)
            }
            put(",\"parent\":")
            int(h.parent)
            if h.critical { put(",\"critical\":true}") } else { put(",\"critical\":false}") }
        }
    }
}
