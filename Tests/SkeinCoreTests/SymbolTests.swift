import XCTest
@testable import SkeinCore

final class SpanIDTests: XCTestCase {
    /// The plain reading of the rule `pack` implements eight bytes at a time.
    private func reference(_ b: [UInt8], upper: Bool) -> UInt64? {
        guard b.count == 16 else { return nil }
        var v: UInt64 = 0
        for c in b {
            let d: UInt64
            switch c {
            case 0x30...0x39: d = UInt64(c - 0x30)
            case 0x61...0x66: d = UInt64(c - 0x61 + 10)
            case 0x41...0x46 where upper: d = UInt64(c - 0x41 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    func testPackingAgreesWithTheDigitByDigitRuleForEveryByteAtEveryPosition() {
        let base = Array("0123456789abcdef".utf8)
        for upper in [false, true] {
            for position in 0..<16 {
                for byte in 0...255 {
                    var b = base
                    b[position] = UInt8(byte)
                    let got = b.withUnsafeBufferPointer { SpanID.pack($0, acceptUpperCase: upper) }
                    XCTAssertEqual(got, reference(b, upper: upper), "byte \(byte) at \(position), upper \(upper)")
                }
            }
        }
    }

    /// The digits written at once agree with `String(_:radix:)`, zero-padded, for every digit value
    /// at every position and for a spread of values.
    func testHexDigitsAgreeWithStringRadix() {
        var values: [UInt64] = [0, .max, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]
        for position in 0..<16 {
            for digit in 0..<16 { values.append(UInt64(digit) << UInt64(4 * position)) }
        }
        var state: UInt64 = 7
        for _ in 0..<2_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            values.append(state)
        }
        for v in values {
            let expected = String(repeating: "0", count: 16 - String(v, radix: 16).count) + String(v, radix: 16)
            let id = SpanID(expected)
            XCTAssertEqual(id.packed, v)
            var out = [UInt8](repeating: 0, count: 16)
            out.withUnsafeMutableBufferPointer { id.writeHex(to: $0.baseAddress!) }
            XCTAssertEqual(String(decoding: out, as: UTF8.self), expected, "\(v)")
            XCTAssertEqual(id.string, expected)
        }
    }

    func testTextRoundTripsAndOnlyCanonicalHexIsPacked() {
        for text in ["00f067aa0ba902b7", "ffffffffffffffff", "0000000000000000", "a3ce929d0e0e4736"] {
            let id = SpanID(text)
            XCTAssertNil(id.text, text)
            XCTAssertEqual(id.string, text)
        }
        // Upper case, other lengths and non-hex stay text, exactly as logged.
        for text in ["00F067AA0BA902B7", "00f067aa0ba902b", "00f067aa0ba902b7a", "span-1", "", "00f067aa0ba902bg"] {
            let id = SpanID(text)
            XCTAssertEqual(id.text, text)
            XCTAssertEqual(id.string, text)
        }
        // From bytes, either case packs, to the lower-case spelling.
        let upper = Array("00F067AA0BA902B7".utf8)
        let packed = upper.withUnsafeBufferPointer { SpanID(hex: $0) }
        XCTAssertEqual(packed, SpanID("00f067aa0ba902b7"))
    }

    func testBothEqualIsEqualityOfTwoPresentIDs() {
        // Packed ids, text ids (including one whose text would differ only as text), and absence.
        let ids: [SpanID?] = [nil, SpanID("00f067aa0ba902b7"), SpanID("00f067aa0ba902b8"), SpanID("span-1"),
                              SpanID("span-2"), SpanID("00F067AA0BA902B7"), SpanID("")]
        for a in ids {
            for b in ids {
                XCTAssertEqual(SpanID.bothEqual(a, b), a != nil && b != nil && a == b, "\(String(describing: a)) \(String(describing: b))")
            }
        }
        // Equal texts in distinct strings.
        let x = SpanID(String(decoding: Array("span-abc".utf8), as: UTF8.self))
        XCTAssertTrue(SpanID.bothEqual(x, SpanID("span-abc")))
    }
}

final class SymbolTests: XCTestCase {
    func testEqualTextIsOneSymbolAcrossInternersAndThreads() async {
        var a = Interner(), b = Interner()
        let name = "checkout-fn-\(UInt64.random(in: 0...UInt64.max))"
        let s1 = a.symbol(name)
        let s2 = b.symbol(name)
        XCTAssertEqual(s1, s2)
        XCTAssertEqual(s1.string, name)
        XCTAssertEqual(Symbol(name), s1)
        XCTAssertNotEqual(a.symbol(name + "x"), s1)
        // Interning the same new names from several tasks at once gives one symbol per name.
        let names = (0..<200).map { "svc-\($0)-\(name)" }
        let results = await withTaskGroup(of: [Symbol].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var i = Interner()
                    return names.map { i.symbol($0) }
                }
            }
            var all: [[Symbol]] = []
            for await r in group { all.append(r) }
            return all
        }
        for r in results { XCTAssertEqual(r, results[0]) }
        XCTAssertEqual(results[0].map(\.string), names)
        XCTAssertEqual(Set(results[0]).count, names.count)
    }

    /// The interner's cache of recent short symbols answers exactly: texts of every length up to
    /// 30 that differ in one byte only, at each position (so each of the words it keeps is the
    /// one that tells them apart), named twice (the second from the cache) and in a shuffled
    /// order; and a copy of an interner that later learns more keeps its own answers.
    func testRecentSymbolsTellApartTextsThatDifferInOneByte() {
        var interner = Interner()
        var texts: [String] = []
        for n in 0...30 {
            let base = (0..<n).map { i in Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(i % 26))) }
            texts.append(String(base))
            for i in 0..<n {
                var t = base
                t[i] = "#"
                texts.append(String(t))
            }
        }
        var state: UInt64 = 3
        for round in 0..<3 {
            var order = Array(texts.indices)
            for k in order.indices.reversed() {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                order.swapAt(k, Int((state >> 33) % UInt64(k + 1)))
            }
            for k in order {
                let text = texts[k]
                XCTAssertEqual(interner.symbol(text).string, text, "round \(round): \(text)")
            }
        }
        // A copy shares what was cached; each side then learns on its own.
        var copy = interner
        XCTAssertEqual(copy.symbol("copy-side-name").string, "copy-side-name")
        XCTAssertEqual(interner.symbol("original-side").string, "original-side")
        for text in texts.prefix(50) {
            XCTAssertEqual(copy.symbol(text).string, text)
            XCTAssertEqual(interner.symbol(text).string, text)
        }
    }

    func testInternerPastCapacityStillNamesCorrectly() {
        var small = Interner(capacity: 2)
        let names = (0..<10).map { "inst-\($0)" }
        let first = names.map { small.symbol($0) }
        let again = names.map { small.symbol($0) }
        XCTAssertEqual(first, again)
        XCTAssertEqual(first.map(\.string), names)
    }

    func testEventStringViewsReadTheSymbols() {
        var e = Event(time: Timestamp(nanos: 0), service: "api", instance: "i-1", platform: "vercel",
                      runtime: "nodejs20", region: "iad1", spanID: "00f067aa0ba902b7", dbPool: "main")
        XCTAssertEqual(e.$service, Symbol("api"))
        XCTAssertEqual([e.service, e.instance, e.platform, e.runtime, e.region, e.dbPool, e.spanID],
                       ["api", "i-1", "vercel", "nodejs20", "iad1", "main", "00f067aa0ba902b7"])
        e.service = nil
        XCTAssertNil(e.$service)
        e.instance = "i-2"
        XCTAssertEqual(e.$instance?.string, "i-2")
    }
}

final class SymbolTableTests: XCTestCase {
    func testAFullTableNamesNewTextsAsOverflowAndKeepsTheOldOnes() {
        let table = SymbolTable(capacity: 4096)
        func name(_ t: String) -> Symbol {
            var s = t
            return s.withUTF8 { table.symbol($0, hash: ByteHash.hash($0)) }
        }
        // Symbol 0 is the overflow text itself; 4,095 more fit.
        let kept = (1..<4096).map { name("instance-\($0)") }
        XCTAssertEqual(Set(kept.map(\.raw)).count, 4095)
        XCTAssertEqual(table.count, 4096)
        let late = name("instance-4096")
        XCTAssertEqual(table.string(late), SymbolTable.overflowText)
        XCTAssertEqual(table.count, 4096)
        // Names seen before the table filled keep their own symbols and texts.
        XCTAssertEqual(name("instance-7"), kept[6])
        XCTAssertEqual(table.string(kept[6]), "instance-7")
    }
}
