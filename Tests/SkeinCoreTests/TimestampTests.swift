import XCTest
@testable import SkeinCore

final class TimestampTests: XCTestCase {
    func testRFC3339RoundNumbers() {
        XCTAssertEqual(Timestamp(millis: Int64(0)).rfc3339, "1970-01-01T00:00:00.000Z")
        // 2026-11-23T18:40:04.123Z
        let days = Timestamp.days(year: 2026, month: 11, day: 23)
        let t = Timestamp(nanos: (days * 86_400 + 18 * 3600 + 40 * 60 + 4) * 1_000_000_000 + 123_000_000)
        XCTAssertEqual(t.rfc3339, "2026-11-23T18:40:04.123Z")
        XCTAssertEqual(t.formatRFC3339(fractionDigits: 0), "2026-11-23T18:40:04Z")
        XCTAssertEqual(t.timeOfDay, "18:40:04.123")
    }

    func testCivilRoundTripAcrossLeapYears() {
        for (y, m, d) in [(2000, 2, 29), (1999, 12, 31), (2024, 2, 29), (2100, 3, 1), (1969, 12, 31)] as [(Int64, Int64, Int64)] {
            let days = Timestamp.days(year: y, month: m, day: d)
            let back = Timestamp.civil(fromDays: days)
            XCTAssertEqual(back.0, y); XCTAssertEqual(back.1, m); XCTAssertEqual(back.2, d)
        }
    }

    func testNegativeTimesFormatBeforeEpoch() {
        XCTAssertEqual(Timestamp(millis: Int64(-1)).rfc3339, "1969-12-31T23:59:59.999Z")
    }

    /// Times and durations from logs can be any number: conversions hold them at 64 bits' ends
    /// (NaN as no time at all) instead of trapping, and adding never wraps into the other sign.
    func testConversionsFromAnyDoubleSaturate() {
        XCTAssertEqual(Timestamp(millis: 1e300).nanos, .max)
        XCTAssertEqual(Timestamp(millis: -1e300).nanos, .min)
        XCTAssertEqual(Timestamp(millis: .infinity).nanos, .max)
        XCTAssertEqual(Timestamp(millis: .nan).nanos, 0)
        XCTAssertEqual(Timestamp(seconds: 9.3e9).nanos, .max)
        XCTAssertEqual(Timestamp(millis: 1.5).nanos, 1_500_000)
        XCTAssertEqual(Timestamp(millis: -2.5e-6).nanos, -3, "rounded half away from zero, as before")
        let t = Timestamp(nanos: 1_795_428_000_000_000_000)
        XCTAssertEqual(t.adding(ms: 1e300).nanos, .max)
        XCTAssertEqual(t.adding(ms: -1e300).nanos, t.nanos + .min, "the duration held at its end, then added")
        XCTAssertEqual(Timestamp(nanos: -5).adding(ms: -1e300).nanos, .min)
        XCTAssertEqual(t.adding(ms: 9.0e12).nanos, .max, "past 2262: held, not wrapped negative")
        XCTAssertEqual(t.adding(ms: .nan), t)
        XCTAssertEqual(t.adding(ms: 41).nanos, 1_795_428_000_041_000_000)
        XCTAssertEqual(t.adding(ms: -0.0005).nanos, 1_795_427_999_999_999_500)
    }
}

final class SanitizerTests: XCTestCase {
    func testEscapeSequencesAndControlsNeverPass() {
        XCTAssertEqual(Sanitizer.clean("\u{1b}[31mred\u{1b}[0m ok"), "red ok")
        XCTAssertEqual(Sanitizer.clean("a\u{1b}]0;title\u{07}b"), "ab")
        XCTAssertEqual(Sanitizer.clean("tab\there\nnew"), "tab here new")
        XCTAssertEqual(Sanitizer.clean("bell\u{07}\u{9b}x"), "bell??x")
        XCTAssertEqual(Sanitizer.clean("plain"), "plain")
    }
}

final class InternerTests: XCTestCase {
    func testRepeatsShareOneValueAndCapacityBounds() {
        var i = Interner(capacity: 2)
        let a = i.intern("feed-api")
        let b = i.intern("feed-api")
        XCTAssertEqual(a, b)
        XCTAssertEqual(i.count, 1)
        _ = i.intern("chat"); _ = i.intern("worker")
        XCTAssertEqual(i.count, 2, "past capacity, values are returned but not remembered")
        var big = Interner()
        for n in 0..<5000 { _ = big.intern("svc-\(n)") }
        XCTAssertEqual(big.count, 5000)
        XCTAssertEqual(big.intern("svc-4321"), "svc-4321")
    }
}

final class DeployModelTests: XCTestCase {
    func testInferenceFromPlatform() {
        XCTAssertEqual(DeployModel.inferred(platform: "aws-lambda"), .serverless)
        XCTAssertEqual(DeployModel.inferred(platform: "cloudflare-workers"), .edge)
        XCTAssertEqual(DeployModel.inferred(platform: "vercel"), .serverless)
        XCTAssertEqual(DeployModel.inferred(platform: "k8s"), .server)
        XCTAssertNil(DeployModel.inferred(platform: "mystery"))
        XCTAssertEqual(DeployModel(name: "FaaS"), .serverless)
    }
}
