import Foundation
import XCTest
import SkeinCore
import SkeinSources
@testable import SkeinCollector

/// Amazon Data Firehose's HTTP endpoint delivery: a CloudWatch Logs subscription (Lambda's log
/// group) streamed through Firehose to `/firehose`, the way AWS sends it.
final class FirehoseTests: XCTestCase {
    /// A CloudWatch Logs subscription payload of one Lambda invocation, as the group sends it (one
    /// line of JSON; split here for reading).
    let subscription = #"""
    {"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/checkout","logStream":"2026/11/23/[$LATEST]9f1c2d3e4f5a","subscriptionFilters":["to-skein"],"logEvents":[
    {"id":"38000000000000000000000000000000000000000000000000000001","timestamp":1795428000000,"message":"START RequestId: 6f1d2c3b-0000-4000-8000-000000000001 Version: $LATEST\n"},
    {"id":"38000000000000000000000000000000000000000000000000000002","timestamp":1795428000050,"message":"2026-11-23T10:00:00.050Z\t6f1d2c3b-0000-4000-8000-000000000001\tERROR\tPrismaClientKnownRequestError: Timed out fetching a new connection from the connection pool. (P2024)\n"},
    {"id":"38000000000000000000000000000000000000000000000000000003","timestamp":1795428000200,"message":"END RequestId: 6f1d2c3b-0000-4000-8000-000000000001\n"},
    {"id":"38000000000000000000000000000000000000000000000000000004","timestamp":1795428000200,"message":"REPORT RequestId: 6f1d2c3b-0000-4000-8000-000000000001\tDuration: 200.00 ms\tBilled Duration: 200 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 310.20 ms\t\n"}]}
    """#

    func delivery(_ records: [String], id: String = "ed4acda5-034f-9f42-bba1-f29aea6d7d8f") -> [UInt8] {
        let list = records.map { #"{"data":"\#($0)"}"# }.joined(separator: ",")
        return Array(#"{"requestId":"\#(id)","timestamp":1795428001000,"records":[\#(list)]}"#.utf8)
    }

    func headers(key: String? = nil) -> [(String, String)] {
        var h = [("Content-Type", "application/json"), ("X-Amz-Firehose-Protocol-Version", "1.0"),
                 ("X-Amz-Firehose-Request-Id", "ed4acda5-034f-9f42-bba1-f29aea6d7d8f")]
        if let key { h.append(("X-Amz-Firehose-Access-Key", key)) }
        return h
    }

    func testSubscriptionThroughFirehoseIsDecodedAndAnswered() throws {
        let c = try Connection()
        let oneLine = subscription.replacingOccurrences(of: "\n", with: "")
        let gzipped = Data(gzip(Array(oneLine.utf8))).base64EncodedString()
        let control = Data(gzip(Array(#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1795428000000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#.utf8))).base64EncodedString()
        let a = try c.send("/firehose", headers: headers(), body: delivery([gzipped, control]))
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(a.headers["content-type"], "application/json")
        let answer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(a.body)) as? [String: Any])
        XCTAssertEqual(answer["requestId"] as? String, "ed4acda5-034f-9f42-bba1-f29aea6d7d8f")
        XCTAssertNotNil(answer["timestamp"] as? Int)
        let sink = c.drain()
        XCTAssertEqual(sink.malformed, [:])
        XCTAssertEqual(Set(sink.events.compactMap(\.service)), ["checkout"])
        XCTAssertEqual(Set(sink.events.compactMap(\.instance)), ["2026/11/23/[$LATEST]9f1c2d3e4f5a"])
        XCTAssertTrue(sink.events.contains { $0.kind == .requestStart })
        XCTAssertEqual(sink.events.first { $0.kind == .requestEnd }?.initMS, 310.2)
        XCTAssertEqual(sink.events.first { $0.dbError != nil }?.dbError, .poolTimeout)
    }

    func testDirectPutLinesAndBadRecordsAreCountedNotFatal() throws {
        let c = try Connection()
        let ndjson = #"{"ts":"2026-11-23T10:00:00.100Z","service":"api","event":"log","msg":"one"}"# + "\n"
            + #"{"ts":"2026-11-23T10:00:00.200Z","service":"api","event":"log","msg":"two"}"#
        let plain = Data(ndjson.utf8).base64EncodedString()
        let notGzip = Data([0x1f, 0x8b, 0x00, 0x01]).base64EncodedString()
        let a = try c.send("/firehose", headers: headers(), body: delivery([plain, "%%%not base64%%%", notGzip]))
        XCTAssertEqual(a.status, 200)
        let sink = c.drain()
        XCTAssertEqual(sink.events.map(\.message), ["one", "two"])
        XCTAssertEqual(sink.malformed, ["invalid_base64": 1, "invalid_gzip": 1])
        XCTAssertEqual(sink.lines, 4)
    }

    func testNotADeliveryIs400WithFirehosesErrorShape() throws {
        let c = try Connection()
        let a = try c.send("/firehose", headers: headers(), body: Array(#"{"hello":"world"}"#.utf8))
        XCTAssertEqual(a.status, 400)
        let answer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(a.body)) as? [String: Any])
        XCTAssertEqual(answer["requestId"] as? String, "ed4acda5-034f-9f42-bba1-f29aea6d7d8f")
        XCTAssertNotNil(answer["errorMessage"] as? String)
        XCTAssertEqual(c.drain().malformed, ["missing_fields": 1])
        XCTAssertEqual(try c.send("/firehose", headers: headers(), body: Array("{".utf8)).status, 400)
    }

    func testAccessKeyIsTheToken() throws {
        var config = CollectorConfig()
        config.token = "s3cret"
        let c = try Connection(config: config)
        let body = delivery([Data(#"{"ts":1795428000000,"service":"api","msg":"x"}"#.utf8).base64EncodedString()])
        let refused = try c.send("/firehose", headers: headers(key: "wrong"), body: body)
        XCTAssertEqual(refused.status, 401)
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: Data(refused.body)) as? [String: Any])?["errorMessage"])
        XCTAssertEqual(try c.send("/firehose", headers: headers(), body: body).status, 401)
        XCTAssertEqual(try c.send("/firehose", headers: headers(key: "s3cret"), body: body).status, 200)
        XCTAssertEqual(c.drain().events.count, 1)
    }

    /// Found reading the collector's code while fuzzing it: each gzipped record was inflated up to
    /// the body limit on its own, so one body of small gzip bombs could decode records × the limit.
    func testRecordsInflatedPastTheBodyLimitTogetherAre413() throws {
        var config = CollectorConfig()
        config.maxBody = 4096
        let c = try Connection(config: config)
        let line = #"{"ts":1795428000000,"service":"api","msg":"padding padding padding padding"}"# + "\n"
        // 3 × 2700 bytes of lines: each record under the limit, all three over it.
        let record = Data(gzip(Array(String(repeating: line, count: 2700 / line.utf8.count).utf8))).base64EncodedString()
        XCTAssertLessThan(delivery([record, record, record]).count, 4096)
        let a = try c.send("/firehose", headers: headers(), body: delivery([record, record, record]))
        XCTAssertEqual(a.status, 413)
        let answer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(a.body)) as? [String: Any])
        XCTAssertEqual(answer["requestId"] as? String, "ed4acda5-034f-9f42-bba1-f29aea6d7d8f")
        XCTAssertNotNil(answer["errorMessage"] as? String)
        XCTAssertEqual(c.drain().events.count, 0)
        XCTAssertTrue(c.state.metrics.render(queueDepth: 0, queueCapacity: 0)
            .contains(#"skein_collector_requests_total{endpoint="/firehose",code="413"} 1"#))
        // One record within the limit still goes through.
        XCTAssertEqual(try c.send("/firehose", headers: headers(), body: delivery([record])).status, 200)
        XCTAssertGreaterThan(c.drain().events.count, 0)
    }

    func testFullQueueIs429InFirehosesShape() throws {
        let c = try Connection(capacity: 3)
        let two = Data((#"{"ts":1795428000000,"service":"api","msg":"a"}"# + "\n" + #"{"ts":1795428000001,"service":"api","msg":"b"}"#).utf8)
            .base64EncodedString()
        XCTAssertEqual(try c.send("/firehose", headers: headers(), body: delivery([two])).status, 200)
        let a = try c.send("/firehose", headers: headers(), body: delivery([two]))
        XCTAssertEqual(a.status, 429)
        XCTAssertEqual(a.headers["retry-after"], "1")
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: Data(a.body)) as? [String: Any])?["errorMessage"])
    }
}
