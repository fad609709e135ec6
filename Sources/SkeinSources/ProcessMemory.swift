import CSkeinSys

/// Process-wide memory settings for one-shot commands.
public enum ProcessMemory {
    /// Makes malloc grow its heaps `bytes` at a time. `skein export` builds up hundreds of
    /// megabytes of finished traces and frees nothing until it exits: grown a page or so at a time,
    /// that was about 8,000 `brk` and `mprotect` calls for a million lines.
    public static func growHeapsInSteps(of bytes: Int) {
        skein_malloc_grow_in_steps(bytes)
    }
}
