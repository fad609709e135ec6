import CZlib
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SkeinCore
import SkeinEngine
import SkeinSources
import XCTest
@testable import SkeinCollector

/// Builds OTLP protobuf messages for tests, field by field (numbers from opentelemetry-proto).
enum PB {
    static func message(_ build: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var w = ProtobufWriter()
        build(&w)
        return w.bytes
    }

    static func anyString(_ s: String) -> [UInt8] { message { $0.stringField(1, s) } }
    static func anyBool(_ b: Bool) -> [UInt8] { message { $0.varintField(2, b ? 1 : 0) } }
    static func anyInt(_ i: Int64) -> [UInt8] { message { $0.varintField(3, UInt64(bitPattern: i)) } }

    static func keyValue(_ key: String, _ value: [UInt8]) -> [UInt8] {
        message { $0.stringField(1, key); $0.bytesField(2, value) }
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    struct Span {
        var traceID: String
        var spanID: String
        var parentSpanID: String?
        var name: String
        var kind: Int = 2
        var start: UInt64
        var end: UInt64
        var attributes: [[UInt8]] = []
        var statusCode: Int = 0
    }

    static func span(_ s: Span) -> [UInt8] {
        message { w in
            w.bytesField(1, hex(s.traceID))
            w.bytesField(2, hex(s.spanID))
            if let p = s.parentSpanID { w.bytesField(4, hex(p)) }
            w.stringField(5, s.name)
            w.varintField(6, UInt64(s.kind))
            w.fixed64Field(7, s.start)
            w.fixed64Field(8, s.end)
            for a in s.attributes { w.bytesField(9, a) }
            if s.statusCode != 0 { w.bytesField(15, message { $0.varintField(3, UInt64(s.statusCode)) }) }
        }
    }

    /// ExportTraceServiceRequest { ResourceSpans { Resource { attributes }, ScopeSpans { spans } } }.
    static func traces(_ resources: [(attributes: [[UInt8]], spans: [[UInt8]])]) -> [UInt8] {
        message { w in
            for r in resources {
                let resource = message { rw in for a in r.attributes { rw.bytesField(1, a) } }
                let scope = message { sw in
                    sw.bytesField(1, message { $0.stringField(1, "test-scope") })
                    for s in r.spans { sw.bytesField(2, s) }
                }
                w.bytesField(1, message { $0.bytesField(1, resource); $0.bytesField(2, scope) })
            }
        }
    }

    /// ExportLogsServiceRequest with one resource and these LogRecords.
    static func logs(attributes: [[UInt8]], records: [[UInt8]]) -> [UInt8] {
        let resource = message { rw in for a in attributes { rw.bytesField(1, a) } }
        let scope = message { sw in for r in records { sw.bytesField(2, r) } }
        return message { w in w.bytesField(1, message { $0.bytesField(1, resource); $0.bytesField(2, scope) }) }
    }
}

/// gzip through zlib, for request bodies.
func gzip(_ input: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    precondition(deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
    defer { deflateEnd(&stream) }
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
    var input = input
    let produced = input.withUnsafeMutableBufferPointer { inp in
        out.withUnsafeMutableBufferPointer { o -> Int in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            stream.next_out = o.baseAddress
            stream.avail_out = uInt(o.count)
            precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
            return o.count - Int(stream.avail_out)
        }
    }
    return Array(out[0..<produced])
}

/// Collects what a queue drains, as the engine would see it.
final class MemorySink: IngestSink {
    var events: [Event] = []
    var names: [String] = []
    var health: [SourceHealth] = []
    var lines = 0
    var malformed: [String: Int] = [:]
    var formats: [String: Int] = [:]
    var dropped = 0
    func addSource(name: String) -> SourceID { names.append(name); return SourceID(UInt32(names.count - 1)) }
    func setHealth(_ h: SourceHealth, for source: SourceID) { health.append(h) }
    func countLine(source: SourceID) { lines += 1 }
    func countMalformed(source: SourceID, reason: String) { malformed[reason, default: 0] += 1 }
    func countFormat(source: SourceID, format: String) { formats[format, default: 0] += 1 }
    func countDropped(_ n: Int) { dropped += n }
    func ingest(_ event: Event) { events.append(event) }
}

/// One HTTP answer, parsed from the bytes the channel wrote.
struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A collector connection over an `EmbeddedChannel`: real HTTP bytes in, real HTTP bytes out.
final class Connection {
    let channel = EmbeddedChannel()
    let state: CollectorState
    let queue: IngestQueue

    init(config: CollectorConfig = CollectorConfig(), capacity: Int = 1000) throws {
        queue = IngestQueue(capacity: capacity)
        state = CollectorState(config: config, queue: queue, sourceName: "listen test")
        try CollectorHandler.install(on: channel, state: state)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    }

    deinit { _ = try? channel.finish() }

    func get(_ path: String) throws -> HTTPAnswer { try send(path, method: "GET") }

    func send(_ path: String, method: String = "POST", headers: [(String, String)] = [], body: [UInt8] = [],
              chunked: Bool = false) throws -> HTTPAnswer {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        var bytes: [UInt8]
        if chunked {
            head += "Transfer-Encoding: chunked\r\n\r\n"
            bytes = Array(head.utf8)
            var i = 0
            while i < body.count {
                let n = min(4096, body.count - i)
                bytes += Array((String(n, radix: 16) + "\r\n").utf8) + body[i..<(i + n)] + Array("\r\n".utf8)
                i += n
            }
            bytes += Array("0\r\n\r\n".utf8)
        } else {
            head += "Content-Length: \(body.count)\r\n\r\n"
            bytes = Array(head.utf8) + body
        }
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        var out: [UInt8] = []
        while let b = try channel.readOutbound(as: ByteBuffer.self) { out += Array(b.readableBytesView) }
        return try XCTUnwrap(Self.parse(out), "no complete HTTP answer in \(String(decoding: out, as: UTF8.self))")
    }

    static func parse(_ bytes: [UInt8]) -> HTTPAnswer? {
        let sep = Array("\r\n\r\n".utf8)
        guard let idx = (0...(max(0, bytes.count - 4))).first(where: { bytes.count >= 4 && Array(bytes[$0..<($0 + 4)]) == sep }) else { return nil }
        let head = String(decoding: bytes[..<idx], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2,
              let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let c = line.firstIndex(of: ":") else { continue }
            headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        let body = Array(bytes[(idx + 4)...])
        return HTTPAnswer(status: status, headers: headers, body: body)
    }

    /// Every byte the collector has written to this connection so far.
    func readAll() -> [UInt8] {
        var out: [UInt8] = []
        while let b = try? channel.readOutbound(as: ByteBuffer.self) { out += Array(b.readableBytesView) }
        return out
    }

    /// Everything queued so far, as the engine's thread would receive it.
    func drain() -> MemorySink {
        let sink = MemorySink()
        queue.drain(into: sink)
        return sink
    }
}
