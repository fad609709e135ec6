import XCTest
import SkeinCore

final class ByteCompareTests: XCTestCase {
    /// Every length from 0 to 40 (the word loop, the two-word path up to 16 bytes, the 4-byte and
    /// byte paths), equal and with one byte changed at each position in turn.
    func testEveryLengthAndEveryDifferingPosition() {
        let base = (0..<48).map { UInt8(0x41 + $0 % 26) }
        for n in 0...40 {
            let a = base
            var b = base
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    XCTAssertTrue(ByteCompare.same(pa.baseAddress!, pb.baseAddress!, n), "equal, n=\(n)")
                }
            }
            for k in 0..<n {
                b = base
                b[k] ^= 0x20
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        XCTAssertFalse(ByteCompare.same(pa.baseAddress!, pb.baseAddress!, n), "byte \(k) differs, n=\(n)")
                    }
                }
            }
            // A difference just past the compared bytes does not count.
            b = base
            b[n] ^= 0x20
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    XCTAssertTrue(ByteCompare.same(pa.baseAddress!, pb.baseAddress!, n), "byte \(n) is past n=\(n)")
                }
            }
        }
    }
}
