import Foundation
import XCTest
import SkeinCore
import SkeinDecoders
import SkeinEngine
@testable import SkeinSources

/// Records everything a source tells the engine.
final class RecordingSink: IngestSink {
    struct Counts: Equatable {
        var lines = 0
        var malformed: [String: Int] = [:]
        var formats: [String: Int] = [:]
        var events = 0
        var malformedTotal: Int { malformed.values.reduce(0, +) }
    }
    var names: [String] = []
    var health: [SourceID: [SourceHealth]] = [:]
    var counts: [SourceID: Counts] = [:]
    var events: [Event] = []
    var dropped = 0

    func addSource(name: String) -> SourceID {
        names.append(name)
        return SourceID(UInt32(names.count - 1))
    }
    func setHealth(_ health: SourceHealth, for source: SourceID) { self.health[source, default: []].append(health) }
    func countLine(source: SourceID) { counts[source, default: Counts()].lines += 1 }
    func countMalformed(source: SourceID, reason: String) { counts[source, default: Counts()].malformed[reason, default: 0] += 1 }
    func countFormat(source: SourceID, format: String) { counts[source, default: Counts()].formats[format, default: 0] += 1 }
    func countDropped(_ n: Int) { dropped += n }
    func ingest(_ event: Event) {
        counts[event.source, default: Counts()].events += 1
        events.append(event)
    }

    func id(_ name: String) -> SourceID? {
        names.firstIndex(of: name).map { SourceID(UInt32($0)) }
    }
    func lastHealth(_ name: String) -> SourceHealth? { id(name).flatMap { health[$0]?.last } }
    func messages(_ name: String? = nil) -> [String] {
        let src = name.flatMap(id)
        return events.filter { src == nil || $0.source == src }.compactMap(\.message)
    }
}

/// A line format small enough to read at a glance: `<epoch ms> <text>`.
///
/// Blank lines and `#` comments are absorbed; `<ms> pair <text>` yields two events; anything else
/// is malformed (`unrecognised`). The message is the whole line, so tests can follow events.
struct MillisDecoder: FrameDecoder {
    var name: String { "millis" }
    var lastFormat: String?
    var decoded = 0

    mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, into events: inout [Event]) -> DecodeOutcome {
        let line = String(decoding: frame, as: UTF8.self)
        if line.isEmpty || line.hasPrefix("#") { return .absorbed }
        let parts = line.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let ms = Int64(parts[0]) else {
            lastFormat = nil
            return .malformed(.unrecognised)
        }
        let time = Timestamp(millis: ms)
        events.append(Event(time: time, source: source, message: line))
        if parts[1].hasPrefix("pair") {
            events.append(Event(time: time, source: source, message: line + " (2)"))
            lastFormat = "millis-pair"
            return .events(2)
        }
        lastFormat = "millis"
        return .events(1)
    }

    static let factory = DecoderFactory(make: { MillisDecoder() }, lastFormat: { $0.lastFormat })
}

/// A scratch directory removed at the end of the test.
final class TempDir {
    let path: String
    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/skein-sources-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        let dir = (p as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func append(_ name: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file(name)))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }
}

/// A deterministic generator so failures replay.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension XCTestCase {
    /// A file holding `bytes`, removed when the test ends.
    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "skein-sources-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }
}
