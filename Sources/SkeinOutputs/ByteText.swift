import SkeinCore

/// Number and time formatting straight into a byte buffer, shared by every output.
///
/// Exports format hundreds of thousands of numbers and timestamps; going through `String` for
/// each one costs an allocation apiece, so these append digits in place.
enum ByteText {
    @inline(__always)
    static func append(_ s: StaticString, to out: inout ByteBuffer) {
        out.append(s)
    }

    /// Disfavoured: a literal takes the `StaticString` overload (see `ByteBuffer.append(_:)`).
    @inline(__always) @_disfavoredOverload
    static func append(_ s: String, to out: inout ByteBuffer) {
        out.append(s)
    }

    /// Decimal digits of `v`, no sign.
    static func appendDigits(_ v: UInt64, to out: inout ByteBuffer) {
        out.append(atMost: 20) { p in writeDigits(v, at: p) - p }
    }

    /// Decimal digits of `v`, no sign, at `p` (room for 20); returns the end.
    @inline(__always)
    static func writeDigits(_ v: UInt64, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if v < 10 {
            p[0] = 48 &+ UInt8(truncatingIfNeeded: v)
            return p + 1
        }
        var n = 2
        var limit: UInt64 = 100
        while n < 20 && v >= limit {
            n += 1
            limit = limit &* 10
        }
        // Last digits first, two at a time from a table of "00" to "99".
        let pairs = ByteText.digitPairs.utf8Start
        var x = v
        var i = n
        while x >= 100 {
            let r = Int(truncatingIfNeeded: x % 100) << 1
            x /= 100
            i -= 2
            p[i] = pairs[r]
            p[i + 1] = pairs[r + 1]
        }
        if x >= 10 {
            let r = Int(truncatingIfNeeded: x) << 1
            p[i - 2] = pairs[r]
            p[i - 1] = pairs[r + 1]
        } else {
            p[i - 1] = 48 &+ UInt8(truncatingIfNeeded: x)
        }
        return p + n
    }

    private static let digitPairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// `v` zero-padded to `width` digits.
    static func appendPadded(_ v: Int64, width: Int, to out: inout ByteBuffer) {
        let m = v.magnitude
        var digits = 1
        var t = m / 10
        while t > 0 { digits += 1; t /= 10 }
        var pad = width - digits
        while pad > 0 { out.append(48); pad -= 1 }
        appendDigits(m, to: &out)
    }

    /// `v` (0 ≤ v < 10^width) as exactly `width` decimal digits at `p`, zero-padded.
    @inline(__always)
    static func put(_ v: Int, width: Int, at p: UnsafeMutablePointer<UInt8>) {
        var v = v
        var i = width - 1
        while i >= 0 {
            p[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
            v /= 10
            i -= 1
        }
    }

    static func appendInt(_ v: Int, to out: inout ByteBuffer) {
        out.append(atMost: 21) { p in writeInt(v, at: p) - p }
    }

    /// `v` in decimal at `p` (room for 21); returns the end.
    @inline(__always)
    static func writeInt(_ v: Int, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if v < 0 {
            p[0] = UInt8(ascii: "-")
            return writeDigits(UInt64(v.magnitude), at: p + 1)
        }
        return writeDigits(UInt64(v), at: p)
    }

    /// At most three decimals, trailing zeros dropped, never an exponent below 9e12.
    ///
    /// Milliseconds to the microsecond is all any output needs; a fixed shape keeps goldens stable
    /// across platforms. Non-finite values have no JSON form; callers write `null` (see `JSONWriter`).
    static func appendMilli(_ d: Double, to out: inout ByteBuffer) {
        var fixed = true
        out.append(atMost: milliBytes) { p in
            guard let end = writeMilli(d, at: p) else { fixed = false; return 0 }
            return end - p
        }
        if !fixed { appendShortest(d, to: &out) }
    }

    /// The most `writeMilli` writes: a sign, 13 digits, a point and three decimals.
    static let milliBytes = 18

    /// `appendMilli`'s fixed shape at `p` (room for `milliBytes`), returning the end; nil, writing
    /// nothing, for a value that takes the shortest form instead (non-finite, or 9e12 and above).
    @inline(__always)
    static func writeMilli(_ d: Double, at start: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8>? {
        let x = d * 1000
        guard x.isFinite, abs(x) < 9e15 else { return nil }
        // Rounded half away from zero, as `rounded()` does, without its call into libm: the
        // fraction a truncation leaves is exact at this size.
        var s = Int64(x)
        let rest = x - Double(s)
        if rest >= 0.5 { s += 1 } else if rest <= -0.5 { s -= 1 }
        var p = start
        if s < 0 { p[0] = UInt8(ascii: "-"); p += 1 }
        let m = s.magnitude
        p = writeDigits(m / 1000, at: p)
        let frac = m % 1000
        if frac != 0 {
            p[0] = UInt8(ascii: ".")
            let d1 = frac / 100, d2 = (frac / 10) % 10, d3 = frac % 10
            p[1] = 48 &+ UInt8(d1)
            p += 2
            if d2 != 0 || d3 != 0 { p[0] = 48 &+ UInt8(d2); p += 1 }
            if d3 != 0 { p[0] = 48 &+ UInt8(d3); p += 1 }
        }
        return p
    }

    /// The shortest text that reads back as the same `Double` (exponent form only when Swift picks it).
    static func appendShortest(_ d: Double, to out: inout ByteBuffer) {
        if d == d.rounded(), abs(d) < 1e15 {
            appendInt(Int(d), to: &out)
            return
        }
        append(d.description, to: &out)
    }

    /// Same text as `Timestamp.formatRFC3339(fractionDigits:)`, without building a `String`.
    static func appendRFC3339(_ t: Timestamp, fractionDigits: Int = 3, to out: inout ByteBuffer) {
        if fractionDigits == 3 {
            var cache = MinuteText()
            var fits = true
            out.append(atMost: 24) { p in
                fits = writeRFC3339Millis(t, at: p, cache: &cache)
                return fits ? 24 : 0
            }
            if fits { return }
        }
        var secs = t.nanos / 1_000_000_000
        var frac = t.nanos % 1_000_000_000
        if frac < 0 { frac += 1_000_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Timestamp.civil(fromDays: days)
        if y < 0 { out.append(UInt8(ascii: "-")) }
        appendPadded(y, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(m, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(d, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendPadded(rem / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded((rem % 3600) / 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(rem % 60, width: 2, to: &out)
        if fractionDigits > 0 {
            let digits = min(fractionDigits, 9)
            var div: Int64 = 1
            for _ in 0..<(9 - digits) { div *= 10 }
            out.append(UInt8(ascii: "."))
            appendPadded(frac / div, width: digits, to: &out)
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// The text of one minute, `YYYY-MM-DDTHH:MM:` (17 bytes), kept by a writer of many timestamps in
    /// time order: most share the minute of the one before.
    struct MinuteText {
        fileprivate var minute: Int64 = .min
        fileprivate var head: UInt64 = 0, middle: UInt64 = 0, colon: UInt8 = 0
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (RFC 3339 UTC, milliseconds): 24 bytes at `p`, the date and minute
    /// copied from `cache` when `t` falls in its minute. False, writing nothing, for a year outside
    /// 0...9999 (the general form then has a sign or more digits).
    @inline(__always)
    static func writeRFC3339Millis(_ t: Timestamp, at p: UnsafeMutablePointer<UInt8>, cache: inout MinuteText) -> Bool {
        var minute = t.nanos / 60_000_000_000
        var inMinute = t.nanos % 60_000_000_000
        if inMinute < 0 { inMinute += 60_000_000_000; minute -= 1 }
        let raw = UnsafeMutableRawPointer(p)
        if minute != cache.minute {
            var days = minute / 1440
            var rem = minute % 1440
            if rem < 0 { rem += 1440; days -= 1 }
            let (y, m, d) = Timestamp.civil(fromDays: days)
            guard y >= 0 && y <= 9999 else { return false }
            ByteText.put(Int(y), width: 4, at: p)
            p[4] = UInt8(ascii: "-")
            ByteText.put(Int(m), width: 2, at: p + 5)
            p[7] = UInt8(ascii: "-")
            ByteText.put(Int(d), width: 2, at: p + 8)
            p[10] = UInt8(ascii: "T")
            ByteText.put(Int(rem / 60), width: 2, at: p + 11)
            p[13] = UInt8(ascii: ":")
            ByteText.put(Int(rem % 60), width: 2, at: p + 14)
            p[16] = UInt8(ascii: ":")
            cache.minute = minute
            cache.head = raw.loadUnaligned(as: UInt64.self)
            cache.middle = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            cache.colon = p[16]
        } else {
            raw.storeBytes(of: cache.head, as: UInt64.self)
            raw.storeBytes(of: cache.middle, toByteOffset: 8, as: UInt64.self)
            p[16] = cache.colon
        }
        let millis = Int(inMinute / 1_000_000)
        ByteText.put(millis / 1000, width: 2, at: p + 17)
        p[19] = UInt8(ascii: ".")
        ByteText.put(millis % 1000, width: 3, at: p + 20)
        p[23] = UInt8(ascii: "Z")
        return true
    }

    static func milli(_ d: Double) -> String {
        var out = ByteBuffer(capacity: 32)
        appendMilli(d, to: &out)
        return out.text
    }
}
