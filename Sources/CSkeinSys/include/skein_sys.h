#ifndef SKEIN_SYS_H
#define SKEIN_SYS_H

/// The few system calls Skein needs that Swift's Glibc module does not offer.

#include <stddef.h>
#include "skein_scan.h"

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

/// Grows the calling thread's malloc arena by `bytes` at once. glibc grows the heap of a thread's
/// own arena (not the main one) by what each allocation needs, with an `mprotect` call each time,
/// not by `skein_malloc_grow_in_steps`' step: an export's decoding thread made some 1,600 of them.
/// `bytes` should stay below that step's trim threshold (twice the step) and 64 MiB. While heap
/// population is on, the room is populated by its steps too. Returns where the room starts (free
/// memory: for tests to look at), or NULL.
const void *skein_malloc_reserve_thread_heap(size_t bytes);

/// Turns on population of malloc's main heap as it grows (MADV_POPULATE_WRITE, `slice` bytes
/// per step), done by threads that would otherwise wait (`skein_heap_populate_step`): the threads
/// that allocate then find their new pages resident instead of taking a fault on each. Returns 0,
/// or -1 when it is on already or unsupported (not glibc on Linux).
int skein_heap_population_begin(size_t slice);

/// One step of population, for a thread about to wait: populates up to `slice` bytes of what the
/// heap grew by. Returns 1 when it populated something; 0 when there is nothing to do, population
/// is off, or another thread is at it (never waits for it).
int skein_heap_populate_step(void);

/// Names a block outside the heap that its owner fills front to back (a large array's reserved
/// room, which malloc maps apart from the heap), filled as far as `filled`: steps of population
/// (`skein_heap_populate_step`, once the heap is done) populate it up to `upto`, which the owner
/// moves ahead as it fills. Naming another block (the array moved) starts over there. Does nothing
/// while population is off, or when another thread is populating (the next call counts).
void skein_populate_block_ahead(const void *start, size_t length, const void *filled, const void *upto);

/// Names the input window a thread is reading through a read-only file mapping, and how far it
/// has read (call again as it reads on): `skein_populate_input_step` then maps the window's pages
/// ahead of it. Does nothing while population is off, or when another thread is populating.
void skein_populate_input(const void *start, size_t length, const void *read_to);

/// Forgets the window at `start` (waits for a step under way): call before unmapping it.
void skein_populate_input_forget(const void *start);

/// Unmaps a mapping its reader is done with, or, while population is on, leaves it for
/// `skein_populate_input_step` (a waiting thread) to unmap; at most one is left at a time (an
/// older one is unmapped here), and population's end unmaps what is left. 0, or munmap's -1.
int skein_retire_mapping(void *start, size_t length);

/// One step of mapping the named input window's pages ahead of its reader (MADV_POPULATE_READ),
/// for another thread that would otherwise wait: 1 when it populated something.
int skein_populate_input_step(void);

/// Turns population off; returns the bytes populated since it was turned on.
size_t skein_heap_population_end(void);

#endif
