import XCTest
@testable import SkeinCore

final class RecentStringsTests: XCTestCase {
    private func string(_ cache: inout RecentStrings, _ text: String) -> String {
        var t = text
        return t.withUTF8 { cache.string($0) }
    }

    func testARepeatedIdSharesTheFirstString() {
        var cache = RecentStrings(slots: 16)
        let first = string(&cache, "4bf92f3577b34da6a3ce929d0e0e4736")
        let again = string(&cache, "4bf92f3577b34da6a3ce929d0e0e4736")
        XCTAssertEqual(first, again)
        // Shared storage: the same UTF-8 buffer, not merely equal text.
        var a = first, b = again
        let pa = a.withUTF8 { $0.baseAddress }
        let pb = b.withUTF8 { $0.baseAddress }
        XCTAssertEqual(pa, pb)
    }

    func testEvictionAndShortValuesStillGiveTheRightText() {
        var cache = RecentStrings(slots: 16)
        // More distinct ids than slots: every answer must still be its own bytes.
        let ids = (0..<200).map { "req-\(String($0, radix: 16))-00000000000000" }
        for id in ids { XCTAssertEqual(string(&cache, id), id) }
        for id in ids.reversed() { XCTAssertEqual(string(&cache, id), id) }
        XCTAssertEqual(string(&cache, "short"), "short")
        XCTAssertEqual(string(&cache, ""), "")
        let long = String(repeating: "x", count: 200)
        XCTAssertEqual(string(&cache, long), long)
    }

    func testInvalidUTF8IsRepairedLikeStringDecoding() {
        var cache = RecentStrings(slots: 16)
        let bytes: [UInt8] = Array("abcdefghijklmnop".utf8) + [0xff, 0xfe]
        let expected = String(decoding: bytes, as: UTF8.self)
        for _ in 0..<2 {
            XCTAssertEqual(bytes.withUnsafeBufferPointer { cache.string($0) }, expected)
        }
    }

    func testACopyStoresIntoItsOwnTable() {
        var original = RecentStrings(slots: 16)
        var first = string(&original, "0123456789abcdef0123")
        let before = first.withUTF8 { $0.baseAddress }
        var copy = original
        // The copy fills every slot; the original's table must be untouched by it.
        for i in 0..<64 {
            let b = "b-\(i)-0123456789abcdef"
            XCTAssertEqual(string(&copy, b), b)
        }
        var again = string(&original, "0123456789abcdef0123")
        XCTAssertEqual(again.withUTF8 { $0.baseAddress }, before, "still the original's cached string")
    }
}
