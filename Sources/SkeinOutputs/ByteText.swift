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
        if v < 10 {
            out.append(48 &+ UInt8(truncatingIfNeeded: v))
            return
        }
        var n = 2
        var limit: UInt64 = 100
        while n < 20 && v >= limit {
            n += 1
            limit = limit &* 10
        }
        // Written in place, last digits first, two at a time from a table of "00" to "99".
        out.append(count: n) { p in
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
        }
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
        if v < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(UInt64(v.magnitude), to: &out)
    }

    /// At most three decimals, trailing zeros dropped, never an exponent below 9e12.
    ///
    /// Milliseconds to the microsecond is all any output needs; a fixed shape keeps goldens stable
    /// across platforms. Non-finite values have no JSON form; callers write `null` (see `JSONWriter`).
    static func appendMilli(_ d: Double, to out: inout ByteBuffer) {
        let scaled = (d * 1000).rounded()
        guard scaled.isFinite, abs(scaled) < 9e15 else {
            appendShortest(d, to: &out)
            return
        }
        let s = Int64(scaled)
        if s < 0 { out.append(UInt8(ascii: "-")) }
        let m = s.magnitude
        appendDigits(m / 1000, to: &out)
        let frac = m % 1000
        if frac != 0 {
            out.append(UInt8(ascii: "."))
            let d1 = frac / 100, d2 = (frac / 10) % 10, d3 = frac % 10
            out.append(48 &+ UInt8(d1))
            if d2 != 0 || d3 != 0 { out.append(48 &+ UInt8(d2)) }
            if d3 != 0 { out.append(48 &+ UInt8(d3)) }
        }
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
        var secs = t.nanos / 1_000_000_000
        var frac = t.nanos % 1_000_000_000
        if frac < 0 { frac += 1_000_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Timestamp.civil(fromDays: days)
        if fractionDigits == 3 && y >= 0 && y <= 9999 {
            // The common shape, `YYYY-MM-DDTHH:MM:SS.mmmZ`, digit by digit into 24 bytes.
            out.append(count: 24) { p in
                ByteText.put(Int(y), width: 4, at: p)
                p[4] = UInt8(ascii: "-")
                ByteText.put(Int(m), width: 2, at: p + 5)
                p[7] = UInt8(ascii: "-")
                ByteText.put(Int(d), width: 2, at: p + 8)
                p[10] = UInt8(ascii: "T")
                ByteText.put(Int(rem / 3600), width: 2, at: p + 11)
                p[13] = UInt8(ascii: ":")
                ByteText.put(Int((rem % 3600) / 60), width: 2, at: p + 14)
                p[16] = UInt8(ascii: ":")
                ByteText.put(Int(rem % 60), width: 2, at: p + 17)
                p[19] = UInt8(ascii: ".")
                ByteText.put(Int(frac / 1_000_000), width: 3, at: p + 20)
                p[23] = UInt8(ascii: "Z")
            }
            return
        }
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

    static func milli(_ d: Double) -> String {
        var out = ByteBuffer(capacity: 32)
        appendMilli(d, to: &out)
        return out.text
    }
}
