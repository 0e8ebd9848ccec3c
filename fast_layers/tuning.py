"""Machine tuning of the fast layers: every knob in one place, each with its reason.

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
order (block sizes, threads), so the tests shrink them to force every code path. The
measurements behind each default are in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["KNOBS", "current", "override", "set"]

# Each knob below: what it sets, why in a line, and where its numbers are (benchmarks/RESULTS.md,
# the section named after the knob).

# Bytes of the conv backward's column-gradient buffer, reused for every block of images: it bounds
# the extra memory while keeping each GEMM large (every GEMM ends in a barrier of the BLAS threads).
BACKWARD_BLOCK_BYTES = 64 << 20

# Kernels touching fewer bytes run on the calling thread only: idle BLAS and OpenMP threads spin
# after their loops, so a parallel kernel next to a GEMM waits for a core the other pool holds.
# Pools always sit between GEMMs in a net, so they follow the same rule.
PARALLEL_KERNEL_BYTES = 1 << 30

# None leaves numpy's BLAS as configured; an int n limits this PROCESS's BLAS pool to n threads
# (threadpoolctl), which pays on an oversubscribed machine: opt-in because every GEMM is affected.
BLAS_THREADS = None

# None leaves glibc alone; an int n makes glibc keep allocations below n bytes in its heap and up to
# n freed bytes mapped (mallopt M_MMAP_THRESHOLD / M_TRIM_THRESHOLD), so large buffers skip page
# faults. Process-wide and never given back to the OS, so opt-in; None after a change puts glibc's
# initial 128 KiB thresholds back (not its dynamic adjustment).
MALLOC_KEEP_BYTES = None

# The buffer cache (fast_layers.buffers) keeps cnnkit's own freed blocks of at least
# BUFFER_CACHE_MIN_BYTES, up to BUFFER_CACHE_BYTES in all, for the next call of the same sizes:
# the malloc_keep_bytes effect limited to cnnkit's arrays. 0 turns it off; buffers.release()
# gives the kept blocks back.
BUFFER_CACHE_BYTES = 512 << 20
BUFFER_CACHE_MIN_BYTES = 256 << 10

# name -> one-line meaning (the measurements are in benchmarks/RESULTS.md).
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
