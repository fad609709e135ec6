import ArgumentParser
import Foundation
import SkeinApp
import SkeinCollector
import SkeinCore
import SkeinEngine
import SkeinOutputs
import SkeinSim
import SkeinSources
import SkeinTerminal
import SkeinUI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Skein: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skein",
        abstract: "Stitch logs from edge, serverless and long-running instances into traces; watch cold starts and DB connections.",
        version: "0.1.0",
        subcommands: [Demo.self, Tail.self, Replay.self, Export.self],
        defaultSubcommand: nil
    )
}

/// Options every dashboard verb shares.
struct ViewOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one line per finished trace and per insight instead of the dashboard.")
    var noTui = false
    @Flag(name: .long, help: "With --no-tui: print JSON objects, one per line.")
    var json = false
    @Flag(name: .long, help: "ASCII borders and sparklines only.")
    var ascii = false
    @Option(name: .long, help: "max_connections of the database, when no log line tells it.")
    var dbMax: Int?

    var interactive: Bool { !noTui && isatty(1) != 0 && isatty(0) != 0 }

    func engineConfig() -> EngineConfig {
        var c = EngineConfig()
        c.dbMax = dbMax
        return c
    }
}

func runDashboard(_ feed: some DashboardFeed, ascii: Bool) throws {
    var options = TerminalOptions()
    options.asciiOnly = ascii
    // Nothing prints finished traces under the dashboard: don't let them pile up.
    (feed as? EngineFeed)?.discardsDrains = true
    _ = try TerminalApp.run(feed: feed, options: options)
}

/// Headless loop shared by tail, replay and demo: pump, print, until finished or stopped.
func runHeadless(_ feed: EngineFeed, json: Bool, idleSleepMS: Int = 100) throws {
    StopSignal.install()
    let printer = HeadlessPrinter(json: json)
    while !StopSignal.requested {
        let changed = feed.pump(budget: 0.05)
        try printer.drain(feed.engine)
        if feed.isFinished { break }
        if !changed { pause(milliseconds: idleSleepMS) }
    }
    feed.finish()
    try printer.drain(feed.engine)
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "A simulated hybrid fleet (edge, Lambda, Vercel, a chat server, Postgres) through the live dashboard.",
        discussion: Scenario.allCases.map { "\($0.rawValue): \($0.summary)" }.joined(separator: "\n")
    )

    @Option(name: .long, help: "steady, burst, after-response, pooler or incident.")
    var scenario: String = "incident"
    @Option(name: .long, help: "Seed: the same seed gives the same logs, byte for byte.")
    var seed: UInt64 = 1
    @Option(name: .long, help: "Simulated seconds per real second, or max.")
    var speed: String = "1"
    @Option(name: .long, help: "Simulated time to run (120s, 5m). Default: the scenario's length, then steady traffic until quit (headless: the scenario's length).")
    var duration: String?
    @Option(name: .long, help: "Postgres max_connections in the simulation.")
    var maxConnections: Int = 100
    @Option(name: .long, help: "Write the emitted logs to FILE as NDJSON.")
    var record: String?
    @Option(name: .long, help: "On exit, write the simulator's ground truth (traces, cold starts, peak connections, first exhaustion) to FILE as JSON.")
    var truth: String?
    @Flag(name: .long, help: "Write each source as its platform prints it (aws logs tail, wrangler tail, Vercel drain, pino, slog, the Postgres log) into the directory --record names, then exit.")
    var platformFormats = false
    @OptionGroup var view: ViewOptions

    func validate() throws {
        guard Scenario(rawValue: scenario) != nil else {
            throw ValidationError("unknown scenario \(scenario): choose one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard speed == "max" || (Double(speed).map { $0 > 0 } ?? false) else {
            throw ValidationError("bad speed \(speed): a positive number or max")
        }
        if let d = duration, parseDuration(d) == nil { throw ValidationError("bad duration \(d): e.g. 120s, 5m") }
        if platformFormats && record == nil { throw ValidationError("--platform-formats needs --record DIR") }
    }

    func run() throws {
        let sc = Scenario(rawValue: scenario)!
        if platformFormats, let dir = record {
            try writePlatformRecording(sc, dir: dir)
            return
        }
        let sp: ReplaySpeed = speed == "max" ? .max : .factor(Double(speed)!)
        var secs = duration.flatMap(parseDuration)
        if secs == nil && !view.interactive { secs = Double(sc.defaultDurationSeconds) }
        let feed = try DemoFeed(scenario: sc, seed: seed, speed: sp, duration: secs, maxConnections: maxConnections,
                                record: record, config: view.engineConfig())
        if view.interactive {
            try runDashboard(feed, ascii: view.ascii)
        } else {
            try runHeadless(feed, json: view.json, idleSleepMS: 10)
        }
        feed.close()
        if let truth { try feed.writeTruth(to: truth) }
    }
}

extension Demo {
    /// Runs the scenario headless and writes one file per source in its platform's format.
    func writePlatformRecording(_ sc: Scenario, dir: String) throws {
        let rec = PlatformRecording(scenario: sc, seed: seed, maxConnections: maxConnections,
                                    durationSeconds: duration.flatMap(parseDuration))
        let fm = FileManager.default
        var total = 0
        for (path, bytes) in rec.files {
            let url = URL(fileURLWithPath: dir).appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            total += bytes.count
        }
        if let truth { try Data(rec.truthJSON.utf8).write(to: URL(fileURLWithPath: truth)) }
        print("wrote \(rec.files.count) files, \(total) bytes, to \(dir)")
    }
}

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "The live dashboard over files (followed across rotation), directories, globs, stdin and the network collector."
    )

    @Argument(help: "Files, directories, globs, or - for standard input.")
    var inputs: [String] = []
    @Option(name: .long, help: "Force one input format instead of detecting it per line.")
    var format: String?
    @Option(name: .long, help: "Keep every decoded event as NDJSON in FILE, for skein replay.")
    var record: String?
    @Option(name: .long, help: ArgumentHelp("Collect OTLP/HTTP and log drains on HOST:PORT (a bare --listen is \(Tail.defaultListen)).", valueName: "HOST:PORT"))
    var listen: String?
    @Option(name: .long, help: "Bearer token the collector requires (needed when HOST is not loopback).")
    var token: String?
    @Option(name: .long, help: "Largest request body the collector takes, in bytes (default 16 MiB).")
    var maxBody: Int = 16 << 20
    @Option(name: .long, help: "Connections the collector holds at once; past this, new ones are answered 503 and closed.")
    var maxConnections: Int = 1024
    @Option(name: .long, help: "Seconds a request may take from its first byte to its last before the collector answers 408 and closes.")
    var requestTimeout: Int = 30
    @Option(name: .long, help: "Vercel drain signature secret: /ingest requests with x-vercel-signature must match it, and then need no token (or set SKEIN_VERCEL_SECRET).")
    var vercelSecret: String?
    @Option(name: .long, help: "Vercel drain verification code, sent as x-vercel-verify on GET /ingest and on /ingest answers.")
    var vercelVerify: String?
    @OptionGroup var view: ViewOptions
    @OptionGroup var database: DatabaseOptions

    static let defaultListen = "127.0.0.1:4318"

    func validate() throws {
        if inputs.isEmpty && listen == nil && !database.any {
            throw ValidationError("name at least one input (a file, directory, glob, or - for stdin), --listen, --pg or --pgbouncer")
        }
        try database.validate()
        if let f = format, !Decoding.formatNames.contains(f) {
            throw ValidationError(AppError.unknownFormat(f, known: Decoding.formatNames).description)
        }
        if let l = listen {
            guard let (host, _) = CollectorConfig.parseAddress(l) else { throw ValidationError(CollectorError.badAddress(l).description) }
            if !CollectorConfig.isLoopback(host) && (token ?? "").isEmpty {
                throw ValidationError(CollectorError.tokenRequired(host: host).description)
            }
        }
        if maxBody < 1024 { throw ValidationError("--max-body \(maxBody) is too small: at least 1024 bytes") }
        if maxConnections < 1 { throw ValidationError("--max-connections \(maxConnections): at least 1") }
        if requestTimeout < 1 { throw ValidationError("--request-timeout \(requestTimeout): at least 1 second") }
    }

    func collectorConfig() -> CollectorConfig? {
        guard let l = listen, let (host, port) = CollectorConfig.parseAddress(l) else { return nil }
        var c = CollectorConfig()
        c.host = host
        c.port = port
        c.token = token
        c.maxBody = maxBody
        c.maxConnections = maxConnections
        c.requestTimeoutSeconds = requestTimeout
        c.vercelSecret = vercelSecret ?? ProcessInfo.processInfo.environment["SKEIN_VERCEL_SECRET"]
        c.vercelVerify = vercelVerify
        return c
    }

    func run() throws {
        let feed = try LiveFeed(inputs: inputs, decoderFormat: format, config: view.engineConfig(), record: record)
        defer { feed.close() }
        if let config = collectorConfig() {
            do {
                let source = try CollectorSource(config: config)
                feed.add(source)
                // The token is never echoed; only where to send.
                let host = config.host.contains(":") ? "[\(config.host)]" : config.host
                FileHandle.standardError.write(Data("skein: listening on http://\(host):\(source.port)\n".utf8))
            } catch let e as CollectorError {
                throw ValidationError(e.description)
            }
        }
        for source in try database.sources() { feed.add(source) }
        if view.interactive && !inputs.contains("-") {
            try runDashboard(feed, ascii: view.ascii)
        } else {
            try runHeadless(feed, json: view.json)
        }
    }
}

/// `tail`'s database samplers (issue #7): server truth about connections.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "Sample this PostgreSQL server once per interval: postgres://user@host:port/db?sslmode=disable. Missing parts come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (postgres:// alone uses them all).")
    var pg: String?
    @Option(name: .long, help: "Sample this PgBouncer's admin console (SHOW POOLS) once per interval: postgres://user@host:6432/pgbouncer?sslmode=disable. The user must be in admin_users or stats_users.")
    var pgbouncer: String?
    @Option(name: .long, help: "Seconds between database samples.")
    var pgInterval: Double = 1

    var any: Bool { pg != nil || pgbouncer != nil }

    func validate() throws {
        do {
            try PostgresSource.validate(pg: pg, pgbouncer: pgbouncer, intervalS: pgInterval)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func sources() throws -> [PostgresSource] {
        try PostgresSource.sources(pg: pg, pgbouncer: pgbouncer, intervalS: pgInterval)
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "The dashboard over recorded logs on a virtual clock: speed, pause, seek."
    )

    @Argument(help: "Recorded files, directories or globs.")
    var inputs: [String] = []
    @Option(name: .long, help: "Playback speed: 0.1 to 1000, or max.")
    var speed: String = "10"
    @Option(name: .long, help: "Start at this time (RFC 3339, or an offset such as +90s).")
    var from: String?
    @Option(name: .long, help: "Stop at this time (RFC 3339, or an offset such as +5m).")
    var to: String?
    @Option(name: .long, help: "Render the dashboard at WIDTHxHEIGHT as text and exit.")
    var snapshot: String?
    @Option(name: .long, help: "With --snapshot: the virtual time to render (RFC 3339 or +90s). Default: the end.")
    var at: String?
    @Option(name: .long, help: "Force one input format instead of detecting it per line.")
    var format: String?
    @OptionGroup var view: ViewOptions

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("name at least one recorded file") }
        guard speed == "max" || (Double(speed).map { $0 > 0 } ?? false) else {
            throw ValidationError("bad speed \(speed): 0.1 to 1000, or max")
        }
        if let s = snapshot { _ = try parseSize(s) }
    }

    func run() throws {
        let sp: ReplaySpeed = speed == "max" ? .max : .factor(Double(speed)!)
        if let size = snapshot {
            let (w, h) = try parseSize(size)
            print(try SnapshotJob(inputs: inputs, decoderFormat: format, config: view.engineConfig(), at: at,
                                  ascii: view.ascii).render(width: w, height: h), terminator: "")
            return
        }
        let feed = try ReplayFeed(paths: inputs, decoderFormat: format, config: view.engineConfig(), speed: view.interactive ? sp : .max,
                                  from: from, to: to)
        if view.interactive {
            try runDashboard(feed, ascii: view.ascii)
        } else {
            try runHeadless(feed, json: view.json, idleSleepMS: 1)
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Trace summaries and aggregates (instances, cold starts, DB connections, routes, insights) as JSON, CSV or Markdown."
    )

    @Argument(help: "Files, directories, globs, or - for standard input.")
    var inputs: [String] = []
    @Option(name: .long, help: "json, csv or markdown.")
    var format: String = "json"
    @Option(name: [.short, .long], help: "Write to FILE instead of standard output.")
    var output: String?
    @Option(name: .long, help: "max_connections of the database, when no log line tells it.")
    var dbMax: Int?
    @Option(name: .long, help: "Force one input format instead of detecting it per line.")
    var inputFormat: String?
    @Flag(name: .long, help: "Indent the JSON.")
    var pretty = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("name at least one input (a file, directory, glob, or - for stdin)") }
        guard ExportFormat(name: format) != nil else {
            throw ValidationError("unknown export format \(format): json, csv or markdown")
        }
    }

    func run() throws {
        // 4 MiB steps: heap population fills each step as the heap reaches it, and the last
        // step's unused part is populated too (a million lines: 16 MiB steps faulted in 1.4k more
        // pages for 16 fewer `brk` calls; 64 MiB steps: peak 402 MB against 362, no faster).
        ProcessMemory.growHeapsInSteps(of: 4 << 20)
        var job = ExportJob(inputs: inputs, format: ExportFormat(name: format)!, decoderFormat: inputFormat,
                            dbMax: dbMax, pretty: pretty, progress: isatty(2) != 0)
        job.freesStateAtEnd = false
        job.populatesHeap = true
        try job.validate()
        let sink: FileSink = try output.map { try FileSink(path: $0) } ?? FileSink.standardOutput()
        try job.run(to: sink)
        try sink.close()
    }
}

/// `--listen` may stand alone (then it means the default address); the parser wants a value, so
/// a bare one (last, or followed by another option) is given the default here.
func withListenDefault(_ args: [String]) -> [String] {
    var out: [String] = []
    for (i, a) in args.enumerated() {
        out.append(a)
        if a == "--listen" && (i + 1 == args.count || args[i + 1].hasPrefix("-")) { out.append(Tail.defaultListen) }
    }
    return out
}

Skein.main(withListenDefault(Array(CommandLine.arguments.dropFirst())))
