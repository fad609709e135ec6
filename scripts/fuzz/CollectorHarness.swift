// libFuzzer entry point over the collector's request handling: one input is one HTTP request as
// `CollectorHandler` hands it over (method, URI, headers, body), through `RequestIngest.preflight`
// and, when that lets it through, `RequestIngest.handle`. Built by `scripts/fuzz.sh ... collector`
// into a throw-away package with SkeinCollector and its real dependencies; not part of the skein
// package.
//
// Byte 0 (the request):
//   bits 0-2  route: 0 POST /v1/logs, 1 /v1/traces, 2 /v1/metrics, 3 /ingest, 4 /firehose,
//             5 /ingest signed as a Vercel drain, 6 a GET (/ingest as the ownership check,
//             /healthz or /metrics; with bit 5, a POST /firehose whose delivery the harness
//             builds: the rest split at NUL bytes into records, record i gzipped when bit i % 8
//             of byte 1 is set, each base64 encoded), 7 free-form: the rest is
//             `METHOD URI\nName: value\n...\n\nbody`
//   bit 3     OTLP: protobuf (else JSON); /ingest: `application/logplex-1`; /firehose: a request id header
//   bits 4-5  Content-Encoding: 0 none, 1 gzip and 2 deflate (the harness compresses the body, so
//             the decoders see valid compressed bodies), 3 gzip claimed with the body as it is
//   bit 6     a small body limit (4096 bytes, as sent and inflated)
//   bit 7     a token is configured and the request carries it
// Byte 1 (the settings):
//   bit 0 the token as Basic credentials' password; bit 1 a query string on the URI; bit 2 a queue
//   of 4 events; bit 3 the collector is stopping; bit 4 a wrong Vercel signature; bit 5 a Vercel
//   ownership code is configured; bit 6 the body split in two requests on one connection (the
//   decoders' state carries over); bit 7 a Content-Length header
#if canImport(Glibc)
import Glibc
#endif
import CZlib
import Foundation
import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinSources
@testable import SkeinCollector

let verbose = getenv("SKEIN_FUZZ_VERBOSE") != nil

/// Takes what the queue hands over and forgets it (the engine is fuzzed by the other modes).
final class Discard: IngestSink {
    var sources: UInt32 = 0
    func addSource(name: String) -> SourceID { sources += 1; return SourceID(sources - 1) }
    func setHealth(_ health: SourceHealth, for source: SourceID) {}
    func countLine(source: SourceID) {}
    func countMalformed(source: SourceID, reason: String) {}
    func countFormat(source: SourceID, format: String) {}
    func countDropped(_ n: Int) {}
    func ingest(_ event: Event) {}
}

/// gzip (`windowBits` 31) or zlib (15) through zlib, as clients compress request bodies.
func compress(_ input: [UInt8], gzip: Bool) -> [UInt8] {
    var stream = z_stream()
    guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY,
                        zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { fatalError("deflateInit2") }
    defer { deflateEnd(&stream) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
    var input = input
    let produced = input.withUnsafeMutableBufferPointer { inp in
        out.withUnsafeMutableBufferPointer { o -> Int in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            stream.next_out = o.baseAddress
            stream.avail_out = uInt(o.count)
            guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { fatalError("deflate") }
            return o.count - Int(stream.avail_out)
        }
    }
    return Array(out[0..<produced])
}

let secret = "drain-secret"
let token = "s3cret"

/// The statuses the collector answers with; anything else is a bug.
let sensible: Set<Int> = [200, 400, 401, 403, 404, 405, 413, 415, 429, 503]

struct Request {
    var method: String
    var uri: String
    var headers: [(String, String)]
    var body: [UInt8]
}

/// Splits a free-form input: `METHOD URI`, header lines, a blank line, the body.
func freeForm(_ bytes: ArraySlice<UInt8>) -> Request {
    var lines: [String] = []
    var at = bytes.startIndex
    while at < bytes.endIndex, lines.count < 17 {
        let end = bytes[at...].firstIndex(of: 0x0a) ?? bytes.endIndex
        let line = String(decoding: bytes[at..<end], as: UTF8.self)
        at = min(bytes.endIndex, end + 1)
        if line.isEmpty || line == "\r" { break }
        lines.append(line.hasSuffix("\r") ? String(line.dropLast()) : line)
    }
    let first = lines.first?.split(separator: " ", maxSplits: 1).map(String.init) ?? []
    var headers: [(String, String)] = []
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
    }
    return Request(method: first.first ?? "POST", uri: first.count > 1 ? first[1] : "/", headers: headers, body: Array(bytes[at...]))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let all = UnsafeBufferPointer(start: data, count: size)
    let a = all[0], b = all[1]
    let rest = Array(all[2...])
    let route = Int(a & 7)

    var config = CollectorConfig()
    if a & 0x40 != 0 { config.maxBody = 4096 }
    if a & 0x80 != 0 { config.token = token }
    if route == 5 || route == 7 { config.vercelSecret = secret }
    if b & 0x20 != 0 { config.vercelVerify = "vc-verify-1234" }
    let queue = IngestQueue(capacity: b & 0x04 != 0 ? 4 : 65_536)
    let state = CollectorState(config: config, queue: queue, sourceName: "listen fuzz")
    if b & 0x08 != 0 { state.stopping = true }

    var request: Request
    if route == 7 {
        request = freeForm(rest[...])
    } else {
        var headers: [(String, String)] = []
        var method = "POST"
        var path: String
        switch route {
        case 0, 1, 2:
            path = ["/v1/logs", "/v1/traces", "/v1/metrics"][route]
            headers.append(("Content-Type", a & 0x08 != 0 ? "application/x-protobuf" : "application/json"))
        case 3, 5:
            path = "/ingest"
            headers.append(("Content-Type", a & 0x08 != 0 ? "application/logplex-1" : "application/json"))
        case 4:
            path = "/firehose"
            headers.append(("Content-Type", "application/json"))
            if a & 0x08 != 0 { headers.append(("X-Amz-Firehose-Request-Id", "ed4acda5-034f-9f42-bba1-f29aea6d7d8f")) }
        default:
            method = "GET"
            path = ["/ingest", "/healthz", "/metrics", "/ingest"][Int(a >> 3) & 3]
        }
        var rest = rest
        if route == 6, a & 0x20 != 0 {
            // A Firehose delivery of the rest's records, so the records' decoding is fuzzed too.
            method = "POST"
            path = "/firehose"
            headers = [("Content-Type", "application/json")]
            var records: [String] = []
            for (i, record) in rest.split(separator: 0, omittingEmptySubsequences: false).enumerated() {
                let bytes = b & (1 << UInt8(i % 8)) != 0 ? compress(Array(record), gzip: true) : Array(record)
                records.append(#"{"data":""# + Data(bytes).base64EncodedString() + #""}"#)
            }
            rest = Array((#"{"requestId":"r-1","timestamp":1795428001000,"records":["# + records.joined(separator: ",") + "]}").utf8)
        }
        if b & 0x02 != 0 { path += "?dpl=1&x=%20" }
        var body = rest
        switch (a >> 4) & 3 {
        case 1: body = compress(rest, gzip: true); headers.append(("Content-Encoding", "gzip"))
        case 2: body = compress(rest, gzip: false); headers.append(("Content-Encoding", "deflate"))
        case 3: headers.append(("Content-Encoding", "gzip"))
        default: break
        }
        if a & 0x80 != 0 {
            if route == 4 {
                headers.append(("X-Amz-Firehose-Access-Key", token))
            } else if b & 0x01 != 0 {
                headers.append(("Authorization", "Basic " + Data("user:\(token)".utf8).base64EncodedString()))
            } else {
                headers.append(("Authorization", "Bearer \(token)"))
            }
        }
        if route == 5 {
            let signature = b & 0x10 != 0 ? String(repeating: "ab", count: 20)
                : body.withUnsafeBytes { VercelSignature(secret: secret).sign($0) }
            headers.append(("x-vercel-signature", signature))
        }
        request = Request(method: method, uri: path, headers: headers, body: body)
    }

    // One connection: one `RequestIngest`, one or two requests.
    var ingest = RequestIngest(state: state)
    var bodies = [request.body]
    if b & 0x40 != 0, request.body.count > 1 {
        let mid = request.body.count / 2
        bodies = [Array(request.body[..<mid]), Array(request.body[mid...])]
    }
    for body in bodies {
        var headers = request.headers
        if b & 0x80 != 0 { headers.append(("Content-Length", String(body.count))) }
        let (endpoint, refusal) = ingest.preflight(method: request.method, uri: request.uri, headers: headers)
        let response: CollectorResponse
        if let refusal {
            response = refusal
            ingest.countRefused(endpoint, status: refusal.status, bytes: body.count)
        } else if let endpoint {
            if body.count > config.maxBody {
                // `CollectorHandler` refuses the body while reading it.
                continue
            }
            response = body.isEmpty
                ? ingest.handle(endpoint, headers: headers, body: UnsafeRawBufferPointer(start: nil, count: 0))
                : body.withUnsafeBytes { ingest.handle(endpoint, headers: headers, body: $0) }
        } else {
            fatalError("preflight found no endpoint and gave no answer")
        }
        if !sensible.contains(response.status) { fatalError("status \(response.status)") }
        if verbose { print(request.method, request.uri, response.status, String(decoding: response.body, as: UTF8.self)) }
        _ = queue.drain(into: Discard())
    }
    _ = state.metrics.render(queueDepth: queue.pendingEvents, queueCapacity: queue.capacity, dropped: queue.droppedTotal,
                             connections: 0, maxConnections: config.maxConnections)
    return 0
}
