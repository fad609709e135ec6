import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import SkeinSources
import CSkeinSys

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

    /// A block outside the heap (a large array's reserved room) is populated only as far as its
    /// owner allows, from where it had filled it; moving the limit populates further; naming
    /// another block starts over there; a block unmapped under it is dropped, not a crash.
    func testANamedBlockIsPopulatedUpToItsLimit() throws {
        #if os(Linux) && canImport(Glibc)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = 8 << 20
        guard let a = mapAnonymous(size), let b = mapAnonymous(size) else { throw XCTSkip("no memory to map") }
        defer { munmap(b, size) }
        func resident(_ base: UnsafeMutableRawPointer, _ from: Int, _ to: Int) -> Int {
            residentPages(base + from, to - from) ?? -1
        }
        guard ProcessMemory.beginHeapPopulation() else { throw XCTSkip("no heap population here") }
        defer { ProcessMemory.endHeapPopulation() }
        func drain() { var n = 0; while ProcessMemory.populateHeapStep() && n < 100_000 { n += 1 } }
        drain()  // whatever the heap had grown by
        // Filled to 1 MiB, populate to 3 MiB.
        skein_populate_block_ahead(a, size, a + (1 << 20), a + (3 << 20))
        drain()
        XCTAssertEqual(resident(a, 0, 1 << 20), 0, "before the filled mark: left alone")
        XCTAssertEqual(resident(a, 1 << 20, 3 << 20), (2 << 20) / page, "filled mark to limit")
        XCTAssertEqual(resident(a, 3 << 20, size), 0, "past the limit")
        // The limit moves on: populated from where it stopped, never past the block.
        skein_populate_block_ahead(a, size, a + (2 << 20), a + (64 << 20))
        drain()
        XCTAssertEqual(resident(a, 1 << 20, size), (size - (1 << 20)) / page, "to the block's end")
        // Another block: from its own filled mark.
        skein_populate_block_ahead(b, size, b + (6 << 20), b + (7 << 20))
        drain()
        XCTAssertEqual(resident(b, 0, 6 << 20), 0)
        XCTAssertEqual(resident(b, 6 << 20, 7 << 20), (1 << 20) / page)
        // Named again from its start after it was unmapped: the step fails quietly, the block is
        // dropped, and steps find nothing more to do (the heap aside, drained first).
        munmap(a, size)
        skein_populate_block_ahead(a, size, a, a + size)
        drain()
        XCTAssertFalse(ProcessMemory.populateHeapStep(), "the unmapped block is dropped")
        #else
        throw XCTSkip("glibc on Linux only")
        #endif
    }

    /// The input window a reader names is mapped ahead of where it has read (and not behind), by
    /// steps another thread takes; once forgotten, steps find nothing. Told by the mapping's `Rss`
    /// in /proc/self/smaps (pages in the page table: the file's pages are all in the page cache
    /// already, so `mincore` would not tell).
    func testTheNamedInputWindowIsMappedAheadOfItsReader() throws {
        #if os(Linux) && canImport(Glibc)
        let size = 8 << 20
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("skein-input-\(getpid()).bin").path
        defer { unlink(path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x61, count: size)))
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw XCTSkip("cannot open a temporary file") }
        defer { close(fd) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { throw XCTSkip("no mapping") }
        defer { munmap(p, size) }
        func mappedKB() -> Int? {
            // Read with read(2): procfs reports a size of 0, which whole-file readers trust.
            let f = open("/proc/self/smaps", O_RDONLY)
            guard f >= 0 else { return nil }
            defer { close(f) }
            var bytes: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = buf.withUnsafeMutableBytes { read(f, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes += buf[0..<n]
            }
            let smaps = String(decoding: bytes, as: UTF8.self)
            let head = String(UInt(bitPattern: p), radix: 16) + "-"
            var inside = false
            for line in smaps.split(separator: "\n") {
                if line.first?.isHexDigit == true && line.contains("-") && !line.hasPrefix("Rss") {
                    inside = line.hasPrefix(head)
                } else if inside, line.hasPrefix("Rss:") {
                    return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
                }
            }
            return nil
        }
        guard let before = mappedKB() else { throw XCTSkip("no /proc/self/smaps") }
        XCTAssertEqual(before, 0, "nothing touched yet")
        guard ProcessMemory.beginHeapPopulation() else { throw XCTSkip("no heap population here") }
        defer { ProcessMemory.endHeapPopulation() }
        XCTAssertFalse(ProcessMemory.populateInputStep(), "no window named")
        skein_populate_input(p, size, p + (4 << 20))
        var steps = 0
        while ProcessMemory.populateInputStep() && steps < 10_000 { steps += 1 }
        // The 4 MiB after where it had read; before it, at most a large folio's worth (the page
        // cache may hold a file in folios of up to 2 MiB, and a fault maps a folio whole).
        let mapped = mappedKB() ?? 0
        XCTAssertGreaterThanOrEqual(mapped, 4 << 10, "the 4 MiB after where it had read")
        XCTAssertLessThanOrEqual(mapped, 6 << 10, "little before it")
        // Read on, then forgotten (before the reader unmaps it): no more steps.
        skein_populate_input(p, size, p + (6 << 20))
        skein_populate_input_forget(p)
        XCTAssertFalse(ProcessMemory.populateInputStep(), "forgotten")
        #else
        throw XCTSkip("glibc on Linux only")
        #endif
    }

    /// A thread's arena grown up front: the room is populated by the steps. (Which block the
    /// thread gets next is malloc's choice: a thread may inherit an arena with free blocks of its
    /// own, as in a test process that ran other threads before.)
    func testAThreadsReservedArenaIsPopulatedByTheSteps() throws {
        #if os(Linux) && canImport(Glibc)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        ProcessMemory.growHeapsInSteps(of: 16 << 20)  // as the export does: keeps the room untrimmed
        guard ProcessMemory.beginHeapPopulation() else { throw XCTSkip("no heap population here") }
        defer { ProcessMemory.endHeapPopulation() }
        final class Box: @unchecked Sendable { var room: UInt = 0 }
        let box = Box()
        let size = 8 << 20
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            if let p = ProcessMemory.reserveThreadHeap(size) { box.room = UInt(bitPattern: p) }
            done.signal()
        }
        thread.start()
        done.wait()
        guard box.room != 0 else { throw XCTSkip("no room reserved") }
        var steps = 0
        while ProcessMemory.populateHeapStep() && steps < 100_000 { steps += 1 }
        let start = (box.room + UInt(page) - 1) / UInt(page) * UInt(page)
        let end = (box.room + UInt(size)) / UInt(page) * UInt(page)
        let pages = Int(end - start) / page
        let resident = residentPages(UnsafeRawPointer(bitPattern: start)!, Int(end - start)) ?? 0
        XCTAssertGreaterThanOrEqual(Double(resident) / Double(pages), 0.95, "the room is populated")
        #else
        throw XCTSkip("glibc on Linux only")
        #endif
    }

    /// A retired mapping is left for a step to unmap while population is on (four at most wait:
    /// a fifth unmaps the oldest at once), and population's end unmaps what is left.
    func testRetiredMappingsAreUnmappedByStepsOrAtTheEnd() throws {
        #if os(Linux) && canImport(Glibc)
        let size = 1 << 20
        func map() -> UnsafeMutableRawPointer? { mapAnonymous(size) }
        func mapped(_ p: UnsafeMutableRawPointer) -> Bool { residentPages(p, size) != nil }
        guard ProcessMemory.beginHeapPopulation() else { throw XCTSkip("no heap population here") }
        var maps: [UnsafeMutableRawPointer] = []
        for _ in 0..<6 { if let p = map() { maps.append(p) } }
        guard maps.count == 6 else { throw XCTSkip("no memory to map") }
        for p in maps[0..<5] { XCTAssertEqual(skein_retire_mapping(p, size), 0) }
        XCTAssertFalse(mapped(maps[0]), "a fifth waiting unmaps the oldest at once")
        XCTAssertTrue(maps[1..<5].allSatisfy(mapped), "four wait")
        // A step (the input's) unmaps one of them.
        XCTAssertTrue(ProcessMemory.populateInputStep())
        XCTAssertEqual(maps[1..<5].filter(mapped).count, 3)
        XCTAssertEqual(skein_retire_mapping(maps[5], size), 0)
        ProcessMemory.endHeapPopulation()
        XCTAssertTrue(maps.allSatisfy { !mapped($0) }, "the end unmaps what was left")
        // Population off: unmapped at once.
        guard let q = map() else { return }
        XCTAssertEqual(skein_retire_mapping(q, size), 0)
        XCTAssertFalse(mapped(q))
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

#if os(Linux) && canImport(Glibc)
/// A fresh private anonymous mapping of `size` bytes (read, write), or nil.
private func mapAnonymous(_ size: Int) -> UnsafeMutableRawPointer? {
    let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    return p == MAP_FAILED ? nil : p
}

/// How many of the whole pages in `length` bytes at `p` (page-aligned) are resident, or nil when
/// the range is not mapped (`mincore` fails with ENOMEM).
private func residentPages(_ p: UnsafeRawPointer, _ length: Int) -> Int? {
    var vec = [UInt8](repeating: 0, count: length / Int(sysconf(Int32(_SC_PAGESIZE))))
    guard mincore(UnsafeMutableRawPointer(mutating: p), length, &vec) == 0 else { return nil }
    return vec.filter { $0 & 1 != 0 }.count
}
#endif
