#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SkeinCore
import SkeinDecoders
import SkeinSources

/// The collector's routes.
public enum Endpoint: Sendable, Equatable {
    case otlp(OTLPProtobufDecoder.Signal)
    /// NDJSON or JSON arrays in any format the decoders know (log drains).
    case ingest
    /// Amazon Data Firehose's HTTP endpoint delivery: records of base64 data (CloudWatch Logs
    /// subscription payloads, gzipped, or any lines put to the stream), each decoded like `/ingest`.
    case firehose
    case healthz
    case metrics

    /// A Vercel drain's ownership check: `GET /ingest`, answered with `x-vercel-verify`.
    case vercelVerify

    /// `verify`: whether `GET /ingest` is served (only when a `--vercel-verify` code is set).
    init?(method: String, path: String, verify: Bool = false) {
        let p = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        switch (method, p) {
        case ("POST", "/v1/logs"): self = .otlp(.logs)
        case ("POST", "/v1/traces"): self = .otlp(.traces)
        case ("POST", "/v1/metrics"): self = .otlp(.metrics)
        case ("POST", "/ingest"): self = .ingest
        case ("POST", "/firehose"): self = .firehose
        case ("GET", "/ingest") where verify, ("HEAD", "/ingest") where verify: self = .vercelVerify
        case ("GET", "/healthz"), ("HEAD", "/healthz"): self = .healthz
        case ("GET", "/metrics"): self = .metrics
        default: return nil
        }
    }

    /// Whether the body is decoded into events for the engine.
    var carriesEvents: Bool {
        switch self {
        case .otlp, .ingest, .firehose: true
        case .healthz, .metrics, .vercelVerify: false
        }
    }

    /// The label in `/metrics`.
    var label: String {
        switch self {
        case .otlp(let s): "/v1/\(s.rawValue)"
        case .ingest, .vercelVerify: "/ingest"
        case .firehose: "/firehose"
        case .healthz: "/healthz"
        case .metrics: "/metrics"
        }
    }
}

/// A request's body encoding on the wire.
enum BodyFormat: Equatable {
    case protobuf, json
    /// `/ingest`: detected per line.
    case any
    /// `/ingest` from a Heroku Logplex drain (`application/logplex-1`): octet-counted syslog frames.
    case logplex

    static func otlp(contentType: String?) -> BodyFormat? {
        let media = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch media {
        case "application/x-protobuf", "application/protobuf": return .protobuf
        case "application/json": return .json
        default: return nil
        }
    }

    var contentType: String {
        switch self {
        case .protobuf: "application/x-protobuf"
        case .json, .any, .logplex: "application/json"
        }
    }
}

/// An answer, before it is HTTP.
public struct CollectorResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var retryAfter: Int?
    /// Close the connection after answering (a rejected body we will not read).
    public var close = false
    /// Headers besides the standard ones (`x-vercel-verify`).
    public var extraHeaders: [(String, String)] = []

    public static func == (a: CollectorResponse, b: CollectorResponse) -> Bool {
        a.status == b.status && a.contentType == b.contentType && a.body == b.body && a.retryAfter == b.retryAfter
            && a.close == b.close && a.extraHeaders.elementsEqual(b.extraHeaders, by: ==)
    }

    static func text(_ status: Int, _ text: String) -> CollectorResponse {
        CollectorResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8))
    }

    /// An OTLP error: `google.rpc.Status` in the request's encoding (plain text when there is none).
    static func otlpError(_ status: Int, grpcCode: Int, _ message: String, format: BodyFormat?) -> CollectorResponse {
        switch format {
        case .protobuf?:
            var w = ProtobufWriter()
            w.varintField(1, UInt64(grpcCode))
            w.stringField(2, message)
            return CollectorResponse(status: status, contentType: BodyFormat.protobuf.contentType, body: w.bytes)
        case .json?, .any?, .logplex?:
            return CollectorResponse(status: status, contentType: "application/json",
                                     body: Array("{\"code\":\(grpcCode),\"message\":\(jsonString(message))}".utf8))
        case nil:
            return .text(status, message)
        }
    }
}

/// Decodes request bodies into events and queues them; one per connection (decoders keep state).
///
/// Runs on the connection's event loop: decoding happens there, not on the engine's thread, and
/// each request's events reach the queue as one batch.
struct RequestIngest {
    let state: CollectorState
    var otlp = OTLPProtobufDecoder()
    var otlpJSON = OTLPJSONLineDecoder()
    var context = DecodeContext()
    var tape = JSONTape()
    /// `/ingest`'s detector, kept for the connection: its interner and the format it last saw stay
    /// warm between a client's requests (a drain posts the same shapes over and over). Flushed at
    /// the end of every request, so nothing is held between requests.
    var lines = AutoDecoder.standard()
    /// Sized from the previous request, so the next one's events are appended without regrowing.
    var expectedEvents = 0
    /// The Firehose delivery being answered (its header, or its body's `requestId`).
    var firehoseRequestID: String?

    init(state: CollectorState) {
        self.state = state
        // The year of a syslog date logged without one, before a client's lines gave a full time
        // (`DecodeContext.clock`): the collector receives live lines, so now.
        lines.context.clock = WallClock()
    }

    /// Checks what the head alone tells; a response here means the body will not be decoded.
    func preflight(method: String, uri: String, headers: [(String, String)]) -> (Endpoint?, CollectorResponse?) {
        guard let endpoint = Endpoint(method: method, path: uri, verify: state.config.vercelVerify != nil) else {
            let known = ["/v1/logs", "/v1/traces", "/v1/metrics", "/ingest", "/firehose", "/healthz", "/metrics"]
            let path = uri.split(separator: "?").first.map(String.init) ?? uri
            return (nil, known.contains(path) ? .text(405, "method \(method) not allowed on \(path)") : .text(404, "no such endpoint: \(path)"))
        }
        // A signed Vercel drain request is checked against its body instead (in `handle`).
        let signed = endpoint == .ingest && state.vercel != nil && Self.header("x-vercel-signature", headers) != nil
        let open = endpoint == .healthz || endpoint == .vercelVerify
        // Firehose sends the token it was given as its access key.
        let firehoseKey = endpoint == .firehose ? Self.header("x-amz-firehose-access-key", headers).map { "Bearer \($0)" } : nil
        if !open, !signed, !state.authorised(firehoseKey ?? Self.header("authorization", headers)) {
            if endpoint == .firehose {
                return (endpoint, Firehose.error(401, "missing or wrong access key", requestID: Self.header("x-amz-firehose-request-id", headers)))
            }
            return (endpoint, .text(401, "missing or wrong bearer token"))
        }
        if case .otlp = endpoint, BodyFormat.otlp(contentType: Self.header("content-type", headers)) == nil {
            return (endpoint, .text(415, "unsupported content type \(Self.header("content-type", headers) ?? "(none)"): send application/x-protobuf or application/json"))
        }
        if let enc = Self.header("content-encoding", headers)?.lowercased(), !["gzip", "x-gzip", "deflate", "identity"].contains(enc) {
            return (endpoint, .text(415, "unsupported content encoding \(enc): send gzip or none"))
        }
        if let len = Self.header("content-length", headers).flatMap({ Int($0) }), len > state.config.maxBody {
            return (endpoint, .text(413, "body of \(len) bytes is over the limit of \(state.config.maxBody)"))
        }
        let pending = endpoint.carriesEvents ? state.queue.pendingEvents : 0
        if pending > 0, pending + max(1, expectedEvents) > state.queue.capacity {
            // Too full for a batch like this connection's last one: refused from the head, so the
            // body is read but never decoded (decoding it only to refuse it would take the cores
            // the engine needs to catch up).
            let format: BodyFormat = if case .otlp = endpoint { BodyFormat.otlp(contentType: Self.header("content-type", headers)) ?? .json } else { .any }
            var r = endpoint == .firehose
                ? Firehose.error(429, "queue to the engine is full; retry later", requestID: Self.header("x-amz-firehose-request-id", headers))
                : CollectorResponse.otlpError(429, grpcCode: 8, "queue to the engine is full; retry later", format: format)
            r.retryAfter = state.config.retryAfterSeconds
            return (endpoint, r)
        }
        return (endpoint, nil)
    }

    static func header(_ name: String, _ headers: [(String, String)]) -> String? {
        headers.first { $0.0.utf8.count == name.utf8.count && $0.0.lowercased() == name }?.1
    }

    /// Handles a complete request that passed `preflight`; `raw` is the body as sent.
    mutating func handle(_ endpoint: Endpoint, headers: [(String, String)], body raw: UnsafeRawBufferPointer) -> CollectorResponse {
        var sample = CollectorMetrics.Sample(endpoint: endpoint.label, status: 200, bytes: raw.count)
        var response = respond(endpoint, headers: headers, body: raw, sample: &sample)
        sample.status = response.status
        state.metrics.record(sample)
        if endpoint == .ingest || endpoint == .vercelVerify, let code = state.config.vercelVerify {
            response.extraHeaders.append(("x-vercel-verify", code))
        }
        return response
    }

    /// Counts a request answered before its body was read (401, 413, 415, ...).
    func countRefused(_ endpoint: Endpoint?, status: Int, bytes: Int) {
        state.metrics.record(CollectorMetrics.Sample(endpoint: endpoint?.label ?? "other", status: status, bytes: bytes))
    }

    /// Counts a request that did not complete in time (answered 408 or closed).
    func countTimeout(endpoint: Endpoint?) {
        state.metrics.countTimeout()
        state.metrics.record(CollectorMetrics.Sample(endpoint: endpoint?.label ?? "other", status: 408, bytes: 0))
    }

    private mutating func respond(_ endpoint: Endpoint, headers: [(String, String)], body raw: UnsafeRawBufferPointer,
                                  sample: inout CollectorMetrics.Sample) -> CollectorResponse {
        switch endpoint {
        case .healthz:
            return .text(200, "ok")
        case .vercelVerify:
            return .text(200, "ok")
        case .metrics:
            var r = CollectorResponse.text(200, "")
            r.contentType = "text/plain; version=0.0.4"
            r.body = Array(state.metrics.render(queueDepth: state.queue.pendingEvents, queueCapacity: state.queue.capacity,
                                                dropped: state.queue.droppedTotal, connections: state.connections.open,
                                                maxConnections: state.config.maxConnections).utf8)
            return r
        case .otlp, .ingest, .firehose:
            break
        }
        if endpoint == .ingest, let vercel = state.vercel, let signature = Self.header("x-vercel-signature", headers),
           !vercel.verifies(signature, body: raw) {
            return CollectorResponse(status: 403, contentType: "application/json",
                                     body: Array(#"{"code":"invalid_signature","error":"signature didn't match"}"#.utf8))
        }
        let format: BodyFormat
        if case .otlp = endpoint {
            format = BodyFormat.otlp(contentType: Self.header("content-type", headers)) ?? .json
        } else if Self.header("content-type", headers)?.lowercased().hasPrefix("application/logplex-1") == true {
            format = .logplex
        } else {
            format = .any
        }
        if endpoint == .firehose { firehoseRequestID = Self.header("x-amz-firehose-request-id", headers) }
        if state.stopping {
            var r = endpoint == .firehose
                ? Firehose.error(503, "skein is shutting down", requestID: firehoseRequestID)
                : CollectorResponse.otlpError(503, grpcCode: 14, "skein is shutting down", format: format)
            r.retryAfter = state.config.retryAfterSeconds
            return r
        }
        switch Self.header("content-encoding", headers)?.lowercased() {
        case "gzip"?, "x-gzip"?, "deflate"?:
            let limit = state.config.maxBody
            let inflated = Result { () throws(Gzip.Failure) -> [UInt8] in try Gzip.inflate(raw, limit: limit) }
            switch inflated {
            case .success(let b):
                return b.withUnsafeBytes { decodeBody(endpoint, format: format, body: $0, sample: &sample) }
            case .failure(.tooLarge):
                return .otlpError(413, grpcCode: 3, "inflated body is over the limit of \(limit) bytes", format: format)
            case .failure(.corrupt):
                // Counted where the dashboard shows bad input, like any other undecodable frame.
                var tally = IngestQueue.Tally()
                tally.lines = 1
                tally.malformed["invalid_gzip"] = 1
                _ = state.queue.offer([], tally: tally, source: state.source)
                sample.malformed = 1
                return .otlpError(400, grpcCode: 3, "body is not valid gzip", format: format)
            }
        default:
            return decodeBody(endpoint, format: format, body: raw, sample: &sample)
        }
    }

    /// Decodes a body (inflated) and queues its events as one batch.
    private mutating func decodeBody(_ endpoint: Endpoint, format: BodyFormat, body: UnsafeRawBufferPointer,
                                     sample: inout CollectorMetrics.Sample) -> CollectorResponse {
        var tally = IngestQueue.Tally()
        var events: [Event] = []
        var partial: (rejected: Int, signal: OTLPProtobufDecoder.Signal)?
        switch (endpoint, format) {
        case (.otlp(let signal), .protobuf):
            tally.lines = 1
            do {
                let source = state.source
                let result = try otlp.decode(signal, body, source: source)
                events = result.events
                tally.formats["otlp-protobuf"] = 1
                if result.rejected > 0 {
                    tally.malformed[MalformedReason.missingFields.rawValue] = result.rejected
                    sample.malformed = result.rejected
                    partial = (result.rejected, signal)
                }
            } catch {
                tally.malformed["invalid_protobuf"] = 1
                _ = state.queue.offer([], tally: tally, source: state.source)
                sample.malformed = 1
                return .otlpError(400, grpcCode: 3, "undecodable protobuf: \(error)", format: format)
            }
        case (.otlp, _):
            tally.lines = 1
            switch decodeOTLPJSON(body, into: &events) {
            case .refused(let reason):
                tally.malformed[reason.rawValue] = 1
                _ = state.queue.offer([], tally: tally, source: state.source)
                sample.malformed = 1
                return .otlpError(400, grpcCode: 3, "undecodable JSON: \(reason.rawValue)", format: format)
            case .decoded(let outcome):
                tally.formats["otlp-json"] = 1
                if case .malformed(let reason) = outcome {
                    tally.malformed[reason.rawValue] = 1
                    sample.malformed = 1
                }
            }
        case (.firehose, _):
            events.reserveCapacity(expectedEvents)
            switch decodeFirehose(body, into: &events, tally: &tally) {
            case .refused(let reason):
                tally.lines += 1
                tally.malformed[reason.rawValue, default: 0] += 1
                _ = state.queue.offer([], tally: tally, source: state.source)
                sample.malformed = tally.malformed.values.reduce(0, +)
                return Firehose.error(400, "not a Firehose delivery: \(reason.rawValue)", requestID: firehoseRequestID)
            case .decoded(let id):
                firehoseRequestID = id ?? firehoseRequestID
            case .tooLarge(let id):
                firehoseRequestID = id ?? firehoseRequestID
                let limit = state.config.maxBody
                return Firehose.error(413, "records inflate past the body limit of \(limit) bytes", requestID: firehoseRequestID)
            }
            sample.malformed = tally.malformed.values.reduce(0, +)
        case (.ingest, _):
            events.reserveCapacity(expectedEvents)
            if format == .logplex {
                decodeLogplex(body, into: &events, tally: &tally)
            } else {
                decodeLines(body, into: &events, tally: &tally)
            }
            sample.malformed = tally.malformed.values.reduce(0, +)
            if events.isEmpty && sample.malformed > 0 {
                _ = state.queue.offer([], tally: tally, source: state.source)
                return CollectorResponse(status: 400, contentType: "application/json",
                                         body: Array("{\"accepted\":0,\"malformed\":\(sample.malformed)}".utf8))
            }
        default:
            break
        }
        let count = events.count
        expectedEvents = min(count, 1 << 16)
        if !state.queue.offer(events, tally: tally, source: state.source) {
            // Refused, not lost: the client keeps the batch and retries after Retry-After.
            sample.rejected = count
            var r = endpoint == .firehose
                ? Firehose.error(429, "queue to the engine is full; retry later", requestID: firehoseRequestID)
                : CollectorResponse.otlpError(429, grpcCode: 8, "queue to the engine is full; retry later", format: format)
            r.retryAfter = state.config.retryAfterSeconds
            return r
        }
        sample.events = count
        if endpoint == .firehose { return Firehose.accepted(requestID: firehoseRequestID) }
        if case .ingest = endpoint {
            return CollectorResponse(status: 200, contentType: "application/json",
                                     body: Array("{\"accepted\":\(count),\"malformed\":\(sample.malformed)}".utf8))
        }
        return Self.success(format: format, partial: partial)
    }

    /// `Export*ServiceResponse`: empty on full success, `partial_success` when records were rejected.
    static func success(format: BodyFormat, partial: (rejected: Int, signal: OTLPProtobufDecoder.Signal)?) -> CollectorResponse {
        let message = "records without a time were rejected"
        switch format {
        case .protobuf:
            var w = ProtobufWriter()
            if let p = partial {
                var inner = ProtobufWriter()
                inner.varintField(1, UInt64(p.rejected))
                inner.stringField(2, message)
                w.bytesField(1, inner.bytes)
            }
            return CollectorResponse(status: 200, contentType: format.contentType, body: w.bytes)
        case .json, .any, .logplex:
            guard let p = partial else { return CollectorResponse(status: 200, contentType: "application/json", body: Array("{}".utf8)) }
            let key = switch p.signal {
            case .traces: "rejectedSpans"
            case .logs: "rejectedLogRecords"
            case .metrics: "rejectedDataPoints"
            }
            let json = "{\"partialSuccess\":{\"\(key)\":\"\(p.rejected)\",\"errorMessage\":\(jsonString(message))}}"
            return CollectorResponse(status: 200, contentType: "application/json", body: Array(json.utf8))
        }
    }

    /// One OTLP/JSON document through the `otlp-json` decoder.
    private enum JSONBody {
        case decoded(DecodeOutcome)
        /// Not a JSON object at all: the whole request is refused.
        case refused(MalformedReason)
    }

    /// The body as one JSON object (valid until the next parse), or why it is not one.
    private mutating func jsonObject(_ body: UnsafeRawBufferPointer) -> Result<JSONDocument, BodyRefusal> {
        let b = body.assumingMemoryBound(to: UInt8.self)
        do throws(JSONTape.Failure) {
            try tape.parse(b)
        } catch {
            return .failure(BodyRefusal(reason: MalformedReason(error)))
        }
        let doc = JSONDocument(tape: tape, bytes: b)
        guard doc.kind(doc.root) == .object else { return .failure(BodyRefusal(reason: .unrecognised)) }
        return .success(doc)
    }

    private mutating func decodeOTLPJSON(_ body: UnsafeRawBufferPointer, into events: inout [Event]) -> JSONBody {
        let source = state.source
        let doc: JSONDocument
        switch jsonObject(body) {
        case .success(let d): doc = d
        case .failure(let refusal): return .refused(refusal.reason)
        }
        // An export request with no resources (`{}`) is valid and empty.
        guard otlpJSON.matches(doc) else { return .decoded(.absorbed) }
        return .decoded(otlpJSON.decode(doc, source: source, context: &context, into: &events))
    }

    /// A Firehose delivery: `{"requestId", "timestamp", "records": [{"data": base64}]}`. Each record's
    /// data (gunzipped when it is gzip, as CloudWatch Logs subscriptions send it) goes through the
    /// same line decoding as `/ingest`; a record that is not base64 or not valid gzip is one
    /// malformed line, and the others still count. The records' bytes, base64 and gzip undone, are
    /// held to the body limit all together (as an inflated body is): each record may be gzip, and
    /// a limit per record would let one body of small bombs inflate to records × the limit.
    /// Returns the delivery's request id.
    private mutating func decodeFirehose(_ body: UnsafeRawBufferPointer, into events: inout [Event],
                                         tally: inout IngestQueue.Tally) -> FirehoseBody {
        let doc: JSONDocument
        switch jsonObject(body) {
        case .success(let d): doc = d
        case .failure(let refusal): return .refused(refusal.reason)
        }
        guard let records = doc.member(doc.root, "records"), doc.kind(records) == .array else {
            return .refused(.missingFields)
        }
        // The payloads are taken out as strings before any is decoded.
        let id = doc.member(doc.root, "requestId").flatMap { doc.nonEmptyString($0) }
        var payloads: [String?] = []
        doc.forEachElement(records) { r in
            payloads.append(doc.kind(r) == .object ? doc.member(r, "data").flatMap { doc.kind($0) == .string ? doc.string($0) : nil } : nil)
        }
        var budget = state.config.maxBody
        for payload in payloads {
            guard let payload, let data = Data(base64Encoded: payload) else {
                tally.lines += 1
                tally.malformed["invalid_base64", default: 0] += 1
                continue
            }
            var bytes = [UInt8](data)
            if bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b {
                let limit = budget
                let inflated = bytes.withUnsafeBytes { raw in Result { () throws(Gzip.Failure) -> [UInt8] in try Gzip.inflate(raw, limit: limit) } }
                switch inflated {
                case .success(let plain):
                    bytes = plain
                case .failure(.tooLarge):
                    return .tooLarge(requestID: id)
                case .failure(.corrupt):
                    tally.lines += 1
                    tally.malformed["invalid_gzip", default: 0] += 1
                    continue
                }
            }
            guard bytes.count <= budget else { return .tooLarge(requestID: id) }
            budget -= bytes.count
            bytes.withUnsafeBytes { decodeLines($0, into: &events, tally: &tally) }
        }
        return .decoded(requestID: id)
    }

    /// Why a body is refused whole.
    private struct BodyRefusal: Error {
        var reason: MalformedReason
    }

    /// What a Firehose body turned out to be.
    private enum FirehoseBody {
        case decoded(requestID: String?)
        /// Its records, decoded and inflated, are over the body limit: refused whole (413).
        case tooLarge(requestID: String?)
        /// Not a delivery at all: the whole request is refused.
        case refused(MalformedReason)
    }

    /// NDJSON, or JSON arrays, in any known format: each line through the auto-detecting decoder.
    private mutating func decodeLines(_ body: UnsafeRawBufferPointer, into events: inout [Event], tally: inout IngestQueue.Tally) {
        let source = state.source
        let b = body.assumingMemoryBound(to: UInt8.self)
        // Format counts are kept per run of equal names, so a body of one format costs one
        // dictionary update rather than one per line.
        var runFormat: String?
        var run = 0
        var start = 0
        while start < b.count {
            let end = Self.newline(in: b, from: start) ?? b.count
            let line = UnsafeBufferPointer(rebasing: b[start..<end])
            start = end + 1
            if Self.isBlank(line) { continue }
            tally.lines += 1
            switch lines.decode(line, source: source, into: &events) {
            case .malformed(let reason): tally.malformed[reason.rawValue, default: 0] += 1
            case .events, .absorbed:
                if let f = lines.lastFormat {
                    if f == runFormat { run += 1 } else {
                        if let r = runFormat { tally.formats[r, default: 0] += run }
                        runFormat = f
                        run = 1
                    }
                }
            }
        }
        if let r = runFormat { tally.formats[r, default: 0] += run }
        lines.flush(source: source, into: &events)
        for (reason, n) in lines.drainLateMalformed() { tally.malformed[reason.rawValue, default: 0] += n }
    }

    /// A Logplex drain's body: frames of `<length> <syslog message>`, the length counting the
    /// message's bytes (its newline included). Each message is decoded as one line; a body whose
    /// framing breaks keeps what came before, and its rest is one malformed line.
    private mutating func decodeLogplex(_ body: UnsafeRawBufferPointer, into events: inout [Event],
                                        tally: inout IngestQueue.Tally) {
        let b = body.assumingMemoryBound(to: UInt8.self)
        var frames: [Range<Int>] = []
        var p = 0
        var broken = false
        while p < b.count {
            while p < b.count, b[p] == 0x0a || b[p] == 0x0d || b[p] == 0x20 { p += 1 }
            guard p < b.count else { break }
            var n = 0
            var q = p
            while q < b.count, q - p < 9, b[q] >= 0x30 && b[q] <= 0x39 { n = n * 10 + Int(b[q] - 0x30); q += 1 }
            guard q > p, q < b.count, b[q] == 0x20, n > 0, q + 1 + n <= b.count else { broken = true; break }
            frames.append((q + 1)..<(q + 1 + n))
            p = q + 1 + n
        }
        for f in frames {
            var frame = UnsafeBufferPointer(rebasing: b[f])
            while let last = frame.last, last == 0x0a || last == 0x0d { frame = UnsafeBufferPointer(rebasing: frame.dropLast()) }
            decodeLines(UnsafeRawBufferPointer(frame), into: &events, tally: &tally)
        }
        if broken {
            tally.lines += 1
            tally.malformed["invalid_logplex_frame", default: 0] += 1
        }
    }

    /// The index of the next `\n` at or after `from`, through memchr.
    static func newline(in b: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard from < b.count, let base = b.baseAddress else { return nil }
        guard let hit = memchr(base + from, 0x0a, b.count - from) else { return nil }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
    }

    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in line where c != 0x20 && c != 0x09 && c != 0x0d { return false }
        return true
    }
}

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// Amazon Data Firehose's HTTP endpoint answers: JSON echoing the delivery's request id, with an
/// `errorMessage` when it failed (Firehose retries anything but a 200).
enum Firehose {
    static func accepted(requestID: String?) -> CollectorResponse {
        CollectorResponse(status: 200, contentType: "application/json",
                          body: Array("{\"requestId\":\(jsonString(requestID ?? "")),\"timestamp\":\(nowMillis())}".utf8))
    }

    static func error(_ status: Int, _ message: String, requestID: String?) -> CollectorResponse {
        CollectorResponse(status: status, contentType: "application/json",
                          body: Array(("{\"requestId\":\(jsonString(requestID ?? "")),\"timestamp\":\(nowMillis()),"
                                       + "\"errorMessage\":\(jsonString(message))}").utf8))
    }

    /// The wall clock, in the answer only (the engine never sees it).
    private static func nowMillis() -> Int64 {
        WallClock().now().nanos / 1_000_000
    }
}
