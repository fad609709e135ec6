import Foundation
import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
@testable import SkeinSources

final class FollowerTests: XCTestCase {
    private func follower(_ specs: [InputSpec], _ sink: RecordingSink, _ configure: (inout FollowConfig) -> Void = { _ in }) -> Follower {
        var config = FollowConfig()
        configure(&config)
        return Follower(specs, decoder: MillisDecoder.factory, sink: sink, config: config)
    }

    func testAppendsArePickedUpAndPartialLinesWait() throws {
        let dir = try TempDir()
        let p = try dir.write("app.log", "1 a\n2 b\n")
        let sink = RecordingSink()
        let f = follower([.file(p)], sink)
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b"])
        XCTAssertEqual(sink.lastHealth(p), .reading)
        f.poll()
        XCTAssertEqual(sink.lastHealth(p), .waiting)

        try dir.append("app.log", "3 c\n4 d")
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b", "3 c"], "the unterminated line waits for its newline")
        try dir.append("app.log", "-more\n")
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b", "3 c", "4 d-more"])
        XCTAssertEqual(sink.names, [p], "one source for the path")
    }

    func testRotationFinishesOldFileThenReadsNewFromStart() throws {
        let dir = try TempDir()
        let p = try dir.write("app.log", "1 old-a\n")
        let sink = RecordingSink()
        let f = follower([.file(p)], sink)
        f.poll()
        // The writer logs a last line (without a newline), then the file is renamed and a new one created.
        try dir.append("app.log", "2 old-last")
        try FileManager.default.moveItem(atPath: p, toPath: dir.file("app.log.1"))
        try dir.write("app.log", "3 new-a\n4 new-b\n")
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 old-a", "2 old-last", "3 new-a", "4 new-b"])
        try dir.append("app.log", "5 new-c\n")
        f.poll()
        XCTAssertEqual(sink.messages().last, "5 new-c")
        XCTAssertEqual(sink.names, [p])
    }

    func testRotatedFileMatchedByGlobIsNotReadTwice() throws {
        let dir = try TempDir()
        try dir.write("app.log", "1 a\n2 b\n")
        let sink = RecordingSink()
        let f = follower([.glob(dir.file("app.log*"))], sink)
        f.poll()
        try FileManager.default.moveItem(atPath: dir.file("app.log"), toPath: dir.file("app.log.1"))
        try dir.write("app.log", "3 c\n")
        f.poll()
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b", "3 c"])
        XCTAssertEqual(Set(sink.names), [dir.file("app.log"), dir.file("app.log.1")])
        try dir.append("app.log.1", "9 late write to the rotated file\n")
        f.poll()
        XCTAssertEqual(sink.messages(dir.file("app.log.1")), ["9 late write to the rotated file"])
    }

    func testTruncationRestartsFromZero() throws {
        let dir = try TempDir()
        let p = try dir.write("app.log", "1 first line that is long\n2 second line that is long\n")
        let sink = RecordingSink()
        let f = follower([.file(p)], sink)
        f.poll()
        XCTAssertEqual(sink.messages().count, 2)
        try dir.write("app.log", "3 after\n")  // shorter than what was read: truncated in place
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 first line that is long", "2 second line that is long", "3 after"])
    }

    func testDeletedThenRecreated() throws {
        let dir = try TempDir()
        let p = try dir.write("app.log", "1 a\n")
        let sink = RecordingSink()
        let f = follower([.file(p)], sink)
        f.poll()
        try FileManager.default.removeItem(atPath: p)
        f.poll()
        XCTAssertEqual(sink.lastHealth(p), .waiting)
        f.poll()
        try dir.write("app.log", "2 b\n")
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b"])
        XCTAssertEqual(sink.lastHealth(p), .reading)
    }

    func testMissingFileIsWaitedFor() throws {
        let dir = try TempDir()
        let p = dir.file("later.log")
        let sink = RecordingSink()
        let f = follower([.file(p)], sink)
        f.poll()
        XCTAssertEqual(sink.lastHealth(p), .waiting)
        try dir.write("later.log", "7 hello\n")
        f.poll()
        XCTAssertEqual(sink.messages(), ["7 hello"])
    }

    func testNewFileInWatchedDirectory() throws {
        let dir = try TempDir()
        try dir.write("logs/a.log", "1 a\n")
        let sink = RecordingSink()
        let f = follower([.directory(dir.file("logs"))], sink)
        f.poll()
        XCTAssertEqual(sink.names, [dir.file("logs/a.log")])
        try dir.write("logs/b.log", "2 b\n")
        try dir.write("logs/deeper/c.log", "3 c\n")
        f.poll()
        XCTAssertEqual(sink.names, [dir.file("logs/a.log"), dir.file("logs/b.log"), dir.file("logs/deeper/c.log")])
        XCTAssertEqual(sink.messages(), ["1 a", "2 b", "3 c"])
    }

    func testStartAtEndSkipsHistoryOfFilesPresentAtStart() throws {
        let dir = try TempDir()
        try dir.write("logs/old.log", "1 history\n")
        let sink = RecordingSink()
        let f = follower([.directory(dir.file("logs"))], sink) { $0.startAtEnd = true }
        f.poll()
        XCTAssertEqual(sink.messages(), [])
        try dir.append("logs/old.log", "2 fresh\n")
        try dir.write("logs/new.log", "3 new file from its start\n")
        f.poll()
        XCTAssertEqual(sink.messages(), ["2 fresh", "3 new file from its start"])
    }

    func testReadBudgetKeepsRoundsShort() throws {
        let dir = try TempDir()
        var text = ""
        for i in 0..<2000 { text += "\(i) some padding padding padding\n" }
        let p = try dir.write("big.log", text)
        let sink = RecordingSink()
        let f = follower([.file(p)], sink) { $0.readBudgetPerSource = 8192; $0.chunkSize = 4096 }
        var rounds = 0
        while f.poll().behind { rounds += 1; XCTAssertLessThan(rounds, 1000) }
        XCTAssertGreaterThan(rounds, 3)
        XCTAssertEqual(sink.events.count, 2000)
        XCTAssertEqual(sink.counts[SourceID(0)]?.lines, 2000)
    }

    func testQuietSourceFlushesHeldEventAndFinishEmitsPartialLine() throws {
        let dir = try TempDir()
        let p = try dir.write("app.log", "1 a\n2 b\n3 partial")
        let sink = RecordingSink()
        var config = FollowConfig()
        config.quietRoundsBeforeFlush = 2
        let f = Follower([.file(p)], decoder: DecoderFactory(make: { HoldingDecoder() }), sink: sink, config: config)
        f.poll()
        XCTAssertEqual(sink.messages(), ["1 a"])
        f.poll(); f.poll()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b"], "flushed after two quiet rounds")
        f.finish()
        XCTAssertEqual(sink.messages(), ["1 a", "2 b", "3 partial"])
        XCTAssertEqual(sink.lastHealth(p), .finished)
    }

    func testStdinThroughAPipe() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let sink = RecordingSink()
        let f = Follower([.stdin], decoder: MillisDecoder.factory, sink: sink, stdinFD: fds[0])
        let text = Array("1 from\n2 the pipe\n3 unterminated".utf8)
        XCTAssertEqual(text.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }, text.count)
        close(fds[1])
        let deadline = Date().addingTimeInterval(1)
        while !f.isExhausted && Date() < deadline {
            f.poll()
            usleep(2_000)
        }
        close(fds[0])
        XCTAssertTrue(f.isExhausted)
        XCTAssertEqual(sink.names, ["stdin"])
        XCTAssertEqual(sink.messages(), ["1 from", "2 the pipe", "3 unterminated"])
        XCTAssertEqual(sink.lastHealth("stdin"), .finished)
    }

    func testPumpDropsWhenFullCountsLinesAndResynchronizes() {
        let pump = StreamPump(fd: -1, capacity: 2)
        pump.offer(Array("1 a\n2 b".utf8))
        pump.offer(Array("b\n3 c\n".utf8))
        pump.offer(Array("4 lost\n5 lo".utf8))     // dropped: 1 newline + the torn line after the gap
        pump.offer(Array("st\n6 lost\n".utf8))     // dropped: 2 newlines
        let batch = pump.drain()
        XCTAssertEqual(batch.chunks.count, 2)
        XCTAssertEqual(batch.droppedLines, 4)
        pump.offer(Array("still torn\n7 g\n".utf8))
        let next = pump.drain()
        XCTAssertEqual(next.chunks.map(\.afterGap), [true])

        let sink = RecordingSink()
        let ingest = Ingest(source: sink.addSource(name: "stdin"), decoder: MillisDecoder.factory)
        for chunk in batch.chunks + next.chunks {
            if chunk.afterGap { ingest.resynchronize() }
            chunk.bytes.withUnsafeBufferPointer { ingest.consume($0, into: sink) }
        }
        XCTAssertEqual(sink.messages(), ["1 a", "2 bb", "3 c", "7 g"])
    }

    func testRunLoopSleepsOnlyWhenCaughtUp() throws {
        let dir = try TempDir()
        var text = ""
        for i in 0..<300 { text += "\(i) padding padding padding padding\n" }
        let p = try dir.write("app.log", text)
        let sink = RecordingSink()
        let f = follower([.file(p)], sink) { $0.readBudgetPerPoll = 2048; $0.pollInterval = .milliseconds(40) }
        var sleeps: [Duration] = []
        f.run(shouldStop: { sleeps.count == 2 }, sleep: { d in
            sleeps.append(d)
            if sleeps.count == 1 { try? dir.append("app.log", "999 appended while asleep\n") }
        })
        XCTAssertEqual(sleeps, [.milliseconds(40), .milliseconds(40)])
        XCTAssertEqual(sink.events.count, 301)
        XCTAssertEqual(sink.messages().last, "999 appended while asleep")
    }

    func testDirectoryNamedAsFileFailsWithReasonAndOversizeLinesAreCounted() throws {
        let dir = try TempDir()
        try dir.write("sub/x.log", "1 x\n")
        let p = try dir.write("app.log", "1 ok\n" + String(repeating: "z", count: 100) + "\n2 ok\n")
        let sink = RecordingSink()
        let f = follower([.file(dir.file("sub")), .file(p)], sink) { $0.maxLineLength = 50 }
        f.poll()
        guard case .failed(let reason)? = sink.lastHealth(dir.file("sub")) else { return XCTFail("\(sink.health)") }
        XCTAssertTrue(reason.contains("not a regular file"), reason)
        XCTAssertEqual(sink.messages(), ["1 ok", "2 ok"])
        XCTAssertEqual(sink.counts[sink.id(p)!]?.malformed, ["line_too_long": 1])
        XCTAssertEqual(sink.counts[sink.id(p)!]?.lines, 3)
    }

    func testPumpDrainIsBoundedByBytes() {
        let pump = StreamPump(fd: -1, capacity: 10)
        for i in 0..<3 { pump.offer(Array("\(i) 456789\n".utf8)) }
        pump.markEnded()
        let first = pump.drain(maxBytes: 15)
        XCTAssertEqual(first.chunks.count, 1)
        XCTAssertTrue(first.more)
        XCTAssertFalse(first.ended, "not ended while chunks remain")
        let rest = pump.drain(maxBytes: 25)
        XCTAssertEqual(rest.chunks.count, 2)
        XCTAssertFalse(rest.more)
        XCTAssertTrue(rest.ended)
    }

    func testBusyFilesShareTheRoundBudget() throws {
        let dir = try TempDir()
        var text = ""
        for i in 0..<500 { text += "\(i) padding padding padding padding\n" }
        try dir.write("logs/a.log", text)
        try dir.write("logs/b.log", text)
        let sink = RecordingSink()
        let f = follower([.directory(dir.file("logs"))], sink) { $0.readBudgetPerPoll = 4096; $0.chunkSize = 4096 }
        f.poll()  // discovery: a takes the whole budget
        f.poll()
        f.poll()
        let a = sink.counts[sink.id(dir.file("logs/a.log"))!]?.events ?? 0
        let b = sink.counts[sink.id(dir.file("logs/b.log"))!]?.events ?? 0
        XCTAssertGreaterThan(b, 0, "b is not starved by a")
        XCTAssertGreaterThan(a, 0)
        while f.poll().behind {}
        XCTAssertEqual(sink.events.count, 1000)
    }
}
