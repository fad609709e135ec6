import SkeinCore

/// Timestamps at the start of a text line, where the line goes on after them.
///
/// `TimeParsing` reads a whole value; a line prefix also needs to know where the time ends. Covers
/// RFC 3339 (`2026-11-23T10:00:00.123Z`, `…123000+00:00`) and Postgres' `%m`/`%t`
/// (`2026-11-23 10:00:00.123 UTC`).
enum PlatformTime {
    /// Parses a timestamp at `b[start...]`; returns it and the index just past it.
    static func parse(_ b: UnsafeBufferPointer<UInt8>, at start: Int = 0) -> (Timestamp, Int)? {
        // Fixed-width fields read in place (no nested closures capturing `p`): a text line's time
        // is parsed at least once per line.
        let n = b.count
        var p = start
        guard let year = digits(b, p, 4), at(b, p + 4, UInt8(ascii: "-")), let month = digits(b, p + 5, 2),
              at(b, p + 7, UInt8(ascii: "-")), let day = digits(b, p + 8, 2) else { return nil }
        p += 10
        guard p < n, b[p] == UInt8(ascii: "T") || b[p] == UInt8(ascii: "t") || b[p] == 0x20 else { return nil }
        p += 1
        guard let hour = digits(b, p, 2), at(b, p + 2, UInt8(ascii: ":")), let minute = digits(b, p + 3, 2),
              at(b, p + 5, UInt8(ascii: ":")), let second = digits(b, p + 6, 2) else { return nil }
        p += 8
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var nanos: Int64 = 0
        if p < n, b[p] == UInt8(ascii: ".") || b[p] == UInt8(ascii: ",") {
            p += 1
            var scale: Int64 = 100_000_000
            var any = false
            while p < n, ByteText.isDigit(b[p]) {
                nanos += Int64(b[p] - 0x30) * scale
                scale /= 10
                any = true
                p += 1
            }
            guard any else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if p < n {
            let c = b[p]
            if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") {
                p += 1
            } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                let sign: Int64 = c == UInt8(ascii: "-") ? -1 : 1
                p += 1
                guard let oh = digits(b, p, 2) else { return nil }
                p += 2
                if at(b, p, UInt8(ascii: ":")) { p += 1 }
                var om: Int64 = 0
                if let m = digits(b, p, 2) { om = m; p += 2 }
                offsetSeconds = sign * (oh * 3600 + om * 60)
            } else if c == 0x20, p + 1 < n, b[p + 1] >= 0x41 && b[p + 1] <= 0x5a {
                // A zone name (Postgres prints `log_timezone`'s: `UTC`, `CET`), only when it is one that
                // `TimeParsing` knows; `2026-11-23 10:00:00 ERROR …` keeps its `ERROR`.
                var e = p + 1
                while e < n, b[e] >= 0x41 && b[e] <= 0x5a { e += 1 }
                if e == n || !((b[e] >= 0x61 && b[e] <= 0x7a) || ByteText.isDigit(b[e])),
                   let offset = zoneOffset(ByteText.slice(b, p + 1, e)) {
                    offsetSeconds = Int64(offset)
                    p = e
                }
            }
        }
        let days = Timestamp.days(year: year, month: month, day: day)
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        // Four digits of year reach 9999, past what nanoseconds since 1970 hold in 64 bits (2262):
        // such a prefix is no time here (it trapped before).
        guard let t = Timestamp.fromSeconds(secs, nanos: nanos) else { return nil }
        return (t, p)
    }

    /// The number in the `count` decimal digits at `b[p...]`; nil unless all are digits.
    @inline(__always)
    private static func digits(_ b: UnsafeBufferPointer<UInt8>, _ p: Int, _ count: Int) -> Int64? {
        guard p + count <= b.count else { return nil }
        var v: Int64 = 0
        for k in 0..<count {
            let d = b[p + k] &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    @inline(__always)
    private static func at(_ b: UnsafeBufferPointer<UInt8>, _ p: Int, _ c: UInt8) -> Bool {
        p < b.count && b[p] == c
    }

    private static func zoneOffset(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        guard b.count >= 2, b.count <= 4 else { return nil }
        for (name, offset) in TimeParsing.zones where name.utf8.count == b.count && name.utf8.elementsEqual(b) {
            return offset
        }
        return nil
    }

    /// Parses a whole string value (JSON fields): RFC 3339, or an epoch number as digits.
    static func parseValue(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        TimeParsing.parse(b)
    }

    /// An epoch number in any unit, told apart by magnitude.
    static func epoch(_ d: Double) -> Timestamp? {
        guard d.isFinite, d > 0 else { return nil }
        return TimeParsing.epoch(d)
    }
}
