import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SkeinSources

final class ProcessMemoryTests: XCTestCase {
    /// The heap's growth becomes resident without being touched: steps of population (which the
    /// export's threads take instead of waiting) fault it in. Blocks of 120 KiB, below malloc's mmap
    /// threshold, come from the main heap; the ones above where the heap ended before (never used,
    /// so only malloc's block header has touched them) are checked page by page with `mincore`.
    func testPopulationStepsMakeTheHeapsGrowthResident() throws {
        #if os(Linux) && canImport(Glibc)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for round in 1...2 {
            XCTAssertFalse(ProcessMemory.populateHeapStep(), "no step while population is off")
            guard ProcessMemory.beginHeapPopulation() else {
                throw XCTSkip("no heap population here (not glibc on Linux)")
            }
            XCTAssertFalse(ProcessMemory.beginHeapPopulation(), "on already")
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
            // Steps until there is nothing left to populate (a step is 256 KiB at most).
            var steps = 0
            while ProcessMemory.populateHeapStep() && steps < 100_000 { steps += 1 }
            let fraction = residentFraction()
            XCTAssertFalse(ProcessMemory.populateHeapStep(), "nothing left to populate")
            let populated = ProcessMemory.endHeapPopulation()
            XCTAssertFalse(ProcessMemory.populateHeapStep(), "no step once population is off")
            blocks.forEach { free($0) }
            XCTAssertGreaterThanOrEqual(fraction, 0.95, "round \(round): resident fraction of the new blocks' pages")
            XCTAssertGreaterThanOrEqual(populated, fresh.count * (120 << 10) * 9 / 10, "round \(round): populated \(populated) bytes")
            // Off, it can begin again (the next round).
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
