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

    /// `scanString` against a byte-at-a-time reference, for every placement of each kind of byte
    /// that stops a plain run (the closing quote, an escape, a control byte, a UTF-8 sequence)
    /// relative to the 16- and 8-byte blocks the scanner reads, in strings up to 48 bytes, with
    /// the line ending right after the string or 20 bytes later.
    func testStringScanMatchesAByteAtATimeScan() {
        func reference(_ b: [UInt8], _ p0: Int) -> Result<(Int, Bool, Bool), JSONTape.Failure> {
            var p = p0 + 1, escaped = false, high = false
            while p < b.count {
                let c = b[p]
                if c == UInt8(ascii: "\"") { return .success((p, escaped, high)) }
                if c == UInt8(ascii: "\\") { escaped = true; p += 2; continue }
                if c < 0x20 { return .failure(.invalid(at: p)) }
                if c >= 0x80 { high = true }
                p += 1
            }
            return .failure(.truncated)
        }
        let specials: [[UInt8]] = [[], [UInt8(ascii: "\\"), UInt8(ascii: "\"")], [UInt8(ascii: "\\"), UInt8(ascii: "n")],
                                   [0x09], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0x7F], [0x1F]]
        var checked = 0
        for length in 0...48 {
            for special in specials {
                for at in 0...max(0, length - special.count) where special.isEmpty ? at == 0 : true {
                    var body = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    if !special.isEmpty && at + special.count <= length { body.replaceSubrange(at..<at + special.count, with: special) }
                    for trailer in [[UInt8](), [UInt8](repeating: UInt8(ascii: " "), count: 20)] {
                        for closed in [true, false] {
                            let line: [UInt8] = [UInt8(ascii: "\"")] + body + (closed ? [UInt8(ascii: "\"")] : []) + trailer
                            let expected = reference(line, 0)
                            let got: Result<(Int, Bool, Bool), JSONTape.Failure> = line.withUnsafeBufferPointer { b in
                                do throws(JSONTape.Failure) {
                                    let r = try JSONTape.scanString(b.baseAddress!, 0, b.count)
                                    return .success((r.end, r.escaped, r.nonASCII))
                                } catch { return .failure(error) }
                            }
                            switch (expected, got) {
                            case (.success(let e), .success(let g)):
                                XCTAssertTrue(e == g, "\(line): \(g) instead of \(e)")
                            case (.failure(let e), .failure(let g)):
                                XCTAssertEqual(e, g, "\(line)")
                            default:
                                XCTFail("\(line): \(got) instead of \(expected)")
                            }
                            checked += 1
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 5000)
    }
}
