#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSkeinSys

/// Process-wide memory settings for one-shot commands.
public enum ProcessMemory {
    /// Makes malloc grow its heaps `bytes` at a time. `skein export` builds up hundreds of
    /// megabytes of finished traces and frees nothing until it exits: grown a page or so at a time,
    /// that was about 8,000 `brk` and `mprotect` calls for a million lines.
    public static func growHeapsInSteps(of bytes: Int) {
        skein_malloc_grow_in_steps(bytes)
    }

    /// Starts a thread that populates malloc's main heap as it grows, at idle priority, and (with
    /// `hugePages`) advises the heap for transparent huge pages; `stopHeapPopulator` ends it.
    /// Returns false where that is unsupported (not glibc on Linux) or one runs already.
    ///
    /// For `skein export`, which owns its process: its heap grows by some 300 MB for a million
    /// lines (finished traces are kept to the end), and the engine's thread, the busier of the
    /// two, used to fault that in page by page, then populate it itself after each batch: an
    /// eighth of its time. The decoding thread waits for the engine now and then; the populator
    /// does the work in those gaps (256 KiB per call, so it never holds the address space's lock
    /// for long), and in 2 MiB pages it is 150 faults instead of 75,000 and fewer TLB misses.
    @discardableResult
    public static func startHeapPopulator(hugePages: Bool = true) -> Bool {
        skein_heap_populator_start(256 << 10, hugePages ? 1 : 0) == 0
    }

    /// While the populator runs with huge pages: advises what the heap grew by since the last call,
    /// so that the allocating thread's first touch of a new page already gets a huge one. Cheap;
    /// call it now and then from the thread that allocates most (the engine's, after each batch).
    public static func adviseHugePagesForGrownHeap() {
        _ = skein_heap_advise_huge()
    }

    /// Stops the thread `startHeapPopulator` started and waits for it; returns the bytes it populated.
    @discardableResult
    public static func stopHeapPopulator() -> Int {
        Int(skein_heap_populator_stop())
    }

    /// The process's resident size in bytes (`/proc/self/statm`), 0 where that cannot be read.
    public static func residentBytes() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 128)
        guard fgets(&buf, 128, f) != nil else { return 0 }
        let text = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let parts = text.split(separator: " ")
        guard parts.count >= 2, let pages = Int(parts[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
