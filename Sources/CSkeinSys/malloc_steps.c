#include "skein_sys.h"

#if defined(__has_include)
#  if __has_include(<malloc.h>)
#    include <malloc.h>
#  endif
#endif

void skein_malloc_grow_in_steps(size_t bytes) {
#if defined(M_TOP_PAD)
    mallopt(M_TOP_PAD, bytes > 0x7fffffff ? 0x7fffffff : (int)bytes);
#else
    (void)bytes;
#endif
}
