#define _GNU_SOURCE
#include "skein_sys.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOTS = 32 };

static _Atomic uintptr_t slot_base[SLOTS];
static _Atomic uintptr_t slot_end[SLOTS];
static _Atomic int slot_hit[SLOTS];
static _Atomic int slot_used[SLOTS];
static struct sigaction previous;
static uintptr_t page_mask;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int installed;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    uintptr_t a = (uintptr_t)info->si_addr;
    for (int i = 0; i < SLOTS; i++) {
        uintptr_t b = atomic_load(&slot_base[i]);
        uintptr_t e = atomic_load(&slot_end[i]);
        if (b == 0 || a < b || a >= e) continue;
        uintptr_t page = a & ~page_mask;
        // mmap is a plain system call: safe here. Zeros from the faulting page to the window's end,
        // so the interrupted read resumes and the rest of the window costs no further signals.
        void *p = mmap((void *)page, e - page, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            atomic_store(&slot_hit[i], 1);
            return;
        }
        break;
    }
    // Not a guarded window: whatever handled SIGBUS before (by default, the process ends).
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) { previous.sa_sigaction(sig, info, context); return; }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
}

static void install(void) {
    long size = sysconf(_SC_PAGESIZE);
    if (size <= 0) return;
    page_mask = (uintptr_t)size - 1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous) == 0) installed = 1;
}

int skein_guard_begin(const void *base, size_t length) {
    pthread_once(&once, install);
    if (!installed || base == NULL || length == 0) return -1;
    for (int i = 0; i < SLOTS; i++) {
        int expected = 0;
        if (!atomic_compare_exchange_strong(&slot_used[i], &expected, 1)) continue;
        // The base is published last: the handler only trusts a slot whose base is set.
        atomic_store(&slot_hit[i], 0);
        atomic_store(&slot_end[i], (uintptr_t)base + length);
        atomic_store(&slot_base[i], (uintptr_t)base);
        return i;
    }
    return -1;
}

int skein_guard_hit(int slot) {
    if (slot < 0 || slot >= SLOTS) return 0;
    return atomic_load(&slot_hit[slot]);
}

int skein_guard_end(int slot) {
    if (slot < 0 || slot >= SLOTS) return 0;
    int hit = atomic_load(&slot_hit[slot]);
    atomic_store(&slot_base[slot], 0);
    atomic_store(&slot_used[slot], 0);
    return hit;
}
