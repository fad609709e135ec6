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
    private var events: [Event] = []
    private var eventsHead = 0
    // Consumer side only: the real sink's id for each local source.
    private var mapped: [SourceID] = []

    /// `capacity`: events held at most before new ones are dropped.
    public init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
    }

    /// Events waiting to be drained.
    public var pendingEvents: Int {
        lock.lock(); defer { lock.unlock() }
        return events.count - eventsHead
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
    }

    public func ingest(_ event: Event) {
        lock.lock(); defer { lock.unlock() }
        if events.count - eventsHead >= capacity {
            dropped += 1
            return
        }
        events.append(event)
    }

    /// A chunk's events under one lock; those past `capacity` are dropped and counted, as one by one.
    public func ingest(moving more: inout [Event]) {
        lock.lock()
        let room = max(0, capacity - (events.count - eventsHead))
        if more.count <= room {
            events.append(contentsOf: more)
        } else {
            events.append(contentsOf: more[..<room])
            dropped += more.count - room
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
    /// A batch that does not fit is counted as dropped and refused (false), so a network source can
    /// answer "retry later" instead of keeping part of a request. An empty queue takes any batch, so
    /// one request larger than `capacity` still gets through (its size is bounded by the body limit).
    public func offer(_ batch: [Event], tally: Tally, source: SourceID) -> Bool {
        let local = Int(source.raw)
        lock.lock(); defer { lock.unlock() }
        if tally.lines > 0 { lines[local, default: 0] += tally.lines }
        for (reason, n) in tally.malformed { malformed[Key(local: local, label: reason), default: 0] += n }
        for (format, n) in tally.formats { formats[Key(local: local, label: format), default: 0] += n }
        let pending = events.count - eventsHead
        if pending > 0 && pending + batch.count > capacity {
            dropped += batch.count
            return false
        }
        events.append(contentsOf: batch)
        return true
    }

    // MARK: - Consumer side

    /// Delivers sources, health and counts, then up to `maxEvents` events in arrival order; returns
    /// the number of events delivered. Call it from the thread that owns `sink`.
    @discardableResult
    public func drain(into sink: any IngestSink, maxEvents: Int = .max) -> Int {
        lock.lock()
        let controls = self.controls
        let lines = self.lines, malformed = self.malformed, formats = self.formats, dropped = self.dropped
        self.controls.removeAll(keepingCapacity: true)
        self.lines.removeAll(keepingCapacity: true)
        self.malformed.removeAll(keepingCapacity: true)
        self.formats.removeAll(keepingCapacity: true)
        self.dropped = 0
        let available = events.count - eventsHead
        let take = min(available, max(0, maxEvents))
        let batch = Array(events[eventsHead..<(eventsHead + take)])
        eventsHead += take
        if eventsHead == events.count {
            events.removeAll(keepingCapacity: true)
            eventsHead = 0
        } else if eventsHead > 4096 && eventsHead * 2 > events.count {
            events.removeFirst(eventsHead)
            eventsHead = 0
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
        for var event in batch {
            let local = Int(event.source.raw)
            if local < mapped.count { event.source = mapped[local] }
            sink.ingest(event)
        }
        return batch.count
    }
}
