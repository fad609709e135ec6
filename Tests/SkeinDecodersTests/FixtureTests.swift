import Foundation
import XCTest
import SkeinCore
@testable import SkeinDecoders

/// Golden files: every `Fixtures/<format>/<case>.input` is decoded by `AutoDecoder.standard()` and
/// compared with `<case>.expected` (see `GoldenRenderer`). Add a format by adding a folder.
///
/// `SKEIN_RECORD_FIXTURES=1 swift test --filter FixtureTests` rewrites the expected files and fails,
/// so a re-recording is never silent: review the diff, then run again without it.
final class FixtureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func testGoldenFixtures() throws {
        let fm = FileManager.default
        let recording = ProcessInfo.processInfo.environment["SKEIN_RECORD_FIXTURES"] == "1"
        let folders = try fm.contentsOfDirectory(atPath: Self.root.path).filter { !$0.hasPrefix(".") }.sorted()
        var cases = 0
        for folder in folders {
            let dir = Self.root.appendingPathComponent(folder)
            let inputs = try fm.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".input") }.sorted()
            for input in inputs {
                cases += 1
                let name = "\(folder)/\(input.dropLast(".input".count))"
                let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(input)))
                let actual = GoldenRenderer.run(bytes)
                let expectedURL = dir.appendingPathComponent(String(input.dropLast(".input".count)) + ".expected")
                if recording {
                    try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
                    XCTFail("re-recorded \(name); review the diff and run again without SKEIN_RECORD_FIXTURES")
                    continue
                }
                guard let expected = try? String(contentsOf: expectedURL, encoding: .utf8) else {
                    XCTFail("\(name): no .expected file; record with SKEIN_RECORD_FIXTURES=1")
                    continue
                }
                if actual != expected {
                    XCTFail("\(name) differs:\n\(Self.diff(expected: expected, actual: actual))")
                }
            }
        }
        XCTAssertGreaterThan(cases, 0, "no fixtures found under \(Self.root.path)")
    }

    /// The first differing lines, enough to see what changed without a diff tool.
    static func diff(expected: String, actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        for i in 0..<max(e.count, a.count) where out.count < 12 {
            let x = i < e.count ? String(e[i]) : "<none>"
            let y = i < a.count ? String(a[i]) : "<none>"
            if x != y { out.append("  line \(i + 1)\n    expected: \(x)\n    actual:   \(y)") }
        }
        return out.joined(separator: "\n")
    }
}
