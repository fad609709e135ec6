import SkeinCore

/// Reads the timestamps logs carry: RFC 3339 / ISO 8601 text and epoch numbers of any unit.
///
/// Byte-level on purpose: this runs once per line, and `DateFormatter` costs microseconds.
public enum TimeParsing {
    /// Parses an RFC 3339 / ISO 8601 date-time.
    ///
    /// Accepts `2026-11-23T18:40:04.123Z`, a space or `t` instead of `T`, 0–9 fraction digits (more are
    /// read and ignored), offsets `Z`, `+02:00`, `-0530`, `+02`, Postgres' `2026-11-23 18:40:04.123 UTC`
    /// (also `GMT` and other unambiguous zone names such as `CET`, `PST`; or an offset after a space),
    /// and trailing whitespace. A time without a zone is taken
    /// as UTC: guessing the machine's zone would make replay depend on where it runs. Digits only
    /// (`"1732387204123"`) are read as an epoch number, see `epoch(_:)`.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var n = bytes.count
        while n > 0, isSpace(bytes[n - 1]) { n -= 1 }
        var s = 0
        while s < n, isSpace(bytes[s]) { s += 1 }
        guard n - s >= 10 else { return epochText(bytes, s, n) }
        guard let base = bytes.baseAddress else { return nil }
        let b = base + s
        let len = n - s
        // The date: YYYY-MM-DD.
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let year = digits(b, 0, 4), let month = digits(b, 5, 2), let day = digits(b, 8, 2)
        else { return epochText(bytes, s, n) }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        let days = Timestamp.days(year: Int64(year), month: Int64(month), day: Int64(day))
        if len == 10 { return Timestamp.fromSeconds(days &* 86_400, nanos: 0) }
        // The time: [T t space]HH:MM[:SS[.fraction]].
        let sep = b[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == 0x20, len >= 16,
              let hour = digits(b, 11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(b, 14, 2),
              hour < 24, minute < 60
        else { return nil }
        var p = 16
        var second = 0
        var nanos: Int64 = 0
        if p < len, b[p] == UInt8(ascii: ":") {
            guard p + 3 <= len, let sec = digits(b, p + 1, 2), sec <= 60 else { return nil }
            second = sec
            p += 3
            if p < len, b[p] == UInt8(ascii: ".") || b[p] == UInt8(ascii: ",") {
                p += 1
                var count = 0
                while p < len, isDigit(b[p]) {
                    if count < 9 { nanos = nanos * 10 + Int64(b[p] - 0x30) }
                    count += 1
                    p += 1
                }
                guard count > 0 else { return nil }
                while count < 9 { nanos *= 10; count += 1 }
            }
        }
        // The zone.
        var offsetSeconds = 0
        if p < len, b[p] == 0x20 { p += 1 }
        if p < len {
            let c = b[p]
            if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") {
                p += 1
            } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                guard p + 3 <= len, let oh = digits(b, p + 1, 2), oh < 24 else { return nil }
                var om = 0
                var q = p + 3
                if q < len, b[q] == UInt8(ascii: ":") { q += 1 }
                if q < len {
                    guard q + 2 <= len, let m = digits(b, q, 2), m < 60 else { return nil }
                    om = m
                    q += 2
                }
                offsetSeconds = (oh * 3600 + om * 60) * (c == UInt8(ascii: "-") ? -1 : 1)
                p = q
            } else if let offset = zoneAbbreviation(UnsafeBufferPointer(start: b + p, count: len - p)) {
                offsetSeconds = offset
                p = len
            } else {
                return nil
            }
        }
        guard p == len else { return nil }
        let secs = days &* 86_400 &+ Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        // A year past 2262 (or before 1678) does not fit in nanoseconds: no time, rather than one
        // wrapped around to another century.
        return Timestamp.fromSeconds(secs, nanos: nanos)
    }

    /// Parses a timestamp held in a `String`.
    public static func parse(_ string: String) -> Timestamp? {
        var s = string
        return s.withUTF8 { parse($0) }
    }

    /// An epoch number in seconds, milliseconds, microseconds or nanoseconds, decided by magnitude.
    ///
    /// Below 1e11 it is seconds (year 5138 in seconds, 1973 in ms), below 1e14 milliseconds, below 1e17
    /// microseconds, else nanoseconds. Logs of this decade are nowhere near a boundary in any unit.
    /// The integral part is converted exactly; only the fraction goes through floating point, so
    /// `1795459204.25` seconds does not come out as `.249999`. Nil when it is no number or names a
    /// time a `Timestamp` cannot hold (past 2262 or before 1677: `9e10` seconds would otherwise
    /// wrap around to another century).
    public static func epoch(_ value: Double) -> Timestamp? {
        guard value.isFinite, abs(value) < 9.2e18 else { return nil }
        let whole = value.rounded(.towardZero)
        let unit = unitNanos(abs(whole))
        let (v, over) = Int64(whole).multipliedReportingOverflow(by: unit)
        guard !over else { return nil }
        let (t, over2) = v.addingReportingOverflow(Int64(((value - whole) * Double(unit)).rounded()))
        return over2 ? nil : Timestamp(nanos: t)
    }

    /// An integer epoch, exact in every unit (a Double loses nanoseconds past 2^53); nil past what
    /// a `Timestamp` holds, as for `epoch(_:)` of a Double.
    public static func epoch(_ value: Int64) -> Timestamp? {
        let (v, over) = value.multipliedReportingOverflow(by: unitNanos(Double(value.magnitude)))
        return over ? nil : Timestamp(nanos: v)
    }

    /// An epoch number written as text (`1732387204123`, `1732387204.123`), exact to the nanosecond.
    ///
    /// Needs at least 10 integral digits (2001 in seconds): a short number is a count, not a time.
    public static func epoch(text bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        epochText(bytes, 0, bytes.count)
    }

    @inline(__always)
    private static func unitNanos(_ magnitude: Double) -> Int64 {
        if magnitude < 1e11 { return 1_000_000_000 }
        if magnitude < 1e14 { return 1_000_000 }
        if magnitude < 1e17 { return 1_000 }
        return 1
    }

    private static func epochText(_ bytes: UnsafeBufferPointer<UInt8>, _ s: Int, _ n: Int) -> Timestamp? {
        var p = s
        var neg = false
        if p < n, bytes[p] == UInt8(ascii: "-") { neg = true; p += 1 }
        var whole: Int64 = 0
        var intDigits = 0
        // Eighteen digits cannot overflow an Int64: no checks for them (an epoch in ns has 19).
        // Eight at a time while eight digits follow (an epoch in ms has 13).
        if let base = bytes.baseAddress {
            while p + 8 <= n && intDigits <= 10, let eight = eightDigits(UnsafeRawPointer(base + p)) {
                whole = whole &* 100_000_000 &+ Int64(eight)
                intDigits += 8
                p += 8
            }
        }
        let unchecked = min(n, p + 18 - intDigits)
        while p < unchecked {
            let d = bytes[p] &- 0x30
            guard d < 10 else { break }
            whole = whole &* 10 &+ Int64(d)
            intDigits += 1
            p += 1
        }
        while p < n, isDigit(bytes[p]) {
            let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(bytes[p] - 0x30))
            guard !o1, !o2 else { return nil }
            whole = next
            intDigits += 1
            p += 1
        }
        guard intDigits >= 10 else { return nil }
        let unit = unitNanos(Double(whole))
        var frac: Int64 = 0
        if p < n, bytes[p] == UInt8(ascii: ".") {
            p += 1
            var scale = unit
            while p < n, isDigit(bytes[p]) {
                scale /= 10
                frac += Int64(bytes[p] - 0x30) * scale
                p += 1
            }
        }
        guard p == n else { return nil }
        // Past what a `Timestamp` holds (seconds past 2262, say) is no time rather than a wrapped one.
        let (scaled, over) = whole.multipliedReportingOverflow(by: unit)
        let (v, over2) = scaled.addingReportingOverflow(frac)
        guard !over, !over2 else { return nil }
        return Timestamp(nanos: neg ? -v : v)
    }

    /// The value of eight ASCII digits at `p`, or nil when any of the eight bytes is not a digit.
    @inline(__always)
    private static func eightDigits(_ p: UnsafeRawPointer) -> UInt64? {
        let w = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
        // Each byte 0x30...0x39: high nibble 3, and adding 6 does not carry out of the low nibble.
        guard w & 0xf0f0_f0f0_f0f0_f0f0 == 0x3030_3030_3030_3030,
              (w &+ 0x0606_0606_0606_0606) & 0xf0f0_f0f0_f0f0_f0f0 == 0x3030_3030_3030_3030 else { return nil }
        // First digit in the lowest byte: combine pairs, then quads, then the two halves.
        var v = w & 0x0f0f_0f0f_0f0f_0f0f
        v = (v &* 10 &+ (v >> 8)) & 0x00ff_00ff_00ff_00ff
        v = (v &* 100 &+ (v >> 16)) & 0x0000_ffff_0000_ffff
        v = (v &* 10_000 &+ (v >> 32)) & 0xffff_ffff
        return v
    }

    @inline(__always) private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d }

    @inline(__always)
    private static func digits(_ b: UnsafePointer<UInt8>, _ at: Int, _ count: Int) -> Int? {
        var v = 0
        for k in 0..<count {
            let c = b[at + k]
            guard isDigit(c) else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// Zone names Postgres and syslog write after the time (`log_timezone`), as seconds east of UTC.
    /// Only unambiguous ones: `CST` and `IST` each name zones on different continents, so they are refused.
    static let zones: [(String, Int)] = [
        ("UTC", 0), ("GMT", 0), ("UT", 0), ("WET", 0), ("WEST", 3600), ("BST", 3600), ("CET", 3600), ("CEST", 7200),
        ("MET", 3600), ("MEST", 7200), ("EET", 7200), ("EEST", 10_800), ("MSK", 10_800),
        ("EST", -18_000), ("EDT", -14_400), ("CDT", -18_000), ("MST", -25_200), ("MDT", -21_600),
        ("PST", -28_800), ("PDT", -25_200), ("AKST", -32_400), ("AKDT", -28_800), ("HST", -36_000),
        ("JST", 32_400), ("KST", 32_400), ("HKT", 28_800), ("SGT", 28_800), ("AEST", 36_000), ("AEDT", 39_600),
        ("NZST", 43_200), ("NZDT", 46_800),
    ]

    private static func zoneAbbreviation(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        guard b.count >= 2, b.count <= 4 else { return nil }
        outer: for (name, offset) in zones where name.utf8.count == b.count {
            for (i, c) in name.utf8.enumerated() {
                let d = b[i] >= 0x61 && b[i] <= 0x7a ? b[i] - 0x20 : b[i]
                if d != c { continue outer }
            }
            return offset
        }
        return nil
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
