import Foundation
import XCTest
import SkeinCore
@testable import SkeinDecoders

/// A text format with multi-line records, like a stack trace under its first line: `TRACE <msg>`
/// followed by indented lines, which are folded into the message.
private struct IndentedTraceDecoder: TextFrameDecoder {
    let name = "indented"
    var pending: Event?
    var flushes = 0

    func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        frame.starts(with: Array("TRACE ".utf8))
    }

    mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        if let p = pending { events.append(p) }
        pending = Event(time: Timestamp(millis: Int64(1_795_459_204_000)), source: source,
                        message: String(decoding: frame.dropFirst(6), as: UTF8.self))
        return .absorbed
    }

    mutating func continueFrame(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> Bool {
        guard pending != nil, frame.first == 0x20 else { return false }
        pending!.message! += "\n" + String(decoding: frame, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return true
    }

    mutating func flush(source: SourceID, into events: inout [Event]) {
        flushes += 1
        if let p = pending { events.append(p) }
        pending = nil
    }
}

final class AutoDecoderTests: XCTestCase {
    private func feed(_ decoder: inout AutoDecoder, _ lines: [String]) -> ([DecodeOutcome], [Event]) {
        var events: [Event] = []
        var outcomes: [DecodeOutcome] = []
        for line in lines {
            var bytes = Array(line.utf8)
            outcomes.append(bytes.withUnsafeMutableBufferPointer { decoder.decode(UnsafeBufferPointer($0), source: SourceID(1), into: &events) })
        }
        return (outcomes, events)
    }

    func testContinuationLinesGoToTheDecoderThatTookThePreviousLine() {
        var d = AutoDecoder(records: [ConventionDecoder()], texts: [IndentedTraceDecoder(), LogfmtDecoder()])
        let (outcomes, events) = feed(&d, [
            #"{"ts":"2026-11-23T18:40:04Z","msg":"before"}"#,
            "TRACE boom",
            "    at a()",
            "    at b()",
            #"{"ts":"2026-11-23T18:40:05Z","msg":"after"}"#,
            "TRACE second",
        ])
        XCTAssertEqual(outcomes, [.events(1), .absorbed, .absorbed, .absorbed, .events(2), .absorbed])
        XCTAssertEqual(events.map(\.message), ["before", "boom\nat a()\nat b()", "after"])
        var tail: [Event] = []
        d.flush(source: SourceID(1), into: &tail)
        XCTAssertEqual(tail.map(\.message), ["second"])
    }

    func testReleasedRecordIsAppendedEvenWhenTheNextFrameIsMalformed() {
        var d = AutoDecoder(records: [ConventionDecoder()], texts: [IndentedTraceDecoder(), LogfmtDecoder()])
        let (outcomes, events) = feed(&d, ["TRACE held", "    at x()", "no decoder knows this", "TRACE two", ""])
        XCTAssertEqual(outcomes, [.absorbed, .absorbed, .malformed(.unrecognised), .absorbed, .absorbed])
        XCTAssertEqual(events.map(\.message), ["held\nat x()", "two"])
    }

    func testForcedFormatUsesOnlyThatDecoder() {
        XCTAssertEqual(Set(AutoDecoder.formatNames), ["json", "skein", "logfmt", "aws-lambda", "aws-lambda-json",
                                                      "cloudflare-workers", "vercel", "otlp-json", "postgres",
                                                      "docker", "cri", "journald", "heroku", "syslog", "pgbouncer"])
        XCTAssertEqual(AutoDecoder.formatNames.count, Set(AutoDecoder.formatNames).count)
        var logfmt = AutoDecoder.standard(forced: "logfmt")
        XCTAssertEqual(logfmt.name, "logfmt")
        let (o1, _) = feed(&logfmt, [#"{"ts":"2026-11-23T18:40:04Z","msg":"json"}"#, "ts=2026-11-23T18:40:04Z msg=hi"])
        XCTAssertEqual(o1, [.malformed(.unrecognised), .events(1)])
        var json = AutoDecoder.standard(forced: "json")
        let (o2, _) = feed(&json, [#"{"ts":"2026-11-23T18:40:04Z","msg":"json"}"#, "ts=2026-11-23T18:40:04Z msg=hi"])
        XCTAssertEqual(o2, [.events(1), .malformed(.unrecognised)])
        var unknown = AutoDecoder.standard(forced: "nope")
        XCTAssertEqual(feed(&unknown, ["ts=2026-11-23T18:40:04Z msg=hi"]).0, [.malformed(.unrecognised)])
    }

    func testLastFormatAndSharedTimeAcrossFormats() {
        var d = AutoDecoder.standard()
        let (outcomes, events) = feed(&d, [#"{"ts":"2026-11-23T18:40:04Z"}"#, "msg=untimed level=warn"])
        XCTAssertEqual(outcomes, [.events(1), .events(1)])
        XCTAssertEqual(d.lastFormat, "logfmt")
        XCTAssertEqual(events.last?.time, TimeParsing.parse("2026-11-23T18:40:04Z"))
        XCTAssertEqual(events.last?.source, SourceID(1))
        _ = feed(&d, [""])
        XCTAssertNil(d.lastFormat)
    }

    func testPendingJSONIsBounded() {
        var d = AutoDecoder(records: [ConventionDecoder()], texts: [], maxPendingBytes: 1 << 20, maxPendingLines: 4)
        let (outcomes, _) = feed(&d, ["{", #"  "a": 1,"#, #"  "b": 2,"#, #"  "c": 3,"#, #"  "d": 4"#, "}"])
        XCTAssertEqual(outcomes, [.absorbed, .absorbed, .absorbed, .absorbed, .malformed(.tooComplex), .malformed(.unrecognised)])
        let late = d.drainLateMalformed()
        XCTAssertEqual(late.map(\.reason), [.tooComplex])
        XCTAssertEqual(late.map(\.count), [4])
        XCTAssertTrue(d.drainLateMalformed().isEmpty)
    }

    func testLateMalformedReachesAPipelineThatOnlyKnowsFrameDecoder() {
        var decoder: any FrameDecoder = AutoDecoder.standard()
        var events: [Event] = []
        for line in ["{", #"  "ts": "2026-11-23T18:40:04Z","#] {
            var bytes = Array(line.utf8)
            XCTAssertEqual(bytes.withUnsafeMutableBufferPointer { decoder.decode(UnsafeBufferPointer($0), source: SourceID(0), into: &events) },
                           .absorbed)
        }
        decoder.flush(source: SourceID(0), into: &events)
        let late = decoder.drainLateMalformed()
        XCTAssertEqual(late.map(\.reason), [.truncatedJSON])
        XCTAssertEqual(late.map(\.count), [2])
        var logfmt: any FrameDecoder = LogfmtDecoder()
        XCTAssertTrue(logfmt.drainLateMalformed().isEmpty)
    }

    func testHugeLineDoesNotCrashAndIsBounded() throws {
        var d = AutoDecoder.standard()
        let huge = String(repeating: "x", count: 2 << 20)
        let (outcomes, events) = feed(&d, [#"{"ts":"2026-11-23T18:40:04Z","msg":"\#(huge)","blob":"\#(huge)"}"#])
        XCTAssertEqual(outcomes, [.events(1)])
        let e = try XCTUnwrap(events.first)
        XCTAssertEqual(e.message?.utf8.count, ConventionMapper.maxMessageBytes)
        XCTAssertEqual(e.attribute("blob")?.utf8.count, ConventionMapper.maxValueBytes)
        XCTAssertEqual(e.attribute("skein.truncated"), "2")
        let (deep, _) = feed(&d, [String(repeating: #"{"a":"#, count: 5_000)])
        XCTAssertEqual(deep, [.malformed(.tooComplex)])
    }

    func testFrameScanSeesControlBytesInEveryPosition() {
        for length in [1, 7, 8, 9, 16, 17, 33] {
            for position in 0..<length {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                bytes[position] = 0x01
                XCTAssertTrue(bytes.withUnsafeBufferPointer { FrameScan($0).binary }, "\(length)/\(position)")
                bytes[position] = 0xc3
                let scan = bytes.withUnsafeBufferPointer { FrameScan($0) }
                XCTAssertTrue(scan.nonASCII && !scan.binary, "\(length)/\(position)")
                bytes[position] = 0x09
                XCTAssertFalse(bytes.withUnsafeBufferPointer { FrameScan($0).binary })
            }
        }
    }
}

/// Mutated and random input never crashes a decoder, and every frame gets exactly one outcome.
final class HostileInputTests: XCTestCase {
    /// SplitMix64: deterministic, so a failure reproduces.
    private struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func testMutatedLinesNeverCrash() {
        let seeds = [
            #"{"ts":"2026-11-23T10:00:00.120Z","service":"feed-api","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","event":"request.end","status":200,"duration_ms":"1m2.5s","req":{"headers":{"x-request-id":"a"}},"level":30,"msg":"done"}"#,
            #"time=2026-11-23T19:40:04.123+01:00 level=INFO msg="hello \"world\"" duration=12ms x-amzn-trace-id=Root=1-5759e988-bd862e3fe1be46a994272793"#,
            "{\n  \"ts\": 1795459204123,",
            #"[{"ts":1795459204},{"ts":"1795459204.5"}]"#,
        ].map { Array($0.utf8) }
        var rng = Random(state: 42)
        var decoder = AutoDecoder.standard()
        var events: [Event] = []
        let specials: [UInt8] = [0x00, 0x0a, 0x1b, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3d, 0x2c, 0x3a, 0x80, 0xc3, 0xff, 0x20, 0x2d, 0x2e]
        for _ in 0..<3_000 {
            var line = seeds[rng.below(seeds.count)]
            for _ in 0..<(1 + rng.below(6)) {
                let at = rng.below(line.count + 1)
                switch rng.below(4) {
                case 0: if at < line.count { line.remove(at: at) }
                case 1: line.insert(specials[rng.below(specials.count)], at: at)
                case 2: if at < line.count { line[at] = UInt8(truncatingIfNeeded: rng.next()) }
                default: line = Array(line[..<at])
                }
            }
            let before = events.count
            let outcome = line.withUnsafeBufferPointer { decoder.decode($0, source: SourceID(0), into: &events) }
            if case .events(let n) = outcome { XCTAssertEqual(n, events.count - before) } else {
                // True here because no standard decoder holds a record back; see `AutoDecoder`'s doc.
                XCTAssertEqual(events.count, before, "only .events appends")
            }
            _ = decoder.drainLateMalformed()
            if events.count > 10_000 { events.removeAll() }
        }
        decoder.flush(source: SourceID(0), into: &events)
    }
}
