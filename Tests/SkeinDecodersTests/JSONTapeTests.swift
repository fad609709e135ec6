import XCTest
import SkeinCore
@testable import SkeinDecoders

final class JSONTapeTests: XCTestCase {
    private func parse(_ s: String) -> Result<[JSONTape.Node], JSONTape.Failure> {
        var tape = JSONTape()
        var bytes = Array(s.utf8)
        return bytes.withUnsafeMutableBufferPointer { b in
            do throws(JSONTape.Failure) {
                try tape.parse(UnsafeBufferPointer(b))
                return .success(tape.nodes)
            } catch { return .failure(error) }
        }
    }

    func testObjectMembersAndSkipping() throws {
        var tape = JSONTape()
        let s = #"{"ts":"2026-01-01T00:00:00Z","n":-12.5e1,"nested":{"a":[1,2,{"b":null}]},"ok":true,"s":"x\"y\u00e9"}"#
        var bytes = Array(s.utf8)
        try bytes.withUnsafeMutableBufferPointer { b in
            let buf = UnsafeBufferPointer(b)
            try tape.parse(buf)
            let doc = JSONDocument(tape: tape, bytes: buf)
            var keys: [String] = []
            doc.forEachMember(doc.root) { k, _ in keys.append(doc.string(k)) }
            XCTAssertEqual(keys, ["ts", "n", "nested", "ok", "s"])
            XCTAssertEqual(doc.double(doc.member(doc.root, "n")!), -125)
            XCTAssertEqual(doc.string(doc.member(doc.root, "s")!), "x\"yé")
            XCTAssertEqual(doc.bool(doc.member(doc.root, "ok")!), true)
            let b2 = doc.member(doc.root, path: ["nested", "a"])!
            var count = 0
            doc.forEachElement(b2) { _ in count += 1 }
            XCTAssertEqual(count, 3)
        }
    }

    func testBadInputIsClassified() {
        XCTAssertEqual(try? parse(#"{"a":1}"#).get().count, 3)
        if case .failure(let f) = parse(#"{"a":1"#) { XCTAssertEqual(f, .truncated) } else { XCTFail() }
        if case .failure(let f) = parse(#"{"a":1}{"b":2}"#) { XCTAssertEqual(f, .trailingData(at: 7)) } else { XCTFail() }
        if case .failure(let f) = parse(#"{"a":tru}"#) { XCTAssertEqual(f, .invalid(at: 8)) } else { XCTFail() }
        if case .failure = parse("") {} else { XCTFail() }
        var deep = String(repeating: "[", count: 100)
        deep += String(repeating: "]", count: 100)
        if case .failure(let f) = parse(deep) { XCTAssertEqual(f, .tooDeep) } else { XCTFail() }
    }

    func testInvalidUTF8InsideStringsIsRejected() {
        var tape = JSONTape()
        var bytes: [UInt8] = Array(#"{"m":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8)
        let failed: Bool = bytes.withUnsafeMutableBufferPointer { b in
            do { try tape.parse(UnsafeBufferPointer(b)); return false } catch { return (error as? JSONTape.Failure) == .invalidUTF8(at: 6) }
        }
        XCTAssertTrue(failed)
    }

    func testSurrogatePairsUnescape() {
        var bytes = Array(#"\ud83d\ude00!"#.utf8)
        let s = bytes.withUnsafeMutableBufferPointer { JSONDocument.unescape(UnsafeBufferPointer($0)) }
        XCTAssertEqual(s, "😀!")
    }
}
