"""A numpy memory handler that keeps cnnkit's large freed buffers warm for the next call.

Why: a training iteration allocates the same large arrays every time (x_cols, layer outputs,
gradients). glibc hands each one fresh pages from the kernel and gives them back on free, so every
iteration pays a page fault (and the kernel's zeroing) per page on first touch, a large share of
a small net's iteration (``benchmarks/RESULTS.md``).

How: numpy lets a module choose the allocator of the arrays it creates, per context (NEP 49,
``PyDataMem_SetHandler``, a context variable). ``fast_layers.buffers.recycled()`` installs this
handler around cnnkit's own calls only and puts the previous one back on the way out, so no
allocation outside cnnkit changes. An array keeps the handler that made it, so freeing it later,
anywhere, comes back here: blocks of at least ``min_bytes`` are kept (up to ``limit_bytes`` in
all) and handed out again for a request of about the same size. Nothing process-wide changes:
not glibc's thresholds, not other libraries' arrays.

Every block carries a 64-byte header holding its capacity, so free and realloc never trust a
size passed in. The bookkeeping is under one lock; the handler functions do not need the GIL.
"""

from cpython.pycapsule cimport PyCapsule_New

cimport numpy as cnp

cnp.import_array()

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #include <stdint.h>
    #include "pythread.h"
    #include "numpy/ndarraytypes.h"
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif

    #define CK_HEADER 64              /* keeps the data 16-byte aligned, as numpy's own malloc */
    #define CK_SLOTS 256
    #define CK_GRAIN ((size_t)64 << 10)  /* kept blocks are rounded up to 64 KiB */
    #define CK_MAGIC ((size_t)0x636e6e6b6974ULL)

    typedef struct { char *block; size_t cap; } ck_slot;
    static ck_slot ck_kept[CK_SLOTS];
    static int ck_nkept = 0;
    static size_t ck_kept_bytes = 0, ck_limit = 0, ck_min = (size_t)1 << 20;
    static unsigned long long ck_hits = 0, ck_misses = 0;
    static PyThread_type_lock ck_lock = NULL;

    static void ck_advise_huge(char *p, size_t n) {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        /* As numpy's own allocator does for large arrays: fewer TLB misses when the
           transparent huge pages setting is "madvise". */
        if (n >= ((size_t)4 << 20)) {
            uintptr_t a = ((uintptr_t)p + 0x1FFFFF) & ~(uintptr_t)0x1FFFFF;
            uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)0x1FFFFF;
            if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
        }
    #endif
    }

    static size_t ck_release(void);

    static void *ck_new(size_t cap, int zero) {
        char *b;
        if (cap > SIZE_MAX - CK_HEADER) return NULL;
        b = zero ? (char *)calloc(1, cap + CK_HEADER) : (char *)malloc(cap + CK_HEADER);
        if (b == NULL && ck_release() > 0)  /* the kept blocks are the first thing to give up */
            b = zero ? (char *)calloc(1, cap + CK_HEADER) : (char *)malloc(cap + CK_HEADER);
        if (b == NULL) return NULL;
        ((size_t *)b)[0] = cap;
        ((size_t *)b)[1] = CK_MAGIC;
        ck_advise_huge(b, cap + CK_HEADER);
        return b + CK_HEADER;
    }

    static size_t ck_cap(void *p) { return ((size_t *)((char *)p - CK_HEADER))[0]; }

    /* Take the smallest kept block of capacity in [need, need + need/8 + grain]; NULL if none. */
    static char *ck_take(size_t need) {
        int i, best = -1;
        char *b = NULL;
        size_t most = need + need / 8 + CK_GRAIN;
        PyThread_acquire_lock(ck_lock, WAIT_LOCK);
        for (i = 0; i < ck_nkept; i++)
            if (ck_kept[i].cap >= need && ck_kept[i].cap <= most && (best < 0 || ck_kept[i].cap < ck_kept[best].cap))
                best = i;
        if (best >= 0) {
            b = ck_kept[best].block;
            ck_kept_bytes -= ck_kept[best].cap;
            ck_kept[best] = ck_kept[--ck_nkept];
            ck_hits++;
        } else {
            ck_misses++;
        }
        PyThread_release_lock(ck_lock);
        return b;
    }

    static void *ck_alloc(size_t size, int zero) {
        size_t cap;
        char *b;
        if (size < ck_min || size > SIZE_MAX - CK_GRAIN) return ck_new(size ? size : 1, zero);
        cap = (size + CK_GRAIN - 1) / CK_GRAIN * CK_GRAIN;
        b = ck_take(size);
        if (b == NULL) return ck_new(cap, zero);
        if (zero) memset(b + CK_HEADER, 0, size);
        return b + CK_HEADER;
    }

    static void *ck_malloc(void *ctx, size_t size) { (void)ctx; return ck_alloc(size, 0); }

    static void *ck_calloc(void *ctx, size_t nelem, size_t elsize) {
        (void)ctx;
        if (elsize != 0 && nelem > SIZE_MAX / elsize) return NULL;
        return ck_alloc(nelem * elsize, 1);
    }

    static void ck_free(void *ctx, void *p, size_t size) {
        char *b;
        size_t cap;
        int kept = 0;
        (void)ctx; (void)size;
        if (p == NULL) return;
        b = (char *)p - CK_HEADER;
        cap = ((size_t *)b)[0];
        if (cap >= ck_min && cap % CK_GRAIN == 0) {
            PyThread_acquire_lock(ck_lock, WAIT_LOCK);
            if (ck_nkept < CK_SLOTS && cap <= ck_limit - ck_kept_bytes && ck_kept_bytes <= ck_limit) {
                ck_kept[ck_nkept].block = b;
                ck_kept[ck_nkept].cap = cap;
                ck_nkept++;
                ck_kept_bytes += cap;
                kept = 1;
            }
            PyThread_release_lock(ck_lock);
        }
        if (!kept) free(b);
    }

    static void *ck_realloc(void *ctx, void *p, size_t size) {
        void *q;
        size_t cap;
        if (p == NULL) return ck_malloc(ctx, size);
        cap = ck_cap(p);
        if (size <= cap) return p;
        q = ck_malloc(ctx, size);
        if (q == NULL) return NULL;
        memcpy(q, p, cap);
        ck_free(ctx, p, cap);
        return q;
    }

    static PyDataMem_Handler ck_handler = {
        "cnnkit_buffer_cache", 1, {NULL, ck_malloc, ck_calloc, ck_realloc, ck_free}
    };

    /* Give every kept block back to the C library; return the number of bytes released. */
    static size_t ck_release(void) {
        size_t n;
        PyThread_acquire_lock(ck_lock, WAIT_LOCK);
        n = ck_kept_bytes;
        while (ck_nkept > 0) free(ck_kept[--ck_nkept].block);
        ck_kept_bytes = 0;
        PyThread_release_lock(ck_lock);
        return n;
    }

    static int ck_init(void) {
        if (ck_lock == NULL) ck_lock = PyThread_allocate_lock();
        return ck_lock != NULL;
    }
    """
    ctypedef struct PyDataMem_Handler:
        pass
    PyDataMem_Handler ck_handler
    size_t ck_kept_bytes, ck_limit, ck_min
    int ck_nkept
    unsigned long long ck_hits, ck_misses
    size_t ck_release() nogil
    int ck_init()

cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)

if not ck_init():
    raise MemoryError("fast_layers._buffer_cache: could not allocate its lock")

_HANDLER = PyCapsule_New(<void *>&ck_handler, "mem_handler", NULL)


def activate():
    """Make this module's handler numpy's allocator in the current context; return the previous one."""
    return PyDataMem_SetHandler(_HANDLER)


def restore(previous):
    """Put back the handler :func:`activate` returned."""
    PyDataMem_SetHandler(previous)


def configure(size_t limit_bytes, size_t min_bytes):
    """Keep at most ``limit_bytes`` of freed blocks, each of at least ``min_bytes``; drop the excess."""
    global ck_limit, ck_min
    ck_limit = limit_bytes
    ck_min = min_bytes
    if ck_kept_bytes > ck_limit:
        ck_release()


def release():
    """Give every kept block back to the C library; return the number of bytes released."""
    return ck_release()


def stats():
    """``{kept_bytes, kept_blocks, hits, misses, limit_bytes, min_bytes}`` of the cache."""
    return {"kept_bytes": ck_kept_bytes, "kept_blocks": ck_nkept, "hits": ck_hits, "misses": ck_misses,
            "limit_bytes": ck_limit, "min_bytes": ck_min}
