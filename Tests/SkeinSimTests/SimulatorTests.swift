import XCTest
import SkeinCore
import SkeinDecoders
import SkeinSim

/// The fields of one emitted line the tests look at, read with Skein's own JSON scanner.
struct ParsedLine {
    var ts: Timestamp?
    var service = ""
    var instance = ""
    var deploy = ""
    var event = ""
    var correlationID: String?
    var traceID: String?
    var spanID: String?
    var parentSpanID: String?
    var status: Int?
    var dbOpen: Int?
    var dbMax: Int?
    var dbError: String?
    var cpuMS: Double?
    var initMS: Double?
    var runtime: String?
    var keys: [String] = []
}

enum LineReader {
    /// Parses one line; nil when it is not a single valid JSON object.
    static func parse(_ bytes: [UInt8]) -> ParsedLine? {
        var tape = JSONTape()
        return bytes.withUnsafeBufferPointer { buf -> ParsedLine? in
            do throws(JSONTape.Failure) { try tape.parse(buf) } catch { return nil }
            let doc = JSONDocument(tape: tape, bytes: buf)
            guard doc.kind(doc.root) == .object else { return nil }
            var p = ParsedLine()
            doc.forEachMember(doc.root) { k, v in
                let key = doc.string(k)
                p.keys.append(key)
                switch key {
                case "ts": p.ts = parseTS(doc.string(v))
                case "service": p.service = doc.string(v)
                case "instance": p.instance = doc.string(v)
                case "deploy": p.deploy = doc.string(v)
                case "runtime": p.runtime = doc.string(v)
                case "event": p.event = doc.string(v)
                case "correlation_id": p.correlationID = doc.string(v)
                case "trace_id": p.traceID = doc.string(v)
                case "span_id": p.spanID = doc.string(v)
                case "parent_span_id": p.parentSpanID = doc.string(v)
                case "status": p.status = doc.int(v)
                case "db_open": p.dbOpen = doc.int(v)
                case "db_max": p.dbMax = doc.int(v)
                case "db_error": p.dbError = doc.string(v)
                case "cpu_ms": p.cpuMS = doc.double(v)
                case "init_ms": p.initMS = doc.double(v)
                default: break
                }
            }
            return p
        }
    }

    /// `2026-11-23T10:00:00.120Z` → Timestamp (the simulator always writes this exact shape).
    static func parseTS(_ s: String) -> Timestamp? {
        let b = Array(s.utf8)
        guard b.count == 24, b[23] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int64 { r.reduce(0) { $0 * 10 + Int64(b[$1] - 48) } }
        let days = Timestamp.days(year: num(0..<4), month: num(5..<7), day: num(8..<10))
        let secs = days * 86_400 + num(11..<13) * 3600 + num(14..<16) * 60 + num(17..<19)
        return Timestamp(nanos: secs * 1_000_000_000 + num(20..<23) * 1_000_000)
    }
}

/// A whole scenario run, parsed once per test class.
struct Run {
    var lines: [SimLine]
    var parsed: [ParsedLine]
    var truth: GroundTruth

    init(_ scenario: Scenario, seed: UInt64 = 1, maxConnections: Int = 100) {
        var sim = Simulator(scenario: scenario, seed: seed, maxConnections: maxConnections)
        lines = sim.run()
        truth = sim.truth
        parsed = lines.compactMap { LineReader.parse($0.bytes) }
    }

    func count(_ event: String) -> Int { parsed.filter { $0.event == event }.count }
    var samples: [ParsedLine] { parsed.filter { $0.event == "db.sample" } }
    var tooManyClients: Int { parsed.filter { $0.dbError == "too_many_clients" }.count }
}

final class SimulatorTests: XCTestCase {
    nonisolated(unsafe) static var cache: [String: Run] = [:]
    static func run(_ s: Scenario) -> Run {
        if let r = cache[s.rawValue] { return r }
        let r = Run(s)
        cache[s.rawValue] = r
        return r
    }

    // MARK: determinism

    func testSameSeedSameBytesHoweverAdvanced() {
        var a = Simulator(scenario: .burst, seed: 42, durationSeconds: 40)
        let whole = a.run()
        var b = Simulator(scenario: .burst, seed: 42, durationSeconds: 40)
        var chunked: [SimLine] = []
        var t = b.start
        while t < b.scenarioEnd {
            t = t.adding(ms: 337)
            chunked += b.advance(to: min(t, b.scenarioEnd))
        }
        chunked += b.flush()
        XCTAssertFalse(whole.isEmpty)
        XCTAssertEqual(whole.map(\.bytes), chunked.map(\.bytes))
        XCTAssertEqual(whole.map(\.arrival), chunked.map(\.arrival))
        XCTAssertEqual(a.truth, b.truth)
        XCTAssertEqual(a.truth.json, b.truth.json)
    }

    func testDifferentSeedDifferentBytes() {
        var a = Simulator(scenario: .steady, seed: 1, durationSeconds: 20)
        var b = Simulator(scenario: .steady, seed: 2, durationSeconds: 20)
        XCTAssertNotEqual(a.run().map(\.bytes), b.run().map(\.bytes))
    }

    // MARK: every line

    func testEveryLineIsValidJSONInConventionOrder() {
        for s in Scenario.allCases {
            let r = Self.run(s)
            XCTAssertEqual(r.parsed.count, r.lines.count, "\(s): some lines are not valid JSON")
            XCTAssertEqual(r.lines.count, r.truth.lines, "\(s)")
            for p in r.parsed.prefix(2000) {
                XCTAssertEqual(Array(p.keys.prefix(3)), ["ts", "service", "instance"])
                XCTAssertNotNil(p.ts)
                XCTAssertNotNil(EventKind(rawValue: p.event), p.event)
                XCTAssertNotNil(DeployModel(rawValue: p.deploy), p.deploy)
                XCTAssertFalse(r.lines.contains { $0.bytes.contains(0x0a) })
            }
        }
    }

    func testSkewIsBoundedAndArrivalIsOutOfOrderButBounded() {
        let r = Self.run(.incident)
        var outOfOrder = 0
        var lastTS: Timestamp?
        var previousArrival = Timestamp.zero
        for (line, p) in zip(r.lines, r.parsed) {
            let skew = p.ts!.ms(since: line.time)
            // ts is truncated to whole milliseconds.
            XCTAssertLessThanOrEqual(abs(skew), 301, "skew \(skew) ms")
            let delay = line.arrival.ms(since: line.time)
            XCTAssertGreaterThanOrEqual(delay, 0)
            XCTAssertLessThanOrEqual(delay, 1000)
            XCTAssertGreaterThanOrEqual(line.arrival, previousArrival)
            previousArrival = line.arrival
            if let l = lastTS, p.ts! < l { outOfOrder += 1 }
            lastTS = p.ts
        }
        XCTAssertGreaterThan(outOfOrder, r.lines.count / 20, "arrival order should differ from ts order")
    }

    // MARK: ground truth matches the lines

    func testTruthMatchesLinesInEveryScenario() {
        for s in Scenario.allCases {
            let r = Self.run(s)
            let t = r.truth
            let corr = Set(r.parsed.compactMap(\.correlationID))
            XCTAssertEqual(corr.count, t.traces, "\(s): distinct correlation ids")
            XCTAssertEqual(Set(r.parsed.compactMap(\.traceID)).count, t.tracesWithTraceID, "\(s)")
            XCTAssertEqual(r.count("instance.start"), t.coldStarts, "\(s)")
            XCTAssertEqual(r.count("instance.stop"), t.instancesStopped, "\(s)")
            XCTAssertEqual(r.count("bg.start"), t.afterResponse, "\(s)")
            XCTAssertEqual(r.count("bg.end"), t.afterResponseFinishedLate, "\(s)")
            XCTAssertEqual(r.count("ws.open"), t.webSocketsOpened, "\(s)")
            XCTAssertEqual(r.tooManyClients, t.tooManyClientsErrors, "\(s)")
            let edgeEnds = r.parsed.filter { $0.service == "edge-api" && $0.event == "request.end" }
            XCTAssertEqual(edgeEnds.count, t.completedTraces, "\(s)")
            XCTAssertEqual(edgeEnds.filter { ($0.status ?? 0) >= 500 }.count, t.errorTraces, "\(s)")
            for (deploy, n) in t.instancesByDeploy {
                XCTAssertEqual(Set(r.parsed.filter { $0.deploy == deploy }.map(\.instance)).count, n, "\(s) \(deploy)")
            }
            var byRuntime: [String: Int] = [:]
            for p in r.parsed where p.event == "instance.start" { byRuntime[p.runtime ?? "-", default: 0] += 1 }
            byRuntime["-"] = nil
            XCTAssertEqual(byRuntime, t.coldStartsByRuntime, "\(s)")
            let peakSample = r.samples.compactMap(\.dbOpen).max() ?? 0
            XCTAssertLessThanOrEqual(peakSample, t.peakServerConnections, "\(s)")
            XCTAssertLessThanOrEqual(t.peakServerConnections, t.maxConnections, "\(s)")
            XCTAssertTrue(r.samples.allSatisfy { $0.dbMax == t.maxConnections })
            XCTAssertGreaterThan(t.traces, 100, "\(s)")
            XCTAssertGreaterThan(t.completedTraces, t.traces * 9 / 10, "\(s)")
        }
    }

    func testSpansLinkHopsToTheirParents() {
        let r = Self.run(.steady)
        var spans: Set<String> = []
        for p in r.parsed { if let s = p.spanID { spans.insert(s) } }
        var dangling = 0
        var linked = 0
        for p in r.parsed { if let parent = p.parentSpanID { if spans.contains(parent) { linked += 1 } else { dangling += 1 } } }
        XCTAssertGreaterThan(linked, 1000)
        XCTAssertEqual(dangling, 0)
        // Some requests carry only a correlation id.
        XCTAssertGreaterThan(r.truth.traces, r.truth.tracesWithTraceID)
    }

    // MARK: scenarios

    func testSteadyNeverExhausts() {
        let r = Self.run(.steady)
        XCTAssertEqual(r.tooManyClients, 0)
        XCTAssertEqual(r.truth.errorTraces, 0)
        XCTAssertNil(r.truth.firstExhaustionAt)
        XCTAssertLessThan(r.truth.peakServerConnections, 60)
        XCTAssertEqual(r.truth.afterResponse, 0)
        XCTAssertEqual(r.truth.edgeCPULimitExceeded, 0)
        XCTAssertTrue(r.parsed.allSatisfy { ($0.cpuMS ?? 0) <= 50 })
    }

    func testBurstCascadesIntoExhaustionAndRecovers() throws {
        let r = Self.run(.burst)
        let t = r.truth
        XCTAssertGreaterThan(r.tooManyClients, 0)
        XCTAssertEqual(r.samples.compactMap(\.dbOpen).max(), t.maxConnections)
        XCTAssertEqual(t.peakServerConnections, t.maxConnections)
        let first = try XCTUnwrap(t.firstExhaustionAt)
        // The ramp starts 20 s in; the pools fill it within the ramp.
        XCTAssertGreaterThan(first.ms(since: t.start), 20_000)
        XCTAssertLessThan(first.ms(since: t.start), 45_000)
        XCTAssertGreaterThan(t.errorTraces, 10)
        XCTAssertGreaterThan(t.coldStartsByDeploy["serverless"] ?? 0, 30)
        // Recovery: the last samples are well below the limit because idle instances were reaped.
        let last = try XCTUnwrap(r.samples.last?.dbOpen)
        XCTAssertLessThan(last, t.maxConnections * 3 / 4)
        XCTAssertGreaterThan(t.instancesStopped, 10)
        // Errors stop before the end.
        let lastError = try XCTUnwrap(r.lines.indices.filter { r.parsed[$0].dbError != nil }.last.map { r.lines[$0].time })
        XCTAssertLessThan(lastError.ms(since: t.start), Double(Scenario.burst.defaultDurationSeconds) * 1000 - 20_000)
    }

    func testPoolerAbsorbsTheSameBurst() {
        let r = Self.run(.pooler)
        let burst = Self.run(.burst)
        XCTAssertEqual(r.tooManyClients, 0)
        XCTAssertEqual(r.truth.errorTraces, 0)
        XCTAssertLessThanOrEqual(r.truth.poolerServerConnections, Simulator.poolerPoolSize)
        XCTAssertLessThanOrEqual(r.truth.peakServerConnections, 22 + Simulator.poolerPoolSize)
        XCTAssertLessThan(r.samples.compactMap(\.dbOpen).max() ?? 0, r.truth.maxConnections / 2)
        // Same traffic shape: a comparable cold-start cascade.
        XCTAssertGreaterThan(r.truth.coldStartsByDeploy["serverless"] ?? 0, 30)
        XCTAssertEqual(Double(r.truth.traces), Double(burst.truth.traces), accuracy: Double(burst.truth.traces) * 0.15)
    }

    func testAfterResponseWorkIsFrozen() {
        let r = Self.run(.afterResponse)
        let t = r.truth
        XCTAssertGreaterThan(t.afterResponse, 10)
        XCTAssertGreaterThan(t.afterResponseFinishedLate, 0)
        XCTAssertLessThan(t.afterResponseFinishedLate + t.afterResponseLost, t.afterResponse + 1)
        // Every bg.start follows a response.sent of the same request.
        var responded: Set<String> = []
        var outOfTurn = 0
        for p in r.parsed.sorted(by: { $0.ts! < $1.ts! }) where p.event == "response.sent" || p.event == "bg.start" {
            if p.event == "response.sent" { responded.insert(p.correlationID!) }
            else if !responded.contains(p.correlationID!) { outOfTurn += 1 }
        }
        // Skew is per instance and both lines come from one instance, so ts order holds.
        XCTAssertEqual(outOfTurn, 0)
    }

    func testIncidentTellsTheWholeStory() {
        let r = Self.run(.incident)
        let t = r.truth
        XCTAssertGreaterThan(r.tooManyClients, 0)
        XCTAssertNotNil(t.firstExhaustionAt)
        XCTAssertGreaterThan(t.afterResponse, 0)
        XCTAssertGreaterThan(t.edgeCPULimitExceeded, 0)
        XCTAssertEqual(r.parsed.filter { ($0.cpuMS ?? 0) > 50 }.count, t.edgeCPULimitExceeded)
        XCTAssertEqual(t.peakServerConnections, t.maxConnections)
    }

    func testLargerMaxConnectionsAvoidsExhaustion() {
        var sim = Simulator(scenario: .burst, seed: 1, maxConnections: 400)
        _ = sim.run()
        XCTAssertEqual(sim.truth.tooManyClientsErrors, 0)
        XCTAssertGreaterThan(sim.truth.peakServerConnections, 100)
    }

    func testKeepsRunningSteadyAfterTheStory() {
        var sim = Simulator(scenario: .afterResponse, seed: 3, durationSeconds: 10)
        _ = sim.advance(to: sim.scenarioEnd)
        let before = sim.truth.traces
        let bg = sim.truth.afterResponse
        let more = sim.advance(to: sim.scenarioEnd.adding(ms: 30_000))
        XCTAssertFalse(more.isEmpty)
        XCTAssertGreaterThan(sim.truth.traces, before + 50)
        XCTAssertEqual(sim.truth.afterResponse, bg)
        XCTAssertEqual(sim.now, sim.scenarioEnd.adding(ms: 30_000))
    }

    func testGroundTruthJSONIsValidAndStable() {
        let t = Self.run(.burst).truth
        let bytes = Array(t.json.utf8)
        XCTAssertNotNil(LineReader.parse(bytes.filter { $0 != 0x0a }))
        XCTAssertTrue(t.json.hasPrefix("{\n  \"scenario\": \"burst\",\n  \"seed\": 1,"))
        XCTAssertTrue(t.json.contains("\"max_connections\": 100"))
    }
}
