#ifndef SKEIN_SYS_H
#define SKEIN_SYS_H

/// The few system calls Skein needs that Swift's Glibc module does not offer.

#include <stddef.h>

/// Guards a read-only file mapping against the file shrinking under it.
///
/// Reading a page of a mapping past the file's end raises SIGBUS, which would kill the process
/// when a log file is truncated (logrotate's copytruncate) while `skein export` reads it. While a
/// window is guarded, a SIGBUS inside it maps zeros over the rest of the window instead, and the
/// window is marked: the reader sees zeros (framed as a malformed line, counted) and then the mark.
/// A SIGBUS anywhere else goes to the handler that was there before.

/// Guards [base, base + length); returns a slot for `skein_guard_end`, or -1 when the guard is
/// unavailable (no free slot, or the handler could not be installed): the caller reads instead.
int skein_guard_begin(const void *base, size_t length);

/// Ends the guard of `slot`; returns 1 when the window was cut short (zeros were mapped in), else 0.
int skein_guard_end(int slot);

/// Whether the window of `slot` has been cut short so far.
int skein_guard_hit(int slot);

/// Makes malloc grow its heaps `bytes` at a time (M_TOP_PAD) instead of a page or so at a time: a
/// process that builds up hundreds of megabytes (an export's finished traces) then makes a few
/// dozen growth calls instead of thousands. Does nothing where malloc has no such setting.
void skein_malloc_grow_in_steps(size_t bytes);

/// Faults in, with one call, the pages malloc's main heap has grown by since the previous call
/// (the first call only marks where the heap ends). A page first touched by a store costs a trap
/// and a fault each; populated in bulk (MADV_POPULATE_WRITE), the same pages cost about half as
/// much here. Returns the bytes populated; 0 where there is no such heap (not glibc on Linux) or
/// the kernel refuses (before Linux 5.14).
size_t skein_heap_populate_grown(void);

#endif
