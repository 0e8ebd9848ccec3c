"""Unpack a layer's cache tuple by name, refusing anything a matching forward could not have made.

A backward pass that receives the wrong cache (another layer's, or a forward's ``out`` by
mistake) should say so at once instead of failing deep inside an array expression.
"""

from __future__ import annotations

import copy

__all__ = ["unpack_cache", "param_copy"]


def unpack_cache(cache, fields: tuple[str, ...], producer: str) -> tuple:
    """Return ``cache`` after checking it is a tuple with one entry per name in ``fields``.

    Parameters
    ----------
    cache : object
        What the caller passed as the cache.
    fields : tuple of str
        The documented cache entries, in order (used only for the error message).
    producer : str
        The forward function that makes this cache.

    Returns
    -------
    tuple
        ``cache`` itself, unchanged.
    """
    if not isinstance(cache, tuple) or len(cache) != len(fields):
        got = type(cache).__name__ + (f" of length {len(cache)}" if isinstance(cache, tuple) else "")
        raise TypeError(
            f"cache must be the {len(fields)}-tuple ({', '.join(fields)}) returned by {producer}, got {got}"
        )
    return cache


def param_copy(param):
    """A deep copy of a layer's parameter dict, for its cache.

    The cache then says what the forward computed with: a caller who edits ``conv_param`` (or a
    list inside it) between forward and backward changes neither the backward's geometry nor
    its gradient.
    """
    return copy.deepcopy(param)
