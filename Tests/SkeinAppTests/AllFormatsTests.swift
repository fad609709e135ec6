import Foundation
import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinApp

/// Every golden fixture of every format (the decoders' own test inputs, in the platforms' shapes,
/// awkward cases and broken lines included) read at once by one `skein export`, the way a user
/// points Skein at a directory of mixed logs: each file is its own source, merged in time order,
/// and each must come out with the counts its golden file shows for it decoded alone.
final class AllFormatsTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SkeinDecodersTests/Fixtures")

    /// What a golden file says of its input: frames, events, malformed lines.
    struct Golden: Equatable {
        var lines = 0
        var events = 0
        var malformed = 0
    }

    static func golden(_ expected: String, input: [UInt8]) -> Golden {
        var g = Golden()
        var frames = input.split(separator: 0x0a, omittingEmptySubsequences: false)
        if frames.last?.isEmpty == true { frames.removeLast() }
        g.lines = frames.count
        for line in expected.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 3)
            guard words.count >= 2 else { continue }
            if words[1] == "malformed" {
                g.malformed += 1
            } else if words[1] == "late-malformed", let n = words.last.flatMap({ Int($0.dropFirst()) }) {
                g.malformed += n
            } else if line.contains(" time=") && line.contains(" kind=") && !line.contains(" absorbed") {
                g.events += 1
            }
        }
        return g
    }

    func testEveryFixtureAtOnceKeepsItsOwnCounts() throws {
        let fm = FileManager.default
        var want: [String: Golden] = [:]
        for folder in try fm.contentsOfDirectory(atPath: Self.fixtures.path).sorted() where !folder.hasPrefix(".") {
            let dir = Self.fixtures.appendingPathComponent(folder)
            for name in try fm.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".input") {
                let input = dir.appendingPathComponent(name)
                let expected = dir.appendingPathComponent(String(name.dropLast(".input".count)) + ".expected")
                want[input.path] = Self.golden(try String(contentsOf: expected, encoding: .utf8),
                                               input: try [UInt8](Data(contentsOf: input)))
            }
        }
        XCTAssertGreaterThan(want.count, 30, "fixtures found: \(want.count)")

        let s = try ExportJob(inputs: [Self.fixtures.path + "/*/*.input"]).analyse()
        XCTAssertEqual(s.input.sources.count, want.count, "one source per fixture file")
        var formats = Set<String>()
        for src in s.input.sources {
            let g = try XCTUnwrap(want[src.name], "unexpected source \(src.name)")
            let got = Golden(lines: src.lines, events: src.events, malformed: src.malformed)
            XCTAssertEqual(got, g, src.name)
            formats.formUnion(src.formats.keys)
        }
        XCTAssertEqual(s.input.events, want.values.reduce(0) { $0 + $1.events })
        XCTAssertGreaterThan(s.input.events, 200)
        XCTAssertGreaterThan(s.input.malformed, 20, "the broken-line fixtures are counted, not dropped")
        // Every decoder took part in the one run.
        for f in ["aws-lambda", "aws-lambda-json", "cloudflare-workers", "vercel", "otlp-json", "postgres", "skein",
                  "logfmt", "cri", "docker", "journald", "heroku", "syslog", "pgbouncer"] {
            XCTAssertTrue(formats.contains(f), "no source read as \(f): \(formats.sorted())")
        }
    }
}
