import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import SkeinCollector
import SkeinCore
import SkeinEngine
@testable import SkeinApp

/// `skein tail --listen` in process: a real listener on loopback feeding the live feed's engine.
final class CollectorSourceTests: XCTestCase {
    private func post(_ body: String, port: Int, path: String = "/ingest") throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let done = expectation(description: "answer")
        nonisolated(unsafe) var status = -1
        URLSession.shared.dataTask(with: request) { _, response, _ in
            status = (response as? HTTPURLResponse)?.statusCode ?? -1
            done.fulfill()
        }.resume()
        wait(for: [done], timeout: 10)
        return status
    }

    func testListenerFeedsTheEngineAndRecordsWithHealth() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-collector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let record = dir.appendingPathComponent("rec.ndjson").path
        var config = CollectorConfig()
        config.port = 0
        let source = try CollectorSource(config: config)
        let feed = try LiveFeed(inputs: [], decoderFormat: nil, config: EngineConfig(), record: record)
        feed.add(source)

        XCTAssertEqual(try post(PipelineTests.crossHop, port: source.port), 200)
        var snapshot = feed.snapshot()
        for _ in 0..<500 where snapshot.input.events < 7 {
            _ = feed.pump(budget: 0.01)
            snapshot = feed.snapshot()
            if snapshot.input.events < 7 { usleep(5_000) }
        }
        XCTAssertEqual(snapshot.input.events, 7)
        XCTAssertEqual(snapshot.input.malformed, 1)
        let listener = try XCTUnwrap(snapshot.input.sources.first { $0.name == "listen 127.0.0.1:0" })
        XCTAssertEqual(listener.health, .reading)
        XCTAssertEqual(listener.lines, 8)
        XCTAssertFalse(feed.isFinished, "a listener never ends the input by itself")

        // Quiet for a while: the listener goes back to waiting.
        for _ in 0..<25 { _ = feed.pump(budget: 0.01) }
        XCTAssertEqual(feed.snapshot().input.sources.first { $0.name == "listen 127.0.0.1:0" }?.health, .waiting)

        feed.finish()
        feed.close()
        XCTAssertEqual(feed.snapshot().traces.count, 2)
        XCTAssertEqual(feed.snapshot().input.sources.first { $0.name == "listen 127.0.0.1:0" }?.health, .finished)
        let recorded = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(recorded.count, 7)
        // Closed: nothing listens any more.
        XCTAssertEqual(try post("{}", port: source.port), -1)
    }

    func testABusyPortIsAnErrorForTheUser() throws {
        var config = CollectorConfig()
        config.port = 0
        let first = try CollectorSource(config: config)
        defer { first.close() }
        config.port = first.port
        XCTAssertThrowsError(try CollectorSource(config: config)) { error in
            guard case .bind(let address, _)? = error as? CollectorError else { return XCTFail("\(error)") }
            XCTAssertEqual(address, "127.0.0.1:\(first.port)")
        }
    }
}
