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

    /// Faults in, in one call, the pages malloc's main heap has grown by since the last call; the
    /// first call only marks where it ends. Returns the bytes populated (0 where unsupported).
    ///
    /// An export's heap only grows (finished traces are kept to the end), by `growHeapsInSteps`
    /// steps, and each new page used to be faulted in one at a time: 84,000 faults for a
    /// million lines, about a tenth of the CPU time, on the engine's thread. Called after each
    /// batch the engine applies, the pages of a new step are populated together, at about half the
    /// cost per page. Call it from one thread only.
    @discardableResult
    public static func populateGrownHeap() -> Int {
        Int(skein_heap_populate_grown())
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
