// libFuzzer entry point over the export path: bytes as one log file → decoders → engine →
// every export format and the dashboard's text views. Built by `scripts/fuzz.sh` into a
// throw-away package beside the repository's pipeline targets; not part of the skein package.
#if canImport(Glibc)
import Glibc
#endif
import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinSources
import SkeinOutputs
import SkeinUI
// The collector's OTLP/protobuf decoder, compiled on its own (`scripts/fuzz.sh` links its two
// files: the rest of SkeinCollector needs swift-nio).
import SkeinOTLPWire

/// `SKEIN_FUZZ_FORCED=1`: byte 0 picks the decoder format (`--format`, low five bits) and, with
/// bit 7, the dashboard's engine settings (lines kept: the trace detail view is drawn too); byte 1
/// is the size of the slices the bytes arrive in (n × 7, 0 = at once), so lines split across reads.
let forcedMode = getenv("SKEIN_FUZZ_FORCED") != nil
/// `SKEIN_FUZZ_OTLP=1`: an OTLP/HTTP protobuf body as the collector receives it; byte 0 picks the
/// signal (logs, traces, metrics), the rest is the `Export*ServiceRequest`.
let otlpMode = getenv("SKEIN_FUZZ_OTLP") != nil
let verbose = getenv("SKEIN_FUZZ_VERBOSE") != nil

func run(_ input: UnsafeBufferPointer<UInt8>, format: String?, live: Bool, slice: Int) {
    let config: EngineConfig = live ? EngineConfig() : .export()
    let engine = Engine(config: config)
    read(input, into: engine, format: format, slice: slice)
    report(engine, live: live)
}

/// As `BatchReader` reads one file: a source, its slices, the end.
func read(_ input: UnsafeBufferPointer<UInt8>, into engine: Engine, format: String?, slice: Int) {
    let config = engine.config
    let factory = Decoding.factory(format: format, keepsEveryMessage: config.keepsTraceLines, recentIDSlots: 4096)
    engine.expectFinishedTraces(input.count / 1024)
    let id = engine.addSource(name: "fuzz.log")
    let ingest = Ingest(source: id, decoder: factory)
    engine.setHealth(.reading, for: id)
    if slice <= 0 || slice >= input.count {
        ingest.consume(input, into: engine)
    } else {
        var at = 0
        while at < input.count {
            let end = min(input.count, at + slice)
            ingest.consume(UnsafeBufferPointer(rebasing: input[at..<end]), into: engine)
            at = end
        }
    }
    ingest.finish(into: engine)
    engine.setHealth(.finished, for: id)
}

/// As the collector hands a request's events to the engine (one batch).
func receive(_ signal: OTLPProtobufDecoder.Signal, _ body: UnsafeBufferPointer<UInt8>, into engine: Engine) {
    var decoder = OTLPProtobufDecoder()
    let id = engine.addSource(name: "otlp")
    guard var result = try? decoder.decode(signal, UnsafeRawBufferPointer(body), source: id) else { return }
    engine.ingest(moving: &result.events)
}

/// Every export format and the dashboard's text views, as `skein export` and the dashboard make them.
func report(_ engine: Engine, live: Bool) {
    engine.finish()

    // The detail view needs a trace's lines: asked for before the summaries move out.
    var detail: (id: String, detail: TraceDetail)?
    if live, let first = engine.snapshot(traceLimit: 5).recentTraces.first, let d = engine.detail(traceID: first.id) {
        detail = (first.id, d)
    }
    let snapshot = engine.snapshot(movingSummaries: true)
    for format in ExportFormat.allCases {
        try! format.write(snapshot, to: MemorySink(), pretty: false)
    }
    try! ExportFormat.json.write(snapshot, to: MemorySink(), pretty: true)
    for (w, h) in [(120, 40), (40, 10)] {
        let text = DashboardView.renderText(snapshot: snapshot, width: w, height: h)
        if verbose { print(text) }
    }
    if let detail {
        for (glyphs, w, h) in [(Glyphs.unicode, 100, 30), (Glyphs.ascii, 80, 24)] {
            var state = DashboardState(glyphs: glyphs)
            state.detail = DetailState(traceID: detail.id)
            let text = DashboardView.renderText(snapshot: snapshot, state: state, width: w, height: h, detail: detail.detail)
            if verbose { print(text) }
        }
    }
    if verbose {
        print("lines \(snapshot.input.lines) events \(snapshot.input.events) malformed \(snapshot.input.malformed) traces \(snapshot.traces.count)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = UnsafeBufferPointer(start: data, count: size)
    if otlpMode {
        guard size >= 1 else { return 0 }
        let signals: [OTLPProtobufDecoder.Signal] = [.logs, .traces, .metrics]
        let engine = Engine(config: .export())
        receive(signals[Int(all[0]) % 3], UnsafeBufferPointer(rebasing: all[1...]), into: engine)
        report(engine, live: false)
    } else if forcedMode {
        guard size >= 2 else { return 0 }
        let names = AutoDecoder.formatNames
        let format = names[Int(all[0] & 0x1f) % names.count]
        run(UnsafeBufferPointer(rebasing: all[2...]), format: format, live: all[0] & 0x80 != 0, slice: Int(all[1]) * 7)
    } else {
        run(all, format: nil, live: false, slice: 0)
    }
    return 0
}
