import SkeinCore
import SkeinEngine
import SkeinOutputs

/// Without a terminal: one line per finished trace and one per insight, as they happen.
public final class HeadlessPrinter {
    public let printer: TracePrinter
    private let sink: ByteSink
    public private(set) var tracesPrinted = 0
    public private(set) var insightsPrinted = 0

    public init(json: Bool, fullIDs: Bool = false, sink: ByteSink = FileSink.standardOutput()) {
        printer = TracePrinter(style: json ? .json : .text, fullIDs: fullIDs)
        self.sink = sink
    }

    /// Prints what the engine finished or raised since the last call.
    public func drain(_ engine: Engine) throws {
        let traces = engine.drainFinishedTraces()
        let insights = engine.drainNewInsights()
        guard !traces.isEmpty || !insights.isEmpty else { return }
        try printer.write(traces: traces, insights: insights, to: sink)
        tracesPrinted += traces.count
        insightsPrinted += insights.count
    }
}
