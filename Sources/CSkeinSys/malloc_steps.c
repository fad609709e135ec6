#define _GNU_SOURCE
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
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Heap population, done by threads that would otherwise wait (see skein_heap_populate_step). It
   used to be a thread of its own at idle priority; on a busy machine that thread got no processor
   for seconds, and the process could not end until it had run (an export of one line took 0.5 to
   2.4 s while two other processes kept both processors busy). Small pages only: huge ones
   (MADV_HUGEPAGE, sessions 8 to 10) come from the free 2 MiB blocks that a VM's balloon reports to
   its host, which then faults each back in: 300 MB took 0.6-0.8 s to touch that way, against
   0.12 s in small pages (see the README). */
static atomic_int population_on;
static atomic_size_t populated_bytes;
static size_t populate_slice;
/* Where population has reached. */
static uintptr_t populated_to;
/* One thread populates at a time; the others pass (they never wait for it). */
static pthread_mutex_t populate_lock = PTHREAD_MUTEX_INITIALIZER;

/* The kernel's program break, where the main heap ends: the system call, not sbrk(0), because
   another thread moves it. */
static uintptr_t current_break(void) {
    return (uintptr_t)syscall(SYS_brk, 0);
}

/* The break as malloc last set it (glibc keeps it for sbrk(0), from whichever thread moved it):
   no system call. Steps read it at every hand-over (thousands of times an export); a value a
   moment stale only makes a step populate less, or, after a trim, fail with ENOMEM and read again. */
static uintptr_t known_break(void) {
    return (uintptr_t)sbrk(0);
}

/* Where the main heap starts ([heap] in /proc/self/maps), or 0. */
static uintptr_t heap_start(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return 0;
    char line[512];
    uintptr_t start = 0;
    while (fgets(line, sizeof line, maps)) {
        if (strstr(line, "[heap]")) {
            start = (uintptr_t)strtoull(line, NULL, 16);
            break;
        }
    }
    fclose(maps);
    return start;
}

/* A block besides the heap, filled front to back by its owner (a large array's reserved room,
   which malloc maps apart from the heap): populated from `block_next` up to `block_limit`, which
   the owner moves ahead of what it has filled (skein_populate_block_ahead). Under populate_lock. */
static uintptr_t block_start, block_next, block_limit;

static uintptr_t page_up(uintptr_t p) { return (p + 4095) & ~(uintptr_t)4095; }
static uintptr_t page_down(uintptr_t p) { return p & ~(uintptr_t)4095; }

/* One step (at most populate_slice bytes) of population from `*next` towards `limit`, under
   populate_lock, with `advice` (MADV_POPULATE_WRITE for memory to be written, READ for a file
   mapping): 1 when it populated something, 0 when there was nothing to do, -1 when the advice
   failed (the range unmapped under it, or a page that cannot be read): the caller drops the range. */
static int populate_range(uintptr_t *next, uintptr_t limit, int advice, int counts) {
    if (*next >= limit) return 0;
    size_t n = limit - *next;
    if (n > populate_slice) n = populate_slice;
    if (madvise((void *)*next, n, advice) != 0) return -1;
    *next += n;
    if (counts) atomic_fetch_add_explicit(&populated_bytes, n, memory_order_relaxed);
    return 1;
}

void skein_populate_block_ahead(const void *start, size_t length, const void *filled, const void *upto) {
    if (!atomic_load_explicit(&population_on, memory_order_acquire)) return;
    /* Never waits: a step under way just means this update waits for the next call. */
    if (pthread_mutex_trylock(&populate_lock) != 0) return;
    uintptr_t s = (uintptr_t)start, end = page_down(s + length);
    if (s != block_start) {
        block_start = s;
        block_next = page_up((uintptr_t)filled);
    }
    uintptr_t limit = page_down((uintptr_t)upto);
    block_limit = limit < end ? limit : end;
    pthread_mutex_unlock(&populate_lock);
}

/* A thread's reserved arena room (skein_malloc_reserve_thread_heap), populated whole, from its
   start, by the same steps once the heap and the block are done. Under populate_lock. */
static uintptr_t arena_next, arena_end;

static int populate_arena_step(void) {
    int r = populate_range(&arena_next, arena_end, MADV_POPULATE_WRITE, 1);
    if (r < 0) arena_next = arena_end = 0;
    return r > 0;
}

const void *skein_malloc_reserve_thread_heap(size_t bytes) {
    /* From the calling thread's arena, given back at once: the arena keeps it as its free top
       (below the trim threshold that skein_malloc_grow_in_steps sets, so it is not handed back). */
    /* Through a volatile pointer: a compiler may drop a malloc whose block is only freed. */
    void *volatile p = malloc(bytes);
    if (p == NULL) return NULL;
    /* The room (its whole pages) is populated by later steps, while population is on: the
       thread's allocations then find their pages resident. */
    if (atomic_load_explicit(&population_on, memory_order_acquire)) {
        pthread_mutex_lock(&populate_lock);
        arena_next = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        arena_end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
        pthread_mutex_unlock(&populate_lock);
    }
    free(p);
    return p;
}

/* One step of the block, under populate_lock: 1 when it populated something. */
static int populate_block_step(void) {
    int r = populate_range(&block_next, block_limit, MADV_POPULATE_WRITE, 1);
    /* Unmapped (the owner moved to a new block and freed this one), or anything else: dropped
       until the owner names a block again. */
    if (r < 0) block_start = block_next = block_limit = 0;
    return r > 0 ? 1 : populate_arena_step();
}

int skein_heap_populate_step(void) {
    if (!atomic_load_explicit(&population_on, memory_order_acquire)) return 0;
    if (pthread_mutex_trylock(&populate_lock) != 0) return 0;
    int did = 0;
    uintptr_t end = known_break();
    if (end < populated_to) populated_to = end;  /* trimmed */
    if (end <= populated_to) {
        did = populate_block_step();
    } else {
        size_t n = end - populated_to;
        if (n > populate_slice) n = populate_slice;
        if (madvise((void *)populated_to, n, MADV_POPULATE_WRITE) == 0) {
            populated_to += n;
            atomic_fetch_add_explicit(&populated_bytes, n, memory_order_relaxed);
            did = 1;
        } else if (errno != ENOMEM && errno != EINTR && errno != EAGAIN) {
            /* A kernel without the advice (EINVAL, before Linux 5.14), or anything else: stop, and
               pages are faulted in where they are first used. (ENOMEM: the heap shrank under it;
               the next step reads where it ends again.) */
            atomic_store_explicit(&population_on, 0, memory_order_release);
        }
    }
    pthread_mutex_unlock(&populate_lock);
    return did;
}

/* The input window being read (a read-only file mapping): the reading thread names it and how
   far it has read; the engine's thread, when it waits, maps the window's pages ahead of the reader
   (skein_populate_input_step), so the reader finds them in its page table instead of faulting.
   Under populate_lock; forgetting waits for the lock, so no step is in the window when it is
   unmapped right after. */
static uintptr_t input_start, input_next, input_end;

void skein_populate_input(const void *start, size_t length, const void *read_to) {
    if (!atomic_load_explicit(&population_on, memory_order_acquire)) return;
    if (pthread_mutex_trylock(&populate_lock) != 0) return;
    uintptr_t s = (uintptr_t)start, r = page_up((uintptr_t)read_to);
    if (s != input_start) {
        input_start = s;
        input_next = r;
        input_end = page_down(s + length);
    } else if (r > input_next) {
        input_next = r;
    }
    pthread_mutex_unlock(&populate_lock);
}

void skein_populate_input_forget(const void *start) {
    pthread_mutex_lock(&populate_lock);
    if ((uintptr_t)start == input_start) input_start = input_next = input_end = 0;
    pthread_mutex_unlock(&populate_lock);
}

/* Windows the reader is done with, left for a waiting thread to unmap (unmapping 16 MiB of
   mapped pages took the reader a sixtieth of its time). Up to four wait; with four waiting the
   reader unmaps the oldest itself. Under populate_lock. */
#define SKEIN_RETIRED 4
static void *retired_start[SKEIN_RETIRED];
static size_t retired_length[SKEIN_RETIRED];
static int retired_count;

int skein_retire_mapping(void *start, size_t length) {
    if (!atomic_load_explicit(&population_on, memory_order_acquire)) return munmap(start, length);
    void *older = NULL;
    size_t older_length = 0;
    pthread_mutex_lock(&populate_lock);
    if (retired_count == SKEIN_RETIRED) {
        older = retired_start[0];
        older_length = retired_length[0];
        for (int k = 1; k < SKEIN_RETIRED; k++) {
            retired_start[k - 1] = retired_start[k];
            retired_length[k - 1] = retired_length[k];
        }
        retired_count--;
    }
    retired_start[retired_count] = start;
    retired_length[retired_count] = length;
    retired_count++;
    pthread_mutex_unlock(&populate_lock);
    return older ? munmap(older, older_length) : 0;
}

/* Takes the newest retired window, under populate_lock, to unmap once the lock is released (so
   the reader never waits on the lock for an unmapping): 1 when there was one. */
static int take_retired(void **start, size_t *length) {
    if (retired_count == 0) return 0;
    retired_count--;
    *start = retired_start[retired_count];
    *length = retired_length[retired_count];
    return 1;
}

int skein_populate_input_step(void) {
    if (!atomic_load_explicit(&population_on, memory_order_acquire)) return 0;
    if (pthread_mutex_trylock(&populate_lock) != 0) return 0;
    void *old_start;
    size_t old_length;
    if (take_retired(&old_start, &old_length)) {
        pthread_mutex_unlock(&populate_lock);
        munmap(old_start, old_length);
        return 1;
    }
    /* Read population reports a page it cannot read (a file cut short) as an error, never as
       SIGBUS: the window is dropped, and the reader meets the page under its own guard. */
    int r = populate_range(&input_next, input_end, MADV_POPULATE_READ, 0);
    if (r < 0) input_start = input_next = input_end = 0;
    pthread_mutex_unlock(&populate_lock);
    return r > 0;
}

int skein_heap_population_begin(size_t slice) {
    pthread_mutex_lock(&populate_lock);
    if (atomic_load(&population_on)) {
        pthread_mutex_unlock(&populate_lock);
        return -1;
    }
    /* The heap may already have grown by a step nothing has touched yet: populate from its start
       (pages already there stay as they are). */
    uintptr_t start = heap_start();
    uintptr_t end = current_break();
    populated_to = start != 0 && start < end ? start : end;
    populate_slice = slice < 4096 ? 4096 : slice;
    block_start = block_next = block_limit = 0;
    input_start = input_next = input_end = 0;
    arena_next = arena_end = 0;
    atomic_store(&populated_bytes, 0);
    atomic_store_explicit(&population_on, 1, memory_order_release);
    pthread_mutex_unlock(&populate_lock);
    return 0;
}

size_t skein_heap_population_end(void) {
    pthread_mutex_lock(&populate_lock);
    void *old_start;
    size_t old_length;
    while (take_retired(&old_start, &old_length)) munmap(old_start, old_length);
    atomic_store(&population_on, 0);
    pthread_mutex_unlock(&populate_lock);
    return atomic_load(&populated_bytes);
}
#else
const void *skein_malloc_reserve_thread_heap(size_t bytes) {
    void *volatile p = malloc(bytes);
    free(p);
    return p;
}
int skein_heap_population_begin(size_t slice) { (void)slice; return -1; }
int skein_heap_populate_step(void) { return 0; }
void skein_populate_block_ahead(const void *start, size_t length, const void *filled, const void *upto) {
    (void)start; (void)length; (void)filled; (void)upto;
}
void skein_populate_input(const void *start, size_t length, const void *read_to) {
    (void)start; (void)length; (void)read_to;
}
void skein_populate_input_forget(const void *start) { (void)start; }
int skein_populate_input_step(void) { return 0; }
int skein_retire_mapping(void *start, size_t length) { return munmap(start, length); }
size_t skein_heap_population_end(void) { return 0; }
#endif
