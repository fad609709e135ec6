import Foundation
import XCTest
import SkeinCore
import SkeinEngine
import SkeinOutputs
import SkeinSources
@testable import SkeinApp

/// An export decodes keeping only notable messages' text (`DecodeContext.keepsEveryMessage` off):
/// its report must be, byte for byte, the one decoding every message gives.
final class NotableMessageExportTests: XCTestCase {
    private static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func report(_ input: String, keepsEveryMessage: Bool) -> [UInt8] {
        let job = ExportJob(inputs: [input])
        XCTAssertFalse(job.engineConfig.keepsTraceLines, "an export keeps no log lines, so it may drop routine text")
        let engine = Engine(config: job.engineConfig)
        let reader = BatchReader(decoder: Decoding.factory(keepsEveryMessage: keepsEveryMessage))
        _ = reader.read([InputSpec(argument: input)], into: engine)
        engine.finish()
        return JSONExporter().render(engine.snapshot(movingSummaries: true))
    }

    func testReportsAreTheSameAsWithEveryMessage() throws {
        let samples = Self.repo.appendingPathComponent("sample-logs")
        var inputs = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".ndjson") }
            .sorted().map { samples.appendingPathComponent($0).path }
        inputs.append(samples.appendingPathComponent("mixed").path)
        inputs.append(AllFormatsTests.fixtures.path + "/*/*.input")
        for input in inputs {
            let all = report(input, keepsEveryMessage: true)
            let notable = report(input, keepsEveryMessage: false)
            XCTAssertGreaterThan(all.count, 1000, input)
            XCTAssertTrue(all == notable, "\(input): the reports differ")
        }
    }
}
