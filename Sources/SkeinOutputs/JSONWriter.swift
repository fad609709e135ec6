import SkeinCore
import SkeinEngine

/// Writes JSON text into a byte buffer, value by value, with keys in the order they are written.
///
/// There is no intermediate tree: exports of a hundred thousand traces go straight to bytes and
/// are drained to a `ByteSink` in chunks (`drain(to:)`). The writer tracks only what it needs for
/// commas and indentation; writing a value where a key is due is the caller's bug and yields
/// invalid JSON rather than a trap.
public struct JSONWriter: ~Copyable {
    /// How doubles are written.
    public enum DoubleStyle: Sendable {
        /// At most three decimals and no exponent in normal ranges: milliseconds to the microsecond.
        case milli
        /// The shortest text that reads back as the same value (the recorder, for exact round trips).
        case shortest
    }

    /// The text written and not yet drained.
    public private(set) var buffer: ByteBuffer
    /// Two-space indentation and one member per line.
    public let pretty: Bool
    public var doubleStyle: DoubleStyle
    /// Members written so far in each enclosing container; the innermost one lives in `count`
    /// so that the common path touches no array.
    private var outerCounts: [Int] = []
    private var count = 0
    private var depthLevel = 0
    private var afterKey = false

    public init(pretty: Bool = false, doubleStyle: DoubleStyle = .milli, capacity: Int = 4096) {
        self.pretty = pretty
        self.doubleStyle = doubleStyle
        buffer = ByteBuffer(capacity: capacity)
    }

    /// A writer whose text continues an array open at `depth` after `membersBefore` elements: what
    /// it writes is byte for byte what the array's own writer would write next, so long arrays can
    /// be rendered in parts on several threads and put back in order (`appendRendered(members:)`).
    public init(continuingArrayAt depth: Int, membersBefore: Int, pretty: Bool = false,
                doubleStyle: DoubleStyle = .milli, capacity: Int = 4096) {
        self.init(continuingArrayAt: depth, membersBefore: membersBefore, pretty: pretty,
                  doubleStyle: doubleStyle, buffer: ByteBuffer(capacity: capacity))
    }

    /// The same, writing into `buffer` (emptied first): a buffer reused from an earlier part has
    /// its pages in memory already.
    public init(continuingArrayAt depth: Int, membersBefore: Int, pretty: Bool = false,
                doubleStyle: DoubleStyle = .milli, buffer: consuming ByteBuffer) {
        self.pretty = pretty
        self.doubleStyle = doubleStyle
        buffer.removeAll()
        self.buffer = buffer
        depthLevel = depth
        count = membersBefore
    }

    /// Takes the text written so far, leaving the writer empty.
    public consuming func takeBuffer() -> ByteBuffer {
        buffer
    }

    /// Counts `members` elements whose text a continuing writer produced and the caller put in
    /// the output (after `drain(to:)`), so the next member gets its comma.
    public mutating func appendRendered(members: Int) {
        count += members
    }

    /// Containers opened and not yet closed.
    public var depth: Int { depthLevel }

    /// The text so far as a `String` (tests, small documents).
    public var text: String { buffer.text }

    /// A copy of the text so far.
    public var bytes: [UInt8] { buffer.array }

    /// Bytes written and not yet drained.
    public var byteCount: Int { buffer.count }

    /// Hands the buffered bytes to `sink` and empties the buffer, keeping its capacity.
    public mutating func drain(to sink: ByteSink) throws {
        try buffer.write(to: sink)
        buffer.removeAll()
    }

    /// Empties the buffer and forgets any open containers (one writer per line of NDJSON).
    public mutating func reset() {
        buffer.removeAll()
        outerCounts.removeAll(keepingCapacity: true)
        count = 0
        depthLevel = 0
        afterKey = false
    }

    /// Appends bytes verbatim (a newline between NDJSON records).
    public mutating func raw(_ s: StaticString) {
        ByteText.append(s, to: &buffer)
    }

    // MARK: Containers

    public mutating func beginObject() {
        beforeValue()
        buffer.append(UInt8(ascii: "{"))
        open()
    }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        beforeValue()
        buffer.append(UInt8(ascii: "["))
        open()
    }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// A member name from a literal: no escaping needed, so none is done.
    public mutating func key(_ k: StaticString) {
        if pretty || depthLevel == 0 {
            beforeMember()
            buffer.appendKey(k, spaced: pretty)
        } else {
            // Compact, inside an object: the comma goes with the name (what `beforeMember` does).
            buffer.appendKey(k, spaced: false, comma: count > 0)
            count += 1
        }
        afterKey = true
    }

    /// A member name from data (a service name, an attribute key): escaped. (A separate label,
    /// because a literal would otherwise pick the `String` overload and pay for escaping.)
    public mutating func key(text k: String) {
        beforeMember()
        appendQuoted(k)
        afterKeyText()
    }

    // MARK: Values

    public mutating func string(_ s: String) {
        beforeValue()
        appendQuoted(s)
    }

    public mutating func string(_ s: String?) {
        beforeValue()
        JSONWriter.appendString(s, to: &buffer)
    }

    public mutating func int(_ n: Int) {
        beforeValue()
        ByteText.appendInt(n, to: &buffer)
    }

    public mutating func int(_ n: Int?) {
        beforeValue()
        JSONWriter.appendInt(n, to: &buffer)
    }

    /// NaN and infinities have no JSON form: they become `null`.
    public mutating func double(_ d: Double) {
        beforeValue()
        JSONWriter.appendDouble(d, style: doubleStyle, to: &buffer)
    }

    public mutating func double(_ d: Double?) {
        beforeValue()
        JSONWriter.appendDouble(d, style: doubleStyle, to: &buffer)
    }

    // The value forms as text, for `CompactTraceWriter` too, so the two write the same bytes.

    static func appendString(_ s: String?, to buffer: inout ByteBuffer) {
        if let s { appendQuoted(s, to: &buffer) } else { ByteText.append("null", to: &buffer) }
    }

    static func appendInt(_ n: Int?, to buffer: inout ByteBuffer) {
        if let n { ByteText.appendInt(n, to: &buffer) } else { ByteText.append("null", to: &buffer) }
    }

    static func appendDouble(_ d: Double?, style: DoubleStyle, to buffer: inout ByteBuffer) {
        guard let d, d.isFinite else {
            ByteText.append("null", to: &buffer)
            return
        }
        switch style {
        case .milli: ByteText.appendMilli(d, to: &buffer)
        case .shortest: ByteText.appendShortest(d, to: &buffer)
        }
    }

    static func appendSpanID(_ id: SpanID?, to buffer: inout ByteBuffer) {
        guard let id else { ByteText.append("null", to: &buffer); return }
        if let text = id.text { appendQuoted(text, to: &buffer); return }
        buffer.append(count: 18) { p in writeQuotedHex(id, at: p) }
    }

    /// A packed span id's 16 hex digits in quotes (18 bytes) at `p`.
    @inline(__always)
    static func writeQuotedHex(_ id: SpanID, at p: UnsafeMutablePointer<UInt8>) {
        p[0] = UInt8(ascii: "\"")
        id.writeHex(to: p + 1)
        p[17] = UInt8(ascii: "\"")
    }

    public mutating func bool(_ b: Bool) {
        beforeValue()
        if b { ByteText.append("true", to: &buffer) } else { ByteText.append("false", to: &buffer) }
    }

    public mutating func bool(_ b: Bool?) {
        if let b { bool(b) } else { null() }
    }

    public mutating func null() {
        beforeValue()
        ByteText.append("null", to: &buffer)
    }

    /// RFC 3339 UTC with milliseconds (`Timestamp.rfc3339`), or `null`.
    public mutating func timestamp(_ t: Timestamp?, fractionDigits: Int = 3) {
        guard let t else { null(); return }
        beforeValue()
        buffer.append(UInt8(ascii: "\""))
        ByteText.appendRFC3339(t, fractionDigits: fractionDigits, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    /// An object of counts, keys sorted so that output does not depend on hashing.
    public mutating func counts(_ d: [String: Int]) {
        beginObject()
        for k in d.keys.sorted() {
            key(text: k)
            int(d[k] ?? 0)
        }
        endObject()
    }

    /// An object of labelled counts in the order given (the engine's busiest-first order).
    public mutating func counts(_ tallies: [Tally]) {
        beginObject()
        for t in tallies {
            key(text: t.name)
            int(t.count)
        }
        endObject()
    }

    /// A span id as its text, packed ones written digit by digit without making a `String`.
    public mutating func spanID(_ id: SpanID?) {
        beforeValue()
        JSONWriter.appendSpanID(id, to: &buffer)
    }

    /// A value whose JSON text `body` appends itself (after the comma the value needs): for
    /// writers of a fixed shape that build their text from literals (`CompactTraceWriter`).
    mutating func rawValue(_ body: (inout ByteBuffer) -> Void) {
        beforeValue()
        body(&buffer)
    }

    public mutating func strings(_ list: [String]) {
        beginArray()
        for s in list { string(s) }
        endArray()
    }

    // MARK: Punctuation

    @inline(__always)
    private mutating func beforeMember() {
        guard depthLevel > 0 else { return }
        if count > 0 { buffer.append(UInt8(ascii: ",")) }
        count += 1
        if pretty { newlineAndIndent(depthLevel) }
    }

    private mutating func open() {
        outerCounts.append(count)
        count = 0
        depthLevel += 1
    }

    private mutating func afterKeyText() {
        buffer.append(UInt8(ascii: ":"))
        if pretty { buffer.append(UInt8(ascii: " ")) }
        afterKey = true
    }

    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        beforeMember()
    }

    private mutating func close(_ bracket: UInt8) {
        let members = count
        count = outerCounts.popLast() ?? 0
        depthLevel = max(0, depthLevel - 1)
        if pretty && members > 0 { newlineAndIndent(depthLevel) }
        buffer.append(bracket)
    }

    private mutating func newlineAndIndent(_ level: Int) {
        buffer.append(UInt8(ascii: "\n"))
        buffer.append(repeating: UInt8(ascii: " "), count: level * 2)
    }

    /// Quotes and escapes: `"` and `\` get a backslash, `\n` `\r` `\t` their short forms, every
    /// other control character (and DEL) `\u00XX`. Everything else is copied byte for byte: a Swift
    /// string is always valid UTF-8, so the output is too.
    private mutating func appendQuoted(_ s: String) {
        JSONWriter.appendQuoted(s, to: &buffer)
    }

    static func appendQuoted(_ s: String, to buffer: inout ByteBuffer) {
        var s = s
        s.withUTF8 { appendQuoted($0, to: &buffer) }
    }

    static func appendQuoted(_ buf: UnsafeBufferPointer<UInt8>, to buffer: inout ByteBuffer) {
        buffer.append(UInt8(ascii: "\""))
        // In pieces, each under one capacity check at its worst case (six bytes per byte): escaping
        // is byte by byte, so a piece may end inside a UTF-8 sequence.
        var from = 0
        repeat {
            let piece = UnsafeBufferPointer(rebasing: buf[from..<min(buf.count, from + 4096)])
            buffer.append(atMost: 6 * piece.count) { p in writeEscaped(piece, at: p) - p }
            from += piece.count
        } while from < buf.count
        buffer.append(UInt8(ascii: "\""))
    }

    /// `buf` escaped (no quotes) at `p`, which has room for six bytes per byte; returns the end.
    /// `"` and `\` get a backslash, `\n` `\r` `\t` their short forms, every other control
    /// character (and DEL) `\u00XX`; everything else is copied byte for byte.
    @inline(__always)
    static func writeEscaped(_ buf: UnsafeBufferPointer<UInt8>, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let n = buf.count
        guard n > 0, let src = buf.baseAddress else { return p }
        // Most text needs no escaping: find the first byte that does (eight at a time), copy
        // the rest in one go.
        var i = 0
        let raw = UnsafeRawPointer(src)
        while i + 8 <= n {
            let stops = JSONWriter.escapes(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            if stops != 0 { i += stops.trailingZeroBitCount >> 3; break }
            i += 8
        }
        while i < n && !needsEscape(src[i]) { i += 1 }
        ByteBuffer.copySmall(from: src, to: p, count: i)
        if i == n { return p + n }
        return writeEscapedTail(buf, from: i, at: p + i)
    }

    @inline(__always)
    private static func needsEscape(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5c || b == 0x7f }

    /// The escaping loop, from the first byte that needs it.
    private static func writeEscapedTail(_ buf: UnsafeBufferPointer<UInt8>, from first: Int,
                                         at start: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = start
        for i in first..<buf.count {
            let b = buf[i]
            guard needsEscape(b) else { p[0] = b; p += 1; continue }
            p[0] = UInt8(ascii: "\\")
            switch b {
            case 0x22: p[1] = b; p += 2
            case 0x5c: p[1] = b; p += 2
            case 0x0a: p[1] = UInt8(ascii: "n"); p += 2
            case 0x0d: p[1] = UInt8(ascii: "r"); p += 2
            case 0x09: p[1] = UInt8(ascii: "t"); p += 2
            default:
                p[1] = UInt8(ascii: "u"); p[2] = UInt8(ascii: "0"); p[3] = UInt8(ascii: "0")
                p[4] = hexDigit(b >> 4); p[5] = hexDigit(b & 0x0f)
                p += 6
            }
        }
        return p
    }

    @inline(__always)
    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 &+ v : 87 &+ v }

    /// The high bit of each byte of `w` (little-endian) that must be escaped: `"`, `\\`, a control
    /// byte or DEL. The lowest flagged byte is always a real one (a borrow only flags bytes above
    /// it), which is all the caller reads. Bytes of 0x80 and above are UTF-8 and pass through.
    @inline(__always)
    private static func escapes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5c)
        let del = w ^ (ones &* 0x7f)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let zeroDel = (del &- ones) & ~del
        let control = (w &- ones &* 0x20) & ~w
        return (zeroQuote | zeroBackslash | zeroDel | control) & (ones &* 0x80)
    }
}
