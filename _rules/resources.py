"""Refuse impossible allocations up front, with a message that names the bytes and the shapes.

A convolution's im2col buffer grows as C*HH*WW * N*H_out*W_out; a typo in a shape can ask for
tens of gigabytes. Failing inside numpy's allocator (or worse, thrashing the machine) tells the
user nothing, so the fast layers ask here before they allocate.
"""

from __future__ import annotations

import os

__all__ = ["available_memory", "check_allocation"]


def available_memory() -> int | None:
    """Return the bytes the OS reports as available for new allocations, or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_allocation(nbytes: int, what: str) -> None:
    """Raise ``MemoryError`` before allocating ``nbytes`` if the machine cannot hold them.

    Parameters
    ----------
    nbytes : int
        Size of the buffer about to be allocated.
    what : str
        Description naming the buffer and the shapes it comes from, used in the message.
    """
    available = available_memory()
    if available is not None and nbytes > available:
        raise MemoryError(
            f"{what} needs {nbytes:,} bytes ({nbytes / 2**30:.2f} GiB), but only "
            f"{available:,} bytes ({available / 2**30:.2f} GiB) are available; "
            "use a smaller batch or smaller images"
        )
