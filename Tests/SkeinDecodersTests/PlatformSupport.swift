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

final class PlatformScratchTests: XCTestCase {
    func testPrintLambda() throws {
        var d = LambdaTextDecoder()
        let r = PlatformFeed.frames(&d, try PlatformFeed.fixture("aws-lambda", "node-cold-start"))
        for e in r.events { print(PlatformFeed.describe(e)) }
        print(r.outcomes)
    }

    func testPrintAll() throws {
        func text<D: FrameDecoder>(_ d: D, _ f: String, _ c: String) throws {
            var d = d
            let r = PlatformFeed.frames(&d, try PlatformFeed.fixture(f, c))
            print("== \(f)/\(c)"); for e in r.events { print(PlatformFeed.describe(e)) }; print(r.outcomes)
        }
        func json<D: JSONRecordDecoder>(_ d: D, _ f: String, _ c: String) throws {
            var d = d
            let r = PlatformFeed.records(&d, try PlatformFeed.fixture(f, c))
            print("== \(f)/\(c)"); for e in r.events { print(PlatformFeed.describe(e)) }; print(r.outcomes)
        }
        try text(LambdaTextDecoder(), "aws-lambda", "python-timeout")
        try text(LambdaTextDecoder(), "aws-lambda", "raw-console")
        try text(LambdaTextDecoder(), "aws-lambda", "cloudwatch-subscription")
        try json(LambdaJSONDecoder(), "aws-lambda-json", "platform-and-app")
        try json(CloudflareWorkersDecoder(), "cloudflare-workers", "wrangler-tail")
        try json(CloudflareWorkersDecoder(), "cloudflare-workers", "logpush")
        try json(VercelDecoder(), "vercel", "json-array")
        try json(VercelDecoder(), "vercel", "ndjson")
        try json(OTLPJSONDecoder(), "otlp-json", "logs")
        try json(OTLPJSONDecoder(), "otlp-json", "spans")
        try json(OTLPJSONDecoder(), "otlp-json", "db-pool-metrics")
        try text(PostgresLogDecoder(), "postgres", "default-prefix")
        try text(PostgresLogDecoder(), "postgres", "user-db-prefix")
    }
}
