import XCTest
import SkeinCore
@testable import SkeinDecoders

/// Feeding platform decoders in tests: frames line by line, or one parsed JSON value per line.
enum PlatformFeed {
    static func lines(_ text: String) -> [[UInt8]] {
        var out = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
        if out.last?.isEmpty == true { out.removeLast() }
        return out
    }

    static func frames<D: FrameDecoder>(_ decoder: inout D, _ text: String, source: SourceID = SourceID(0)) -> (events: [Event], outcomes: [DecodeOutcome]) {
        var events: [Event] = []
        var outcomes: [DecodeOutcome] = []
        for var line in lines(text) {
            let o = line.withUnsafeMutableBufferPointer { decoder.decode(UnsafeBufferPointer($0), source: source, into: &events) }
            outcomes.append(o)
        }
        decoder.flush(source: source, into: &events)
        return (events, outcomes)
    }

    static func records<D: JSONRecordDecoder>(_ decoder: inout D, _ text: String, source: SourceID = SourceID(0)) -> (events: [Event], outcomes: [DecodeOutcome]) {
        var events: [Event] = []
        var outcomes: [DecodeOutcome] = []
        var context = DecodeContext()
        var tape = JSONTape()
        for var line in lines(text) where !line.isEmpty {
            let o: DecodeOutcome = line.withUnsafeMutableBufferPointer { b in
                let buf = UnsafeBufferPointer(b)
                do throws(JSONTape.Failure) { try tape.parse(buf) } catch { return .malformed(MalformedReason(error)) }
                let doc = JSONDocument(tape: tape, bytes: buf)
                guard decoder.matches(doc) else { return .malformed(.unrecognised) }
                return decoder.decode(doc, source: source, context: &context, into: &events)
            }
            outcomes.append(o)
        }
        return (events, outcomes)
    }

    /// Runs lines through `AutoDecoder.standard()`: the events, and the format that took each line.
    static func auto(_ text: String) -> (events: [Event], formats: [String?], outcomes: [DecodeOutcome]) {
        var d = AutoDecoder.standard()
        var events: [Event] = []
        var formats: [String?] = []
        var outcomes: [DecodeOutcome] = []
        for var line in lines(text) {
            let o = line.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &events) }
            outcomes.append(o)
            formats.append(d.lastFormat)
        }
        d.flush(source: SourceID(0), into: &events)
        return (events, formats, outcomes)
    }

    static func describe(_ e: Event) -> String {
        var parts = ["\(e.time.formatRFC3339(fractionDigits: 3)) \(e.kind.rawValue) \(e.level.name)"]
        func add(_ k: String, _ v: Any?) { if let v { parts.append("\(k)=\(v)") } }
        add("service", e.service); add("instance", e.instance); add("deploy", e.deploy?.rawValue)
        add("platform", e.platform); add("runtime", e.runtime); add("region", e.region)
        add("trace", e.traceID); add("corr", e.correlationID); add("req", e.requestID)
        add("span", e.spanID); add("parent", e.parentSpanID); add("route", e.route); add("method", e.method)
        add("status", e.status); add("dur", e.durationMS); add("cpu", e.cpuMS); add("init", e.initMS)
        add("cold", e.coldStart); add("pool", e.dbPool); add("open", e.dbOpen); add("max", e.dbMax)
        add("wait", e.waitMS); add("dberr", e.dbError?.rawValue)
        add("msg", e.message.map { String(reflecting: $0) })
        for a in e.attributes { parts.append("@\(a.key)=\(a.value)") }
        return parts.joined(separator: " ")
    }

    static func fixture(_ format: String, _ name: String) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(format)/\(name)", withExtension: "input"))
        return try String(contentsOf: url, encoding: .utf8)
    }
}
