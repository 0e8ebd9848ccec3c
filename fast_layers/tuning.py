"""Machine tuning of the fast layers: every knob in one place, with the measurement behind it.

The layers in ``fast_layers`` read like the math; the numbers that make them fast on a given
machine live here and nowhere else. Each knob is a module attribute, read at call time, so a
user can change it three ways:

* for a block of code (process-wide while the block runs; not meant for concurrent threads that
  want different values)::

      from fast_layers import tuning
      with tuning.override(backward_block_bytes=16 << 20, parallel_kernel_bytes=0):
          dx, dw, db = conv_backward_fast(dout, cache)

* for the rest of the session: ``tuning.set(backward_block_bytes=16 << 20)``;
* before Python starts: an environment variable ``CNNKIT_<KNOB NAME IN CAPITALS>``, e.g.
  ``CNNKIT_BACKWARD_BLOCK_BYTES=16777216`` (read once, at import).

``tuning.current()`` returns every knob's value. Knobs never change a result beyond rounding
order (block sizes, threads), so the tests shrink them to force every code path.

The measurements quoted below were taken on the project's shared 2-core machine (OpenBLAS,
libgomp), median or best of interleaved rounds, with other processes running.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["KNOBS", "current", "override", "set"]

# Budget for the conv backward's column-gradient buffer, reused for every block of images. It
# bounds the extra memory (the full column gradient is as large as x_cols) while keeping each
# GEMM large: every GEMM call and parallel kernel ends in a barrier of the BLAS / OpenMP threads,
# and on a busy machine each barrier can cost a scheduler time slice, so few large blocks beat
# many small ones. Case B float64, column-gradient GEMMs + col2im under load (best of 5):
# 4 MiB blocks 2.2 s, 18 MiB 0.81 s, 36 MiB 0.52 s, 72 MiB 0.42 s.
BACKWARD_BLOCK_BYTES = 64 << 20

# Kernels touching fewer bytes than this run on the calling thread only. Two thread pools share
# the cores: after a GEMM, OpenBLAS's idle worker keeps spinning for a while, and after a
# parallel loop so do the idle OpenMP threads (libgomp's default wait policy). A parallel kernel
# right after a GEMM therefore waits for a core the BLAS worker holds, and the GEMM after a
# parallel kernel waits for one an OpenMP thread holds. Measured (ms, best / median of 7-9
# interleaved rounds): case A float64, first GEMM after the parallel im2col 3.5 median instead
# of 0.43; case B float64 backward 214 / 282 parallel vs 187 / 214 serial, float32 124 / 144 vs
# 107 / 113; B float32 forward 79 / 87 vs 68 / 78. So only very large kernels, where splitting
# the work outweighs that wait, use the OpenMP threads. Re-measured in session 3 (median of
# 3-15, conv_forward_strides / conv_backward_strides ms, every kernel parallel vs none) under
# chrt -f (no other load; a FIFO-scheduled spinning BLAS worker then never yields, the worst
# case of the wait above): case A f32 14.3 / 26.5 vs 3.9 / 5.6; ThreeLayerConvNet conv f32
# 35.0 / 32.4 vs 15.1 / 22.8; B f64 188 / 355 vs 225 / 230. Alone (the unfold kernel with no
# GEMM beside it) the threads do pay: T conv im2col_6d f64 4.5 vs 8.1 ms, B f64 25.0 vs 42.9,
# which is why the threshold stays finite. The pooling kernels (fast_layers.pool) follow the
# same rule, measured the same way (ms, median of 21, ReLU-fused max-pool backward, serial vs
# parallel; "after a GEMM": the ThreeLayerConvNet conv GEMM (32, 147) @ (147, 51200) then the
# pool): under chrt -f, x 50x32x32x32 float32 2x2/2 alone 1.83 vs 0.82, after a GEMM 9.98 vs
# 28.6 (GEMM alone 7.2); float64 3.14 vs 1.77, after a GEMM 10.7 vs 26.6; 3x3/2 float32 9.26
# vs 4.95, after a GEMM 12.3 vs 29.3; break-even after a GEMM only at x 64x64x64x64 float64
# (128 MiB: 139.9 vs 139.6). At normal priority with other jobs running (load 5-6) the threads
# lose even alone: float32 2x2/2 1.79 vs 10.0, 64x64x64x64 float32 55.6 vs 64.7. In a net a
# pool always sits between GEMMs, so it runs serially below this threshold too.
PARALLEL_KERNEL_BYTES = 1 << 30

# Threads of the BLAS that numpy's matrix products use. None (the default) leaves the BLAS as
# configured (its own default, or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS). An int n sets this
# PROCESS's BLAS pool to n threads through threadpoolctl, so every GEMM of the process is
# affected: that is why it is opt-in. It pays on an oversubscribed machine, where a threaded
# GEMM waits for workers the scheduler has parked: at load average 6-8 on the 2-core machine
# (other jobs running), median of 21: (100, 3072) @ (3072, 100) float32 (a FullyConnectedNet
# affine layer) 192 ms with 2 threads vs 1.0 ms with 1; (32, 147) @ (147, 51200) (the
# ThreeLayerConvNet conv GEMM) 72 ms vs 38 ms. On an idle machine 2 threads win on large GEMMs.
BLAS_THREADS = None

# Page faults on fresh large buffers. glibc serves a large allocation (above its mmap threshold,
# at most 32 MiB by default) with fresh pages from the kernel and returns them on free, so every
# new x_cols, output or gradient pays one page fault per 4 KiB page on first touch, again at
# every call; on this VM a fault is expensive. An int n makes glibc keep allocations below n
# bytes in its heap and keep up to n freed bytes mapped (mallopt M_MMAP_THRESHOLD and
# M_TRIM_THRESHOLD), so the buffers of the next call reuse warm pages. Process-wide (every
# allocation of the process, and the freed memory is not given back to the OS), so opt-in;
# None after a change puts glibc's initial thresholds (128 KiB) back, though not its dynamic
# adjustment. Measured at load average 10-11, one BLAS thread, median of 9, conv_forward_fast /
# backward ms (page faults per call): ThreeLayerConvNet conv float32 102.6 / 136.7 (1542 / 996)
# -> 65.5 / 115.5 (0 / 0); case A float64 17.9 / 41.2 (707 / 1067) -> 16.6 / 33.6 (0 / 0).
MALLOC_KEEP_BYTES = None

# The buffer cache (fast_layers.buffers): cnnkit's own calls allocate through a numpy memory
# handler (per context, NEP 49; nothing process-wide) that keeps freed blocks of at least
# BUFFER_CACHE_MIN_BYTES, up to BUFFER_CACHE_BYTES in all, for the next call of the same sizes,
# which then skips the page faults and the kernel's zeroing of fresh pages. 0 turns it off. The
# opt-in malloc_keep_bytes above, measured under chrt -f (no other load), median of 41 training
# iterations: ThreeLayerConvNet float32 59.4 -> 46.1 ms, float64 95.0 -> 62.3 ms; this cache is
# the same effect limited to cnnkit's arrays (measured in benchmarks/bench.py --sections train).
# The limit bounds what stays mapped while nothing runs: ``buffers.release()`` gives it back.
BUFFER_CACHE_BYTES = 512 << 20
BUFFER_CACHE_MIN_BYTES = 256 << 10

# name -> one-line meaning (the measurement is in the comment above each attribute).
KNOBS = {
    "backward_block_bytes": "conv backward: bytes of the reused column-gradient buffer (>= 1)",
    "parallel_kernel_bytes": "compiled kernels touching at least this many bytes use the OpenMP threads (>= 0)",
    "blas_threads": "None (leave the BLAS alone) or the number of BLAS threads for the whole process (>= 1)",
    "malloc_keep_bytes": "None (leave glibc's allocator alone) or bytes of large buffers glibc keeps warm (>= 0)",
    "buffer_cache_bytes": "bytes of freed cnnkit buffers kept warm for reuse (>= 0; 0 turns the cache off)",
    "buffer_cache_min_bytes": "smallest freed cnnkit buffer the cache keeps (>= 1)",
}
_MINIMUM = {"backward_block_bytes": 1, "parallel_kernel_bytes": 0, "blas_threads": 1,
            "malloc_keep_bytes": 0, "buffer_cache_bytes": 0, "buffer_cache_min_bytes": 1}
_NONE_ALLOWED = {"blas_threads", "malloc_keep_bytes"}
_GLIBC_INITIAL_THRESHOLD = 128 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
_blas_original = []  # threadpoolctl's handle on the limits found before the first change
_listeners = []  # called after every set(): modules that mirror knobs elsewhere (the buffer cache)


def on_change(fn) -> None:
    """Call ``fn()`` after every :func:`set` (and :func:`override`), once the new values are in place."""
    _listeners.append(fn)


def _checked(name, value):
    if name not in KNOBS:
        raise ValueError(f"unknown tuning knob {name!r}; the knobs are {sorted(KNOBS)}")
    if value is None and name in _NONE_ALLOWED:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < _MINIMUM[name]:
        none = " or None" if name in _NONE_ALLOWED else ""
        raise ValueError(f"tuning knob {name} must be an int >= {_MINIMUM[name]}{none}, got {value!r}")
    return value


def _apply_malloc_keep_bytes(n):
    """Set glibc's mmap and trim thresholds to n bytes (None: back to its initial 128 KiB)."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        if n is None:
            return
        raise ValueError(f"tuning knob malloc_keep_bytes needs glibc's allocator; this is {platform.libc_ver()}")
    value = _GLIBC_INITIAL_THRESHOLD if n is None else min(n, 2**31 - 1)  # mallopt takes a C int
    libc = ctypes.CDLL("libc.so.6")
    if not (libc.mallopt(_M_MMAP_THRESHOLD, value) and libc.mallopt(_M_TRIM_THRESHOLD, value)):
        raise ValueError(f"glibc refused mallopt thresholds of {value} bytes for malloc_keep_bytes")


def _apply_blas_threads(n):
    """Set (n >= 1) or give back (None) the process's BLAS thread count."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError as exc:
        if n is None:
            return
        raise ValueError("tuning knob blas_threads needs the threadpoolctl package "
                         "(pip install threadpoolctl)") from exc
    if n is None:
        if _blas_original:
            _blas_original.pop().restore_original_limits()
        return
    handle = ThreadpoolController().limit(limits=n, user_api="blas")
    if not _blas_original:
        _blas_original.append(handle)  # it remembers the limits from before this first change


def current() -> dict:
    """Return ``{knob: value}`` for every knob."""
    return {name: globals()[name.upper()] for name in KNOBS}


def set(**values) -> None:  # noqa: A001  (the natural verb; shadows the builtin only in here)
    """Set knobs for the rest of the process, e.g. ``set(parallel_kernel_bytes=0)``."""
    checked = {name: _checked(name, value) for name, value in values.items()}
    if "blas_threads" in checked and checked["blas_threads"] != BLAS_THREADS:
        _apply_blas_threads(checked["blas_threads"])
    if "malloc_keep_bytes" in checked and checked["malloc_keep_bytes"] != MALLOC_KEEP_BYTES:
        _apply_malloc_keep_bytes(checked["malloc_keep_bytes"])
    for name, value in checked.items():
        globals()[name.upper()] = value
    for fn in _listeners:
        fn()


@contextlib.contextmanager
def override(**values):
    """Set knobs inside a ``with`` block and restore the previous values on exit."""
    before = current()
    set(**values)
    try:
        yield
    finally:
        set(**before)


def _from_environment():
    for name in KNOBS:
        raw = os.environ.get(f"CNNKIT_{name.upper()}", "").strip()
        if raw:
            try:
                value = None if raw.lower() == "none" else int(raw)
            except ValueError:
                raise ValueError(f"environment variable CNNKIT_{name.upper()} must be an int, got {raw!r}") from None
            set(**{name: value})


_from_environment()
