import Foundation
import SkeinCore
import SkeinEngine

/// Hands what a source thread reads to the engine's owner: a bounded, thread-safe `IngestSink`.
///
/// Run a `Follower` (or a `BatchReader`) on a background thread with this queue as its sink, and
/// `drain(into: engine)` on the engine's thread between frames. Counts are aggregated, so they
/// cost little and never drop; events beyond `capacity` are dropped and counted (`countDropped`),
/// so a stalled consumer bounds memory instead of growing it. Source ids given to the producer
/// are the queue's own; `drain` adds each source to the real sink once and rewrites ids on the way.
///
/// Events are held as chunks: a network request's whole batch is one chunk (`offer` moves the
/// array in; `drain` moves it out), so a batch costs one lock and no per-event copy on either side.
public final class IngestQueue: IngestSink, @unchecked Sendable {
    private enum Control {
        case add(local: Int, name: String)
        case health(local: Int, SourceHealth)
    }
    private struct Key: Hashable {
        var local: Int
        var label: String
    }

    public let capacity: Int
    // Producer and consumer meet here; everything below is guarded by `lock`.
    private let lock = NSLock()
    private var names: [String] = []
    private var controls: [Control] = []
    private var lines: [Int: Int] = [:]
    private var malformed: [Key: Int] = [:]
    private var formats: [Key: Int] = [:]
    private var dropped = 0
    private var droppedSoFar = 0
    /// Chunks in arrival order from `chunksHead` on; the first is consumed from `firstOffset`.
    private var chunks: [[Event]] = []
    private var chunksHead = 0
    private var firstOffset = 0
    /// Whether the last chunk is the one `ingest` appends single events to (offered chunks are closed).
    private var lastIsOpen = false
    private var pending = 0
    // Consumer side only: the real sink's id for each local source.
    private var mapped: [SourceID] = []

    /// `capacity`: events held at most before new ones are dropped.
    public init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
    }

    /// Events dropped since the queue was made (a full queue on the single-event path).
    public var droppedTotal: Int {
        lock.lock(); defer { lock.unlock() }
        return droppedSoFar
    }

    /// Events waiting to be drained.
    public var pendingEvents: Int {
        lock.lock(); defer { lock.unlock() }
        return pending
    }

    // MARK: - Producer side

    public func addSource(name: String) -> SourceID {
        lock.lock(); defer { lock.unlock() }
        names.append(name)
        controls.append(.add(local: names.count - 1, name: name))
        return SourceID(UInt32(names.count - 1))
    }

    public func setHealth(_ health: SourceHealth, for source: SourceID) {
        lock.lock(); defer { lock.unlock() }
        controls.append(.health(local: Int(source.raw), health))
    }

    public func countLine(source: SourceID) {
        lock.lock(); defer { lock.unlock() }
        lines[Int(source.raw), default: 0] += 1
    }

    public func countLines(source: SourceID, count: Int) {
        lock.lock(); defer { lock.unlock() }
        lines[Int(source.raw), default: 0] += max(0, count)
    }

    public func countMalformed(source: SourceID, reason: String) {
        lock.lock(); defer { lock.unlock() }
        malformed[Key(local: Int(source.raw), label: reason), default: 0] += 1
    }

    public func countFormat(source: SourceID, format: String) {
        lock.lock(); defer { lock.unlock() }
        formats[Key(local: Int(source.raw), label: format), default: 0] += 1
    }

    public func countFormat(source: SourceID, format: String, count: Int) {
        lock.lock(); defer { lock.unlock() }
        formats[Key(local: Int(source.raw), label: format), default: 0] += max(0, count)
    }

    public func countDropped(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        dropped += n
        droppedSoFar += n
    }

    public func ingest(_ event: Event) {
        lock.lock(); defer { lock.unlock() }
        if pending >= capacity {
            dropped += 1
            droppedSoFar += 1
            return
        }
        if lastIsOpen && chunks.count > chunksHead {
            chunks[chunks.count - 1].append(event)
        } else {
            chunks.append([event])
            lastIsOpen = true
        }
        pending += 1
    }

    /// A chunk's events under one lock, kept as one chunk (no per-event copy); those past
    /// `capacity` are dropped and counted, as one by one.
    public func ingest(moving more: inout [Event]) {
        guard !more.isEmpty else { return }
        lock.lock()
        let room = max(0, capacity - pending)
        if room > 0 {
            var kept = more
            if kept.count > room {
                dropped += kept.count - room
                droppedSoFar += kept.count - room
                kept.removeSubrange(room...)
            }
            pending += kept.count
            chunks.append(kept)
            lastIsOpen = false
        } else {
            dropped += more.count
            droppedSoFar += more.count
        }
        lock.unlock()
        more.removeAll(keepingCapacity: true)
    }

    /// What one producer's unit of work (a network request) counted besides its events.
    public struct Tally: Sendable {
        public var lines = 0
        public var malformed: [String: Int] = [:]
        public var formats: [String: Int] = [:]
        public init() {}
    }

    /// Queues a whole batch or none of it, under one lock: counts always, events only if they fit.
    ///
    /// A batch that does not fit is refused (false) and not counted as dropped: the producer still
    /// holds it and answers "retry later" (a network source's 429), so nothing was lost here. An
    /// empty queue takes any batch, so one request larger than `capacity` still gets through (its
    /// size is bounded by the body limit).
    public func offer(_ batch: [Event], tally: Tally, source: SourceID) -> Bool {
        let local = Int(source.raw)
        lock.lock(); defer { lock.unlock() }
        if tally.lines > 0 { lines[local, default: 0] += tally.lines }
        for (reason, n) in tally.malformed { malformed[Key(local: local, label: reason), default: 0] += n }
        for (format, n) in tally.formats { formats[Key(local: local, label: format), default: 0] += n }
        if batch.isEmpty { return true }
        if pending > 0 && pending + batch.count > capacity { return false }
        chunks.append(batch)
        lastIsOpen = false
        pending += batch.count
        return true
    }

    // MARK: - Consumer side

    /// Delivers sources, health and counts, then up to `maxEvents` events in arrival order; returns
    /// the number of events delivered. Call it from the thread that owns `sink`.
    @discardableResult
    public func drain(into sink: any IngestSink, maxEvents: Int = .max) -> Int {
        var taken: [[Event]] = []
        var total = 0
        lock.lock()
        let controls = self.controls
        let lines = self.lines, malformed = self.malformed, formats = self.formats, dropped = self.dropped
        if !controls.isEmpty { self.controls.removeAll(keepingCapacity: true) }
        if !lines.isEmpty { self.lines.removeAll(keepingCapacity: true) }
        if !malformed.isEmpty { self.malformed.removeAll(keepingCapacity: true) }
        if !formats.isEmpty { self.formats.removeAll(keepingCapacity: true) }
        self.dropped = 0
        let budget = max(0, maxEvents)
        while total < budget && chunksHead < chunks.count {
            let left = chunks[chunksHead].count - firstOffset
            if firstOffset == 0 && left <= budget - total {
                // The whole chunk: moved out, no per-event copy.
                taken.append(chunks[chunksHead])
                chunks[chunksHead] = []
                total += left
                chunksHead += 1
            } else {
                let n = min(left, budget - total)
                taken.append(Array(chunks[chunksHead][firstOffset..<(firstOffset + n)]))
                total += n
                firstOffset += n
                if firstOffset == chunks[chunksHead].count {
                    chunks[chunksHead] = []
                    chunksHead += 1
                    firstOffset = 0
                }
            }
        }
        pending -= total
        if chunksHead == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            chunksHead = 0
            lastIsOpen = false
        } else if chunksHead > 256 && chunksHead * 2 > chunks.count {
            chunks.removeFirst(chunksHead)
            chunksHead = 0
        }
        lock.unlock()

        for control in controls {
            switch control {
            case .add(let local, let name):
                if local == mapped.count { mapped.append(sink.addSource(name: name)) }
            case .health(let local, let health):
                if local < mapped.count { sink.setHealth(health, for: mapped[local]) }
            }
        }
        for (local, n) in lines.sorted(by: { $0.key < $1.key }) where local < mapped.count {
            for _ in 0..<n { sink.countLine(source: mapped[local]) }
        }
        for (key, n) in malformed where key.local < mapped.count {
            for _ in 0..<n { sink.countMalformed(source: mapped[key.local], reason: key.label) }
        }
        for (key, n) in formats where key.local < mapped.count {
            for _ in 0..<n { sink.countFormat(source: mapped[key.local], format: key.label) }
        }
        if dropped > 0 { sink.countDropped(dropped) }
        for i in taken.indices {
            // Each chunk is uniquely held here, so the id rewrite happens in place.
            var chunk = taken[i]
            taken[i] = []
            for j in chunk.indices {
                let local = Int(chunk[j].source.raw)
                if local < mapped.count { chunk[j].source = mapped[local] }
                sink.ingest(chunk[j])
            }
        }
        return total
    }
}
