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

    /// Grows the calling thread's own malloc arena by `bytes` at once (see
    /// `skein_malloc_reserve_thread_heap`): for a thread about to allocate tens of megabytes, which
    /// glibc would otherwise grow a page or so at a time, a system call each. For processes that
    /// set `growHeapsInSteps` (its trim threshold keeps the room).
    @discardableResult
    public static func reserveThreadHeap(_ bytes: Int) -> UnsafeRawPointer? {
        guard bytes > 0 else { return nil }
        return skein_malloc_reserve_thread_heap(bytes)
    }

    /// Turns on population of malloc's main heap as it grows, in steps that threads about to wait
    /// take (`populateHeapStep`); `endHeapPopulation` turns it off. Returns false where that is
    /// unsupported (not glibc on Linux) or it is on already.
    ///
    /// For `skein export`, which owns its process: its heap grows by some 270 MB for a million
    /// lines (finished traces are kept to the end), and the engine's thread, the busier of the
    /// two, used to fault that in page by page: an eighth of its time. The two threads wait for
    /// each other now and then; population happens in those gaps (256 KiB per step, so a step never
    /// holds the address space's lock for long). (It was a thread of its own at idle priority until
    /// that thread, given no processor on a busy machine, kept the process from ending for seconds;
    /// and it was in transparent huge pages until they proved five times as slow to come by on a VM
    /// whose balloon hands free 2 MiB blocks back to the host.)
    @discardableResult
    public static func beginHeapPopulation() -> Bool {
        skein_heap_population_begin(256 << 10) == 0
    }

    /// One step of heap population for a thread that would otherwise wait: true when it populated
    /// something (then look again at what it waits for), false when there is nothing to do. Cheap
    /// when population is off (one atomic load).
    @inline(__always)
    public static func populateHeapStep() -> Bool {
        skein_heap_populate_step() != 0
    }

    /// One step of mapping the input window's pages ahead of the thread reading it (see
    /// `MappedReader`), for the engine's thread when it would wait for that reader: the reader
    /// then finds the pages in its page table instead of faulting on them (a twelfth of its time).
    /// True when it mapped something.
    @inline(__always)
    public static func populateInputStep() -> Bool {
        skein_populate_input_step() != 0
    }

    /// Turns heap population off; returns the bytes populated since it was turned on.
    @discardableResult
    public static func endHeapPopulation() -> Int {
        Int(skein_heap_population_end())
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
