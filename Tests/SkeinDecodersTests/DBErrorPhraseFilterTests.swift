import XCTest
import SkeinCore
@testable import SkeinDecoders

/// The classifier's 16-byte filter (`skein_db_phrase_pairs16`) only skips positions; the answer
/// must be the one the position-by-position pass gives, wherever a phrase falls against the blocks.
final class DBErrorPhraseFilterTests: XCTestCase {
    private static let phrases = [
        "remaining connection slots are reserved", "too many clients", "TOO MANY CONNECTIONS",
        "too many database connections", "timeout exceeded when trying to connect",
        "Timed out fetching a new connection", "timeout period elapsed prior to obtaining a connection",
        "timeout while getting a connection from pool", "terminating connection due to administrator command",
        "P2024", "p2037", "PoolTimeout", "connection terminated unexpectedly", "Connection reset by peer",
        "couldn't get a connection after", "connection is not available, request timed out",
        "connection pool has been exhausted", "server closed the connection unexpectedly",
        "QueuePool limit", "SQLSTATE 53300", "code: '53300'", "53300", "x53300", "P20245",
        // Near misses: a phrase's first two bytes without the rest.
        "too", "time", "term", "pool", "conn", "serv", "queue", "re", "53", "p2",
    ]
    private static let filler = ["step 1 user 25743", " ", "", "request ok", "routine line", "é", "{\"a\":1}", "_"]

    func testFilteredAnswerIsThePositionByPositionOne() {
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var hits = 0
        for round in 0..<20_000 {
            var text = ""
            for _ in 0..<(1 + next(5)) {
                text += next(3) == 0 ? Self.phrases[next(Self.phrases.count)] : Self.filler[next(Self.filler.count)]
                // Shift what follows by 0-17 bytes so phrases land on every offset of a block.
                text += String(repeating: "-", count: next(18))
            }
            var bytes = Array(text.utf8)
            let expected = bytes.withUnsafeBufferPointer { DBErrorClassifier.classifyEveryPosition(bytes: $0) }
            let got = bytes.withUnsafeBufferPointer { DBErrorClassifier.classify(bytes: $0) }
            XCTAssertEqual(got, expected, "round \(round): \(text)")
            if expected != nil { hits += 1 }
            // And at the very end of the buffer (the last block's 17 bytes run to the end).
            bytes = Array(("...." + Self.phrases[round % Self.phrases.count]).utf8)
            let e2 = bytes.withUnsafeBufferPointer { DBErrorClassifier.classifyEveryPosition(bytes: $0) }
            let g2 = bytes.withUnsafeBufferPointer { DBErrorClassifier.classify(bytes: $0) }
            XCTAssertEqual(g2, e2, String(decoding: bytes, as: UTF8.self))
        }
        XCTAssertGreaterThan(hits, 1_000, "the rounds exercise phrases, not only filler")
    }

    func testKnownPhrasesAreFoundAtEveryOffset() {
        for (phrase, kind) in [("too many clients already", DBErrorKind.tooManyClients),
                               ("remaining connection slots are reserved for roles", .reservedSlots),
                               ("QueuePool limit of size 5 reached", .poolTimeout),
                               ("server closed the connection unexpectedly", .connectionLost)] {
            for pad in 0..<40 {
                let bytes = Array((String(repeating: "x", count: pad) + phrase + " tail").utf8)
                XCTAssertEqual(bytes.withUnsafeBufferPointer { DBErrorClassifier.classify(bytes: $0) }, kind, "\(pad): \(phrase)")
            }
        }
    }
}
