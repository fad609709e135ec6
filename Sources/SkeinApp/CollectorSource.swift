import SkeinCollector
import SkeinCore
import SkeinSources

/// The network collector as a live source: its event loops decode into a bounded queue, and each
/// poll on the engine's thread drains what arrived.
public final class CollectorSource: LiveSource {
    public let collector: Collector
    private let queue: IngestQueue
    /// Events handed over per poll, so one burst cannot stall the dashboard's frame.
    public var maxEventsPerPoll = 20_000
    private var reading = false
    private var quietPolls = 0
    private var closed = false

    /// Binds the listener; throws `CollectorError` (with a message for the user) when it cannot.
    public init(config: CollectorConfig) throws {
        queue = IngestQueue(capacity: config.queueCapacity)
        collector = try Collector(config: config, queue: queue)
    }

    /// The port actually bound (for `--listen 127.0.0.1:0`).
    public var port: Int { collector.boundPort }

    public func poll(into sink: any IngestSink) -> Bool {
        // Health follows traffic: reading while events arrive, waiting after a few quiet polls. It is
        // queued before the drain so the change reaches the engine with the events that caused it.
        var changed = false
        if !closed {
            if queue.pendingEvents > 0 {
                quietPolls = 0
                if !reading { reading = true; queue.setHealth(.reading, for: collector.state.source) }
            } else if reading {
                quietPolls += 1
                if quietPolls >= 20 {
                    reading = false
                    changed = true
                    queue.setHealth(.waiting, for: collector.state.source)
                }
            }
        }
        return queue.drain(into: sink, maxEvents: maxEventsPerPoll) > 0 || changed
    }

    public func close() {
        guard !closed else { return }
        closed = true
        collector.close()
    }
}
