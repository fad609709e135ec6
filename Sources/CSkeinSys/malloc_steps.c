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
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Heap population, done by threads that would otherwise wait (see skein_heap_populate_step). It
   used to be a thread of its own at idle priority; on a busy machine that thread got no processor
   for seconds, and the process could not end until it had run (an export of one line took 0.5 to
   2.4 s while two other processes kept both processors busy). */
static atomic_int population_on;
static atomic_size_t populated_bytes;
static size_t populate_slice;
/* Whether huge pages are asked for; cleared at the end, or when the kernel refuses the advice. */
static atomic_int huge_pages;
/* Where population has reached, and where the heap ended when last advised (only advised pages
   are populated when huge pages are on: populated first, they would be small ones). */
static uintptr_t populated_to;
static _Atomic uintptr_t advised_to;
/* One thread advises or populates at a time; the others pass (they never wait for it). */
static pthread_mutex_t populate_lock = PTHREAD_MUTEX_INITIALIZER;

/* The kernel's program break, where the main heap ends: the system call, not sbrk(0), because
   another thread moves it. */
static uintptr_t current_break(void) {
    return (uintptr_t)syscall(SYS_brk, 0);
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

/* Advises the heap's growth since the last advice; the caller holds populate_lock. */
static int advise_grown(void) {
    if (!atomic_load_explicit(&huge_pages, memory_order_relaxed)) return 0;
    uintptr_t end = current_break();
    uintptr_t from = atomic_load_explicit(&advised_to, memory_order_relaxed);
    if (end < from) {
        /* Trimmed: whatever grows from here on is new. */
        atomic_store_explicit(&advised_to, end, memory_order_release);
    } else if (end > from) {
        if (madvise((void *)from, end - from, MADV_HUGEPAGE) == 0) {
            atomic_store_explicit(&advised_to, end, memory_order_release);
            return 1;
        }
        /* A kernel without transparent huge pages: populate small ones. */
        atomic_store_explicit(&huge_pages, 0, memory_order_relaxed);
    }
    return 0;
}

int skein_heap_advise_huge(void) {
    if (!atomic_load_explicit(&huge_pages, memory_order_relaxed)) return 0;
    /* Another thread advising or populating right now: nothing left to do, and no waiting on it. */
    if (pthread_mutex_trylock(&populate_lock) != 0) return 0;
    int advised = advise_grown();
    pthread_mutex_unlock(&populate_lock);
    return advised;
}

int skein_heap_populate_step(void) {
    if (!atomic_load_explicit(&population_on, memory_order_acquire)) return 0;
    if (pthread_mutex_trylock(&populate_lock) != 0) return 0;
    int did = 0;
    /* With huge pages: as far as advised, which the advice just brought up to the break. */
    advise_grown();
    uintptr_t end = atomic_load_explicit(&huge_pages, memory_order_relaxed)
        ? atomic_load_explicit(&advised_to, memory_order_acquire)
        : current_break();
    if (end < populated_to) populated_to = end;  /* trimmed */
    if (end > populated_to) {
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

int skein_heap_population_begin(size_t slice, int hugePages) {
    pthread_mutex_lock(&populate_lock);
    if (atomic_load(&population_on)) {
        pthread_mutex_unlock(&populate_lock);
        return -1;
    }
    /* The heap may already have grown by a step nothing has touched yet: advise and populate
       from its start (pages already there stay as they are). */
    uintptr_t start = heap_start();
    uintptr_t end = current_break();
    populated_to = start != 0 && start < end ? start : end;
    atomic_store(&advised_to, populated_to);
    atomic_store(&huge_pages, hugePages ? 1 : 0);
    advise_grown();
    populate_slice = slice < 4096 ? 4096 : slice;
    atomic_store(&populated_bytes, 0);
    atomic_store_explicit(&population_on, 1, memory_order_release);
    pthread_mutex_unlock(&populate_lock);
    return 0;
}

size_t skein_heap_population_end(void) {
    pthread_mutex_lock(&populate_lock);
    atomic_store(&population_on, 0);
    atomic_store(&huge_pages, 0);
    pthread_mutex_unlock(&populate_lock);
    return atomic_load(&populated_bytes);
}
#else
int skein_heap_population_begin(size_t slice, int hugePages) { (void)slice; (void)hugePages; return -1; }
int skein_heap_populate_step(void) { return 0; }
int skein_heap_advise_huge(void) { return 0; }
size_t skein_heap_population_end(void) { return 0; }
#endif
