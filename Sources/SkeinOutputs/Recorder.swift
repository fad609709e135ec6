import SkeinCore

/// Writes NDJSON for `--record` and for the demo's sample logs: either `Event`s in Skein's own
/// log convention, or the raw input lines unchanged.
///
/// Lines are buffered and reach the sink whole: a write never ends inside a line, so a reader
/// following the file (or a crash) never sees half a record. The buffer goes out when it fills,
/// when `flushIfDue(now:)` finds it older than `flushInterval`, and on `close()`.
///
/// Events are written with the convention's field names, only the fields that are set, `ts`
/// with as many fraction digits as the time needs (3, 6 or 9), doubles in their shortest exact
/// form, and attributes as top-level members under their (dotted) keys. An attribute whose key
/// the convention decoder would read as a field of its own gets an `attr.` prefix.
public final class Recorder {
    public enum Mode: Sendable, Equatable {
        /// `record(_ event:)` writes events in the convention.
        case events
        /// `record(line:)` appends input lines as they were read (`tail --record`).
        case rawLines
    }

    public let mode: Mode
    public let flushInterval: Double
    /// Lines written (buffered or flushed).
    public private(set) var linesWritten = 0
    /// Calls made in the wrong mode (an event to a raw recorder, a raw line to an event recorder):
    /// not written, counted.
    public private(set) var rejected = 0
    /// Raw lines that held a line break: cut at it so that one input line stays one output line.
    public private(set) var truncatedLines = 0

    private let sink: ByteSink
    private let bufferSize: Int
    private var buffer: ByteBuffer
    private var writer = JSONWriter(doubleStyle: .shortest, capacity: 1024)
    private var lastFlush: Timestamp?
    private var closed = false

    /// Records events in Skein's log convention.
    public init(sink: ByteSink, flushIntervalMS: Double = 1000, bufferSize: Int = 64 * 1024) {
        self.sink = sink
        mode = .events
        flushInterval = flushIntervalMS
        self.bufferSize = max(256, bufferSize)
        buffer = ByteBuffer(capacity: self.bufferSize)
    }

    /// Records input lines unchanged (each gets a newline).
    public init(rawLines sink: ByteSink, flushIntervalMS: Double = 1000, bufferSize: Int = 64 * 1024) {
        self.sink = sink
        mode = .rawLines
        flushInterval = flushIntervalMS
        self.bufferSize = max(256, bufferSize)
        buffer = ByteBuffer(capacity: self.bufferSize)
    }

    /// Bytes buffered and not yet written to the sink.
    public var pendingBytes: Int { buffer.count }

    /// Appends one event as one line.
    public func record(_ event: Event) throws {
        guard mode == .events, !closed else { rejected += 1; return }
        writer.reset()
        Recorder.encode(event, into: &writer)
        writer.raw("\n")
        try writer.buffer.withBytes { try append(line: $0, newline: false) }
    }

    /// Appends one raw input line; a trailing newline (or CRLF) is kept as is, a missing one added.
    public func record(line: UnsafeRawBufferPointer) throws {
        guard mode == .rawLines, !closed else { rejected += 1; return }
        var line = line
        if let nl = line.firstIndex(of: 0x0a), nl != line.count - 1 {
            // The framer never hands over a line break mid-line; if a caller does, keep one record per line.
            line = UnsafeRawBufferPointer(rebasing: line[0...nl])
            truncatedLines += 1
        }
        try append(line: line, newline: line.last != 0x0a)
    }

    public func record(line: [UInt8]) throws {
        try line.withUnsafeBytes { try record(line: $0) }
    }

    public func record(line: String) throws {
        var line = line
        try line.withUTF8 { try record(line: UnsafeRawBufferPointer($0)) }
    }

    /// Flushes when data has waited `flushInterval` since the last flush (or the last time the
    /// buffer was seen empty). `now` is any monotonic reading; only differences matter.
    public func flushIfDue(now: Timestamp) throws {
        guard let last = lastFlush else {
            lastFlush = now
            return
        }
        if buffer.isEmpty {
            lastFlush = now
            return
        }
        if now.ms(since: last) >= flushInterval {
            try flush()
            lastFlush = now
        }
    }

    /// Writes everything buffered now.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        // Emptied even when the sink throws, so that a retry never writes the same lines twice.
        defer { buffer.removeAll() }
        try buffer.write(to: sink)
    }

    /// Flushes and closes the sink. Later records are rejected.
    public func close() throws {
        guard !closed else { return }
        closed = true
        try flush()
        try sink.close()
    }

    private func append(line: UnsafeRawBufferPointer, newline: Bool) throws {
        let n = line.count + (newline ? 1 : 0)
        if buffer.count + n > bufferSize { try flush() }
        linesWritten += 1
        buffer.append(line)
        if newline { buffer.append(0x0a) }
        // A line longer than the buffer goes out on its own, still in one write.
        if buffer.count >= bufferSize { try flush() }
    }

    // MARK: The convention

    /// Field names the convention decoder reads (with their aliases): an attribute under one of
    /// these would come back as a field, so it is written as `attr.<key>`.
    public static let conventionKeys: Set<String> = [
        "ts", "time", "timestamp", "@timestamp", "service", "instance", "deploy", "platform", "runtime",
        "region", "correlation_id", "correlationId", "request_id", "requestId", "x-request-id", "reqId",
        "trace_id", "traceId", "traceparent", "span_id", "parent_span_id", "event", "route", "method",
        "status", "duration_ms", "cpu_ms", "init_ms", "cold_start", "db_pool", "db_open", "db_max",
        "wait_ms", "db_error", "level", "severity", "lvl", "msg", "message",
    ]

    /// One event as a JSON object in the convention (no newline), for callers with their own sink.
    public static func line(for event: Event) -> String {
        var w = JSONWriter(doubleStyle: .shortest, capacity: 512)
        encode(event, into: &w)
        return w.text
    }

    static func encode(_ e: Event, into w: inout JSONWriter) {
        w.beginObject()
        w.key("ts")
        let digits = e.time.nanos % 1_000_000 == 0 ? 3 : (e.time.nanos % 1_000 == 0 ? 6 : 9)
        w.timestamp(e.time, fractionDigits: digits)
        w.key("event"); w.string(e.kind.rawValue)
        w.key("level"); w.string(e.level.name)
        if let v = e.service { w.key("service"); w.string(v) }
        if let v = e.instance { w.key("instance"); w.string(v) }
        if let v = e.deploy { w.key("deploy"); w.string(v.rawValue) }
        if let v = e.platform { w.key("platform"); w.string(v) }
        if let v = e.runtime { w.key("runtime"); w.string(v) }
        if let v = e.region { w.key("region"); w.string(v) }
        if let v = e.correlationID { w.key("correlation_id"); w.string(v) }
        if let v = e.traceID { w.key("trace_id"); w.string(v) }
        if let v = e.spanID { w.key("span_id"); w.string(v) }
        if let v = e.parentSpanID { w.key("parent_span_id"); w.string(v) }
        if let v = e.requestID { w.key("request_id"); w.string(v) }
        if let v = e.route { w.key("route"); w.string(v) }
        if let v = e.method { w.key("method"); w.string(v) }
        if let v = e.status { w.key("status"); w.int(v) }
        if let v = e.durationMS { w.key("duration_ms"); w.double(v) }
        if let v = e.cpuMS { w.key("cpu_ms"); w.double(v) }
        if let v = e.initMS { w.key("init_ms"); w.double(v) }
        if let v = e.coldStart { w.key("cold_start"); w.bool(v) }
        if let v = e.dbPool { w.key("db_pool"); w.string(v) }
        if let v = e.dbOpen { w.key("db_open"); w.int(v) }
        if let v = e.dbMax { w.key("db_max"); w.int(v) }
        if let v = e.waitMS { w.key("wait_ms"); w.double(v) }
        if let v = e.dbError { w.key("db_error"); w.string(v.rawValue) }
        if let v = e.message { w.key("msg"); w.string(v) }
        for a in e.attributes {
            w.key(text: conventionKeys.contains(a.key) ? "attr." + a.key : a.key)
            w.string(a.value)
        }
        w.endObject()
    }
}
