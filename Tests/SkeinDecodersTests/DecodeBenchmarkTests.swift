import Foundation
import XCTest
import SkeinCore
@testable import SkeinDecoders

/// Prints decode cost per line for typical lines; runs only with `SKEIN_BENCH=1` and asserts nothing
/// about time (numbers are only meaningful in a release build: `swift test -c release`).
final class DecodeBenchmarkTests: XCTestCase {
    func testDecodeCostPerLine() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["SKEIN_BENCH"] == "1", "set SKEIN_BENCH=1 to run")
        let lines = [
            // The shape of `scripts/gen-bench.py`'s lines (what `skein export` is measured on).
            ("bench", #"{"ts":1795428000116,"service":"edge-api","instance":"edge-api-0d9782bf","deploy":"edge","platform":"cloudflare-workers","runtime":"workerd","region":"FRA","correlation_id":"req-40529ff8-000027","trace_id":"ca383d35b31462c6b491831f8354d5a0","span_id":"48e4b60c72b63fe3","event":"request.start","route":"GET /api/feed","level":"info","msg":"step 1 user 68437"}"#),
            ("convention", #"{"ts":"2026-11-23T10:00:00.120Z","service":"feed-api","instance":"2026/11/23/[$LATEST]9f1c","deploy":"serverless","platform":"aws-lambda","runtime":"nodejs20","region":"us-east-1","correlation_id":"req-7f3a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_span_id":"a3ce929d0e0e4736","event":"request.end","route":"GET /api/feed","status":200,"duration_ms":182.4,"level":"info","msg":"done"}"#),
            ("pino-http", #"{"level":30,"time":1795459204300,"pid":657,"hostname":"api-7c9d","reqId":"req-1","req":{"id":"req-1","method":"GET","url":"/api/feed?page=2","headers":{"host":"localhost:3000","x-request-id":"abc-123"}},"res":{"statusCode":200},"responseTime":12,"msg":"request completed"}"#),
            ("logfmt", #"time=2026-11-23T19:40:04.123+01:00 level=INFO msg="hello world" service=orders trace_id=4bf92f3577b34da6a3ce929d0e0e4736 route=/api/x status=200 duration=12.5ms"#),
        ]
        for (name, line) in lines {
            var decoder = AutoDecoder.standard()
            var bytes = Array(line.utf8)
            var events: [Event] = []
            events.reserveCapacity(1024)
            let n = 200_000
            let start = DispatchTime.now().uptimeNanoseconds
            bytes.withUnsafeMutableBufferPointer { b in
                for _ in 0..<n {
                    _ = decoder.decode(UnsafeBufferPointer(b), source: SourceID(0), into: &events)
                    if events.count == 1024 { events.removeAll(keepingCapacity: true) }
                }
            }
            let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(n)
            print("decode \(name): \(Int(ns)) ns/line, \(Int(Double(bytes.count) / ns * 1000)) MB/s")
        }
    }
}
