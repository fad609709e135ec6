import XCTest
@testable import SkeinDecoders

/// Framing must not depend on how the stream is cut (NIO's ByteToMessageDecoderVerifier idea).
final class LineFramerTests: XCTestCase {
    enum Got: Equatable, CustomStringConvertible {
        case line(String, offset: Int64)
        case oversize(offset: Int64)
        var description: String {
            switch self {
            case .line(let s, let o): "line(\(s.debugDescription)@\(o))"
            case .oversize(let o): "oversize@\(o)"
            }
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

    private func frame(_ input: [UInt8], chunks: [Int], max: Int = LineFramer.defaultMaxLineLength) -> [Got] {
        var framer = LineFramer(maxLineLength: max)
        var out: [Got] = []
        var pos = 0
        input.withUnsafeBufferPointer { all in
            for size in chunks where pos < input.count {
                let end = Swift.min(input.count, pos + size)
                framer.feed(UnsafeBufferPointer(rebasing: all[pos..<end])) { frame, offset in
                    out.append(Self.got(frame, at: offset))
                }
                pos = end
            }
        }
        XCTAssertEqual(pos, input.count, "chunk plan must cover the input")
        framer.finish { frame, offset in out.append(Self.got(frame, at: offset)) }
        return out
    }

    private static func got(_ frame: LineFramer.Frame, at offset: Int64) -> Got {
        switch frame {
        case .line(let b): .line(String(decoding: b, as: UTF8.self), offset: offset)
        case .oversize: .oversize(offset: offset)
        }
    }

    private func whole(_ input: [UInt8], max: Int = LineFramer.defaultMaxLineLength) -> [Got] {
        frame(input, chunks: [Swift.max(1, input.count)], max: max)
    }

    private func byteByByte(_ input: [UInt8], max: Int = LineFramer.defaultMaxLineLength) -> [Got] {
        frame(input, chunks: Array(repeating: 1, count: input.count), max: max)
    }

    private func randomChunks(_ input: [UInt8], seed: UInt64, maxChunk: Int) -> [Int] {
        var rng = SplitMix64(state: seed)
        var plan: [Int] = []
        var left = input.count
        while left > 0 {
            let n = Int.random(in: 1...maxChunk, using: &rng)
            plan.append(n)
            left -= n
        }
        return plan
    }

    private func assertChunkingInvariant(_ text: String, max: Int = LineFramer.defaultMaxLineLength,
                                         file: StaticString = #filePath, line: UInt = #line) {
        let input = Array(text.utf8)
        let reference = whole(input, max: max)
        XCTAssertEqual(byteByByte(input, max: max), reference, "byte by byte", file: file, line: line)
        for seed in UInt64(1)...40 {
            let plan = randomChunks(input, seed: seed, maxChunk: Swift.max(2, input.count / 3))
            XCTAssertEqual(frame(input, chunks: plan, max: max), reference, "seed \(seed)", file: file, line: line)
        }
    }

    func testLinesAndOffsets() {
        XCTAssertEqual(whole(Array("a\nbb\n\nccc\n".utf8)), [
            .line("a", offset: 0), .line("bb", offset: 2), .line("", offset: 5), .line("ccc", offset: 6),
        ])
    }

    func testCRLFIsStripped() {
        XCTAssertEqual(whole(Array("a\r\nb\r\n\r\nc\rd\n".utf8)), [
            .line("a", offset: 0), .line("b", offset: 3), .line("", offset: 6), .line("c\rd", offset: 8),
        ])
        assertChunkingInvariant("a\r\nb\r\n\r\nc\rd\n{\"x\":1}\r\n")
    }

    func testFinalUnterminatedLine() {
        XCTAssertEqual(whole(Array("one\ntwo".utf8)), [.line("one", offset: 0), .line("two", offset: 4)])
        XCTAssertEqual(whole(Array("one\ntwo\r".utf8)), [.line("one", offset: 0), .line("two", offset: 4)])
        assertChunkingInvariant("one\ntwo")
    }

    func testEmptyInput() {
        XCTAssertEqual(whole([]), [])
        XCTAssertEqual(whole(Array("\n".utf8)), [.line("", offset: 0)])
        var framer = LineFramer()
        var count = 0
        framer.feed(UnsafeBufferPointer(start: nil, count: 0)) { _, _ in count += 1 }
        framer.finish { _, _ in count += 1 }
        XCTAssertEqual(count, 0)
    }

    func testOversizeLineInTheMiddleIsReportedOnceAndSkipped() {
        let long = String(repeating: "x", count: 50)
        let text = "short\n\(long)\nafter\n\(String(repeating: "y", count: 16))\nend"
        XCTAssertEqual(whole(Array(text.utf8), max: 16), [
            .line("short", offset: 0), .oversize(offset: 6), .line("after", offset: 57),
            .line(String(repeating: "y", count: 16), offset: 63), .line("end", offset: 80),
        ])
        assertChunkingInvariant(text, max: 16)
    }

    func testOversizeFinalLineIsNotYieldedByFinish() {
        let text = "ok\n" + String(repeating: "z", count: 40)
        XCTAssertEqual(whole(Array(text.utf8), max: 10), [.line("ok", offset: 0), .oversize(offset: 3)])
        assertChunkingInvariant(text, max: 10)
    }

    func testOversizeLineIsNotBuffered() {
        var framer = LineFramer(maxLineLength: 8)
        var frames = 0
        let chunk = Array(repeating: UInt8(ascii: "q"), count: 5)
        chunk.withUnsafeBufferPointer { b in
            for _ in 0..<1000 { framer.feed(b) { _, _ in frames += 1 } }
        }
        XCTAssertEqual(frames, 1, "reported once")
        XCTAssertEqual(framer.bufferedCount, 0)
        XCTAssertTrue(framer.hasPartialLine)
        Array("tail\nnext\n".utf8).withUnsafeBufferPointer { b in
            framer.feed(b) { f, _ in
                if case .line(let l) = f { XCTAssertEqual(String(decoding: l, as: UTF8.self), "next") }
                frames += 1
            }
        }
        XCTAssertEqual(frames, 2)
    }

    func testRandomDocumentsFrameIdenticallyUnderAnyChunking() {
        var rng = SplitMix64(state: 7)
        let alphabet = Array("abc{}\":, é\r\n\n\n".unicodeScalars)
        for round in 0..<30 {
            var s = ""
            for _ in 0..<Int.random(in: 0...300, using: &rng) {
                s.unicodeScalars.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
            }
            let max = round % 3 == 0 ? 6 : LineFramer.defaultMaxLineLength
            assertChunkingInvariant(s, max: max)
        }
    }

    func testResynchronizeDropsTornLine() {
        var framer = LineFramer()
        var got: [String] = []
        let collect: (LineFramer.Frame, Int64) -> Void = { f, _ in
            if case .line(let l) = f { got.append(String(decoding: l, as: UTF8.self)) }
        }
        Array("keep\ntorn-be".utf8).withUnsafeBufferPointer { framer.feed($0, collect) }
        XCTAssertTrue(framer.resynchronize())
        Array("ginning\nwhole\n".utf8).withUnsafeBufferPointer { framer.feed($0, collect) }
        XCTAssertEqual(got, ["keep", "whole"])
    }

    func testResetRestartsOffsets() {
        var framer = LineFramer()
        Array("abc".utf8).withUnsafeBufferPointer { framer.feed($0) { _, _ in } }
        framer.reset(at: 100)
        var offsets: [Int64] = []
        Array("x\ny\n".utf8).withUnsafeBufferPointer { framer.feed($0) { _, offset in offsets.append(offset) } }
        XCTAssertEqual(offsets, [100, 102])
    }
}
