import Foundation
import XCTest
import SkeinCore
import SkeinEngine
@testable import SkeinSources

final class MappedInputTests: XCTestCase {
    private static func pattern(_ n: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: ($0 &* 131) ^ ($0 >> 9)) | 1 }
    }

    func testReadsEveryByteInOrderAcrossWindowsAndLeavesTheOffsetAtTheEnd() throws {
        // Five windows of 8 KiB and a partial one, in slices that do not divide a window.
        let bytes = Self.pattern(45_001)
        let path = try temporaryFile(bytes)
        guard case .success(let fd) = POSIX.openForReading(path) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        var got: [UInt8] = []
        var slices = 0
        let outcome = MappedInput.read(fd: fd, slice: 3000, window: 8192) { got.append(contentsOf: $0); slices += 1 }
        XCTAssertEqual(outcome, .read(45_001))
        XCTAssertEqual(got, bytes)
        XCTAssertGreaterThan(slices, 15)
        XCTAssertEqual(lseek(fd, 0, SEEK_CUR), 45_001)
    }

    func testPipesAndEmptyFilesAreLeftToRead() throws {
        let empty = try temporaryFile([])
        guard case .success(let fd) = POSIX.openForReading(empty) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        XCTAssertEqual(MappedInput.read(fd: fd, slice: 4096) { _ in XCTFail("no bytes") }, .notMapped)

        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[0]); close(ends[1]) }
        XCTAssertEqual(MappedInput.read(fd: ends[0], slice: 4096) { _ in XCTFail("no bytes") }, .notMapped)
    }

    /// A file cut short while its window is mapped: the pages past the new end would raise SIGBUS
    /// and end the process. The guard maps zeros there instead, and the read stops and says so.
    func testAFileTruncatedWhileMappedEndsTheReadInsteadOfTheProcess() throws {
        let bytes = Self.pattern(64 << 10)
        let path = try temporaryFile(bytes)
        guard case .success(let fd) = POSIX.openForReading(path) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        var got: [UInt8] = []
        var first = true
        // One window of 64 KiB read in 8 KiB slices: after the first slice the file is cut to 5,000
        // bytes, so the second slice's pages are past the end.
        let outcome = MappedInput.read(fd: fd, slice: 8192, window: 64 << 10) { chunk in
            got.append(contentsOf: chunk)
            if first {
                first = false
                XCTAssertEqual(truncate(path, 5000), 0)
            }
        }
        XCTAssertEqual(outcome, .shrank(at: 5000))
        XCTAssertEqual(Array(got.prefix(8192)), Array(bytes.prefix(8192)))
        // The slice read across the cut got zeros where the pages were gone (a malformed line for
        // the framer), and nothing after it was read.
        XCTAssertEqual(got.count, 16_384)
        XCTAssertTrue(got[12_288...].allSatisfy { $0 == 0 })
    }

    /// Through `BatchReader`: bytes appended after the file was opened are read too (the mapping
    /// covers the size at the start, `read(2)` the rest), and the source ends as finished.
    func testLinesAppendedWhileReadingAreReadAfterTheMappedPart() throws {
        let dir = try TempDir()
        let path = try dir.write("grow.log", (0..<2000).map { "\(1000 + $0) line \($0)\n" }.joined())
        let sink = RecordingSink()
        let reader = BatchReader(decoder: MillisDecoder.factory, chunkSize: 4096)
        var appended = false
        let id = sink.addSource(name: path)
        guard case .success(let fd) = POSIX.openForReading(path) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        let ingest = Ingest(source: id, decoder: MillisDecoder.factory, maxLineLength: 1024)
        let counting = AppendingSink(inner: sink) {
            guard !appended else { return }
            appended = true
            try? dir.append("grow.log", "9000 appended\n")
        }
        let health = reader.readToEnd(fd: fd, name: path, ingest: ingest, into: counting)
        XCTAssertEqual(health, .finished)
        XCTAssertTrue(appended)
        XCTAssertEqual(sink.messages(path).count, 2001)
        XCTAssertEqual(sink.messages(path).last, "9000 appended")
    }
}

/// Forwards to a recording sink and runs `onFirstEvent` once, when the first event arrives.
private final class AppendingSink: IngestSink {
    let inner: RecordingSink
    var onFirstEvent: (() -> Void)?
    init(inner: RecordingSink, onFirstEvent: @escaping () -> Void) {
        self.inner = inner
        self.onFirstEvent = onFirstEvent
    }
    func addSource(name: String) -> SourceID { inner.addSource(name: name) }
    func setHealth(_ health: SourceHealth, for source: SourceID) { inner.setHealth(health, for: source) }
    func countLine(source: SourceID) { inner.countLine(source: source) }
    func countMalformed(source: SourceID, reason: String) { inner.countMalformed(source: source, reason: reason) }
    func countFormat(source: SourceID, format: String) { inner.countFormat(source: source, format: format) }
    func countDropped(_ n: Int) { inner.countDropped(n) }
    func ingest(_ event: Event) {
        if let hook = onFirstEvent { onFirstEvent = nil; hook() }
        inner.ingest(event)
    }
}
