import SkeinCore

/// Reads the trace headers requests carry: W3C `traceparent` and AWS X-Ray `X-Amzn-Trace-Id`.
///
/// Both become the same shape, a W3C trace id (32 lower-case hex digits) with the caller's span,
/// so an X-Ray traced Lambda and an OpenTelemetry service downstream land in one trace.
public enum TraceContext {
    /// The ids one trace header names.
    public struct Header: Sendable, Equatable {
        /// 32 lower-case hex digits, never all zero.
        public var traceID: String
        /// The caller's span (16 lower-case hex digits), when the header names one.
        public var parentSpanID: String?
        /// The sampling decision, when the header states one (X-Ray's `Sampled=?` does not).
        public var sampled: Bool?

        public init(traceID: String, parentSpanID: String?, sampled: Bool?) {
            self.traceID = traceID
            self.parentSpanID = parentSpanID
            self.sampled = sampled
        }
    }

    /// Parses a W3C `traceparent`: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
    ///
    /// Upper-case hex is accepted and lower-cased (some proxies rewrite headers); all-zero ids,
    /// version `ff` and wrong lengths are rejected as the spec says. Versions above 00 may append
    /// fields after a `-`, which are ignored.
    public static func parseTraceparent(_ bytes: UnsafeBufferPointer<UInt8>) -> Header? {
        let r = trimmed(bytes)
        guard r.count >= 55, let b = r.baseAddress else { return nil }
        guard isHex(b, 0, 2), !(lower(b[0]) == UInt8(ascii: "f") && lower(b[1]) == UInt8(ascii: "f")),
              b[2] == UInt8(ascii: "-"), b[35] == UInt8(ascii: "-"), b[52] == UInt8(ascii: "-"),
              isHex(b, 3, 32), isHex(b, 36, 16), isHex(b, 53, 2), !isZero(b, 3, 32), !isZero(b, 36, 16)
        else { return nil }
        let version00 = b[0] == UInt8(ascii: "0") && b[1] == UInt8(ascii: "0")
        if r.count > 55 && (version00 || b[55] != UInt8(ascii: "-")) { return nil }
        let flags = hexValue(b[54])
        return Header(traceID: lowerHex(b, 3, 32), parentSpanID: lowerHex(b, 36, 16), sampled: flags & 1 == 1)
    }

    public static func parseTraceparent(_ string: String) -> Header? {
        var s = string
        return s.withUTF8 { parseTraceparent($0) }
    }

    /// Parses an X-Ray trace header: `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`,
    /// or a bare X-Ray trace id `1-5759e988-bd862e3fe1be46a994272793`.
    ///
    /// The trace id becomes its W3C form, the 8 hex digits of time followed by the 24 of the id, which
    /// is what X-Ray's OpenTelemetry propagator sends downstream. Other fields (`Lineage`, `Self`) are ignored.
    public static func parseXRay(_ bytes: UnsafeBufferPointer<UInt8>) -> Header? {
        let r = trimmed(bytes)
        guard let base = r.baseAddress, r.count > 0 else { return nil }
        if r.count >= 2, base[0] == UInt8(ascii: "1"), base[1] == UInt8(ascii: "-") {
            guard let id = xrayTraceID(r) else { return nil }
            return Header(traceID: id, parentSpanID: nil, sampled: nil)
        }
        var traceID: String?
        var parent: String?
        var sampled: Bool?
        var p = 0
        let n = r.count
        while p < n {
            var e = p
            while e < n, base[e] != UInt8(ascii: ";") { e += 1 }
            let field = trimmed(UnsafeBufferPointer(rebasing: r[p..<e]))
            if let eq = field.firstIndex(of: UInt8(ascii: "=")) {
                let key = UnsafeBufferPointer(rebasing: field[..<eq])
                let value = UnsafeBufferPointer(rebasing: field[(eq + 1)...])
                if equalsIgnoringCase(key, "root") {
                    guard let id = xrayTraceID(value) else { return nil }
                    traceID = id
                } else if equalsIgnoringCase(key, "parent") {
                    if value.count == 16, let vb = value.baseAddress, isHex(vb, 0, 16), !isZero(vb, 0, 16) {
                        parent = lowerHex(vb, 0, 16)
                    }
                } else if equalsIgnoringCase(key, "sampled") {
                    if value.count == 1 {
                        if value[0] == UInt8(ascii: "1") { sampled = true } else if value[0] == UInt8(ascii: "0") { sampled = false }
                    }
                }
            }
            p = e + 1
        }
        guard let id = traceID else { return nil }
        return Header(traceID: id, parentSpanID: parent, sampled: sampled)
    }

    public static func parseXRay(_ string: String) -> Header? {
        var s = string
        return s.withUTF8 { parseXRay($0) }
    }

    /// Whether `bytes` are a W3C trace id: exactly 32 hex digits (either case), not all zero.
    public static func isW3CTraceID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 32, let b = bytes.baseAddress else { return false }
        return isHex(b, 0, 32) && !isZero(b, 0, 32)
    }

    public static func isW3CTraceID(_ string: String) -> Bool {
        var s = string
        return s.withUTF8 { isW3CTraceID($0) }
    }

    /// Whether `bytes` are a W3C span id: exactly 16 hex digits, not all zero.
    public static func isW3CSpanID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 16, let b = bytes.baseAddress else { return false }
        return isHex(b, 0, 16) && !isZero(b, 0, 16)
    }

    /// The W3C trace id in canonical lower case, or nil when `bytes` are not one.
    public static func canonicalTraceID(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard isW3CTraceID(bytes), let b = bytes.baseAddress else { return nil }
        return lowerHex(b, 0, 32)
    }

    /// A hex id (any length) in lower case, or nil when `bytes` are not all hex digits.
    public static func lowercasedHex(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count > 0, let b = bytes.baseAddress, isHex(b, 0, bytes.count) else { return nil }
        return lowerHex(b, 0, bytes.count)
    }

    /// Whether `bytes` are hex digits only (at least one).
    static func isHex(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count > 0, let b = bytes.baseAddress else { return false }
        return isHex(b, 0, bytes.count)
    }

    /// Whether hex digits `bytes` hold an upper-case letter (`lowercasedHex` would change them).
    static func hasUpperCase(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let b = bytes.baseAddress else { return false }
        return hasUpper(b, 0, bytes.count)
    }

    // MARK: - Bytes

    /// `1-5759e988-bd862e3fe1be46a994272793` → `5759e988bd862e3fe1be46a994272793`.
    private static func xrayTraceID(_ r: UnsafeBufferPointer<UInt8>) -> String? {
        guard r.count == 35, let b = r.baseAddress, b[0] == UInt8(ascii: "1"), b[1] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "-"), isHex(b, 2, 8), isHex(b, 11, 24), !(isZero(b, 2, 8) && isZero(b, 11, 24))
        else { return nil }
        return String(unsafeUninitializedCapacity: 32) { out in
            for k in 0..<8 { out[k] = lower(b[2 + k]) }
            for k in 0..<24 { out[8 + k] = lower(b[11 + k]) }
            return 32
        }
    }

    @inline(__always) private static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5a) ? c | 0x20 : c }

    @inline(__always)
    private static func hexValue(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return 0
        }
    }

    @inline(__always)
    private static func isHex(_ b: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> Bool {
        var start = at
        // Eight bytes at a time (ids are 16 or 32 digits). For bytes below 0x80, adding 0x80 - lo sets a
        // byte's top bit exactly when it is ≥ lo, with no carry into the next byte.
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high = ones &* 0x80
        while start + 8 <= at + count {
            let w = UInt64(littleEndian: UnsafeRawPointer(b + start).loadUnaligned(as: UInt64.self))
            if w & high != 0 { return false }
            let digit = (w &+ ones &* (0x80 - 0x30)) & ~(w &+ ones &* (0x80 - 0x3a))
            let folded = w | ones &* 0x20
            let letter = (folded &+ ones &* (0x80 - 0x61)) & ~(folded &+ ones &* (0x80 - 0x67))
            if (digit | letter) & high != high { return false }
            start += 8
        }
        for k in start..<(at + count) {
            switch b[k] {
            case 0x30...0x39, 0x41...0x46, 0x61...0x66: continue
            default: return false
            }
        }
        return true
    }

    @inline(__always)
    private static func isZero(_ b: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> Bool {
        for k in at..<(at + count) where b[k] != UInt8(ascii: "0") { return false }
        return true
    }

    /// Whether hex digits hold an upper-case letter.
    @inline(__always)
    private static func hasUpper(_ b: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> Bool {
        var upper = false
        // Eight bytes at a time (ids are 16 or 32 digits); the bytes are hex, so ASCII, and adding
        // 0x3f (or 0x25) sets a byte's top bit exactly when it is ≥ "A" (or > "Z"), without carries.
        var k = at
        let ones: UInt64 = 0x0101_0101_0101_0101
        while k + 8 <= at + count {
            let w = UInt64(littleEndian: UnsafeRawPointer(b + k).loadUnaligned(as: UInt64.self))
            if (w &+ ones &* 0x3f) & ~(w &+ ones &* 0x25) & (ones &* 0x80) != 0 { upper = true; break }
            k += 8
        }
        while !upper && k < at + count {
            if b[k] >= 0x41 && b[k] <= 0x5a { upper = true }
            k += 1
        }
        return upper
    }

    private static func lowerHex(_ b: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> String {
        // Ids are almost always logged in lower case already: then it is a plain copy.
        if !hasUpper(b, at, count) { return String(decoding: UnsafeBufferPointer(start: b + at, count: count), as: UTF8.self) }
        return String(unsafeUninitializedCapacity: count) { out in
            for k in 0..<count { out[k] = lower(b[at + k]) }
            return count
        }
    }

    private static func trimmed(_ r: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var s = 0
        var e = r.count
        while s < e, r[s] == 0x20 || r[s] == 0x09 { s += 1 }
        while e > s, r[e - 1] == 0x20 || r[e - 1] == 0x09 { e -= 1 }
        return UnsafeBufferPointer(rebasing: r[s..<e])
    }

    private static func equalsIgnoringCase(_ r: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard r.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for k in 0..<r.count where lower(r[k]) != w[k] { return false }
        return true
    }
}
