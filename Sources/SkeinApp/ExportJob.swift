import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinOutputs
import SkeinSources

/// `skein export`: read every input to its end, stitch, and write one report.
///
/// One file (or stdin) is read straight through; several files are merged in time order first,
/// so traces that cross files stitch as they would live.
public struct ExportJob {
    public var inputs: [String]
    public var format: ExportFormat
    public var decoderFormat: String?
    public var dbMax: Int?
    public var pretty: Bool
    public var progress: Bool
    /// Whether the engine and the snapshot are taken apart when the job ends. A process that exits
    /// right after the report (`skein export`) sets this to false: freeing a million small
    /// allocations one by one took about a third of the time after the last line was read, and
    /// the kernel takes the pages back at exit all at once.
    public var freesStateAtEnd = true
    /// Whether `run` has the heap populated while it grows, by the reading and the
    /// engine's threads when they would wait for each other (`ProcessMemory.beginHeapPopulation`):
    /// for the `skein export` command, which owns its process and its heap; off for callers that
    /// share theirs (tests, a library).
    public var populatesHeap = false
    /// The clock of the progress display (the engine never reads it).
    public var clock: any Clock = WallClock()
    /// Where progress frames go (standard error unless set).
    public var progressOutput: ((String) -> Void)?

    public init(inputs: [String], format: ExportFormat = .json, decoderFormat: String? = nil, dbMax: Int? = nil,
                pretty: Bool = false, progress: Bool = false) {
        self.inputs = inputs; self.format = format; self.decoderFormat = decoderFormat
        self.dbMax = dbMax; self.pretty = pretty; self.progress = progress
    }

    public func validate() throws {
        if inputs.isEmpty { throw AppError.noInput }
        if let f = decoderFormat, !Decoding.formatNames.contains(f) {
            throw AppError.unknownFormat(f, known: Decoding.formatNames)
        }
    }

    /// The engine's settings for an export.
    var engineConfig: EngineConfig { .export(dbMax: dbMax) }

    /// Reads everything into a fresh engine and returns its final snapshot.
    public func analyse() throws -> Snapshot {
        try validate()
        let config = engineConfig
        let engine = Engine(config: config)
        // The report prints no log lines: only notable messages' text is kept (the rest are read for
        // their facts as they are decoded).
        let specs = inputs.map(InputSpec.init(argument:))
        let files = specs.flatMap { spec -> [String] in
            if case .stdin = spec { return [] }
            return spec.paths()
        }
        let hasStdin = specs.contains { if case .stdin = $0 { return true } else { return false } }
        let severalFiles = files.count > 1 && !hasStdin
        // One long stream of one source remembers more recent ids (`DecodeContext.remembersIDs`).
        let factory = Decoding.factory(format: decoderFormat, keepsEveryMessage: config.keepsTraceLines,
                                       recentIDSlots: severalFiles ? nil : 4096)
        // Progress on stderr when it is a terminal: bytes read of the files' sizes (no total with stdin).
        let meter: ReadMeter? = progress ? ReadMeter() : nil
        let bytes = ReadMeter.size(of: files)
        var bar = ProgressBar(total: hasStdin ? nil : bytes, label: "reading", enabled: progress)
        // A trace per 2.3-2.7 KB in the bundled logs and the benchmark's: room for one per KiB (at
        // most 4M, 640 MB of address space, of which only what is used is ever touched).
        engine.expectFinishedTraces(Int(min(bytes / 1024, 4_000_000)))
        if let out = progressOutput { bar.output = out }
        let clock = self.clock
        let afterBatch: ((Int64) -> Void)? = progress ? { done in bar.update(done: done, now: clock.now()) } : nil
        defer { bar.finish() }
        if severalFiles {
            // Several files: merged in time order on a second thread while the engine stitches here.
            var options = ReplayReader.Options()
            options.meter = meter
            // A few files (a directory of services' logs): each decoded on a thread of its own.
            options.decodeThreadsUpTo = 16
            // The merge only moves chunks the files' own threads decoded: it has time to destroy
            // applied events, which for platform logs (attributes, messages) is a tenth of the engine's work.
            PipelinedReader.run(into: engine, meter: meter, destroysOnProducer: true, afterBatch: afterBatch) { [options] sink in
                let reader = ReplayReader(paths: files, decoder: factory, sink: sink, options: options)
                while !reader.isFinished {
                    let (n, _) = reader.deliver(upTo: Timestamp(nanos: .max), max: 65_536, into: sink)
                    if n == 0 && reader.isFinished { break }
                }
                for id in reader.sources { sink.setHealth(.finished, for: id) }
            }
        } else {
            // One stream: decode on a second thread while the engine stitches on this one.
            var reader = BatchReader(decoder: factory)
            reader.meter = meter
            // Its arena grown once up front (an export owns its heap): the decoder's strings take
            // about a twelfth of the input's size, and glibc grows a thread's arena a page or so
            // at a time otherwise (1,600 mprotect calls for a million lines).
            let producerHeap = populatesHeap ? Int(min(bytes / 12, 48 << 20)) : 0
            PipelinedReader.run(into: engine, meter: meter, afterBatch: afterBatch, producerHeap: producerHeap) { [reader] sink in
                reader.read(specs, into: sink)
            }
        }
        engine.finish()
        if !freesStateAtEnd { ProcessLifetime.keep(engine) }
        return engine.snapshot(movingSummaries: true)
    }

    /// Analyses and writes the report to `sink`.
    @discardableResult
    public func run(to sink: ByteSink) throws -> Snapshot {
        if populatesHeap { ProcessMemory.beginHeapPopulation() }
        defer { if populatesHeap { ProcessMemory.endHeapPopulation() } }
        let snapshot = try analyse()
        if !freesStateAtEnd { ProcessLifetime.keep(SnapshotBox(snapshot)) }
        try format.write(snapshot, to: sink, pretty: pretty)
        return snapshot
    }
}

/// Objects kept until the process exits, never freed (see `ExportJob.freesStateAtEnd`).
enum ProcessLifetime {
    static func keep(_ object: AnyObject) {
        _ = Unmanaged.passRetained(object)
    }
}

private final class SnapshotBox {
    let snapshot: Snapshot
    init(_ snapshot: Snapshot) { self.snapshot = snapshot }
}
