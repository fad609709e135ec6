import Foundation
import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinApp

/// Every bundled recording, exported, agrees with the ground truth the simulator counted while
/// it ran (sample-logs/NAME.truth.json) — not with a re-reading of its own output.
final class SampleLogsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sample-logs")

    struct Truth {
        let raw: [String: Any]
        func int(_ k: String) -> Int { raw[k] as? Int ?? -1 }
        func counts(_ k: String) -> [String: Int] { raw[k] as? [String: Int] ?? [:] }
        func time(_ k: String) -> Timestamp? { (raw[k] as? String).flatMap { TimeParsingBridge.parse($0) } }
    }

    private func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let log = Self.root.appendingPathComponent("\(name).ndjson").path
        let data = try Data(contentsOf: Self.root.appendingPathComponent("\(name).truth.json"))
        let truth = Truth(raw: try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any]))
        let s = try ExportJob(inputs: [log]).analyse()

        XCTAssertEqual(s.input.malformed, 0, name)
        XCTAssertEqual(s.input.lines, truth.int("lines"), name)
        XCTAssertEqual(s.traces.count, truth.int("traces"), "\(name): traces")
        XCTAssertEqual(s.traces.errors, truth.int("error_traces"), "\(name): error traces")
        XCTAssertEqual(s.coldStarts.count, truth.int("cold_starts"), "\(name): cold starts")
        let byRuntime = Dictionary(uniqueKeysWithValues: s.coldStarts.byRuntime.map { ($0.name, $0.count) })
        for (runtime, n) in truth.counts("cold_starts_by_runtime") {
            XCTAssertEqual(byRuntime[runtime], n, "\(name): cold starts on \(runtime)")
        }
        var byDeploy: [String: Int] = [:]
        for i in s.instances { byDeploy[i.deploy?.rawValue ?? "?", default: 0] += 1 }
        let instances = truth.counts("instances_by_deploy")
        XCTAssertEqual(byDeploy["edge"] ?? 0, instances["edge"], "\(name): edge instances")
        XCTAssertEqual(byDeploy["serverless"] ?? 0, instances["serverless"], "\(name): serverless instances")
        // The truth counts Postgres itself as a server; the fleet lists the apps that hold connections.
        XCTAssertEqual((byDeploy["server"] ?? 0) + 1, instances["server"], "\(name): server instances")

        XCTAssertEqual(s.db.maxConnections, truth.int("max_connections"), "\(name): max_connections")
        XCTAssertEqual(s.db.peakOpen, truth.int("peak_server_connections"), "\(name): peak connections")
        if let peakAt = truth.time("peak_server_connections_at"), let got = s.db.peakAt {
            // The server is sampled once a second.
            XCTAssertLessThanOrEqual(abs(got.ms(since: peakAt)), 1_000, "\(name): peak time")
        }
        let refused = s.db.errorsByKind.first { $0.name == DBErrorKind.tooManyClients.rawValue }?.count ?? 0
        XCTAssertEqual(refused, truth.int("too_many_clients_errors"), "\(name): too many clients")
        let exhaustion = s.insights.first { $0.kind == .connectionExhaustion }
        if let first = truth.time("first_exhaustion_at") {
            let got = try XCTUnwrap(s.db.firstExhaustionAt, "\(name): first exhaustion")
            // Source clocks are skewed by up to ±300 ms, and samples come once a second.
            XCTAssertLessThanOrEqual(abs(got.ms(since: first)), 1_000, "\(name): first exhaustion time")
            XCTAssertEqual(exhaustion?.severity, .critical, "\(name): exhaustion insight")
        } else {
            XCTAssertNil(s.db.firstExhaustionAt, "\(name): no exhaustion")
            XCTAssertNil(exhaustion, "\(name): no exhaustion insight")
        }
        let after = s.recentTraces.filter { $0.flags.contains(.afterResponse) }.count
        XCTAssertEqual(after, truth.int("after_response"), "\(name): work after the response")
        XCTAssertEqual(after > 0, s.insights.contains { $0.kind == .workAfterResponse }, "\(name): after-response insight")
        let cpu = s.recentTraces.filter { $0.flags.contains(.cpuLimit) }.count
        XCTAssertEqual(cpu, truth.int("edge_cpu_limit_exceeded"), "\(name): edge CPU limit")
    }

    func testSteady() throws { try check("steady") }
    func testBurst() throws {
        try check("burst")
        let s = try ExportJob(inputs: [Self.root.appendingPathComponent("burst.ndjson").path]).analyse()
        XCTAssertTrue(s.insights.contains { $0.kind == .coldStartCascade }, "a burst cascades into cold starts")
    }
    func testAfterResponse() throws { try check("after-response") }
    func testPooler() throws { try check("pooler") }
    func testIncident() throws { try check("incident") }

    /// The incident written as the platforms print it (sample-logs/mixed/), exported as one
    /// directory: the cross-format stitching has to reach the truth of what those formats can tell.
    func testMixedPlatformFormats() throws {
        let dir = Self.root.appendingPathComponent("mixed")
        let data = try Data(contentsOf: Self.root.appendingPathComponent("mixed.truth.json"))
        let truth = Truth(raw: try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any]))
        // No platform line states max_connections: the user says it, as with `--db-max`.
        let s = try ExportJob(inputs: [dir.path], dbMax: truth.int("max_connections")).analyse()

        let sources = try XCTUnwrap(truth.raw["sources"] as? [String: [String: Int]])
        XCTAssertEqual(s.input.sources.count, sources.count, "one source per file")
        for src in s.input.sources {
            let rel = String(src.name.dropFirst(dir.path.count + 1))
            let want = try XCTUnwrap(sources[rel], "unexpected source \(src.name)")
            XCTAssertEqual(src.lines, want["lines"], "\(rel): lines")
            XCTAssertEqual(src.events, want["events"], "\(rel): events")
            XCTAssertEqual(src.malformed, want["malformed"], "\(rel): malformed")
            // Every line of a platform file is taken by its platform's decoder, the lines it held
            // (a Postgres DETAIL, Lambda's END and REPORT) included: one format, counted per line.
            XCTAssertEqual(src.formats.count, 1, "\(rel): formats \(src.formats)")
            XCTAssertEqual(src.formats.values.reduce(0, +), src.lines - src.malformed, "\(rel): lines per format")
        }
        XCTAssertEqual(s.input.lines, truth.int("lines"))
        XCTAssertEqual(s.input.malformed, 0)

        XCTAssertEqual(s.traces.count, truth.int("traces"), "traces")
        XCTAssertEqual(s.traces.errors, truth.int("error_traces"), "error traces")
        XCTAssertEqual(s.coldStarts.count, truth.int("cold_starts"), "cold starts")
        let byRuntime = Dictionary(uniqueKeysWithValues: s.coldStarts.byRuntime.map { ($0.name, $0.count) })
        XCTAssertEqual(byRuntime, truth.counts("cold_starts_by_runtime"), "cold starts per runtime")
        var byDeploy: [String: Int] = [:]
        for i in s.instances { byDeploy[i.deploy?.rawValue ?? "unknown", default: 0] += 1 }
        XCTAssertEqual(byDeploy, truth.counts("instances_by_deploy"), "instances per deploy model")

        XCTAssertEqual(s.db.maxConnections, truth.int("max_connections"))
        XCTAssertTrue(s.db.serverTruth, "the server log gives Postgres' own count")
        XCTAssertEqual(s.db.peakOpen, truth.int("peak_server_connections"), "peak connections")
        let peakAt = try XCTUnwrap(truth.time("peak_server_connections_at"))
        let gotPeak = try XCTUnwrap(s.db.peakAt)
        // The server's clock is off by at most 5 ms; connections are logged when they happen.
        XCTAssertLessThanOrEqual(abs(gotPeak.ms(since: peakAt)), 10, "peak time")
        let refused = s.db.errorsByKind.first { $0.name == DBErrorKind.tooManyClients.rawValue }?.count ?? 0
        // Each refusal is reported twice, by Postgres (FATAL) and by the app that was refused, and
        // counted once.
        XCTAssertEqual(truth.int("too_many_clients_errors"), 2 * truth.int("too_many_clients_refusals"))
        XCTAssertEqual(refused, truth.int("too_many_clients_refusals"), "too many clients")
        let first = try XCTUnwrap(truth.time("first_exhaustion_at"))
        let gotFirst = try XCTUnwrap(s.db.firstExhaustionAt, "first exhaustion")
        XCTAssertLessThanOrEqual(abs(gotFirst.ms(since: first)), 300, "first exhaustion time")
        XCTAssertEqual(s.insights.first { $0.kind == .connectionExhaustion }?.severity, .critical)

        let after = s.recentTraces.filter { $0.flags.contains(.afterResponse) }.count
        XCTAssertEqual(after, truth.int("after_response"), "work after the response")
        let cpu = s.recentTraces.filter { $0.flags.contains(.cpuLimit) }.count
        XCTAssertEqual(cpu, truth.int("edge_cpu_limit_exceeded"), "edge CPU limit")
        // Every function hop found its trace: no trace is rooted at an origin service.
        let roots = Set(s.recentTraces.compactMap(\.rootService))
        XCTAssertEqual(roots, ["edge-api"], "every trace starts at the edge")
    }
}

/// RFC 3339 for the test's truth files, through the product's own parser.
enum TimeParsingBridge {
    static func parse(_ s: String) -> Timestamp? { try? parseTime(s, start: .zero) }
}
