import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SkeinSources

final class ProcessMemoryTests: XCTestCase {
    /// The pages the heap grew by become resident in the call, though nothing but malloc's own
    /// block headers (one page in thirty here) has touched them.
    func testPopulatesThePagesTheHeapGrewBy() throws {
        #if os(Linux) && canImport(Glibc)
        ProcessMemory.populateGrownHeap()  // marks where the heap ends now
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(256)
        defer { blocks.forEach { free($0) } }
        // 120 KiB blocks, below malloc's mmap threshold: 30 MiB from the heap, which grows once its
        // free blocks are used up. None is written to.
        for _ in 0..<256 {
            guard let b = malloc(120 << 10) else { break }
            blocks.append(b)
        }
        let before = ProcessMemory.residentBytes()
        let populated = ProcessMemory.populateGrownHeap()
        let after = ProcessMemory.residentBytes()
        if populated == 0 { throw XCTSkip("the heap did not grow through brk, or the kernel has no MADV_POPULATE_WRITE") }
        XCTAssertGreaterThanOrEqual(populated, 8 << 20)
        XCTAssertGreaterThanOrEqual(after - before, populated * 8 / 10,
                                    "grew by \(populated) bytes, resident size by \(after - before)")
        #else
        throw XCTSkip("glibc on Linux only")
        #endif
    }

    func testResidentSizeIsKnown() {
        #if os(Linux)
        XCTAssertGreaterThan(ProcessMemory.residentBytes(), 1 << 20)
        #endif
    }
}
