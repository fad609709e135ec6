import SkeinCore
@testable import SkeinDecoders

/// Renders decoder results as stable, readable text for golden files: one line per event and per
/// non-event outcome, only fields that are set, in a fixed order, attributes sorted.
enum GoldenRenderer {
    /// The clock golden files are decoded by, for dates logged without a year (RFC 3164 syslog)
    /// in a file that gives no full time before them: 2026-12-01T00:00:00Z, so that the fixtures'
    /// November dates stay in 2026 whenever the tests run.
    static let clock = FixedClock(at: Timestamp(nanos: Timestamp.days(year: 2026, month: 12, day: 1) * 86_400 * 1_000_000_000))

    struct FixedClock: Clock {
        let at: Timestamp
        func now() -> Timestamp { at }
    }

    /// Runs `input` through a fresh `AutoDecoder.standard()` frame by frame (split on `\n`, as the
    /// framer would) and renders everything it reports, then what `flush` releases.
    static func run(_ input: [UInt8], decoder: AutoDecoder = .standard()) -> String {
        var decoder = decoder
        if decoder.context.clock == nil { decoder.context.clock = clock }
        var lines: [String] = []
        var frames = input.split(separator: 0x0a, omittingEmptySubsequences: false)
        if frames.last?.isEmpty == true { frames.removeLast() }
        for (index, frame) in frames.enumerated() {
            let tag = "L\(index + 1)"
            var events: [Event] = []
            let outcome = Array(frame).withUnsafeBufferPointer { decoder.decode($0, source: SourceID(0), into: &events) }
            let format = decoder.lastFormat.map { " [\($0)]" } ?? ""
            switch outcome {
            case .events(let n):
                if n != events.count { lines.append("\(tag) MISMATCH events(\(n)) but \(events.count) appended") }
            case .absorbed:
                lines.append("\(tag) absorbed\(format)")
            case .malformed(let reason):
                lines.append("\(tag) malformed \(reason.rawValue)")
            }
            for e in events { lines.append("\(tag)\(format) \(render(e))") }
            for late in decoder.drainLateMalformed() {
                lines.append("\(tag) late-malformed \(late.reason.rawValue) x\(late.count)")
            }
        }
        var tail: [Event] = []
        decoder.flush(source: SourceID(0), into: &tail)
        for e in tail { lines.append("flush \(render(e))") }
        for late in decoder.drainLateMalformed() {
            lines.append("flush late-malformed \(late.reason.rawValue) x\(late.count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func render(_ e: Event) -> String {
        var parts: [String] = ["time=\(e.time.formatRFC3339(fractionDigits: 9))", "kind=\(e.kind.rawValue)",
                               "level=\(e.level.name)"]
        func add(_ name: String, _ value: String?) { if let value { parts.append("\(name)=\(quote(value))") } }
        func add(_ name: String, _ value: Int?) { if let value { parts.append("\(name)=\(value)") } }
        func add(_ name: String, _ value: Double?) { if let value { parts.append("\(name)=\(value)") } }
        if e.source != SourceID(0) { parts.append("source=\(e.source.raw)") }
        add("service", e.service); add("instance", e.instance); add("deploy", e.deploy?.rawValue)
        add("platform", e.platform); add("runtime", e.runtime); add("region", e.region)
        add("trace", e.traceID); add("correlation", e.correlationID); add("request", e.requestID)
        add("span", e.spanID); add("parent", e.parentSpanID)
        add("route", e.route); add("method", e.method); add("status", e.status)
        add("duration_ms", e.durationMS); add("cpu_ms", e.cpuMS); add("init_ms", e.initMS)
        if let c = e.coldStart { parts.append("cold_start=\(c)") }
        add("db_pool", e.dbPool); add("db_open", e.dbOpen); add("db_max", e.dbMax); add("wait_ms", e.waitMS)
        add("db_error", e.dbError?.rawValue)
        add("msg", e.message)
        for a in e.attributes.sorted(by: { ($0.key, $0.value) < ($1.key, $1.value) }) {
            parts.append("@\(a.key)=\(quote(a.value))")
        }
        return parts.joined(separator: " ")
    }

    /// Quotes when needed so every rendering stays on one line and reads back unambiguously.
    static func quote(_ s: String) -> String {
        let plain = !s.isEmpty && s.unicodeScalars.allSatisfy { u in
            u.value > 0x20 && u.value != 0x7f && u != "\"" && u != "\\" && u != "=" && !(0x80..<0xa0).contains(u.value)
        }
        if plain { return s }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) {
                    out += "\\u{\(String(u.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
