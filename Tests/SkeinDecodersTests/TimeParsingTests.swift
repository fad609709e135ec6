import XCTest
import SkeinCore
@testable import SkeinDecoders

final class TimeParsingTests: XCTestCase {
    private let base = Timestamp(nanos: 1_795_459_204_000_000_000) // 2026-11-23T18:40:04Z

    func testRFC3339Variants() {
        XCTAssertEqual(TimeParsing.parse("2026-11-23T18:40:04Z"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23T18:40:04.123Z"), base.adding(nanos: 123_000_000))
        XCTAssertEqual(TimeParsing.parse("2026-11-23t18:40:04.1z"), base.adding(nanos: 100_000_000))
        XCTAssertEqual(TimeParsing.parse("2026-11-23 18:40:04.123456789Z"), base.adding(nanos: 123_456_789))
        // Digits past nanoseconds are read and dropped, not rounded into the next second.
        XCTAssertEqual(TimeParsing.parse("2026-11-23T18:40:04.1234567899Z"), base.adding(nanos: 123_456_789))
        XCTAssertEqual(TimeParsing.parse("2026-11-23T20:40:04.000+02:00"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23T13:10:04-0530"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23T20:40:04+02"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23 18:40:04.123 UTC"), base.adding(nanos: 123_000_000))
        XCTAssertEqual(TimeParsing.parse("2026-11-23 18:40:04 GMT"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23 19:40:04.000 CET"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23 10:40:04 pst"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23 20:40:04.5 +02"), base.adding(nanos: 500_000_000))
        XCTAssertEqual(TimeParsing.parse("2026-11-23T18:40:04"), base, "no zone is UTC")
        XCTAssertEqual(TimeParsing.parse("2026-11-23T18:40Z"), base.adding(nanos: -4_000_000_000))
        XCTAssertEqual(TimeParsing.parse("  2026-11-23T18:40:04Z \n"), base)
        XCTAssertEqual(TimeParsing.parse("2026-11-23T18:40:04,250Z"), base.adding(nanos: 250_000_000))
        XCTAssertEqual(TimeParsing.parse("2026-11-23"), Timestamp(nanos: base.nanos - (18 * 3600 + 40 * 60 + 4) * 1_000_000_000))
        XCTAssertEqual(TimeParsing.parse("1970-01-01T00:00:00Z"), .zero)
        XCTAssertEqual(TimeParsing.parse("2024-02-29T00:00:00Z")?.rfc3339, "2024-02-29T00:00:00.000Z")
    }

    func testRejectsMalformedTimes() {
        for bad in ["", "2026", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
                    "2026-11-23T25:00:00Z", "2026-11-23T18:61:00Z", "2026-11-23X18:40:04Z",
                    "2026-11-23T18:40:04.Z", "2026-11-23T18:40:04+2", "2026-11-23T18:40:04 CST", "2026-11-23 18:40:04 XYZ",
                    "2026-11-23T18:40:04Zjunk", "yesterday", "2026/11/23 18:40:04", "12abc"] {
            XCTAssertNil(TimeParsing.parse(bad), bad)
        }
    }

    func testEpochByMagnitude() {
        XCTAssertEqual(TimeParsing.epoch(1_795_459_204.0), base)
        XCTAssertEqual(TimeParsing.epoch(1_795_459_204.5), base.adding(nanos: 500_000_000))
        XCTAssertEqual(TimeParsing.epoch(1_795_459_204_123.0), base.adding(nanos: 123_000_000))
        XCTAssertEqual(TimeParsing.epoch(1_795_459_204_123_456.0), base.adding(nanos: 123_456_000))
        XCTAssertEqual(TimeParsing.epoch(Int64(1_795_459_204)), base)
        XCTAssertEqual(TimeParsing.epoch(Int64(1_795_459_204_123)), base.adding(nanos: 123_000_000))
        XCTAssertEqual(TimeParsing.epoch(Int64(1_795_459_204_123_456)), base.adding(nanos: 123_456_000))
        XCTAssertEqual(TimeParsing.epoch(Int64(1_795_459_204_123_456_789)), base.adding(nanos: 123_456_789))
        XCTAssertNil(TimeParsing.epoch(.nan))
        XCTAssertEqual(TimeParsing.parse("1795459204123"), base.adding(nanos: 123_000_000), "digits are an epoch")
        XCTAssertEqual(TimeParsing.parse("1795459204.25"), base.adding(nanos: 250_000_000))
    }

    /// Epoch digits are read eight at a time where eight follow: every length from 10 to 20 digits
    /// (past Int64 is no time), a stray byte at every position, and a sign, against `Int64(_:)`.
    func testEpochTextOfEveryLength() {
        var state: UInt64 = 3
        func digit() -> Character {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Character(String(state >> 60 % 10))
        }
        for length in 10...21 {
            for _ in 0..<20 {
                let text = String((0..<length).map { _ in digit() })
                for signed in [text, "-" + text] {
                    let got = Array(signed.utf8).withUnsafeBufferPointer { TimeParsing.epoch(text: $0) }
                    XCTAssertEqual(got, Int64(signed).flatMap { TimeParsing.epoch($0) }, signed)
                }
                for at in 0..<length {
                    var bytes = Array(text.utf8)
                    // Bytes just outside the digits on either side, and one far off.
                    bytes[at] = Array(":/?x".utf8)[at % 4]
                    XCTAssertNil(bytes.withUnsafeBufferPointer { TimeParsing.epoch(text: $0) }, String(decoding: bytes, as: UTF8.self))
                }
            }
        }
    }
}

final class TraceContextTests: XCTestCase {
    func testTraceparent() {
        let h = TraceContext.parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")
        XCTAssertEqual(h, TraceContext.Header(traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
                                              parentSpanID: "00f067aa0ba902b7", sampled: true))
        XCTAssertEqual(TraceContext.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled, false)
        XCTAssertNotNil(TraceContext.parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"))
        for bad in ["00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
                    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
                    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", ""] {
            XCTAssertNil(TraceContext.parseTraceparent(bad), bad)
        }
    }

    func testXRay() {
        let h = TraceContext.parseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        XCTAssertEqual(h, TraceContext.Header(traceID: "5759e988bd862e3fe1be46a994272793",
                                              parentSpanID: "53995c3f42cd8ad8", sampled: true))
        let bare = TraceContext.parseXRay("1-5759E988-BD862E3FE1BE46A994272793")
        XCTAssertEqual(bare, TraceContext.Header(traceID: "5759e988bd862e3fe1be46a994272793", parentSpanID: nil, sampled: nil))
        let spaced = TraceContext.parseXRay("Root=1-5759e988-bd862e3fe1be46a994272793; Sampled=?; Lineage=a87bd80c:1")
        XCTAssertEqual(spaced?.traceID, "5759e988bd862e3fe1be46a994272793")
        XCTAssertNil(spaced?.sampled)
        XCTAssertEqual(TraceContext.parseXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")?.sampled, false)
        for bad in ["Parent=53995c3f42cd8ad8;Sampled=1", "Root=2-5759e988-bd862e3fe1be46a994272793",
                    "Root=1-5759e988-bd862e3fe1be46a99427279", "1-00000000-000000000000000000000000", "", "garbage"] {
            XCTAssertNil(TraceContext.parseXRay(bad), bad)
        }
    }

    func testIDRecognition() {
        XCTAssertTrue(TraceContext.isW3CTraceID("4bf92f3577b34da6a3ce929d0e0e4736"))
        XCTAssertTrue(TraceContext.isW3CTraceID("4BF92F3577B34DA6A3CE929D0E0E4736"))
        XCTAssertFalse(TraceContext.isW3CTraceID("00000000000000000000000000000000"))
        XCTAssertFalse(TraceContext.isW3CTraceID("req-7f3a"))
        XCTAssertFalse(TraceContext.isW3CTraceID("4bf92f3577b34da6a3ce929d0e0e47360"))
        var s = "4BF92F3577B34DA6A3CE929D0E0E4736"
        XCTAssertEqual(s.withUTF8 { TraceContext.canonicalTraceID($0) }, "4bf92f3577b34da6a3ce929d0e0e4736")
        var span = "00f067aa0ba902b7"
        XCTAssertTrue(span.withUTF8 { TraceContext.isW3CSpanID($0) })
    }
}
