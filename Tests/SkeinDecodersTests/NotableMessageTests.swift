import Foundation
import XCTest
import SkeinCore
@testable import SkeinDecoders

/// With `DecodeContext.keepsEveryMessage` off (an export), a message's facts and DB error are read
/// from its bytes and its text kept only when notable. Everything else about each event must be
/// what decoding with every message kept gives, and the engine must see the same facts.
final class NotableMessageTests: XCTestCase {
    private static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Lines written for the rule's edges, beside the edges the one-pass path has.
    static let lines: [String] = FlatConventionTests.edges + [
        #"{"ts":1795428000092,"level":"info","msg":"routine"}"#,
        #"{"ts":1795428000092,"level":"warn","msg":"kept: a warning"}"#,
        #"{"ts":1795428000092,"level":"info","status":504,"msg":"kept: gateway"}"#,
        #"{"ts":1795428000092,"level":"info","msg":"kept: upstream timed out"}"#,
        #"{"ts":1795428000092,"level":"info","msg":"kept: Timeout waiting"}"#,
        #"{"ts":1795428000092,"level":"info","msg":"kept: exceededCpu"}"#,
        #"{"ts":1795428000092,"level":"info","msg":"kept: remaining connection slots are reserved for non-replication superuser connections"}"#,
        #"{"ts":1795428000092,"level":"info","msg":"kept: Connection terminated unexpectedly"}"#,
        #"{"ts":1795428000092,"level":"info","msg":"[1,2]"}"#,
        #"{"ts":1795428000092,"msg":"START RequestId: 8f5 Version: $LATEST"}"#,
        #"{"ts":1795428000092,"message":"fallback field","status":200}"#,
        #"{"ts":1795428000092,"level":"info","msg":"esc \"timed\u0020out\" \u00e9"}"#,
        "{\"ts\":1795428000092,\"msg\":\"\(String(repeating: "routine ", count: 2000))timed out\"}",
        "{\"ts\":1795428000092,\"msg\":\"\(String(repeating: "routine ", count: 2000))\"}",
        #"ts=2026-11-23T10:00:00Z level=info msg="logfmt routine" service=api"#,
        #"ts=2026-11-23T10:00:00Z level=info msg="logfmt: too many clients already" service=api"#,
    ]

    private struct Tally { var dropped = 0, kept = 0, events = 0 }

    /// Decodes `frames` keeping every message and keeping notable ones (with the one-pass path on
    /// and off); fails at the first event that differs in anything but a dropped text.
    private func compare(_ frames: [[UInt8]], name: String, into tally: inout Tally,
                         file: StaticString = #filePath, line: UInt = #line) {
        var all = AutoDecoder.standard()
        var lean = AutoDecoder.standard()
        lean.context.keepsEveryMessage = false
        var leanGeneral = AutoDecoder.standard()
        leanGeneral.context.keepsEveryMessage = false
        leanGeneral.flat = nil
        var a: [Event] = [], b: [Event] = [], c: [Event] = []
        for (i, frame) in frames.enumerated() {
            a.removeAll(keepingCapacity: true); b.removeAll(keepingCapacity: true); c.removeAll(keepingCapacity: true)
            let (x, y, z) = frame.withUnsafeBufferPointer { f in
                (all.decode(f, source: SourceID(1), into: &a), lean.decode(f, source: SourceID(1), into: &b),
                 leanGeneral.decode(f, source: SourceID(1), into: &c))
            }
            let place = "\(name) line \(i + 1): \(String(decoding: frame.prefix(200), as: UTF8.self))"
            guard x == y, y == z, a.count == b.count, b.count == c.count else {
                return XCTFail("\(place): outcomes \(x) / \(y) / \(z)", file: file, line: line)
            }
            for k in a.indices {
                XCTAssertEqual(b[k], c[k], "\(place): one-pass and general paths differ", file: file, line: line)
                let seen = b[k].messageFacts ?? b[k].message.map(MessageFacts.init) ?? MessageFacts()
                let truth = a[k].message.map(MessageFacts.init) ?? MessageFacts()
                XCTAssertEqual(seen, truth, "\(place): facts", file: file, line: line)
                if b[k].message == nil, let text = a[k].message {
                    tally.dropped += 1
                    XCTAssertLessThan(a[k].level, .warn, "\(place): a warning's text was dropped", file: file, line: line)
                    XCTAssertLessThan(a[k].status ?? 0, 500, "\(place): an error status's text was dropped", file: file, line: line)
                    XCTAssertNil(DBErrorClassifier.classify(text), "\(place): a DB error's text was dropped", file: file, line: line)
                    XCTAssertFalse(truth.timeout || truth.timedOut || truth.exceededCPU, "\(place): a timeout's text was dropped",
                                   file: file, line: line)
                } else {
                    XCTAssertEqual(b[k].message, a[k].message, "\(place): text", file: file, line: line)
                    if a[k].message != nil { tally.kept += 1 }
                }
                // Everything else, the DB error, level, kind and truncation mark included.
                var restored = b[k]
                restored.message = a[k].message
                XCTAssertEqual(restored, a[k], "\(place): event", file: file, line: line)
                tally.events += 1
            }
        }
    }

    func testEdgeLinesKeepEverythingButRoutineText() {
        var tally = Tally()
        compare(Self.lines.map { Array($0.utf8) }, name: "edges", into: &tally)
        XCTAssertGreaterThan(tally.dropped, 20)
        XCTAssertGreaterThan(tally.kept, 8)
    }

    func testFixturesAndSampleLogsKeepEverythingButRoutineText() throws {
        let fm = FileManager.default
        var paths: [URL] = []
        let root = FixtureTests.root
        for folder in try fm.contentsOfDirectory(atPath: root.path).sorted() where !folder.hasPrefix(".") {
            let dir = root.appendingPathComponent(folder)
            for input in try fm.contentsOfDirectory(atPath: dir.path).sorted() where input.hasSuffix(".input") {
                paths.append(dir.appendingPathComponent(input))
            }
        }
        let samples = Self.repo.appendingPathComponent("sample-logs")
        paths += try fm.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".ndjson") }.sorted()
            .map { samples.appendingPathComponent($0) }
        if let e = fm.enumerator(atPath: samples.appendingPathComponent("mixed").path) {
            for case let p as String in e where !p.hasSuffix(".md") {
                let url = samples.appendingPathComponent("mixed").appendingPathComponent(p)
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue { paths.append(url) }
            }
        }
        var tally = Tally()
        for url in paths {
            let frames = try [UInt8](Data(contentsOf: url)).split(separator: 0x0a, omittingEmptySubsequences: false)
                .prefix(3000).map(Array.init)
            compare(frames, name: url.lastPathComponent, into: &tally)
        }
        XCTAssertGreaterThan(paths.count, 50)
        XCTAssertGreaterThan(tally.dropped, 5000)
        XCTAssertGreaterThan(tally.kept, 500)
    }
}
