import Foundation
import SkeinCore
import SkeinEngine
import SkeinSources

/// Reads and decodes on one thread while the engine stitches on the caller's: the two halves of
/// an export run side by side on two cores.
///
/// Nothing is dropped: when the engine falls behind, the reader waits (a bounded hand-over of
/// `depth` batches), so memory stays flat however large the input.
final class PipelinedReader {
    /// What one batch carries, applied in this order: sources and health, then counts, then events.
    struct Batch: @unchecked Sendable {
        enum Op { case addSource(String), health(SourceID, SourceHealth), dropped(Int) }
        var ops: [Op] = []
        var lines: [SourceID: Int] = [:]
        var malformed: [SourceID: [String: Int]] = [:]
        var formats: [SourceID: [String: Int]] = [:]
        /// Events in order, as the chunks readers handed over: a chunk changes hands whole, never
        /// copied event by event into a bigger array.
        var chunks: [[Event]] = []
        /// The reader's byte count when the batch was shipped (with a meter): what has been
        /// applied once this batch is, for a progress display.
        var bytesRead: Int64 = 0
        var isEmpty: Bool { ops.isEmpty && lines.isEmpty && chunks.isEmpty }
    }

    /// A bounded blocking queue of batches between exactly one producer and one consumer; emptied
    /// event arrays travel back for reuse, so a chunk's storage is allocated (and paged in) once.
    final class Channel: @unchecked Sendable {
        private let condition = NSCondition()
        private var queue: [Batch] = []
        private var spare: [[Event]] = []
        private var closed = false
        let depth: Int
        /// Where applied events are destroyed (their strings released, their arrays freed). A
        /// producer that decodes is usually the busier thread: the consumer destroys them (the engine
        /// has just read them, so their memory is in its cache), except while the producer is ahead
        /// (see `recycle`). A producer that only merges what other threads decoded has time to spare,
        /// and destroying there always keeps that work off the engine.
        let destroysOnProducer: Bool
        init(depth: Int, destroysOnProducer: Bool = false) {
            self.depth = depth
            self.destroysOnProducer = destroysOnProducer
        }

        /// Takes the batch over (consumed, then moved into the queue): the producer must hold no
        /// reference to its chunk arrays once the consumer can take it, or the consumer's first
        /// write to a chunk copies its events (see `BatchingSink.ship`).
        func put(_ b: consuming Batch) {
            condition.lock()
            awaitOrPopulate { queue.count < depth }
            queue.append(consume b)
            condition.signal()
            condition.unlock()
        }

        /// With the lock held, until `ready`: steps of heap population while there are some to take
        /// (each outside the lock), waits otherwise. Population happens in the gaps where one
        /// thread waits for the other. `ready` is read again after each step, before any wait: the
        /// other thread may have signalled while the lock was free.
        ///
        /// `readerAhead`, for the consumer waiting on the producer: the reader's input window first
        /// (`ProcessMemory.populateInputStep`), which speeds the side being waited for.
        private func awaitOrPopulate(readerAhead: Bool = false, _ ready: () -> Bool) {
            while !ready() {
                condition.unlock()
                let populated = (readerAhead && ProcessMemory.populateInputStep()) || ProcessMemory.populateHeapStep()
                condition.lock()
                if !populated && !ready() { condition.wait() }
            }
        }

        func close() {
            condition.lock()
            closed = true
            condition.signal()
            condition.unlock()
        }

        /// An empty event array to fill again, if the consumer has returned one.
        func reusable() -> [Event]? {
            condition.lock()
            var a = spare.popLast()
            condition.unlock()
            // Emptied here when the consumer left that to this (the producer's) thread.
            a?.removeAll(keepingCapacity: true)
            return a
        }

        /// Gives back an applied batch's chunk arrays, their events destroyed here, on the
        /// consumer's thread, or left for the producer to destroy (`destroysOnProducer`, or while
        /// the producer is ahead).
        func recycle(_ chunks: inout [[Event]]) {
            condition.lock()
            // More than half the hand-over waiting: the producer is ahead, and this thread sets the
            // pace. Its events are left for the producer to destroy (it empties every array it
            // reuses), which moves that work to the side with time to spare.
            let producerAhead = queue.count > depth / 2
            condition.unlock()
            if !destroysOnProducer && !producerAhead {
                for k in chunks.indices { chunks[k].removeAll(keepingCapacity: true) }
            }
            condition.lock()
            while spare.count < 4 * depth, let c = chunks.popLast() { spare.append(c) }
            condition.unlock()
            chunks = []
        }

        /// The next batch, or nil once closed and empty.
        func take() -> Batch? {
            // Memory that malloc has taken from the system but not used yet is populated a step at
            // every hand-over on the engine's side, besides the waits on both: rather than faulted
            // in a page at a time where it is first written. Population costs about a third less
            // per page (300 MB: 90-100 ms in steps of 256 KiB, against 136-150 ms touched a page at
            // a time, on this VM), and the engine's thread had spent a sixth of its time in those
            // faults. The main heap, which the engine fills, grows 16 MiB at a time, so at most that
            // much is populated before it is used. Not on the reader's side: with its own faults
            // gone (its arena and input window are populated by these steps too), it is the thread
            // that sets the pace.
            _ = ProcessMemory.populateHeapStep()
            condition.lock()
            defer { condition.unlock() }
            awaitOrPopulate(readerAhead: true) { !queue.isEmpty || closed }
            if queue.isEmpty { return nil }
            let b = queue.removeFirst()
            condition.signal()
            return b
        }
    }

    /// The producer's sink: collects into the current batch, ships it every `batchEvents` events.
    final class BatchingSink: IngestSink, @unchecked Sendable {
        private let channel: Channel
        private let batchEvents: Int
        private var batch = Batch()
        /// Events handed over one at a time, gathered into a chunk of their own.
        private var single: [Event] = []
        private var batchedEvents = 0
        private var nextSource: UInt32 = 0
        private let meter: ReadMeter?

        init(channel: Channel, batchEvents: Int, meter: ReadMeter? = nil) {
            self.channel = channel
            self.batchEvents = batchEvents
            self.meter = meter
        }

        func addSource(name: String) -> SourceID {
            // The consumer's engine is fresh and only this producer adds sources, so ids line up.
            defer { nextSource += 1 }
            closeSingleChunk()
            batch.ops.append(.addSource(name))
            return SourceID(nextSource)
        }
        func setHealth(_ health: SourceHealth, for source: SourceID) { batch.ops.append(.health(source, health)) }
        func countLine(source: SourceID) { batch.lines[source, default: 0] += 1 }
        func countMalformed(source: SourceID, reason: String) { batch.malformed[source, default: [:]][reason, default: 0] += 1 }
        func countFormat(source: SourceID, format: String) { batch.formats[source, default: [:]][format, default: 0] += 1 }
        func countDropped(_ n: Int) { batch.ops.append(.dropped(n)) }
        func countLines(source: SourceID, count: Int) { batch.lines[source, default: 0] += count }
        func countFormat(source: SourceID, format: String, count: Int) {
            batch.formats[source, default: [:]][format, default: 0] += count
        }
        func ingest(_ event: Event) {
            if single.capacity == 0 { single = channel.reusable() ?? [] }
            single.append(event)
            batchedEvents += 1
            if batchedEvents >= batchEvents { ship() }
        }

        /// A reader's chunk of events, taken whole (its array joins the batch; the reader gets a
        /// recycled one back), and shipped once the batch is worth a hand-over.
        func ingest(moving events: inout [Event]) {
            guard !events.isEmpty else { return }
            closeSingleChunk()
            batchedEvents += events.count
            batch.chunks.append(events)
            events = channel.reusable() ?? []
            if batchedEvents >= PipelinedReader.minimumChunkBatch { ship() }
        }

        /// Ends the chunk of single events so later chunks follow it in order.
        private func closeSingleChunk() {
            guard !single.isEmpty else { return }
            batch.chunks.append(single)
            single = []
        }

        func ship() {
            closeSingleChunk()
            guard !batch.isEmpty else { return }
            if let meter { batch.bytesRead = meter.bytes }
            // Moved out before it is handed over. Handing over a copy and emptying `batch` after
            // `put` returned left a moment in which the consumer, woken by `put`, could find each
            // chunk array referenced twice and copy all its events before lending them to the
            // engine (seen under callgrind: 66k of 100k events copied, 5 % of the engine thread).
            var out = Batch()
            swap(&out, &batch)
            batchedEvents = 0
            channel.put(consume out)
        }
    }

    /// Events from one reader chunk at least this many are shipped at once (a 128 KiB chunk of
    /// typical lines holds several hundred): one lock per chunk, and no copy into a bigger batch.
    static let minimumChunkBatch = 256

    /// Runs `produce` on a new thread against a batching sink and applies every batch to `engine`
    /// on the calling thread, in order, until the producer is done. With a `meter` (which the
    /// producer's reader adds to), `afterBatch` is told after each batch how many bytes the engine
    /// has now been given (a progress display), on the calling thread. `producerHeap`: bytes to
    /// grow the producer thread's malloc arena by before it starts (`ProcessMemory.reserveThreadHeap`),
    /// for a process that owns its heap (an export).
    static func run(into engine: Engine, depth: Int = 16, batchEvents: Int = 4096,
                    meter: ReadMeter? = nil, destroysOnProducer: Bool = false, afterBatch: ((Int64) -> Void)? = nil,
                    producerHeap: Int = 0,
                    produce: @escaping @Sendable (any IngestSink) -> Void) {
        let channel = Channel(depth: depth, destroysOnProducer: destroysOnProducer)
        let sink = BatchingSink(channel: channel, batchEvents: batchEvents, meter: meter)
        let thread = Thread {
            ProcessMemory.reserveThreadHeap(producerHeap)
            produce(sink)
            sink.ship()
            channel.close()
        }
        thread.stackSize = 8 << 20
        thread.start()
        while var b = channel.take() {
            apply(&b, to: engine)
            channel.recycle(&b.chunks)
            afterBatch?(b.bytesRead)
        }
    }

    /// Applies a batch, leaving its event array empty for reuse.
    static func apply(_ b: inout Batch, to engine: Engine) {
        for op in b.ops {
            switch op {
            case .addSource(let name): _ = engine.addSource(name: name)
            case .health(let id, let h): engine.setHealth(h, for: id)
            case .dropped(let n): engine.countDropped(n)
            }
        }
        for (id, n) in b.lines { engine.countLines(source: id, count: n) }
        for (id, reasons) in b.malformed { for (r, n) in reasons { for _ in 0..<n { engine.countMalformed(source: id, reason: r) } } }
        for (id, formats) in b.formats { for (f, n) in formats { engine.countFormat(source: id, format: f, count: n) } }
        for k in b.chunks.indices { engine.ingest(lending: &b.chunks[k]) }
    }
}
