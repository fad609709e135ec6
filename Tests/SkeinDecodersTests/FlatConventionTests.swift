import Foundation
import XCTest
import SkeinCore
@testable import SkeinDecoders

/// The one-pass path for flat convention lines must decode every line exactly as the general path
/// (tape, signatures, mapper) does: same outcome, same events, same format credited, same
/// remembered time. Checked line by line over every golden fixture, the bundled sample logs and a
/// set of lines written to sit on each edge the one-pass path gives up at.
final class FlatConventionTests: XCTestCase {
    private static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Lines on the edges: escapes, non-ASCII and broken UTF-8, control bytes, numbers the tape's
    /// grammar takes or not, literals, other formats' signature keys, nesting, trailing data.
    static let edges: [String] = [
        #"{"ts":"2026-11-23T10:00:00.000Z","service":"api","msg":"plain"}"#,
        #"{"ts":1795428000092,"service":"api","event":"request.start","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}"#,
        #"  { "ts" : 1795428000.5 , "level" : "warn" , "msg" : "spaced\tout" }  "#,
        #"{"ts":1795428000092,"msg":"esc \"quoted\" \\ \u00e9 \n"}"#,
        #"{"ts":1795428000092,"msg":"naïve café ✓ 😀"}"#,
        "{\"ts\":1795428000092,\"msg\":\"bad \u{FF}\"}".replacingOccurrences(of: "\u{FF}", with: "\u{FF}"),
        #"{"ts":1795428000092,"n":-1.5e+3,"m":0,"o":-0.0,"cold_start":true,"x":false,"y":null}"#,
        #"{"ts":1795428000092,"n":-}"#,
        #"{"ts":1795428000092,"n":1-2-3}"#,
        #"{"ts":1795428000092,"t":tru}"#,
        #"{"ts":1795428000092,"t":nul}"#,
        #"{}"#,
        #"{ }"#,
        #"{"ts":1795428000092}"#,
        #"{"ts":1795428000092,}"#,
        #"{"ts":1795428000092 "msg":"x"}"#,
        #"{"ts" 1795428000092}"#,
        #"{"ts":1795428000092}{"ts":1795428000093}"#,
        #"{"ts":1795428000092} trailing"#,
        #"{"ts":1795428000092,"msg":"unterminated"#,
        #"{"ts":1795428000092,"#,
        #"{"#,
        #"{"":1,"ts":1795428000092}"#,
        #"{"\u0074s":1795428000092,"msg":"escaped key"}"#,
        #"{"tś":1795428000092,"msg":"non-ASCII key"}"#,
        #"{"ts":1795428000092,"requestId":"abc","msg":"lambda signature key"}"#,
        #"{"ts":1795428000092,"log":"docker signature key","stream":"stdout"}"#,
        #"{"time":"2026-11-23T10:00:00Z","deploymentId":"dpl_1","msg":"vercel signature key"}"#,
        #"{"ts":1795428000092,"error_severity":"LOG","message":"postgres jsonlog key"}"#,
        #"{"ts":1795428000092,"outcome":"ok","msg":"workers key"}"#,
        #"{"ts":1795428000092,"req":{"id":"r-1","headers":{"x-request-id":"abc"}},"msg":"nested"}"#,
        #"{"ts":1795428000092,"tags":["a","b"],"msg":"array"}"#,
        #"{"ts":1795428000092,"empty":{},"msg":"empty object"}"#,
        #"{"ts":1795428000092,"msg":"dup","msg":"second"}"#,
        #"{"service":"api","msg":"no time, inherits"}"#,
        #"{"level":30,"time":1795428000092,"pid":1,"hostname":"h","reqId":"req-1","msg":"pino"}"#,
        #"{"@t":"2026-11-23T10:00:00.000Z","@mt":"Failed executing DbCommand","@l":"Error","@x":"Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already"}"#,
        #"{"ts":1795428000092,"msg":"{\"inner\":\"json\",\"service\":\"embedded\"}"}"#,
        #"{"ts":1795428000092,"msg":"FATAL: sorry, too many clients already","db_open":99,"db_max":100}"#,
        #"[{"ts":1795428000092,"msg":"array of records"}]"#,
        "{\"ts\":1795428000092,\"msg\":\"control \u{01} byte\"}",
        "{\"ts\":1795428000092,\"msg\":\"tab\tinside\"}",
        "{\"ts\":1795428000092,\n\"msg\":\"newline between tokens\"}",
        "{\"ts\":1795428000092,\"msg\":\"\(String(repeating: "long ", count: 3000))\"}",
        "{\"ts\":1795428000092,\(String(repeating: "\"k\":1,", count: 200))\"msg\":\"many members\"}",
        // Keys the previous line taught (`KeyShapes`): the same order, then another order, a key
        // that starts like the one expected, the expected key spaced, escaped or cut short, a
        // signature key where a convention key was expected, and a key longer than is kept.
        #"{"ts":1795428000092,"service":"api","route":"GET /a","msg":"taught"}"#,
        #"{"ts":1795428000093,"service":"api","route":"GET /b","msg":"same keys"}"#,
        #"{"ts":1795428000094,"route":"GET /c","service":"api","msg":"other order"}"#,
        #"{"ts":1795428000095,"service":"api","routes":"GET /d","msg":"longer key"}"#,
        #"{"ts":1795428000096,"service":"api","rout":"GET /e","msg":"shorter key"}"#,
        #"{"ts":1795428000097,"service" :"api","route":"GET /f","msg":"spaced"}"#,
        #"{"ts":1795428000098,"\u0073ervice":"api","route":"GET /g","msg":"escaped"}"#,
        #"{"ts":1795428000099,"service":"api","requestId":"abc","msg":"signature key"}"#,
        #"{"ts":1795428000100,"service":"api","route""#,
        #"{"ts":1795428000101,"service":"api","route":"#,
        #"{"ts":1795428000102,"a_key_longer_than_forty_bytes_with_its_quotes_and_colon":1,"msg":"long key"}"#,
        #"{"ts":1795428000103,"a_key_longer_than_forty_bytes_with_its_quotes_and_colon":2,"msg":"long key again"}"#,
        #"{"ts":1795428000104,"service":"api","route":"GET /h","msg":"taught again"}"#,
    ]

    private func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init)
    }

    /// Decodes `frames` with the one-pass path on and off; fails at the first line that differs.
    private func compare(_ frames: [[UInt8]], name: String, file: StaticString = #filePath, line: UInt = #line) -> Int {
        var fast = AutoDecoder.standard()
        var slow = AutoDecoder.standard()
        slow.flat = nil
        XCTAssertNotNil(fast.flat, "the standard decoder set should enable the one-pass path", file: file, line: line)
        var probe = DecodeContext()
        var probeShapes = KeyShapes()
        var taken = 0
        var a: [Event] = [], b: [Event] = []
        for (i, frame) in frames.enumerated() {
            a.removeAll(keepingCapacity: true)
            b.removeAll(keepingCapacity: true)
            let (x, y) = frame.withUnsafeBufferPointer { f in
                (fast.decode(f, source: SourceID(1), into: &a), slow.decode(f, source: SourceID(1), into: &b))
            }
            var scratch: [Event] = []
            if let flat = fast.flat,
               frame.withUnsafeBufferPointer({ flat.decode($0, source: SourceID(1), context: &probe, shapes: &probeShapes, into: &scratch) }) != nil {
                taken += 1
            }
            if x != y || a != b || fast.lastFormat != slow.lastFormat || fast.context.lastTime != slow.context.lastTime {
                XCTFail("\(name) line \(i + 1) decodes differently: \(x) vs \(y), \(a.count) vs \(b.count) events, "
                        + "format \(fast.lastFormat ?? "-") vs \(slow.lastFormat ?? "-")\n"
                        + "line: \(String(decoding: frame.prefix(300), as: UTF8.self))\n"
                        + "one-pass: \(a.first.map { String(describing: $0) } ?? "-")\n"
                        + "general:  \(b.first.map { String(describing: $0) } ?? "-")",
                        file: file, line: line)
                return taken
            }
        }
        a.removeAll(); b.removeAll()
        fast.flush(source: SourceID(1), into: &a)
        slow.flush(source: SourceID(1), into: &b)
        XCTAssertEqual(a, b, "\(name): flush", file: file, line: line)
        return taken
    }

    func testEdgeLinesDecodeAsTheGeneralPathDoes() {
        let frames = Self.edges.map { Array($0.utf8) } + [
            // Broken UTF-8 inside a string, which the tape rejects.
            Array(#"{"ts":1795428000092,"msg":"bad "#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),
            Array(#"{"ts":1795428000092,"msg":"cut "#.utf8) + [0xE2, 0x82] + Array(#""}"#.utf8),
        ]
        let taken = compare(frames, name: "edges")
        // Enough of them are flat convention lines that the one-pass path is really compared.
        XCTAssertGreaterThan(taken, 12)
    }

    func testEveryFixtureDecodesAsTheGeneralPathDoes() throws {
        let fm = FileManager.default
        let root = FixtureTests.root
        var files = 0, taken = 0
        for folder in try fm.contentsOfDirectory(atPath: root.path).sorted() where !folder.hasPrefix(".") {
            let dir = root.appendingPathComponent(folder)
            for input in try fm.contentsOfDirectory(atPath: dir.path).sorted() where input.hasSuffix(".input") {
                let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(input)))
                taken += compare(lines(bytes), name: "\(folder)/\(input)")
                files += 1
            }
        }
        XCTAssertGreaterThan(files, 40)
        XCTAssertGreaterThan(taken, 50)
    }

    func testSampleLogsDecodeAsTheGeneralPathDoes() throws {
        let dir = Self.repo.appendingPathComponent("sample-logs")
        var taken = 0, total = 0
        var paths = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".ndjson") }
            .map { dir.appendingPathComponent($0) }
        let mixed = dir.appendingPathComponent("mixed")
        if let e = FileManager.default.enumerator(atPath: mixed.path) {
            for case let p as String in e where !p.hasSuffix(".md") { paths.append(mixed.appendingPathComponent(p)) }
        }
        for url in paths.sorted(by: { $0.path < $1.path }) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
            // The first 4,000 lines of each: every line shape the file has, in a fraction of the time.
            let frames = Array(lines(try [UInt8](Data(contentsOf: url))).prefix(4000))
            total += frames.count
            taken += compare(frames, name: url.lastPathComponent)
        }
        XCTAssertGreaterThan(total, 20_000)
        XCTAssertGreaterThan(taken, total / 3)
    }
}
