import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SkeinSources

final class ProcessMemoryTests: XCTestCase {
    /// The heap's growth becomes resident without this thread touching it: the populator (a thread
    /// of idle priority) faults it in. Blocks of 120 KiB, below malloc's mmap threshold, come from
    /// the main heap; the ones above where the heap ended before (never used, so only malloc's block
    /// header has touched them) are checked page by page with `mincore`.
    func testPopulatorMakesTheHeapsGrowthResident() throws {
        #if os(Linux) && canImport(Glibc)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for hugePages in [false, true] {
            guard ProcessMemory.startHeapPopulator(hugePages: hugePages) else {
                throw XCTSkip("no heap populator here (not glibc on Linux)")
            }
            let oldEnd = UInt(bitPattern: sbrk(0))
            var blocks: [UnsafeMutableRawPointer] = []
            var fresh: [UnsafeMutableRawPointer] = []
            // Until 16 MiB of blocks lie in new heap (at most 512 MiB: the heap may have free blocks).
            while fresh.count < 128 && blocks.count < 4096, let b = malloc(120 << 10) {
                blocks.append(b)
                if UInt(bitPattern: b) >= oldEnd { fresh.append(b) }
            }
            XCTAssertEqual(fresh.count, 128, "blocks from new heap")
            // Pages wholly inside the fresh blocks: resident or not.
            func residentFraction() -> Double {
                var pages = 0, resident = 0
                var vec = [UInt8](repeating: 0, count: (120 << 10) / page + 2)
                for b in fresh {
                    let start = (UInt(bitPattern: b) + UInt(page) - 1) / UInt(page) * UInt(page)
                    let end = (UInt(bitPattern: b) + UInt(120 << 10)) / UInt(page) * UInt(page)
                    let n = Int(end - start) / page
                    guard n > 0, mincore(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), &vec) == 0 else { continue }
                    pages += n
                    resident += vec[0..<n].filter { $0 & 1 != 0 }.count
                }
                return pages == 0 ? 0 : Double(resident) / Double(pages)
            }
            // The populator runs when a processor is idle: give it one, for up to 20 seconds.
            var fraction = 0.0
            for _ in 0..<2000 {
                if hugePages { ProcessMemory.adviseHugePagesForGrownHeap() }
                fraction = residentFraction()
                if fraction >= 0.95 { break }
                usleep(10_000)
            }
            let populated = ProcessMemory.stopHeapPopulator()
            blocks.forEach { free($0) }
            XCTAssertGreaterThanOrEqual(fraction, 0.95, "huge pages \(hugePages): resident fraction of the new blocks' pages")
            XCTAssertGreaterThanOrEqual(populated, fresh.count * (120 << 10) * 9 / 10, "huge pages \(hugePages): populated \(populated) bytes")
            // Stopped: advice is a no-op, and it can start again (the next round).
            ProcessMemory.adviseHugePagesForGrownHeap()
        }
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
