import Foundation
import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
@testable import SkeinSources

final class IngestQueueTests: XCTestCase {
    func testHandsOverFromAReaderThreadWithRemappedIDs() throws {
        let dir = try TempDir()
        var text = ""
        for i in 0..<3000 { text += i % 100 == 99 ? "garbage\n" : "\(i) line\n" }
        let a = try dir.write("a.log", text)
        let b = try dir.write("b.log", "1 b\n2 b\n")
        let queue = IngestQueue()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            BatchReader(decoder: MillisDecoder.factory, chunkSize: 4096).read([.file(a), .file(b)], into: queue)
            done.signal()
        }
        thread.start()

        let engine = RecordingSink()
        _ = engine.addSource(name: "already-there")
        var finished = false
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if !finished { finished = done.wait(timeout: .now() + .milliseconds(1)) == .success }
            queue.drain(into: engine, maxEvents: 500)
            if finished && queue.pendingEvents == 0 { break }
        }
        queue.drain(into: engine)
        XCTAssertTrue(finished)
        XCTAssertEqual(engine.names, ["already-there", a, b])
        let ida = engine.id(a)!, idb = engine.id(b)!
        XCTAssertEqual(engine.counts[ida], RecordingSink.Counts(lines: 3000, malformed: ["unrecognised": 30],
                                                                formats: ["millis": 2970], events: 2970))
        XCTAssertEqual(engine.counts[idb]?.events, 2)
        XCTAssertEqual(engine.messages(a).first, "0 line")
        XCTAssertEqual(engine.events.filter { $0.source == ida }.map(\.time), engine.events.filter { $0.source == ida }.map(\.time).sorted())
        XCTAssertEqual(engine.health[ida], [.reading, .finished])
        XCTAssertEqual(engine.dropped, 0)
    }

    func testFullQueueDropsEventsAndCountsThem() {
        let queue = IngestQueue(capacity: 3)
        let id = queue.addSource(name: "s")
        for i in 0..<10 {
            queue.countLine(source: id)
            queue.ingest(Event(time: Timestamp(millis: Int64(i)), source: id, message: "\(i)"))
        }
        XCTAssertEqual(queue.pendingEvents, 3)
        let sink = RecordingSink()
        XCTAssertEqual(queue.drain(into: sink, maxEvents: 2), 2)
        XCTAssertEqual(sink.dropped, 7)
        XCTAssertEqual(queue.droppedTotal, 7)
        XCTAssertEqual(sink.counts[SourceID(0)]?.lines, 10, "counts are never dropped")
        queue.ingest(Event(time: Timestamp(millis: Int64(10)), source: id, message: "10"))
        XCTAssertEqual(queue.drain(into: sink), 2)
        XCTAssertEqual(sink.messages(), ["0", "1", "2", "10"])
        XCTAssertEqual(sink.names, ["s"], "a source is added once")
    }

    func testBatchesAndSingleEventsKeepTheirOrderAcrossPartialDrains() {
        let queue = IngestQueue(capacity: 10)
        let id = queue.addSource(name: "s")
        func ev(_ i: Int) -> Event { Event(time: Timestamp(millis: Int64(i)), source: id, message: "\(i)") }
        var tally = IngestQueue.Tally()
        tally.lines = 3
        XCTAssertTrue(queue.offer([ev(0), ev(1), ev(2)], tally: tally, source: id))
        queue.ingest(ev(3))
        queue.ingest(ev(4))
        XCTAssertTrue(queue.offer([ev(5), ev(6)], tally: IngestQueue.Tally(), source: id))
        queue.ingest(ev(7))
        XCTAssertEqual(queue.pendingEvents, 8)
        // Past capacity a batch is refused whole: its lines count, nothing is dropped (the producer keeps it).
        XCTAssertFalse(queue.offer([ev(90), ev(91), ev(92)], tally: tally, source: id))
        XCTAssertEqual(queue.pendingEvents, 8)

        let sink = RecordingSink()
        XCTAssertEqual(queue.drain(into: sink, maxEvents: 2), 2, "part of the first batch")
        XCTAssertEqual(queue.drain(into: sink, maxEvents: 4), 4, "its rest, two single events, part of the next batch")
        queue.ingest(ev(8))
        XCTAssertEqual(queue.drain(into: sink), 3)
        XCTAssertEqual(sink.messages(), (0...8).map { "\($0)" })
        XCTAssertEqual(sink.dropped, 0)
        XCTAssertEqual(queue.droppedTotal, 0)
        XCTAssertEqual(sink.counts[SourceID(0)]?.lines, 6)
        XCTAssertEqual(queue.pendingEvents, 0)
        XCTAssertEqual(queue.drain(into: sink), 0)
    }

    func testChunkHandOverKeepsWhatFitsAndCountsTheRest() {
        let queue = IngestQueue(capacity: 3)
        let id = queue.addSource(name: "s")
        var chunk = (0..<5).map { Event(time: Timestamp(millis: Int64($0)), source: id, message: "\($0)") }
        queue.countLines(source: id, count: 5)
        queue.countFormat(source: id, format: "skein", count: 5)
        queue.ingest(moving: &chunk)
        XCTAssertTrue(chunk.isEmpty, "the chunk is taken")
        let sink = RecordingSink()
        XCTAssertEqual(queue.drain(into: sink), 3)
        XCTAssertEqual(sink.messages(), ["0", "1", "2"], "the first events that fit, in order")
        XCTAssertEqual(sink.dropped, 2)
        XCTAssertEqual(sink.counts[SourceID(0)]?.lines, 5)
        XCTAssertEqual(sink.counts[SourceID(0)]?.formats, ["skein": 5])
    }
}
