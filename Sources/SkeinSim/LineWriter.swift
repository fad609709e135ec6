import SkeinCore

/// One log line before it becomes bytes: the convention's fields, in the convention's order.
///
/// Where the line ran (service, instance, deploy, platform, runtime, region) is not here: each
/// instance renders that prefix once and every line of it reuses the bytes.
struct LineRecord {
    var event: EventKind
    var correlationID: String?
    var traceID: String?
    var spanID: String?
    var parentSpanID: String?
    var requestID: String?
    var route: String?
    var method: String?
    var status: Int?
    var durationMS: Double?
    var cpuMS: Double?
    var initMS: Double?
    var coldStart: Bool?
    var dbPool: String?
    var dbOpen: Int?
    var dbMax: Int?
    var waitMS: Double?
    var dbError: DBErrorKind?
    var level: Level = .info
    var msg: String?
    /// Fields outside the convention (they become `Event.attributes`), written last in this order.
    var extras: [(String, ExtraValue)] = []

    init(_ event: EventKind) { self.event = event }
}

enum ExtraValue {
    case string(String)
    case int(Int)
}

/// Writes JSON by hand: fixed key order, escaped strings, numbers with fixed decimals.
///
/// Foundation's encoders reorder keys and print doubles in shortest round-trip form; the same
/// seed has to give the same bytes on every platform, so nothing here is left to a library.
enum LineWriter {
    /// `"service":"…","instance":"…",…` for one instance, written once and reused on every line.
    static func instancePrefix(service: String, instance: String, deploy: DeployModel, platform: String,
                               runtime: String?, region: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        field(&out, "service", service, first: true)
        field(&out, "instance", instance)
        field(&out, "deploy", deploy.rawValue)
        field(&out, "platform", platform)
        if let runtime { field(&out, "runtime", runtime) }
        if let region { field(&out, "region", region) }
        return out
    }

    static func render(ts: Int64, prefix: [UInt8], _ r: LineRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(prefix.count + 320)
        append(&out, #"{"ts":""#)
        rfc3339(&out, ts)
        append(&out, #"","#)
        out.append(contentsOf: prefix)
        if let v = r.correlationID { field(&out, "correlation_id", v) }
        if let v = r.traceID { field(&out, "trace_id", v) }
        if let v = r.spanID { field(&out, "span_id", v) }
        if let v = r.parentSpanID { field(&out, "parent_span_id", v) }
        if let v = r.requestID { field(&out, "request_id", v) }
        field(&out, "event", r.event.rawValue)
        if let v = r.route { field(&out, "route", v) }
        if let v = r.method { field(&out, "method", v) }
        if let v = r.status { intField(&out, "status", v) }
        if let v = r.durationMS { decimalField(&out, "duration_ms", v) }
        if let v = r.cpuMS { decimalField(&out, "cpu_ms", v) }
        if let v = r.initMS { decimalField(&out, "init_ms", v) }
        if let v = r.coldStart { key(&out, "cold_start"); append(&out, v ? "true" : "false") }
        if let v = r.dbPool { field(&out, "db_pool", v) }
        if let v = r.dbOpen { intField(&out, "db_open", v) }
        if let v = r.dbMax { intField(&out, "db_max", v) }
        if let v = r.waitMS { decimalField(&out, "wait_ms", v) }
        if let v = r.dbError { field(&out, "db_error", v.rawValue) }
        field(&out, "level", r.level.name)
        if let v = r.msg { field(&out, "msg", v) }
        for (k, v) in r.extras {
            switch v {
            case .string(let s): field(&out, k, s)
            case .int(let n): intField(&out, k, n)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    // MARK: pieces

    @inline(__always)
    static func append(_ out: inout [UInt8], _ s: StaticString) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    static func key(_ out: inout [UInt8], _ k: String, first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        string(&out, k)
        out.append(UInt8(ascii: ":"))
    }

    static func field(_ out: inout [UInt8], _ k: String, _ v: String, first: Bool = false) {
        key(&out, k, first: first)
        string(&out, v)
    }

    static func intField(_ out: inout [UInt8], _ k: String, _ v: Int) {
        key(&out, k)
        integer(&out, v)
    }

    static func decimalField(_ out: inout [UInt8], _ k: String, _ v: Double) {
        key(&out, k)
        decimal1(&out, v)
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; UTF-8 kept.
    static func string(_ out: inout [UInt8], _ s: String) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(c)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(c)
            case 0x0a: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0d: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                append(&out, "\\u00")
                out.append(SimRandom.hexDigits[Int(c >> 4)])
                out.append(SimRandom.hexDigits[Int(c & 0xf)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func integer(_ out: inout [UInt8], _ v: Int) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        if m == 0 { out.append(UInt8(ascii: "0")); return }
        var digits: [UInt8] = []
        while m > 0 { digits.append(UInt8(ascii: "0") + UInt8(m % 10)); m /= 10 }
        out.append(contentsOf: digits.reversed())
    }

    /// A number with exactly one decimal (`182.4`, `0.0`), rounded half away from zero.
    static func decimal1(_ out: inout [UInt8], _ v: Double) {
        let tenths = Int((v * 10).rounded())
        if tenths < 0 { out.append(UInt8(ascii: "-")) }
        let m = tenths.magnitude
        integer(&out, Int(m / 10))
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(m % 10))
    }

    /// RFC 3339 UTC with milliseconds, written straight into the buffer.
    static func rfc3339(_ out: inout [UInt8], _ nanos: Int64) {
        var secs = nanos / 1_000_000_000
        var frac = nanos % 1_000_000_000
        if frac < 0 { frac += 1_000_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Timestamp.civil(fromDays: days)
        pad(&out, y, 4); out.append(UInt8(ascii: "-")); pad(&out, m, 2); out.append(UInt8(ascii: "-")); pad(&out, d, 2)
        out.append(UInt8(ascii: "T"))
        pad(&out, rem / 3600, 2); out.append(UInt8(ascii: ":")); pad(&out, (rem % 3600) / 60, 2)
        out.append(UInt8(ascii: ":")); pad(&out, rem % 60, 2)
        out.append(UInt8(ascii: ".")); pad(&out, frac / 1_000_000, 3)
        out.append(UInt8(ascii: "Z"))
    }

    private static func pad(_ out: inout [UInt8], _ v: Int64, _ width: Int) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var x = v
        var i = width - 1
        while i >= 0 && x > 0 { digits[i] = UInt8(ascii: "0") + UInt8(x % 10); x /= 10; i -= 1 }
        out.append(contentsOf: digits)
    }
}
