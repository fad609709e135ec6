#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time: nanoseconds since the Unix epoch, UTC.
///
/// The engine never reads the wall clock; every timestamp comes from an event or an injected clock.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanos: Int64

    public init(nanos: Int64) { self.nanos = nanos }
    public init(millis: Int64) { self.nanos = millis &* 1_000_000 }
    public init(millis: Double) { self.nanos = Timestamp.nanos(millis * 1_000_000) }
    public init(seconds: Double) { self.nanos = Timestamp.nanos(seconds * 1_000_000_000) }

    /// `d` nanoseconds, rounded and held to 64 bits (NaN as 0). Times and durations come from logs
    /// and can be any number (`"WallTimeMs":1e300`): converting one unchecked trapped.
    @inlinable
    public static func nanos(_ d: Double) -> Int64 {
        let r = d.rounded()
        // 2^63, the first Double past Int64.max; -2^63 is Int64.min itself.
        if r >= 9_223_372_036_854_775_808.0 { return .max }
        if r < -9_223_372_036_854_775_808.0 { return .min }
        return r.isNaN ? 0 : Int64(r)
    }

    public static let zero = Timestamp(nanos: 0)
    /// The longest a logged duration is taken to be (100 days): past it a number is no duration.
    public static let maxDurationMS: Double = 8_640_000_000
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanos < b.nanos }

    public var millis: Double { Double(nanos) / 1_000_000 }
    public var seconds: Double { Double(nanos) / 1_000_000_000 }

    /// `ms` later (earlier when negative), held at the ends of the 64-bit range rather than wrapped.
    public func adding(ms: Double) -> Timestamp {
        let d = Timestamp.nanos(ms * 1_000_000)
        let (sum, overflow) = nanos.addingReportingOverflow(d)
        return Timestamp(nanos: overflow ? (d > 0 ? .max : .min) : sum)
    }
    public func adding(nanos d: Int64) -> Timestamp { Timestamp(nanos: nanos &+ d) }
    /// Milliseconds from `other` to `self`.
    public func ms(since other: Timestamp) -> Double { Double(nanos &- other.nanos) / 1_000_000 }

    /// RFC 3339 in UTC with millisecond precision: `2026-11-23T18:40:04.123Z`.
    public var rfc3339: String { formatRFC3339(fractionDigits: 3) }

    public var description: String { rfc3339 }

    /// RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits.
    public func formatRFC3339(fractionDigits: Int = 3) -> String {
        var secs = nanos / 1_000_000_000
        var frac = nanos % 1_000_000_000
        if frac < 0 { frac += 1_000_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Timestamp.civil(fromDays: days)
        var out = ""
        out.reserveCapacity(30)
        Timestamp.pad(&out, y, 4); out += "-"; Timestamp.pad(&out, m, 2); out += "-"; Timestamp.pad(&out, d, 2)
        out += "T"
        Timestamp.pad(&out, rem / 3600, 2); out += ":"; Timestamp.pad(&out, (rem % 3600) / 60, 2); out += ":"
        Timestamp.pad(&out, rem % 60, 2)
        if fractionDigits > 0 {
            let digits = min(fractionDigits, 9)
            var div: Int64 = 1
            for _ in 0..<(9 - digits) { div *= 10 }
            out += "."
            Timestamp.pad(&out, frac / div, digits)
        }
        out += "Z"
        return out
    }

    /// Clock time of day `HH:MM:SS.mmm` (UTC), for compact displays.
    public var timeOfDay: String {
        let s = formatRFC3339(fractionDigits: 3)
        let start = s.index(s.startIndex, offsetBy: 11)
        return String(s[start..<s.index(before: s.endIndex)])
    }

    /// `seconds` since the epoch plus `nanos` (0 ..< 1e9), or nil when the sum does not fit in
    /// 64 bits of nanoseconds (before 1677-09-21 or after 2262-04-11).
    @inlinable
    public static func fromSeconds(_ seconds: Int64, nanos: Int64) -> Timestamp? {
        let (scaled, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, o2) = scaled.addingReportingOverflow(nanos)
        guard !o1, !o2 else { return nil }
        return Timestamp(nanos: sum)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    private static func pad(_ out: inout String, _ v: Int64, _ width: Int) {
        let s = String(v)
        if s.count < width { out += String(repeating: "0", count: width - s.count) }
        out += s
    }
}

/// A source of "now". Live mode injects the wall clock; replay and tests inject virtual time.
public protocol Clock: Sendable {
    func now() -> Timestamp
}

/// The wall clock, for live mode and answers to clients only: the engine itself never reads it.
public struct WallClock: Clock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanos: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }
}
