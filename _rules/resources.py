"""Refuse impossible allocations up front, with a message that names the bytes and the shapes.

A convolution's im2col buffer grows as C*HH*WW * N*H_out*W_out; a typo in a shape can ask for
tens of gigabytes. Failing inside numpy's allocator (or worse, thrashing the machine, or being
killed by the OOM killer) tells the user nothing, so every fast layer lists every large buffer
one call will allocate (its *budget*: output, x_cols, copies, column gradients, block buffers)
and asks :func:`require` before it allocates the first of them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Buffer", "available_memory", "budget_bytes", "require", "add_reclaimer"]

# Callables that give memory back on request and return how many bytes they freed (the fast
# layers' buffer cache registers one): tried before a budget is refused.
_reclaimers = []


def add_reclaimer(fn) -> None:
    """Register ``fn() -> bytes freed``, called by :func:`require` before it refuses a budget."""
    _reclaimers.append(fn)


@dataclass(frozen=True)
class Buffer:
    """One buffer a call allocates: what it is, its shape and its dtype."""

    what: str
    shape: tuple
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(int(s) for s in self.shape) * np.dtype(self.dtype).itemsize

    def __str__(self):
        return f"{self.what} {tuple(self.shape)} {np.dtype(self.dtype)}: {self.nbytes:,} bytes"


def available_memory() -> int | None:
    """Return the bytes the OS reports as available for new allocations, or None if unknown."""
    # One os.read: every fast call asks, and a text file object costs a noticeable share of a small call.
    try:
        fd = os.open("/proc/meminfo", os.O_RDONLY)
        try:
            text = os.read(fd, 8192)
        finally:
            os.close(fd)
        start = text.index(b"MemAvailable:") + len(b"MemAvailable:")
        return int(text[start:text.index(b"\n", start)].split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def budget_bytes(buffers) -> int:
    """Total bytes of ``buffers`` (an iterable of :class:`Buffer`)."""
    return sum(b.nbytes for b in buffers)


def require(call: str, buffers, inputs: str = "") -> int:
    """Raise ``MemoryError`` before allocating if ``buffers`` together cannot fit in memory.

    Parameters
    ----------
    call : str
        The public function about to allocate (named in the message).
    buffers : iterable of Buffer
        Every large buffer the call will hold at its peak.
    inputs : str
        The shapes the buffers come from, e.g. "x of shape (N, C, H, W) and w of shape ...".

    Returns
    -------
    int
        The budget: the total bytes of ``buffers``.
    """
    buffers = [b for b in buffers if b.nbytes > 0]
    total = budget_bytes(buffers)
    available = available_memory()
    if available is not None and total > available and sum(fn() for fn in _reclaimers) > 0:
        available = available_memory()
    if available is not None and total > available:
        listed = "; ".join(str(b) for b in sorted(buffers, key=lambda b: -b.nbytes))
        raise MemoryError(
            f"{call}{' for ' + inputs if inputs else ''} needs {total:,} bytes ({total / 2**30:.2f} GiB) "
            f"[{listed}], but only {available:,} bytes ({available / 2**30:.2f} GiB) are available; "
            "use a smaller batch or smaller images"
        )
    return total
