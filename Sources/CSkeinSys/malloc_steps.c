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
