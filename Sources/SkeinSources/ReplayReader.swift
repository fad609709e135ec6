import Foundation
import SkeinCore
import SkeinDecoders
import SkeinEngine

/// Merges recorded files into one stream in time order, and seeks by time.
///
/// Each file is read in chunks by its own `Ingest`; lines, malformed frames and formats are
/// counted into the sink as they are read (up to one chunk ahead of playback), while events are
/// held back and handed out in time order by `next(upTo:)`.
///
/// **The look-ahead window.** Files are only roughly sorted (instances flush late, clocks skew),
/// so a k-way merge on the head of each file is not enough. Before handing out an event at time
/// `t`, every file is read until its most recent event is later than `t + window`. If, within each
/// file, no event comes after another that is more than `window` later than it, the output is
/// exactly sorted; events more out of order than that come out late rather than being lost.
/// Memory per file is one chunk plus about one window of events. Ties keep file order.
public final class ReplayReader {
    public struct Options: Sendable {
        /// See the type's documentation. Default 5 s.
        public var windowMS: Double = 5_000
        /// How far before a seek target reading restarts, so stateful things (open traces,
        /// connection counts, instance lifecycles) rebuild before the target. Default 2 min.
        public var warmupMS: Double = 120_000
        public var chunkSize: Int = 128 << 10
        public var indexSpacing: Int = ReplayIndex.defaultSpacing
        public var maxLineLength: Int = LineFramer.defaultMaxLineLength
        /// Counts the bytes read, for a progress display.
        public var meter: ReadMeter?
        /// Decode each file on a thread of its own, a few chunks ahead of the merge, when there
        /// are at most this many files (an export of a few services' logs: the merge's one thread
        /// was the whole cost). 0: decode on the merge's thread, as replay does (it seeks).
        public var decodeThreadsUpTo = 0
        public init() {}
    }

    public let options: Options
    private let decoder: DecoderFactory
    // Touched several times per event; only this object's methods reach them, never overlapping, so
    // the dynamic exclusivity checks (a call each way per access) are skipped, as in `Ingest`.
    @exclusivity(unchecked) private var cursors: [ReplayCursor]
    private let heap = MergeHeap()
    @exclusivity(unchecked) private var sequence: UInt64 = 0
    /// `deliver`'s run of events not yet handed over; empty between calls.
    @exclusivity(unchecked) private var outbox: [Event] = {
        var a: [Event] = []
        a.reserveCapacity(ReplayReader.deliveryRun)
        return a
    }()

    /// Opens every file (failures become failed sources in the sink, not errors) and starts at the beginning.
    public init(paths: [String], decoder: DecoderFactory, sink: any IngestSink, options: Options = Options()) {
        self.options = options
        self.decoder = decoder
        var cursors: [ReplayCursor] = []
        for path in paths {
            let id = sink.addSource(name: path)
            do throws(SourceError) {
                let fd: Int32
                switch POSIX.openForReading(path) {
                case .failure(let e): throw e
                case .success(let f): fd = f
                }
                // The checks `ReplayIndex.build` makes, made now: the index itself waits until it is needed.
                guard let file = FileIdentity.of(fd: fd) else {
                    let reason = POSIX.errorText()
                    POSIX.closeFile(fd)
                    throw .readFailed(path: path, reason: reason)
                }
                guard !file.isDirectory else {
                    POSIX.closeFile(fd)
                    throw .notRegularFile(path: path)
                }
                cursors.append(ReplayCursor(path: path, fd: fd, source: id, sink: sink, decoder: decoder, options: options))
                sink.setHealth(.reading, for: id)
            } catch {
                sink.setHealth(.failed(reason: error.description), for: id)
            }
        }
        self.cursors = cursors
        if cursors.count > 1 && cursors.count <= options.decodeThreadsUpTo {
            for cursor in cursors { cursor.startDecodingAhead() }
        }
    }

    /// One index per file, in the order of `sources`; built on first use (`start`, `end`, `seek`), so a
    /// plain read from start to end (an export) never pays for one. A file that can no longer be
    /// indexed then gets an empty index.
    public var indexes: [ReplayIndex] {
        if let built = builtIndexes { return built }
        let built = cursors.map { cursor -> ReplayIndex in
            do throws(SourceError) {
                return try ReplayIndex.build(path: cursor.path, decoder: decoder, spacing: options.indexSpacing,
                                             maxLineLength: options.maxLineLength)
            } catch {
                return ReplayIndex(path: cursor.path, size: 0, checkpoints: [], start: nil, end: nil)
            }
        }
        builtIndexes = built
        return built
    }
    private var builtIndexes: [ReplayIndex]?

    /// Replays the files the inputs name now (directories and globs expanded). Stdin cannot be
    /// replayed (it cannot be indexed or seeked); it becomes a failed source.
    public convenience init(specs: [InputSpec], decoder: DecoderFactory, sink: any IngestSink, options: Options = Options()) {
        var paths: [String] = []
        for spec in specs {
            switch spec {
            case .stdin:
                sink.setHealth(.failed(reason: "replay needs files; pipe into `skein tail -` instead"),
                               for: sink.addSource(name: "stdin"))
            case .glob, .directory:
                let found = spec.paths()
                if found.isEmpty {
                    sink.setHealth(.failed(reason: SourceError.noMatch(pattern: spec.description).description),
                                   for: sink.addSource(name: spec.description))
                }
                paths += found
            case .file(let p):
                paths.append(p)
            }
        }
        self.init(paths: paths, decoder: decoder, sink: sink, options: options)
    }

    /// The recording's extent, from the indexes; nil when no file has an event.
    public var start: Timestamp? { indexes.compactMap(\.start).min() }
    public var end: Timestamp? { indexes.compactMap(\.end).max() }

    /// The sources, in the order of `indexes`.
    public var sources: [SourceID] { cursors.map(\.source) }

    /// True when every file is read and every event handed out.
    public var isFinished: Bool { heap.isEmpty && cursors.allSatisfy(\.exhausted) }

    /// The next event in time order if it is due (time ≤ `limit`); nil when none is due yet or all are done.
    public func next(upTo limit: Timestamp) -> Event? {
        due(upTo: limit) ? heap.popMin() : nil
    }

    /// Reads ahead as the window needs and says whether the earliest event is due (time ≤ `limit`).
    private func due(upTo limit: Timestamp) -> Bool {
        let window = Int64(options.windowMS * 1_000_000)
        while true {
            guard let top = heap.minTime else {
                guard let lagging = cursors.first(where: { !$0.exhausted }) else { return false }
                pull(lagging)
                continue
            }
            let need = top.adding(nanos: window)
            if let lagging = cursors.first(where: { !$0.exhausted && $0.horizon < need }) {
                pull(lagging)
                continue
            }
            return top <= limit
        }
    }

    /// Hands every due event to `sink.ingest`, at most `max` of them (keep a UI frame short);
    /// returns how many and the time of the last.
    @discardableResult
    public func deliver(upTo limit: Timestamp, max: Int = .max, into sink: any IngestSink) -> (count: Int, last: Timestamp?) {
        var count = 0
        var last: Timestamp?
        // Handed over in runs through `ingest(moving:)`: each event is moved from the heap into the
        // run and the run's storage is swapped into the sink, where `ingest(_:)` would copy every
        // event (retaining its strings) and then destroy the original.
        while count < max, due(upTo: limit) {
            heap.popMin(into: &outbox)
            last = outbox[outbox.count - 1].time
            count += 1
            if outbox.count >= Self.deliveryRun { sink.ingest(moving: &outbox) }
        }
        if !outbox.isEmpty { sink.ingest(moving: &outbox) }
        return (count, last)
    }

    /// Events per hand-over in `deliver` (a batching sink ships a run this long at once).
    static let deliveryRun = 4096

    /// Restarts every file at its last checkpoint at or before `time − warmup`. Events from there
    /// on come out again (the warmup first), so a backwards seek wants a fresh engine: pass it as
    /// `sink` and the sources are added to it again, in the same order, and counted there from now
    /// on. Costs a binary search and a seek per file.
    public func seek(to time: Timestamp, rebindingTo sink: (any IngestSink)? = nil) {
        let from = time.adding(ms: -options.warmupMS)
        heap.removeAll()
        for (cursor, index) in zip(cursors, indexes) {
            if let sink {
                cursor.rebind(sink: sink, source: sink.addSource(name: cursor.path))
            }
            cursor.reposition(to: index.offset(before: from))
        }
    }

    private func pull(_ cursor: ReplayCursor) {
        var events = cursor.readChunk()
        let n = events.count
        heap.insert(chunk: &events, firstSequence: sequence)
        sequence &+= UInt64(n)
    }
}

/// One file being replayed: its descriptor, its `Ingest`, and a sink that counts through to the
/// real one while keeping the events back for the merge.
///
/// With `startDecodingAhead()` the file is read and decoded on a thread of its own, a few chunks
/// ahead; `readChunk()` then takes the next chunk, replays its counts into the sink, in order,
/// on the merge's thread, and returns its events. A seek or a rebind stops that thread first.
private final class ReplayCursor {
    let path: String
    let fd: Int32
    private(set) var source: SourceID
    private var ingest: Ingest
    private let capture: CapturingSink
    private let decoder: DecoderFactory
    private let options: ReplayReader.Options
    private let buffer: UnsafeMutableRawBufferPointer
    /// Reads the file through a mapping (no copy out of the page cache); nil once the file cannot
    /// be mapped, and `read(2)` takes over.
    private var mapped: MappedReader?
    private var ahead: ChunkQueue?
    private(set) var exhausted = false
    /// Time of the most recent event read; reading ahead stops once this passes the merge's need.
    private(set) var horizon = Timestamp(nanos: .min)

    init(path: String, fd: Int32, source: SourceID, sink: any IngestSink, decoder: DecoderFactory,
         options: ReplayReader.Options) {
        self.path = path; self.fd = fd; self.source = source; self.decoder = decoder; self.options = options
        capture = CapturingSink(target: sink)
        ingest = Ingest(source: source, decoder: decoder, maxLineLength: options.maxLineLength)
        buffer = .allocate(byteCount: max(4096, options.chunkSize), alignment: 16)
        // Smaller windows than a single export's: many files may be open at once.
        mapped = MappedReader(fd: fd, window: 4 << 20)
    }

    deinit {
        stopDecodingAhead()
        POSIX.closeFile(fd)
        buffer.deallocate()
    }

    /// Decodes on a thread of its own from now on (until a seek or a rebind).
    func startDecodingAhead() {
        guard ahead == nil, !exhausted else { return }
        let queue = ChunkQueue(depth: 4)
        ahead = queue
        // The thread owns the ingest, the mapping and the buffer until `stopDecodingAhead`; what the
        // decoder counts is recorded with the chunk's events, not told to the sink from there.
        let recorder = RecordingCapture()
        let box = UncheckedBox(self)
        queue.start {
            let cursor = box.value
            let end = cursor.decodeChunk(into: recorder)
            return ChunkQueue.Chunk(events: recorder.take(), ops: recorder.takeOps(), end: end)
        }
    }

    private func stopDecodingAhead() {
        guard let queue = ahead else { return }
        queue.stop()
        ahead = nil
    }

    /// Reads one chunk and returns the events it completed (all of them at end of file).
    func readChunk() -> [Event] {
        guard !exhausted else { return [] }
        let events: [Event]
        if let queue = ahead {
            let chunk = queue.take()
            for op in chunk.ops { op.apply(to: capture.target) }
            if chunk.end {
                exhausted = true
                ahead = nil
                queue.stop()
            }
            events = chunk.events
        } else {
            exhausted = decodeChunk(into: capture)
            events = capture.take()
        }
        if let last = events.last { horizon = last.time }
        return events
    }

    /// Reads and decodes one chunk into `sink`; true at the end of the file (then finished, health set).
    private func decodeChunk(into sink: any IngestSink) -> Bool {
        var failure: String?
        var n = 0
        switch mapped?.next(max: buffer.count) {
        case .bytes(let b)?:
            ingest.consume(b, into: sink)
            n = b.count
        case .end?:
            n = 0
        case .shrank(let at)?:
            failure = "the file shrank below \(at) bytes while it was read"
        case .unreadable(let at)?:
            failure = "a page at or after byte \(at) could not be read"
        case .failed(let code)?:
            failure = POSIX.errorText(code)
        case .unmapped?, nil:
            mapped = nil
            n = POSIX.readSome(fd, into: buffer)
            if n > 0 {
                ingest.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), into: sink)
            } else if n < 0 {
                failure = POSIX.errorText()
            }
        }
        if n > 0 {
            options.meter?.add(n)
            return false
        }
        ingest.finish(into: sink)
        let health: SourceHealth = failure.map { .failed(reason: SourceError.readFailed(path: path, reason: $0).description) }
            ?? .finished
        sink.setHealth(health, for: source)
        return true
    }

    /// Drops what was pending and reads on from `offset` (a line start) with a fresh decoder.
    func reposition(to offset: Int64) {
        stopDecodingAhead()
        _ = POSIX.seek(fd, to: offset)
        mapped?.seek(to: Int(offset))
        ingest.restart(at: offset, finishing: false, into: capture)
        _ = capture.take()
        exhausted = false
        horizon = Timestamp(nanos: .min)
        capture.target.setHealth(.reading, for: source)
    }

    /// Counts into another sink under the id it gave; call `reposition` next.
    func rebind(sink: any IngestSink, source: SourceID) {
        stopDecodingAhead()
        capture.target = sink
        self.source = source
        ingest = Ingest(source: source, decoder: decoder, maxLineLength: options.maxLineLength)
    }
}

/// A reference handed to the decoding thread: the cursor uses its state only while that thread
/// is stopped, and stops it (waiting for it) before it goes away, so the reference does not keep
/// the cursor alive.
private struct UncheckedBox<T: AnyObject>: @unchecked Sendable {
    unowned(unsafe) let value: T
    init(_ value: T) { self.value = value }
}

/// What a decoder tells its sink, recorded on the decoding thread and replayed on the merge's.
private enum SinkOp {
    case health(SourceHealth, SourceID)
    case lines(SourceID, Int)
    case malformed(SourceID, String)
    case format(SourceID, String, Int)
    case dropped(Int)

    func apply(to sink: any IngestSink) {
        switch self {
        case .health(let h, let s): sink.setHealth(h, for: s)
        case .lines(let s, let n): sink.countLines(source: s, count: n)
        case .malformed(let s, let r): sink.countMalformed(source: s, reason: r)
        case .format(let s, let f, let n): sink.countFormat(source: s, format: f, count: n)
        case .dropped(let n): sink.countDropped(n)
        }
    }
}

/// The decoding thread's sink: events kept for the chunk, everything else recorded in order.
private final class RecordingCapture: EventCapture, IngestSink, @unchecked Sendable {
    private var ops: [SinkOp] = []

    func takeOps() -> [SinkOp] {
        defer { ops = [] }
        return ops
    }

    func addSource(name: String) -> SourceID { preconditionFailure("a cursor adds no sources") }
    func setHealth(_ health: SourceHealth, for source: SourceID) { ops.append(.health(health, source)) }
    func countLine(source: SourceID) { ops.append(.lines(source, 1)) }
    func countLines(source: SourceID, count: Int) { ops.append(.lines(source, count)) }
    func countMalformed(source: SourceID, reason: String) { ops.append(.malformed(source, reason)) }
    func countFormat(source: SourceID, format: String) { ops.append(.format(source, format, 1)) }
    func countFormat(source: SourceID, format: String, count: Int) { ops.append(.format(source, format, count)) }
    func countDropped(_ n: Int) { ops.append(.dropped(n)) }
}

/// Decoded chunks of one file, made on a thread of its own and taken in order by the merge.
private final class ChunkQueue: @unchecked Sendable {
    struct Chunk {
        var events: [Event]
        var ops: [SinkOp]
        var end: Bool
    }

    private let condition = NSCondition()
    private var ready: [Chunk] = []
    private let depth: Int
    private var stopped = false
    private var running = false

    init(depth: Int) { self.depth = depth }

    /// Runs `produce` on a new thread until it returns a chunk marked `end` or `stop` is called.
    func start(_ produce: @escaping @Sendable () -> Chunk) {
        running = true
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while ready.count >= depth && !stopped { condition.wait() }
                if stopped { break }
                condition.unlock()
                let chunk = produce()
                condition.lock()
                ready.append(chunk)
                condition.broadcast()
                if chunk.end { break }
                condition.unlock()
            }
            running = false
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The next chunk, waiting for it if need be.
    func take() -> Chunk {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty { condition.wait() }
        let chunk = ready.removeFirst()
        condition.broadcast()
        return chunk
    }

    /// Stops the thread (after the chunk it is making) and waits for it; chunks not taken are dropped.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running { condition.wait() }
        ready.removeAll()
        condition.unlock()
    }
}

/// Counts go through to the target; events are kept for the merge.
private final class CapturingSink: EventCapture, IngestSink {
    var target: any IngestSink
    init(target: any IngestSink) { self.target = target }

    func addSource(name: String) -> SourceID { target.addSource(name: name) }
    func setHealth(_ health: SourceHealth, for source: SourceID) { target.setHealth(health, for: source) }
    func countLine(source: SourceID) { target.countLine(source: source) }
    func countLines(source: SourceID, count: Int) { target.countLines(source: source, count: count) }
    func countMalformed(source: SourceID, reason: String) { target.countMalformed(source: source, reason: reason) }
    func countFormat(source: SourceID, format: String) { target.countFormat(source: source, format: format) }
    func countFormat(source: SourceID, format: String, count: Int) {
        target.countFormat(source: source, format: format, count: count)
    }
    func countDropped(_ n: Int) { target.countDropped(n) }
}

/// The events a cursor's decoder produces, kept for the merge (the sinks above add what happens
/// to its counts).
private class EventCapture {
    private var events: [Event] = []

    /// The events kept so far, handed over by swapping storage (no copy of each event).
    func take() -> [Event] {
        var out: [Event] = []
        // The next chunk's events land in this storage (the ingest swaps its array with it): sized
        // with room to spare over the last, so they rarely grow it (each growth copies them all).
        out.reserveCapacity(max(1024, events.count * 2))
        swap(&out, &events)
        return out
    }

    func ingest(_ event: Event) { events.append(event) }
    func ingest(moving more: inout [Event]) {
        if events.isEmpty { swap(&events, &more) } else { events.append(contentsOf: more) }
        more.removeAll(keepingCapacity: true)
    }
}

/// The events read ahead, handed out earliest first by (time, arrival), so equal times keep file
/// and read order.
///
/// Each chunk read is one run, sorted on arrival (a file's lines are nearly in time order, so this
/// is about one pass); a small binary heap of the runs by their first entry finds the earliest
/// event. Popping costs a few levels of that heap, where a heap of every event held (thousands:
/// a chunk from every file) cost a dozen. The order is the same: the earliest entry of all is the
/// earliest among the runs' first entries.
private final class MergeHeap {
    /// Entries are small (time, order, slot); the events themselves stay put in their slots, so
    /// sorting and merging move 24 bytes instead of a whole `Event`.
    private struct Entry {
        var time: Int64
        var sequence: UInt64
        var slot: Int
        @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            time != other.time ? time < other.time : sequence < other.sequence
        }
    }
    /// One chunk's entries in order; those before `next` are handed out.
    private struct Run {
        var entries: [Entry]
        var next = 0
        var head: Entry { entries[next] }
    }
    // Only this object's methods touch these, never overlapping: no dynamic exclusivity checks.
    /// A min-heap by `head`; every run in it has entries left.
    @exclusivity(unchecked) private var runs: [Run] = []
    /// The events, in raw memory: one moves in and out with one copy of its bytes, where an
    /// `[Event?]` slot costs several (wrapping, unwrapping, writing `nil` back). Slot `i` holds an
    /// event exactly while an entry not yet handed out names it.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<Event>
    @exclusivity(unchecked) private var capacity = 1024
    /// Slots handed out so far; those not holding an event are in `free`.
    @exclusivity(unchecked) private var used = 0
    @exclusivity(unchecked) private var free: [Int] = []

    init() {
        slots = .allocate(capacity: capacity)
    }

    deinit {
        dropEvents()
        slots.deallocate()
    }

    var isEmpty: Bool { runs.isEmpty }
    var minTime: Timestamp? { runs.first.map { Timestamp(nanos: $0.head.time) } }

    func removeAll() {
        dropEvents()
        runs.removeAll(keepingCapacity: true)
        free.removeAll(keepingCapacity: true)
        used = 0
    }

    /// Takes every event of `chunk` (leaving it empty); the `i`th gets sequence `firstSequence + i`.
    func insert(chunk: inout [Event], firstSequence: UInt64) {
        let n = chunk.count
        guard n > 0 else { return }
        // Room first: growing moves the events of the runs, and this chunk's are not in one yet.
        reserveSlots(n)
        var entries = [Entry](repeating: Entry(time: 0, sequence: 0, slot: 0), count: n)
        // Moved out from the back (iterating would copy each event and then destroy the chunk).
        var i = n
        while let event = chunk.popLast() {
            i -= 1
            let slot: Int
            if let f = free.popLast() {
                slot = f
            } else {
                slot = used
                used += 1
            }
            entries[i] = Entry(time: event.time.nanos, sequence: firstSequence &+ UInt64(i), slot: slot)
            (slots + slot).initialize(to: event)
        }
        var sorted = true
        for k in 1..<n where entries[k].precedes(entries[k - 1]) {
            sorted = false
            break
        }
        if !sorted { entries.sort { $0.precedes($1) } }
        runs.append(Run(entries: entries))
        siftUp(runs.count - 1)
    }

    func popMin() -> Event? {
        guard let slot = removeMin() else { return nil }
        free.append(slot)
        return (slots + slot).move()
    }

    /// Moves the earliest event to the end of `out` (nothing when the heap is empty).
    func popMin(into out: inout [Event]) {
        guard let slot = removeMin() else { return }
        out.append((slots + slot).move())
        free.append(slot)
    }

    /// Takes the earliest entry and returns its slot.
    private func removeMin() -> Int? {
        let n = runs.count
        guard n > 0 else { return nil }
        var exhausted = false
        let slot = runs.withUnsafeMutableBufferPointer { r -> Int in
            let slot = r[0].head.slot
            r[0].next += 1
            exhausted = r[0].next == r[0].entries.count
            if exhausted { r.swapAt(0, n - 1) }
            return slot
        }
        if exhausted { runs.removeLast() }
        if runs.count > 1 { siftDown(0) }
        return slot
    }

    private func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard runs[i].head.precedes(runs[parent].head) else { break }
            runs.swapAt(i, parent)
            i = parent
        }
    }

    private func siftDown(_ start: Int) {
        runs.withUnsafeMutableBufferPointer { r in
            var i = start
            let n = r.count
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                let c = l + 1 < n && r[l + 1].head.precedes(r[l].head) ? l + 1 : l
                guard r[c].head.precedes(r[i].head) else { break }
                r.swapAt(i, c)
                i = c
            }
        }
    }

    /// Deinitializes every event not yet handed out.
    private func dropEvents() {
        for run in runs {
            for k in run.next..<run.entries.count { (slots + run.entries[k].slot).deinitialize(count: 1) }
        }
    }

    /// Makes room for `n` more events (whether or not free slots would do).
    private func reserveSlots(_ n: Int) {
        guard used + n > capacity else { return }
        var grownCapacity = capacity * 2
        while used + n > grownCapacity { grownCapacity *= 2 }
        let grown = UnsafeMutablePointer<Event>.allocate(capacity: grownCapacity)
        for run in runs {
            for k in run.next..<run.entries.count {
                let slot = run.entries[k].slot
                (grown + slot).moveInitialize(from: slots + slot, count: 1)
            }
        }
        slots.deallocate()
        slots = grown
        capacity = grownCapacity
    }
}
