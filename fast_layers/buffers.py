"""Warm buffers for cnnkit's own arrays: ``recycled()`` and the ``@recycling`` decorator.

Inside ``with recycled():`` numpy allocates new arrays through the compiled handler of
``fast_layers._buffer_cache``; when such an array is freed (wherever that happens), a block of at
least ``tuning.BUFFER_CACHE_MIN_BYTES`` is kept, up to ``tuning.BUFFER_CACHE_BYTES`` in all, and the
next request of about its size inside ``recycled()`` reuses it instead of faulting in fresh pages.
The handler is numpy's per-context allocator (NEP 49): it is installed only while a cnnkit call
runs and the previous one is put back after, so arrays made by any other code are untouched and
no process-wide setting changes. The fast layers and the models' ``loss`` run inside it.

``release()`` hands every kept block back (so does a memory budget about to be refused, and a
failed allocation before it gives up); ``stats()`` shows hits, misses and kept bytes;
``tuning.set(buffer_cache_bytes=0)`` turns keeping off. Without the compiled module (the numpy
fallback build) ``recycled()`` does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import os

from _rules.resources import add_reclaimer

from . import tuning

_cache = None
if os.environ.get("CNNKIT_DISABLE_CYTHON", "").strip() in ("", "0"):  # the same switch as the kernels'
    try:
        from . import _buffer_cache as _cache
    except ImportError:  # not built: allocate as numpy always does
        _cache = None

__all__ = ["AVAILABLE", "recycled", "recycling", "release", "stats"]

AVAILABLE = _cache is not None


def _configure():
    if _cache is not None:
        _cache.configure(tuning.BUFFER_CACHE_BYTES, tuning.BUFFER_CACHE_MIN_BYTES)


tuning.on_change(_configure)
_configure()
if _cache is not None:
    # Kept blocks count as used memory to the OS: give them back before a budget is refused.
    add_reclaimer(_cache.release)


@contextlib.contextmanager
def recycled():
    """Allocate through the buffer cache inside the block (nothing happens when it is off)."""
    if _cache is None or tuning.BUFFER_CACHE_BYTES == 0:
        yield
        return
    previous = _cache.activate()
    try:
        yield
    finally:
        _cache.restore(previous)


def recycling(fn):
    """Decorate a cnnkit function so that it runs inside :func:`recycled`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with recycled():
            return fn(*args, **kwargs)

    return wrapper


def release() -> int:
    """Give every kept block back to the C library; return how many bytes that was."""
    return 0 if _cache is None else _cache.release()


def stats() -> dict:
    """``{kept_bytes, kept_blocks, hits, misses, limit_bytes, min_bytes}`` (zeros without the cache)."""
    if _cache is None:
        return {"kept_bytes": 0, "kept_blocks": 0, "hits": 0, "misses": 0, "limit_bytes": 0, "min_bytes": 0}
    return _cache.stats()
