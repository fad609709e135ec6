import Foundation
import XCTest
import SkeinCore
import SkeinSources
@testable import SkeinCollector

/// A Heroku HTTPS log drain: `application/logplex-1` bodies of octet-counted RFC 5424 frames, the
/// token as the password of the drain URL's basic credentials.
final class LogplexTests: XCTestCase {
    func frames(_ messages: [String]) -> [UInt8] {
        Array(messages.map { m in "\(m.utf8.count + 1) \(m)\n" }.joined().utf8)
    }

    let headers = [("Content-Type", "application/logplex-1"), ("Logplex-Msg-Count", "3"),
                   ("Logplex-Frame-Id", "09C557EAFCFB6CF2740EE62F62971098"), ("Logplex-Drain-Token", "d.fc6b856b-3332-4546-93de-7d0ee272c3bd")]

    func testRouterAndAppFramesBecomeEvents() throws {
        let c = try Connection()
        let body = frames([
            #"<190>1 2026-11-23T10:00:00.090000+00:00 host app web.1 - {"level":"info","msg":"request started","reqId":"8601b555-6a83-4c12-8269-97c8e32cdb22"}"#,
            #"<158>1 2026-11-23T10:00:00.100000+00:00 host heroku router - at=info method=GET path="/api/feed" host=shop.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="1.2.3.4" dyno=web.1 connect=1ms service=18ms status=200 bytes=1345 protocol=https"#,
            "<45>1 2026-11-23T10:00:00.500000+00:00 host heroku web.1 - State changed from up to crashed",
        ])
        let a = try c.send("/ingest", headers: headers, body: body)
        XCTAssertEqual(a.status, 200)
        XCTAssertEqual(a.text, #"{"accepted":3,"malformed":0}"#)
        let sink = c.drain()
        XCTAssertEqual(sink.events.count, 3)
        XCTAssertEqual(Set(sink.events.compactMap(\.instance)), ["web.1"])
        let end = try XCTUnwrap(sink.events.first { $0.kind == .requestEnd })
        XCTAssertEqual(end.durationMS, 19)
        XCTAssertEqual(end.status, 200)
        XCTAssertEqual(end.requestID, "8601b555-6a83-4c12-8269-97c8e32cdb22")
        XCTAssertEqual(sink.formats, ["syslog": 3])
    }

    func testBrokenFramingKeepsWhatCameBefore() throws {
        let c = try Connection()
        var body = frames(["<190>1 2026-11-23T10:00:00.090000+00:00 host app web.1 - first"])
        body += Array("999 <190>1 truncated".utf8)
        XCTAssertEqual(try c.send("/ingest", headers: headers, body: body).status, 200)
        let sink = c.drain()
        XCTAssertEqual(sink.events.map(\.message), ["first"])
        XCTAssertEqual(sink.malformed, ["invalid_logplex_frame": 1])
    }

    func testTheTokenComesAsTheDrainURLsPassword() throws {
        var config = CollectorConfig()
        config.token = "s3cret"
        let c = try Connection(config: config)
        let body = frames(["<190>1 2026-11-23T10:00:00.090000+00:00 host app web.1 - hello"])
        func basic(_ s: String) -> (String, String) { ("Authorization", "Basic " + Data(s.utf8).base64EncodedString()) }
        XCTAssertEqual(try c.send("/ingest", headers: headers + [basic("user:wrong")], body: body).status, 401)
        XCTAssertEqual(try c.send("/ingest", headers: headers + [basic("s3cret")], body: body).status, 401, "no colon: no password")
        XCTAssertEqual(try c.send("/ingest", headers: headers + [basic("anyone:s3cret")], body: body).status, 200)
        XCTAssertEqual(c.drain().events.count, 1)
    }
}
