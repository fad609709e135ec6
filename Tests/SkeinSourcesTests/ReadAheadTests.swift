import Foundation
import XCTest
@testable import SkeinSources

final class ReadAheadTests: XCTestCase {
    private func drain(_ r: ReadAhead) -> (bytes: [UInt8], end: ReadAhead.Item) {
        var out: [UInt8] = []
        while true {
            let item = r.next()
            guard case .data(let i, let n) = item else { return (out, item) }
            out.append(contentsOf: r.buffers[i][0..<n])
            r.release(i)
        }
    }

    func testDeliversEveryByteInOrderThroughASmallRing() throws {
        // 10,007 bytes through a ring of three 4 KiB buffers: the reader waits for buffers back.
        let bytes = (0..<10_007).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let path = try temporaryFile(bytes)
        guard case .success(let fd) = POSIX.openForReading(path) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        let r = ReadAhead(fd: fd, chunkSize: 4096, chunks: 3)
        let (got, end) = drain(r)
        r.finish()
        XCTAssertEqual(got, bytes)
        guard case .end = end else { return XCTFail("expected end of file, got \(end)") }
    }

    func testEmptyFileEndsAtOnce() throws {
        let path = try temporaryFile([])
        guard case .success(let fd) = POSIX.openForReading(path) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        let r = ReadAhead(fd: fd, chunkSize: 4096, chunks: 2)
        let (got, end) = drain(r)
        r.finish()
        XCTAssertEqual(got, [])
        guard case .end = end else { return XCTFail("expected end of file, got \(end)") }
    }

    func testReadErrorIsReported() throws {
        // read(2) on a directory fails with EISDIR.
        let fd = open(NSTemporaryDirectory(), O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let r = ReadAhead(fd: fd, chunkSize: 4096, chunks: 2)
        let (got, end) = drain(r)
        r.finish()
        XCTAssertEqual(got, [])
        guard case .failed(let code) = end else { return XCTFail("expected a failure, got \(end)") }
        XCTAssertEqual(code, EISDIR)
    }

    func testFinishingEarlyStopsTheReader() throws {
        let path = try temporaryFile([UInt8](repeating: 0x41, count: 64 << 10))
        guard case .success(let fd) = POSIX.openForReading(path) else { return XCTFail("open") }
        defer { POSIX.closeFile(fd) }
        let r = ReadAhead(fd: fd, chunkSize: 4096, chunks: 2)
        guard case .data(let i, let n) = r.next() else { return XCTFail("expected data") }
        XCTAssertEqual(n, 4096)
        r.release(i)
        // The reader is blocked on a full ring; finish must wake it and wait for it, not hang.
        r.finish()
    }
}
