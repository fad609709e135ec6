import SkeinCore

/// A whole simulated run written in the platforms' own formats: one file per log source, each in
/// the order its tool prints it, and the ground truth of what those files can tell.
public struct PlatformRecording: Sendable {
    /// Relative path → contents (newline-terminated lines), sorted by path.
    public let files: [(path: String, bytes: [UInt8])]
    public let simulated: GroundTruth
    public let platform: PlatformTruth

    /// Runs `scenario` to its end (or `durationSeconds`) and renders every source's file.
    public init(scenario: Scenario, seed: UInt64, maxConnections: Int = 100, durationSeconds: Double? = nil) {
        var sim = Simulator(scenario: scenario, seed: seed, maxConnections: maxConnections,
                            durationSeconds: durationSeconds, platformFormats: true)
        _ = sim.run()
        self.init(simulator: sim)
    }

    /// Renders the platform records a simulator (made with `platformFormats`) has written so far.
    public init(simulator sim: Simulator) {
        simulated = sim.truth
        platform = sim.platformTruth ?? PlatformTruth()
        // Each tool prints in time order (`aws logs tail` sorts, a server log is written as it goes).
        var byFile: [String: [PlatformLine]] = [:]
        for line in sim.platformLines ?? [] { byFile[line.file, default: []].append(line) }
        var files: [(String, [UInt8])] = []
        for path in byFile.keys.sorted() {
            let lines = byFile[path]!.sorted { ($0.time, $0.seq) < ($1.time, $1.seq) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(lines.reduce(0) { $0 + $1.bytes.count + 1 })
            for l in lines {
                bytes.append(contentsOf: l.bytes)
                bytes.append(0x0a)
            }
            files.append((path, bytes))
        }
        self.files = files
    }

    /// Work seen after a response: the platform formats show it only when the work logs later
    /// (finished or failed); work still frozen at the end leaves no line after the response.
    public var afterResponseVisible: Int { simulated.afterResponseFinishedLate + simulated.afterResponseFailed }

    /// The ground truth as JSON (fixed key order, ending in a newline): what the files can tell at
    /// the top level, what they lose under `lost`, and everything that happened under `simulated`.
    public var truthJSON: String {
        let s = simulated
        let p = platform
        var w = TruthJSON()
        func raw(_ key: String, _ value: String) { w.raw(key, value) }
        let str = TruthJSON.string, time = TruthJSON.time, map = TruthJSON.counts
        raw("scenario", str(s.scenario))
        raw("seed", String(s.seed))
        raw("format", str("platform"))
        raw("max_connections", String(s.maxConnections))
        raw("max_connections_in_logs", "false")
        raw("traces", String(s.traces))
        raw("error_traces", String(s.errorTraces))
        raw("cold_starts", String(p.coldStarts))
        raw("cold_starts_by_runtime", map(p.coldStartsByRuntime))
        raw("instances_by_deploy", map(p.instancesByDeploy))
        raw("peak_server_connections", String(s.peakServerConnections))
        raw("peak_server_connections_at", time(s.peakServerConnectionsAt))
        raw("first_exhaustion_at", time(s.firstExhaustionAt))
        raw("too_many_clients_refusals", String(s.tooManyClientsErrors))
        raw("too_many_clients_errors", String(p.serverRefusals + p.appRefusals))
        raw("after_response", String(afterResponseVisible))
        raw("edge_cpu_limit_exceeded", String(s.edgeCPULimitExceeded))
        raw("lines", String(p.files.values.reduce(0) { $0 + $1.lines }))
        let sources = p.files.keys.sorted().map { k in
            "    \(str(k)): {\"lines\": \(p.files[k]!.lines), \"events\": \(p.files[k]!.events), \"malformed\": 0}"
        }
        raw("sources", "{\n" + sources.joined(separator: ",\n") + "\n  }")
        let lostCold = p.lost.edgeColdStarts + p.lost.serverColdStarts
        raw("lost", "{\"cold_starts\": \(lostCold), \"edge_cold_starts\": \(p.lost.edgeColdStarts), "
            + "\"server_cold_starts\": \(p.lost.serverColdStarts), "
            + "\"after_response\": \(s.afterResponse - afterResponseVisible)}")
        let nested = s.json.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n").dropFirst(2)
        raw("simulated", String(nested))
        return w.finish()
    }
}
