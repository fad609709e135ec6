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
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The heap populator: one thread at a time, started and stopped by the thread that drives an export. */
static pthread_t populator;
static atomic_int populator_running;
static atomic_int populator_stopping;
static atomic_size_t populator_bytes;
static size_t populator_slice;
/* Whether huge pages are asked for; cleared at stop, or when the kernel refuses the advice. */
static atomic_int huge_pages;
/* Where the populator begins, and where the heap ended when last advised (it populates only
   advised pages when huge pages are on: populated first, they would be small ones). */
static uintptr_t populate_from;
static _Atomic uintptr_t advised_to;
/* The engine's thread and the populator both advise; one at a time. */
static pthread_mutex_t advise_lock = PTHREAD_MUTEX_INITIALIZER;

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

int skein_heap_advise_huge(void) {
    if (!atomic_load_explicit(&huge_pages, memory_order_relaxed)) return 0;
    int advised = 0;
    pthread_mutex_lock(&advise_lock);
    uintptr_t end = current_break();
    uintptr_t from = atomic_load_explicit(&advised_to, memory_order_relaxed);
    if (end < from) {
        /* Trimmed: whatever grows from here on is new. */
        atomic_store_explicit(&advised_to, end, memory_order_release);
    } else if (end > from) {
        if (madvise((void *)from, end - from, MADV_HUGEPAGE) == 0) {
            atomic_store_explicit(&advised_to, end, memory_order_release);
            advised = 1;
        } else {
            /* A kernel without transparent huge pages: populate small ones. */
            atomic_store_explicit(&huge_pages, 0, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&advise_lock);
    return advised;
}

static void *populator_main(void *unused) {
    (void)unused;
    /* Idle priority: this thread runs only on a processor nothing else wants. */
    struct sched_param param = { 0 };
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) != 0) {
        /* Where the policy is refused (some containers), the lowest priority of the normal one. */
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    }
    uintptr_t done = populate_from;
    const struct timespec pause = { 0, 1000000 };
    while (!atomic_load_explicit(&populator_stopping, memory_order_relaxed)) {
        /* With huge pages: as far as advised, which the advice just brought up to the break
           (one read of it per step). */
        if (atomic_load_explicit(&huge_pages, memory_order_relaxed)) skein_heap_advise_huge();
        uintptr_t end = atomic_load_explicit(&huge_pages, memory_order_relaxed)
            ? atomic_load_explicit(&advised_to, memory_order_acquire)
            : current_break();
        if (end < done) done = end;  /* trimmed */
        if (end == done) {
            nanosleep(&pause, NULL);
            continue;
        }
        size_t n = end - done;
        if (n > populator_slice) n = populator_slice;
        if (madvise((void *)done, n, MADV_POPULATE_WRITE) != 0) {
            /* The heap shrank under it (ENOMEM): read where it ends again. A kernel without the
               advice (EINVAL, before Linux 5.14), or anything else: stop, and pages are faulted
               in where they are first used, as without this thread. */
            if (errno == ENOMEM || errno == EINTR || errno == EAGAIN) continue;
            break;
        }
        done += n;
        atomic_fetch_add_explicit(&populator_bytes, n, memory_order_relaxed);
    }
    return NULL;
}

int skein_heap_populator_start(size_t slice, int hugePages) {
    if (atomic_exchange(&populator_running, 1)) return -1;
    /* The heap may already have grown by a step nothing has touched yet: advise and populate
       from its start (pages already there stay as they are). */
    uintptr_t start = heap_start();
    uintptr_t end = current_break();
    populate_from = start != 0 && start < end ? start : end;
    atomic_store(&advised_to, populate_from);
    atomic_store(&huge_pages, hugePages ? 1 : 0);
    if (hugePages) skein_heap_advise_huge();
    populator_slice = slice < 4096 ? 4096 : slice;
    atomic_store(&populator_stopping, 0);
    atomic_store(&populator_bytes, 0);
    if (pthread_create(&populator, NULL, populator_main, NULL) != 0) {
        atomic_store(&huge_pages, 0);
        atomic_store(&populator_running, 0);
        return -1;
    }
    return 0;
}

size_t skein_heap_populator_stop(void) {
    if (!atomic_load(&populator_running)) return 0;
    atomic_store(&populator_stopping, 1);
    pthread_join(populator, NULL);
    atomic_store(&huge_pages, 0);
    atomic_store(&populator_running, 0);
    return atomic_load(&populator_bytes);
}
#else
int skein_heap_populator_start(size_t slice, int hugePages) { (void)slice; (void)hugePages; return -1; }
int skein_heap_advise_huge(void) { return 0; }
size_t skein_heap_populator_stop(void) { return 0; }
#endif
