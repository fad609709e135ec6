#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import NIOEmbedded
import SkeinCore
import SkeinSources
import XCTest
@testable import SkeinCollector

/// What keeps one client from holding the collector: request deadlines, the connection cap, and
/// refusals that are told apart from losses.
final class LimitsTests: XCTestCase {
    private func config(timeout: Int) -> CollectorConfig {
        var c = CollectorConfig()
        c.requestTimeoutSeconds = timeout
        return c
    }

    func testABodyTrickledPastTheRequestTimeoutIs408AndClosed() throws {
        let c = try Connection(config: config(timeout: 5))
        try c.channel.writeInbound(ByteBuffer(string: "POST /ingest HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n{\"ts\":"))
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        // Still trickling: the clock runs from the request's first byte, not from the last one.
        try c.channel.writeInbound(ByteBuffer(string: "1"))
        XCTAssertTrue(c.readAll().isEmpty)
        XCTAssertTrue(c.channel.isActive)
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        let answer = try XCTUnwrap(Connection.parse(c.readAll()))
        XCTAssertEqual(answer.status, 408)
        XCTAssertEqual(answer.headers["connection"], "close")
        XCTAssertFalse(c.channel.isActive)
        XCTAssertEqual(c.state.metrics.totals.timeouts, 1)
        XCTAssertEqual(c.drain().events.count, 0)
        XCTAssertTrue(c.state.metrics.render(queueDepth: 0, queueCapacity: 1).contains("skein_collector_request_timeouts_total 1"))
    }

    func testATrickledHeadIsClosedWithoutAnAnswer() throws {
        let c = try Connection(config: config(timeout: 5))
        try c.channel.writeInbound(ByteBuffer(string: "POST /ingest HTTP/1.1\r\nHo"))
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        // No head, so no 408: the connection is closed (the HTTP codec may say 400 about the
        // half head as it goes, which a real socket, already closed, never delivers).
        let leftover = Connection.parse(c.readAll())
        XCTAssertTrue(leftover == nil || leftover?.status == 400, "\(String(describing: leftover?.status))")
        XCTAssertFalse(c.channel.isActive)
        XCTAssertEqual(c.state.metrics.totals.timeouts, 1)
    }

    func testAnsweredRequestsStopTheClockAndTheNextOneStartsItsOwn() throws {
        let c = try Connection(config: config(timeout: 5))
        XCTAssertEqual(try c.send("/ingest", body: Array(#"{"ts":1795428000000,"service":"a","msg":"x"}"#.utf8)).status, 200)
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        XCTAssertTrue(c.channel.isActive, "a keep-alive connection between requests is the idle timer's business")
        XCTAssertEqual(try c.get("/healthz").status, 200)
        XCTAssertEqual(c.state.metrics.totals.timeouts, 0)
        try c.channel.writeInbound(ByteBuffer(string: "GET /heal"))
        c.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        XCTAssertFalse(c.channel.isActive)
        XCTAssertEqual(c.state.metrics.totals.timeouts, 1)
    }

    func testAFullQueueRejectsWithoutCountingADrop() throws {
        let c = try Connection(capacity: 3)
        let line = #"{"ts":1795428000000,"service":"a","msg":"x"}"#
        let three = Array(Array(repeating: line, count: 3).joined(separator: "\n").utf8)
        XCTAssertEqual(try c.send("/ingest", body: Array(line.utf8)).status, 200)
        // Room for a batch like the last one (1 event), so it is decoded: 3 do not fit.
        let refused = try c.send("/ingest", body: three)
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        let totals = c.state.metrics.totals
        XCTAssertEqual(totals.rejected, 3)
        XCTAssertEqual(totals.events, 1)
        let sink = c.drain()
        XCTAssertEqual(sink.events.count, 1)
        XCTAssertEqual(sink.dropped, 0, "a refused request was not lost: its client sends it again")
        let text = c.state.metrics.render(queueDepth: 0, queueCapacity: 3, dropped: c.queue.droppedTotal)
        XCTAssertTrue(text.contains(#"skein_collector_rejected_events_total{endpoint="/ingest"} 3"#), text)
        XCTAssertTrue(text.contains("skein_collector_dropped_total 0"), text)
        XCTAssertTrue(text.contains(#"skein_collector_requests_total{endpoint="/ingest",code="429"} 1"#), text)
    }

    func testAFullQueueRefusesFromTheHeadWithoutDecoding() throws {
        let c = try Connection(capacity: 2)
        let line = #"{"ts":1795428000000,"service":"a","msg":"x"}"#
        let two = Array(Array(repeating: line, count: 2).joined(separator: "\n").utf8)
        XCTAssertEqual(try c.send("/ingest", body: two).status, 200)
        let refused = try c.send("/ingest", body: two + Array("\nnot json".utf8))
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        XCTAssertEqual(try c.send("/v1/traces", headers: [("Content-Type", "application/x-protobuf")], body: [0xff]).status, 429,
                       "not even looked at: an undecodable body would be 400 otherwise")
        let totals = c.state.metrics.totals
        XCTAssertEqual(totals.rejected, 0, "nothing was decoded")
        XCTAssertEqual(totals.malformed, 0)
        let sink = c.drain()
        XCTAssertEqual(sink.lines, 2)
        XCTAssertEqual(try c.send("/ingest", body: two).status, 200, "room again once drained")
    }

    func testConnectionsPastTheLimitAre503AndClosed() throws {
        var config = CollectorConfig()
        config.port = 0
        config.maxConnections = 2
        let collector = try Collector(config: config, queue: IngestQueue())
        defer { collector.close() }
        let port = collector.boundPort
        let health = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        let a = try RawClient(port: port), b = try RawClient(port: port)
        XCTAssertEqual(try a.exchange(health)?.status, 200)
        XCTAssertEqual(try b.exchange(health)?.status, 200)
        XCTAssertEqual(collector.state.connections.open, 2)

        let c = try RawClient(port: port)
        let refused = try XCTUnwrap(Connection.parse(c.readUntilClosed()))
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        XCTAssertEqual(collector.state.metrics.totals.refusedConnections, 1)
        XCTAssertEqual(collector.state.connections.open, 2)

        // A slot frees when a client leaves.
        a.close()
        let deadline = Date().addingTimeInterval(5)
        while collector.state.connections.open > 1 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(collector.state.connections.open, 1)
        let d = try RawClient(port: port)
        XCTAssertEqual(try d.exchange(health)?.status, 200)
        XCTAssertEqual(try b.exchange(health)?.status, 200)
    }
}

/// A blocking loopback TCP client for tests that need a real socket's behaviour.
final class RawClient {
    private var fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { Glibc.close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }

    /// Sends a request and reads one answer (head and `Content-Length` body).
    func exchange(_ request: String) throws -> HTTPAnswer? {
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { return nil }
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            if let answer = Connection.parse(got), answer.body.count >= Int(answer.headers["content-length"] ?? "0") ?? 0 {
                return answer
            }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return Connection.parse(got) }
            got += buf[0..<n]
        }
    }

    /// Everything the server sends until it closes (or 5 s pass).
    func readUntilClosed() -> [UInt8] {
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return got }
            got += buf[0..<n]
        }
    }
}
