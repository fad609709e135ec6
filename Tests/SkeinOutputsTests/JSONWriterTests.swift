import Foundation
import SkeinCore
import SkeinOutputs
import XCTest

final class JSONWriterTests: XCTestCase {
    private func encoded(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return w.text
    }

    func testEscapesQuotesAndBackslashes() {
        XCTAssertEqual(encoded(#"say "hi" \ bye"#), #""say \"hi\" \\ bye""#)
        XCTAssertEqual(encoded(#"\\""#), #""\\\\\"""#)
        XCTAssertEqual(encoded(""), #""""#)
    }

    /// Integers are written two digits at a time from a table: every digit count, both ends of each.
    func testWritesIntegersOfEveryLength() {
        var values: [Int] = [0, 1, 9, 10, 11, 42, 99, 100, 101, 909, Int.max, Int.min, Int.min + 1]
        var p = 10
        for _ in 2...18 {
            values += [p - 1, p, p + 1, p * 9 + 7]
            p *= 10
        }
        values += values.filter { $0 != Int.min }.map { -$0 }
        for v in values {
            var w = JSONWriter()
            w.int(v)
            XCTAssertEqual(w.text, String(v))
        }
    }

    func testEscapesControlCharacters() {
        XCTAssertEqual(encoded("a\nb\rc\td"), #""a\nb\rc\td""#)
        XCTAssertEqual(encoded("\u{0}\u{1}\u{8}\u{C}\u{1B}[31m\u{1F}\u{7F}"), #""\u0000\u0001\u0008\u000c\u001b[31m\u001f\u007f""#)
    }

    func testKeepsUnicodeAsUTF8() {
        let s = "café ☕ λ › 日本 🧵 \u{2028}"
        XCTAssertEqual(encoded(s), "\"" + s + "\"")
        let parsed = parseJSON(Array(encoded(s).utf8)) as? String
        XCTAssertEqual(parsed, s)
    }

    func testEveryControlCharacterRoundTripsThroughAParser() {
        var s = ""
        for v in 0..<0x80 { s.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        var w = JSONWriter()
        w.beginArray(); w.string(s); w.endArray()
        XCTAssertEqual(parseJSON(w.bytes) as? [String], [s])
    }

    func testNumbers() {
        var w = JSONWriter()
        w.beginArray()
        w.int(0); w.int(-42); w.int(Int.max); w.int(Int.min)
        w.double(182.4); w.double(0.1 + 0.2); w.double(-0.0004); w.double(-0.5); w.double(2.0)
        w.double(1234.5678); w.double(0.0005); w.double(1e20)
        w.double(.nan); w.double(.infinity); w.double(-.infinity)
        w.int(nil); w.double(nil)
        w.endArray()
        XCTAssertEqual(w.text, "[0,-42,9223372036854775807,-9223372036854775808,182.4,0.3,0,-0.5,2,1234.568,0.001,1e+20,null,null,null,null,null]")
        XCTAssertNotNil(parseJSON(w.bytes))
    }

    func testShortestDoublesReadBackExactly() {
        var w = JSONWriter(doubleStyle: .shortest)
        let values = [182.4, 0.1 + 0.2, 1e-7, 123_456.789_012_5, 2.0, -3.25, Double.leastNonzeroMagnitude]
        w.beginArray()
        for v in values { w.double(v) }
        w.endArray()
        XCTAssertNotNil(parseJSON(w.bytes))
        // Swift's own parser: Foundation's on Linux rounds some 17-digit values.
        let back = w.text.dropFirst().dropLast().split(separator: ",").map { Double(String($0)) }
        XCTAssertEqual(back, values)
        XCTAssertTrue(w.text.hasPrefix("[182.4,0.30000000000000004,"))
    }

    func testCompactObjectsAndArrays() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.int(1)
        w.key("b"); w.beginArray(); w.bool(true); w.bool(false); w.null(); w.endArray()
        w.key("c"); w.beginObject(); w.endObject()
        w.key("d"); w.beginArray(); w.endArray()
        w.key(text: "we\"ird"); w.string(nil)
        w.endObject()
        XCTAssertEqual(w.text, #"{"a":1,"b":[true,false,null],"c":{},"d":[],"we\"ird":null}"#)
        XCTAssertEqual(w.depth, 0)
    }

    func testPrettyPrintsWithTwoSpaces() {
        var w = JSONWriter(pretty: true)
        w.beginObject()
        w.key("a"); w.int(1)
        w.key("list"); w.beginArray(); w.int(1); w.beginObject(); w.key("x"); w.string("y"); w.endObject(); w.endArray()
        w.key("empty"); w.beginObject(); w.endObject()
        w.endObject()
        XCTAssertEqual(w.text, """
        {
          "a": 1,
          "list": [
            1,
            {
              "x": "y"
            }
          ],
          "empty": {}
        }
        """)
    }

    func testCountsAreSortedByKey() {
        var w = JSONWriter()
        w.counts(["zeta": 1, "alpha": 2, "Mid": 3])
        XCTAssertEqual(w.text, #"{"Mid":3,"alpha":2,"zeta":1}"#)
    }

    func testTimestampsMatchTimestampFormatting() {
        let samples: [Int64] = [0, 1, 999_999_999, 1_795_428_000_123_456_789, -1, -1_000_000_001, 951_782_400_000_000_000, 4_102_444_799_999_000_000]
        for n in samples {
            for digits in [0, 3, 6, 9] {
                let t = Timestamp(nanos: n)
                var w = JSONWriter()
                w.timestamp(t, fractionDigits: digits)
                XCTAssertEqual(w.text, "\"" + t.formatRFC3339(fractionDigits: digits) + "\"", "nanos \(n) digits \(digits)")
            }
        }
        // Across the whole range a timestamp holds (years 1677–2262), through the 24-byte fast path.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let n = Int64.random(in: Int64.min...Int64.max, using: &rng)
            let t = Timestamp(nanos: n)
            var w = JSONWriter()
            w.timestamp(t)
            XCTAssertEqual(w.text, "\"" + t.formatRFC3339(fractionDigits: 3) + "\"", "nanos \(n)")
        }
        var w = JSONWriter()
        w.timestamp(nil)
        XCTAssertEqual(w.text, "null")
    }

    func testDrainHandsOverBytesAndKeepsWriting() throws {
        let sink = MemorySink()
        var w = JSONWriter()
        w.beginArray()
        w.string("one")
        try w.drain(to: sink)
        XCTAssertTrue(w.bytes.isEmpty)
        w.string("two")
        w.endArray()
        try w.drain(to: sink)
        try w.drain(to: sink)
        XCTAssertEqual(sink.text, #"["one","two"]"#)
        XCTAssertEqual(sink.writeSizes.count, 2)
    }

    func testByteBufferGrowsAndKeepsItsBytes() {
        var b = ByteBuffer(capacity: 16)
        var expected: [UInt8] = []
        for k in 0..<1000 {
            let piece = "item \(k);"
            b.append(piece)
            expected += Array(piece.utf8)
        }
        b.append(repeating: UInt8(ascii: " "), count: 40)
        expected += Array(repeating: UInt8(ascii: " "), count: 40)
        XCTAssertEqual(b.count, expected.count)
        XCTAssertEqual(b.array, expected)
        XCTAssertEqual(b.last(), UInt8(ascii: " "))
        b.removeAll()
        XCTAssertTrue(b.isEmpty)
        XCTAssertNil(b.last())
    }
}
