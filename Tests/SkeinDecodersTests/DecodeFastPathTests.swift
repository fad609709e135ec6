import XCTest
import SkeinCore
@testable import SkeinDecoders

/// The decode hot path's shortcuts agree with the plain rules they replace.
final class DecodeFastPathTests: XCTestCase {
    private func parse(_ bytes: [UInt8]) -> Result<[JSONTape.Node], JSONTape.Failure> {
        var tape = JSONTape()
        var copy = bytes
        return copy.withUnsafeMutableBufferPointer { b in
            do throws(JSONTape.Failure) {
                try tape.parse(UnsafeBufferPointer(b))
                return .success(tape.nodes)
            } catch { return .failure(error) }
        }
    }

    /// Every stop byte at every offset of the eight-byte words the string scanner reads.
    func testStringScannerFindsEveryStopAtEveryOffset() {
        for prefix in 0..<20 {
            let filler = Array(repeating: UInt8(ascii: "a"), count: prefix)
            let head: [UInt8] = Array(#"{"k":""#.utf8)
            // A plain string ends at its quote.
            guard case .success(let nodes) = parse(head + filler + Array(#""}"#.utf8)) else { return XCTFail("\(prefix)") }
            XCTAssertEqual(Int(nodes[2].end - nodes[2].start), prefix)
            XCTAssertFalse(nodes[2].flag)
            // An escaped quote does not end it.
            guard case .success(let escaped) = parse(head + filler + Array(#"\"x"}"#.utf8)) else { return XCTFail("\(prefix)") }
            XCTAssertEqual(Int(escaped[2].end - escaped[2].start), prefix + 3)
            XCTAssertTrue(escaped[2].flag)
            // A control byte is invalid where it stands.
            XCTAssertEqual(parse(head + filler + [0x01] + Array(#""}"#.utf8)), .failure(.invalid(at: head.count + prefix)))
            // A high byte marks the string non-ASCII and is validated.
            guard case .success(let high) = parse(head + filler + [0xc3, 0xa9] + Array(#""}"#.utf8)) else { return XCTFail("\(prefix)") }
            XCTAssertTrue(high[2].nonASCII)
            XCTAssertEqual(parse(head + filler + [0xc3] + Array(#""}"#.utf8)), .failure(.invalidUTF8(at: head.count + prefix)))
            // Ending inside the string is truncation, also right after a backslash.
            XCTAssertEqual(parse(head + filler), .failure(.truncated))
            XCTAssertEqual(parse(head + filler + [UInt8(ascii: "\\")]), .failure(.truncated))
        }
    }

    /// Bytes around the stop values (0x1f/0x20, 0x21/0x22/0x23, 0x5b/0x5c/0x5d, 0x7f/0x80) next to each other.
    func testStringScannerNeighbourBytes() {
        let inner: [UInt8] = [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x7e, 0x41, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f]
        guard case .success(let nodes) = parse(Array(#"[""#.utf8) + inner + Array(#""]"#.utf8)) else { return XCTFail() }
        XCTAssertEqual(Int(nodes[1].end - nodes[1].start), inner.count)
        XCTAssertFalse(nodes[1].flag)
        XCTAssertFalse(nodes[1].nonASCII)
    }

    func testTapeGrowsPastItsFirstStorageAndKeepsCopiesIntact() throws {
        var tape = JSONTape()
        let many = "[" + (0..<1000).map(String.init).joined(separator: ",") + "]"
        var bytes = Array(many.utf8)
        try bytes.withUnsafeMutableBufferPointer { b in
            try tape.parse(UnsafeBufferPointer(b))
        }
        XCTAssertEqual(tape.nodeCount, 1001)
        XCTAssertEqual(tape.node(0).count, 1000)
        let kept = tape
        var small = Array(#"{"a":1}"#.utf8)
        try small.withUnsafeMutableBufferPointer { b in try tape.parse(UnsafeBufferPointer(b)) }
        XCTAssertEqual(tape.nodeCount, 3)
        XCTAssertEqual(kept.nodeCount, 1001, "a copy keeps its own nodes when the tape parses again")
        XCTAssertEqual(kept.node(1000).kind, .number)

        var limited = JSONTape(maxNodes: 3)
        var four = Array("[1,2,3]".utf8)
        XCTAssertThrowsError(try four.withUnsafeMutableBufferPointer { b in try limited.parse(UnsafeBufferPointer(b)) })
        var three = Array("[1,2]".utf8)
        try three.withUnsafeMutableBufferPointer { b in try limited.parse(UnsafeBufferPointer(b)) }
        XCTAssertEqual(limited.nodeCount, 3)
    }

    /// The frame scan reads two words per turn, then one, then bytes: a control or high byte is
    /// found wherever it sits.
    func testFrameScanFindsControlAndHighBytesAtEveryOffset() {
        for length in [1, 7, 8, 9, 15, 16, 17, 31, 40] {
            for at in 0..<length {
                var line = Array(repeating: UInt8(ascii: "a"), count: length)
                line[at] = 0x01
                XCTAssertTrue(line.withUnsafeBufferPointer { FrameScan($0).binary }, "\(length) \(at)")
                line[at] = 0x09
                XCTAssertFalse(line.withUnsafeBufferPointer { FrameScan($0).binary }, "\(length) \(at)")
                line[at] = 0xc3
                let scan = line.withUnsafeBufferPointer { FrameScan($0) }
                XCTAssertTrue(scan.nonASCII, "\(length) \(at)")
                XCTAssertFalse(scan.binary, "\(length) \(at)")
            }
        }
    }

    /// The byte-level level reader agrees with `Level(name:)` on every name it shortcuts, in any case.
    func testLevelNamesMatchTheLevelInitializer() {
        let names = ["log", "inf", "err", "dbg", "info", "warn", "error", "debug", "trace", "fatal",
                     "warning", "verbose", "critical", "information", "notice", "emergency"]
        for name in names {
            for spelling in [name, name.uppercased(), name.prefix(1).uppercased() + name.dropFirst()] {
                var bytes = Array(spelling.utf8)
                let level = bytes.withUnsafeMutableBufferPointer { ConventionBuilder.levelName(UnsafeBufferPointer($0)) }
                XCTAssertEqual(level, Level(name: name), spelling)
                XCTAssertNotNil(level, spelling)
            }
        }
        for wrong in ["informatio", "informations", "warnings", "critica", "verbos"] {
            var bytes = Array(wrong.utf8)
            XCTAssertNil(bytes.withUnsafeMutableBufferPointer { ConventionBuilder.levelName(UnsafeBufferPointer($0)) }, wrong)
        }
    }

    func testEventKindNamesMatchEveryRawValue() {
        for kind in EventKind.allCases {
            var name = Array(kind.rawValue.utf8)
            XCTAssertEqual(name.withUnsafeBufferPointer { ConventionBuilder.eventKind($0) }, kind)
            name[name.count - 1] ^= 0x20
            XCTAssertNil(name.withUnsafeBufferPointer { ConventionBuilder.eventKind($0) })
        }
        var other = Array("request.sent".utf8)
        XCTAssertNil(other.withUnsafeMutableBufferPointer { ConventionBuilder.eventKind(UnsafeBufferPointer($0)) })
    }

    func testUpperCaseHexIsFoundAtEveryPosition() {
        for length in [1, 7, 8, 15, 16, 17, 32] {
            for at in 0..<length {
                var id = Array(repeating: UInt8(ascii: "a"), count: length)
                id[at] = UInt8(ascii: "F")
                let lowered = id.withUnsafeBufferPointer { TraceContext.lowercasedHex($0) }
                XCTAssertEqual(lowered, String(repeating: "a", count: at) + "f" + String(repeating: "a", count: length - at - 1))
            }
        }
        var plain = Array("09af09af09af09af".utf8)
        XCTAssertEqual(plain.withUnsafeMutableBufferPointer { TraceContext.lowercasedHex(UnsafeBufferPointer($0)) }, "09af09af09af09af")
    }

    /// Hex is checked eight bytes at a time: every byte just outside each hex range is refused wherever it sits.
    func testNonHexBytesAreRefusedAtEveryPosition() {
        let outside: [UInt8] = [0x00, 0x10, 0x19, 0x2f, 0x3a, 0x40, 0x47, 0x60, 0x67, 0x7f, 0x80, 0xc3, 0xff]
        for length in [8, 16, 17, 32] {
            for at in 0..<length {
                for bad in outside {
                    var id = Array(repeating: UInt8(ascii: "0"), count: length)
                    id[at] = bad
                    XCTAssertNil(id.withUnsafeBufferPointer { TraceContext.lowercasedHex($0) }, "\(length) \(at) \(bad)")
                }
                var id = Array(repeating: UInt8(ascii: "9"), count: length)
                for good in Array("0123456789abcdefABCDEF".utf8) {
                    id[at] = good
                    XCTAssertNotNil(id.withUnsafeBufferPointer { TraceContext.lowercasedHex($0) }, "\(length) \(at) \(good)")
                }
            }
        }
        var trace = Array("4BF92F3577B34DA6A3CE929D0E0E4736".utf8)
        XCTAssertEqual(trace.withUnsafeMutableBufferPointer { TraceContext.canonicalTraceID(UnsafeBufferPointer($0)) },
                       "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    func testErrorKeysAreMatchedExactly() {
        let names = ["err", "error", "err.message", "error.message", "errorMessage", "err.msg", "exc_info", "exception",
                     "exception.message", "exception.stacktrace", "stack", "err.stack", "error.stack", "stack_trace",
                     "code", "err.code", "error.code", "errorCode", "sqlstate", "pgcode", "status.message", "errorType",
                     "reason", "cause", "err.cause", "error.cause", "@x", "error.stack_trace", "Exception"]
        for name in names {
            XCTAssertTrue(DBErrorClassifier.isErrorKey(name), name)
            XCTAssertFalse(DBErrorClassifier.isErrorKey(name + "s"), name)
            XCTAssertFalse(DBErrorClassifier.isErrorKey(name.uppercased()), name)
        }
        XCTAssertFalse(DBErrorClassifier.isErrorKey(""))
        XCTAssertFalse(DBErrorClassifier.isErrorKey("msg"))
        // Exact names, not any case: `Exception` and `exception` only.
        XCTAssertFalse(DBErrorClassifier.isErrorKey("EXCEPTION"))
        XCTAssertFalse(DBErrorClassifier.isErrorKey("exceptioN"))
        XCTAssertFalse(DBErrorClassifier.isErrorKey("Exceptions"))
    }

    func testInternerSharesByBytesAcrossLengths() {
        var interner = Interner()
        var seen: [String] = []
        for n in 0..<40 {
            let s = String(repeating: "x", count: n) + "-\(n % 7)"
            seen.append(interner.intern(s))
            XCTAssertEqual(interner.intern(s), s)
        }
        XCTAssertEqual(interner.count, 40)
        XCTAssertEqual(interner.intern(""), "")
        XCTAssertEqual(interner.count, 41)
        XCTAssertEqual(interner.intern(""), "")
        XCTAssertEqual(interner.count, 41)
        // Same length, one byte apart, in every position of an eight-byte word and its tail.
        for i in 0..<12 {
            var bytes = Array("abcdefghijkl".utf8)
            bytes[i] = UInt8(ascii: "Z")
            XCTAssertEqual(interner.intern(String(decoding: bytes, as: UTF8.self)), String(decoding: bytes, as: UTF8.self))
        }
        XCTAssertEqual(interner.count, 53)
    }

    /// A platform decoder's signature keys must cover every object it matches; the auto-detector then
    /// skips it for other objects, and the decoding is the same as asking it.
    func testSignatureKeysOnlySkipDecodersThatWouldNotMatch() throws {
        let lines = [
            #"{"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/x","logEvents":[]}"#,
            #"{"outcome":"ok","scriptName":"edge","eventTimestamp":1795428000000,"logs":[]}"#,
            #"{"Outcome":"ok","ScriptName":"edge","EventTimestampMs":1795428000000}"#,
            #"{"resourceLogs":[]}"#,
            #"{"deploymentId":"dpl_1","source":"lambda","message":"hi","timestamp":1795428000000}"#,
            #"{"time":"2026-11-23T10:00:00Z","type":"platform.start","record":{"requestId":"r"}}"#,
            #"{"timestamp":"2026-11-23T10:00:00Z","level":"INFO","requestId":"r","message":"m"}"#,
            #"{"log":"hello\n","stream":"stdout","time":"2026-11-23T10:00:00Z"}"#,
            #"{"ts":1795428000116,"service":"edge-api","event":"request.start","msg":"x"}"#,
            #"{"\u006futcome":"ok","scriptName":"edge","eventTimestamp":1795428000000}"#,
        ]
        for line in lines {
            var bytes = Array(line.utf8)
            try bytes.withUnsafeMutableBufferPointer { b in
                let buf = UnsafeBufferPointer(b)
                var tape = JSONTape()
                try tape.parse(buf)
                let doc = JSONDocument(tape: tape, bytes: buf)
                let records = AutoDecoder.standardRecords
                let mask = KeySignatures(records).candidates(doc)
                for (i, record) in records.enumerated() where record.matches(doc) {
                    XCTAssertNotEqual(mask & (1 << UInt64(i)), 0, "\(record.name) would be skipped for \(line)")
                }
            }
        }
    }
}
