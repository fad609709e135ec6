import XCTest
import SkeinCore
import SkeinDecoders
@testable import SkeinSim

/// The platform-format recording: the same run as the convention lines, deterministic, and every
/// record in a shape its platform's decoder takes.
final class PlatformWriterTests: XCTestCase {
    func testPlatformFormatsLeaveTheSimulationUnchanged() {
        var plain = Simulator(scenario: .burst, seed: 3, durationSeconds: 25)
        var both = Simulator(scenario: .burst, seed: 3, durationSeconds: 25, platformFormats: true)
        XCTAssertEqual(plain.run(), both.run(), "convention lines differ when platform formats are written too")
        XCTAssertEqual(plain.truth, both.truth)
        XCTAssertNil(plain.platformLines)
        XCTAssertFalse(both.platformLines?.isEmpty ?? true)
    }

    func testSameSeedSameFiles() {
        let a = PlatformRecording(scenario: .incident, seed: 5, durationSeconds: 30)
        let b = PlatformRecording(scenario: .incident, seed: 5, durationSeconds: 30)
        XCTAssertEqual(a.files.map(\.path), b.files.map(\.path))
        XCTAssertEqual(a.files.map(\.bytes), b.files.map(\.bytes))
        XCTAssertEqual(a.truthJSON, b.truthJSON)
        let paths = Set(a.files.map(\.path))
        for p in [PlatformWriter.functionsFile, PlatformWriter.edgeFile, PlatformWriter.vercelFile, PlatformWriter.postgresFile] {
            XCTAssertTrue(paths.contains(p), "no \(p)")
        }
        XCTAssertEqual(paths.filter { $0.hasPrefix("k8s/") }.count, 3, "two chat pods and the queue worker")
    }

    /// Each file decodes with the decoder its platform needs, every line taken, the events as counted.
    func testEveryFileDecodesAsItsPlatform() throws {
        let rec = PlatformRecording(scenario: .incident, seed: 2, durationSeconds: 45)
        let expected: [String: String] = [
            PlatformWriter.functionsFile: "aws-lambda", PlatformWriter.edgeFile: "cloudflare-workers",
            PlatformWriter.vercelFile: "vercel", PlatformWriter.postgresFile: "postgres",
        ]
        for (path, bytes) in rec.files {
            var decoder = AutoDecoder.standard()
            var events: [Event] = []
            var formats: Set<String> = []
            var lines = 0
            var produced = 0
            for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: false).dropLast() {
                lines += 1
                let outcome = Array(line).withUnsafeBufferPointer { decoder.decode($0, source: SourceID(0), into: &events) }
                if case .malformed(let why) = outcome { XCTFail("\(path): \(why): \(String(decoding: line, as: UTF8.self))") }
                if let f = decoder.lastFormat { formats.insert(f) }
            }
            decoder.flush(source: SourceID(0), into: &events)
            produced = events.count
            let count = try XCTUnwrap(rec.platform.files[path])
            XCTAssertEqual(lines, count.lines, "\(path): lines")
            XCTAssertEqual(produced, count.events, "\(path): events")
            if let want = expected[path] {
                XCTAssertEqual(formats, [want], "\(path): formats")
            } else {
                XCTAssertEqual(formats, ["skein"], "\(path): pino and slog go through the convention's aliases")
            }
        }
    }
}
