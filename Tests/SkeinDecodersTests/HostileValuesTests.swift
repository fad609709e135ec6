import XCTest
import SkeinCore
@testable import SkeinDecoders

/// Values no platform writes but a log can hold, each found by a coverage-guided fuzzer run of the
/// export path (libFuzzer over decoding, stitching and every export format): each once trapped.
/// A line with one is counted (as an event or as malformed) like any other; nothing stops.
final class HostileValuesTests: XCTestCase {
    /// A text line that starts like Lambda's `2026-11-23T10:00:03.123Z\t…` with a year whose
    /// nanoseconds since 1970 do not fit in 64 bits: `PlatformTime` multiplied them unchecked.
    func testATextLineTimeBeyond2262IsNoTime() {
        let feed = PlatformFeed.auto("7767-11-23T10:00:03\n9999-12-31 23:59:59.999 UTC [1] LOG:  x\n")
        XCTAssertEqual(feed.events.count, 0)
        XCTAssertEqual(feed.outcomes.count, 2)
        for o in feed.outcomes {
            guard case .malformed = o else { return XCTFail("\(o)") }
        }
    }

    /// `wrangler tail`'s human format with a year of 9999 (`WranglerPretty.localeTime` reads up to
    /// five digits and multiplied unchecked): not a Workers invocation line then, and counted.
    func testAWranglerLineTimeBeyond2262IsNoTime() {
        let feed = PlatformFeed.auto("GET https://api.example.com/ - Ok @ 11/23/9999, 10:00:00 AM\n"
                                     + "GET https://api.example.com/ - Ok @ 11/23/2026, 10:00:00 AM\n")
        XCTAssertEqual(feed.outcomes.count, 2)
        guard case .malformed = feed.outcomes[0] else { return XCTFail("\(feed.outcomes)") }
        XCTAssertEqual(feed.events.first?.time.rfc3339, "2026-11-23T10:00:00.000Z", "the next line as usual")
    }

    /// The same in a JSON time: no time (the line is then missing one), not a time wrapped around to
    /// another century, at both ends of the range.
    func testRFC3339OutsideTheNanosecondRangeIsNoTime() {
        XCTAssertNil(TimeParsing.parse("7767-11-23T10:00:03Z"))
        XCTAssertNil(TimeParsing.parse("9999-12-31"))
        XCTAssertNil(TimeParsing.parse("2262-04-12T00:00:00Z"))
        XCTAssertNil(TimeParsing.parse("1677-09-21T00:00:00Z"))
        XCTAssertEqual(TimeParsing.parse("2262-04-11T00:00:00Z")?.nanos, 9_223_286_400_000_000_000)
        XCTAssertEqual(TimeParsing.parse("1677-09-22T00:00:00Z")?.nanos, -9_223_286_400_000_000_000)
        let feed = PlatformFeed.auto(#"{"ts":"7767-11-23T10:00:03Z","service":"a","msg":"x"}"# + "\n")
        XCTAssertEqual(feed.events.count, 0)
        guard case .malformed(.missingFields) = feed.outcomes.first else { return XCTFail("\(feed.outcomes)") }
    }

    /// Workers Logpush with a wall time of 1e300 ms: `start.adding(ms:)` converted it unchecked. Now
    /// a wall time that is no duration is left out: the invocation ends at its last log.
    func testAWorkersWallTimeThatIsNoDurationIsLeftOut() throws {
        let line = #"{"CPUTimeMs":3,"Event":{"RayID":"8e2f1a3b4c5d6e7f","Request":{"URL":"https://api.example.com/api/feed","Method":"GET"},"Response":{"Status":200}},"EventTimestampMs":1795428000010,"EventType":"fetch","Exceptions":[],"Logs":[{"Level":"log","Message":["GET /api/feed"],"TimestampMs":1795428000012}],"Outcome":"ok","ScriptName":"edge-api","WallTimeMs":WALL}"#
        for wall in ["1e300", "-5", "1e20"] {
            let feed = PlatformFeed.auto(line.replacingOccurrences(of: "WALL", with: wall) + "\n")
            let end = try XCTUnwrap(feed.events.first { $0.kind == .requestEnd }, wall)
            XCTAssertNil(end.durationMS, wall)
            XCTAssertEqual(end.time, Timestamp(millis: Int64(1_795_428_000_012)), wall)
        }
        let feed = PlatformFeed.auto(line.replacingOccurrences(of: "WALL", with: "41") + "\n")
        XCTAssertEqual(feed.events.first { $0.kind == .requestEnd }?.durationMS, 41)
    }

    /// Epoch numbers whose unit (told by magnitude) puts them past 2262: `9e10` is seconds, and its
    /// nanoseconds do not fit in 64 bits. They were multiplied with wrapping (no trap) and landed in
    /// another century; now they are no time, as text digits, as a JSON number and as a float.
    func testAnEpochPastWhatATimestampHoldsIsNoTime() {
        for digits in ["90000000000", "9999999999999", "9300000000000000", "9300000000.5"] {
            let got = Array(digits.utf8).withUnsafeBufferPointer { TimeParsing.epoch(text: $0) }
            XCTAssertNil(got, digits)
        }
        XCTAssertNil(TimeParsing.epoch(9e10))
        XCTAssertNil(TimeParsing.epoch(Int64(99_999_999_999_999)))
        XCTAssertNil(TimeParsing.epoch(-9.3e9))
        XCTAssertEqual(TimeParsing.epoch(9.2e9)?.nanos, 9_200_000_000_000_000_000, "2261 still is one")
        for ts in ["9e10", "90000000000", "\"90000000000\"", "1e16"] {
            let feed = PlatformFeed.auto(#"{"ts":TS,"service":"a","msg":"x"}"#.replacingOccurrences(of: "TS", with: ts) + "\n")
            XCTAssertEqual(feed.events.count, 0, ts)
            guard case .malformed(.missingFields) = feed.outcomes.first else { return XCTFail("\(ts): \(feed.outcomes)") }
        }
    }

    /// Postgres' `%n` prefix (epoch seconds with milliseconds): ten digits reach 2286, past what a
    /// `Timestamp` holds; such a line has no time, and the next one reads as usual.
    func testAPostgresEpochPrefixPast2262IsNoTime() {
        let feed = PlatformFeed.auto("9999999999.123 [77] LOG:  connection received: host=10.0.0.5 port=5432\n"
                                     + "1795428000.123 [77] LOG:  connection received: host=10.0.0.5 port=5432\n")
        XCTAssertEqual(feed.events.count, 1)
        XCTAssertEqual(feed.events.first?.time.rfc3339, "2026-11-23T10:00:00.123Z")
        guard case .malformed = feed.outcomes.first else { return XCTFail("\(feed.outcomes)") }
    }
}
