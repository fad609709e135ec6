#include "skein_sys.h"

#if defined(__has_include)
#  if __has_include(<malloc.h>)
#    include <malloc.h>
#  endif
#endif

void skein_malloc_grow_in_steps(size_t bytes) {
#if defined(M_TOP_PAD)
    int step = bytes > 0x7fffffff ? 0x7fffffff : (int)bytes;
    mallopt(M_TOP_PAD, step);
    /* Setting M_TOP_PAD freezes glibc's mmap threshold at 128 KiB: every larger block (an
       output buffer, a growing table) would then be a fresh mapping, unmapped when freed and
       faulted in again page by page when allocated again. Keep such blocks in the heap, and the
       heap's free top, so freed memory is reused instead of returned and re-faulted. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, step > 0x3fffffff ? 0x7fffffff : 2 * step);
#else
    (void)bytes;
#endif
}

#if defined(__linux__) && defined(__GLIBC__)
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Where the main heap ended when last populated. Only the thread that drives an export calls this. */
static uintptr_t skein_populated_to;
static int skein_populate_refused;

size_t skein_heap_populate_grown(void) {
    void *end = sbrk(0);
    if (end == (void *)-1 || skein_populate_refused) return 0;
    uintptr_t b = (uintptr_t)end;
    /* First call, or the heap shrank (trimmed): start from here. */
    if (skein_populated_to == 0 || b <= skein_populated_to) {
        skein_populated_to = b;
        return 0;
    }
    size_t grown = b - skein_populated_to;
    if (madvise((void *)skein_populated_to, grown, MADV_POPULATE_WRITE) != 0) {
        /* EINVAL: a kernel without the advice. Anything else (ENOMEM under pressure): stop too;
           pages are then faulted in one at a time, as without this call. */
        skein_populate_refused = 1;
        return 0;
    }
    skein_populated_to = b;
    return grown;
}
#else
size_t skein_heap_populate_grown(void) { return 0; }
#endif
