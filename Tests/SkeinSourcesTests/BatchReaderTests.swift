import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
@testable import SkeinSources

final class BatchReaderTests: XCTestCase {
    func testCountsLinesEventsMalformedAndFormatsPerSource() throws {
        let dir = try TempDir()
        let a = try dir.write("a.log", "1000 hello\n\n# comment\nnot a line\n2000 pair x\r\n3000 last")
        let b = try dir.write("b.log", "5 one\n" + String(repeating: "9", count: 100) + "\n6 two\n")
        let sink = RecordingSink()
        let reader = BatchReader(decoder: MillisDecoder.factory, chunkSize: 4096, maxLineLength: 64)
        let ids = reader.read([.file(a), .file(b)], into: sink)

        XCTAssertEqual(ids.count, 2)
        XCTAssertEqual(sink.names, [a, b])
        // The blank and the comment line were absorbed by the decoder, which names its format for
        // them (a decoder that took no part in a line names none: `AutoDecoder` for blank lines).
        XCTAssertEqual(sink.counts[ids[0]], RecordingSink.Counts(
            lines: 6, malformed: ["unrecognised": 1], formats: ["millis": 4, "millis-pair": 1], events: 4))
        XCTAssertEqual(sink.counts[ids[1]], RecordingSink.Counts(
            lines: 3, malformed: ["line_too_long": 1], formats: ["millis": 2], events: 2))
        XCTAssertEqual(sink.messages(a), ["1000 hello", "2000 pair x", "2000 pair x (2)", "3000 last"])
        XCTAssertEqual(sink.health[ids[0]], [.reading, .finished])
        XCTAssertTrue(sink.events.allSatisfy { $0.source == ids[0] || $0.source == ids[1] })
    }

    /// With the standard decoders: a multi-line Postgres entry credits every line to `postgres`,
    /// and a blank line between JSON lines credits nothing.
    func testFormatsCountHeldLinesButNotBlankOnes() throws {
        let dir = try TempDir()
        let pg = try dir.write("pg.log", """
            2026-11-23 10:00:00.120 UTC [4242] FATAL:  sorry, too many clients already
            2026-11-23 10:00:00.200 UTC [4243] ERROR:  relation "carts" does not exist at character 15
            2026-11-23 10:00:00.200 UTC [4243] STATEMENT:  select * from carts
            2026-11-23 10:00:00.300 UTC [4244] LOG:  connection received: host=10.0.0.7 port=51234

            """)
        let app = try dir.write("app.ndjson", "{\"ts\":1795428000000,\"service\":\"api\",\"msg\":\"a\"}\n\n{\"ts\":1795428000001,\"service\":\"api\",\"msg\":\"b\"}\n")
        let sink = RecordingSink()
        let reader = BatchReader(decoder: DecoderFactory(make: { AutoDecoder.standard() }, lastFormat: { $0.lastFormat }))
        let ids = reader.read([.file(pg), .file(app)], into: sink)
        XCTAssertEqual(sink.counts[ids[0]]?.lines, 4)
        XCTAssertEqual(sink.counts[ids[0]]?.formats, ["postgres": 4])
        XCTAssertEqual(sink.counts[ids[1]]?.lines, 3)
        XCTAssertEqual(sink.counts[ids[1]]?.formats, ["skein": 2])
    }

    func testLinesSplitAcrossReadsAreReassembled() throws {
        let dir = try TempDir()
        var text = ""
        for i in 0..<5000 { text += "\(i) line number \(i) with some padding to cross chunk edges\n" }
        let p = try dir.write("big.log", text)
        let sink = RecordingSink()
        BatchReader(decoder: MillisDecoder.factory, chunkSize: 4096).read([.file(p)], into: sink)
        XCTAssertEqual(sink.events.count, 5000)
        XCTAssertEqual(sink.counts[SourceID(0)]?.malformedTotal, 0)
        XCTAssertEqual(sink.events.map(\.time.nanos), (0..<5000).map { Int64($0) * 1_000_000 })
    }

    func testDirectoryGlobAndMissingInputs() throws {
        let dir = try TempDir()
        try dir.write("logs/b.ndjson", "2 b\n")
        try dir.write("logs/a.ndjson", "1 a\n")
        try dir.write("logs/sub/c.ndjson", "3 c\n")
        try dir.write("logs/.hidden", "4 hidden\n")
        try dir.write("logs/skip.txt", "5 txt\n")

        let dirSink = RecordingSink()
        let reader = BatchReader(decoder: MillisDecoder.factory)
        reader.read([InputSpec(argument: dir.file("logs"))], into: dirSink)
        XCTAssertEqual(dirSink.names, [dir.file("logs/a.ndjson"), dir.file("logs/b.ndjson"),
                                       dir.file("logs/skip.txt"), dir.file("logs/sub/c.ndjson")])

        let globSink = RecordingSink()
        reader.read([InputSpec(argument: dir.file("logs/*.ndjson"))], into: globSink)
        XCTAssertEqual(globSink.names, [dir.file("logs/a.ndjson"), dir.file("logs/b.ndjson")])
        XCTAssertEqual(globSink.messages(), ["1 a", "2 b"])

        let missing = RecordingSink()
        reader.read([InputSpec(argument: dir.file("nope/*.log")), InputSpec(argument: dir.file("absent.log"))], into: missing)
        XCTAssertEqual(missing.names.count, 2)
        guard case .failed(let r1)? = missing.lastHealth(dir.file("nope/*.log")),
              case .failed(let r2)? = missing.lastHealth(dir.file("absent.log")) else {
            return XCTFail("missing inputs must be failed sources: \(missing.health)")
        }
        XCTAssertTrue(r1.contains("nothing matches"))
        XCTAssertTrue(r2.contains("cannot open"))
    }

    func testDecoderChosenAtRunTime() throws {
        let dir = try TempDir()
        let p = try dir.write("a.log", "1 a\n2 pair\n")
        let chosen: @Sendable () -> any FrameDecoder = { HoldingDecoder() }
        let sink = RecordingSink()
        BatchReader(decoder: DecoderFactory(make: chosen)).read(path: p, into: sink)
        XCTAssertEqual(sink.counts[SourceID(0)]?.formats, ["holding": 2])
        XCTAssertEqual(sink.messages(), ["1 a", "2 pair", "2 pair (2)"])

        let runtime = DecoderFactory(make: chosen, lastFormat: { ($0 as? HoldingDecoder)?.inner.lastFormat })
        let sink2 = RecordingSink()
        BatchReader(decoder: runtime).read(path: p, into: sink2)
        XCTAssertEqual(sink2.counts[SourceID(0)]?.formats, ["millis": 1, "millis-pair": 1])
    }

    func testInputSpecParsing() throws {
        let dir = try TempDir()
        XCTAssertEqual(InputSpec(argument: "-"), .stdin)
        XCTAssertEqual(InputSpec(argument: "x/*.log"), .glob("x/*.log"))
        XCTAssertEqual(InputSpec(argument: dir.path), .directory(dir.path))
        XCTAssertEqual(InputSpec(argument: dir.file("later.log")), .file(dir.file("later.log")))
        // Lambda stream names carry brackets: an existing path is taken literally, not as a glob.
        let lambda = try dir.write("2026-11-23-[$LATEST]9f1c.log", "1 x\n")
        XCTAssertEqual(InputSpec(argument: lambda), .file(lambda))
        XCTAssertEqual(InputSpec(argument: dir.file("*.log")).paths(), [lambda])
    }

    func testIngestFlushReleasesHeldEventAndRestartUsesFreshDecoder() {
        let sink = RecordingSink()
        let factory = DecoderFactory(make: { HoldingDecoder() })
        let ingest = Ingest(source: sink.addSource(name: "s"), decoder: factory)
        Array("1 a\n2 b\n".utf8).withUnsafeBufferPointer { ingest.consume($0, into: sink) }
        XCTAssertEqual(sink.messages(), ["1 a"], "second event held back")
        ingest.flush(into: sink)
        XCTAssertEqual(sink.messages(), ["1 a", "2 b"])
        Array("3 c".utf8).withUnsafeBufferPointer { ingest.consume($0, into: sink) }
        ingest.restart(into: sink)
        XCTAssertEqual(sink.messages(), ["1 a", "2 b", "3 c"], "restart finishes the old stream")
        XCTAssertEqual(ingest.offset, 0)
        XCTAssertEqual(sink.counts[SourceID(0)]?.formats, ["holding": 3])
    }
}

/// Holds each event until the next frame or a flush, like a multi-line decoder.
struct HoldingDecoder: FrameDecoder {
    var name: String { "holding" }
    var inner = MillisDecoder()
    var held: Event?

    mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        var fresh: [Event] = []
        let outcome = inner.decode(frame, source: source, into: &fresh)
        if let h = held, !fresh.isEmpty { events.append(h); held = nil }
        if let last = fresh.popLast() { events.append(contentsOf: fresh); held = last }
        return outcome
    }

    mutating func flush(source: SourceID, into events: inout [Event]) {
        if let h = held { events.append(h); held = nil }
    }
}
