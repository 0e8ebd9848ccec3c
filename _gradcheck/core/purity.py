"""Detect mutation: snapshot everything a call could touch, then say exactly what changed.

A snapshot records, for every ndarray reachable through tuples, lists and dicts, a copy of its
values together with its shape and dtype, so that both ``x[...] = 0`` and ``x.shape = (N, -1)``
on a cached array are seen. Other objects are compared with ``==`` when that gives a plain bool.
"""

from __future__ import annotations

import numpy as np

__all__ = ["snapshot", "changes"]


def snapshot(obj):
    """Return a deep, comparable record of ``obj`` (arrays copied with shape and dtype)."""
    if isinstance(obj, np.ndarray):
        return ("array", id(obj), obj.copy(), obj.shape, obj.dtype)
    if isinstance(obj, (tuple, list)):  # a NamedTuple cache is a tuple
        return ("tuple" if isinstance(obj, tuple) else "list", [snapshot(o) for o in obj])
    if isinstance(obj, dict):
        return ("dict", {k: snapshot(v) for k, v in obj.items()})
    return ("value", obj)


def _same_value(a, b) -> bool:
    try:
        eq = a == b
    except Exception:  # objects whose == raises cannot be compared; assume unchanged
        return True
    return eq if isinstance(eq, bool) else True


def changes(before, obj, where: str, allow=()) -> list[str]:
    """List the differences between a :func:`snapshot` and the object now, one phrase each.

    Parameters
    ----------
    before : snapshot of obj taken earlier
    obj : the object now
    where : str
        Name used as the root of every path, e.g. ``"dout"`` or ``"cache"``.
    allow : collection of str
        Dict keys whose values may change or appear (batchnorm's running statistics).
    """
    out: list[str] = []

    def walk(a, now, path):
        b = snapshot(now) if a[0] != "array" else None
        if a[0] == "array":
            if not isinstance(now, np.ndarray):
                out.append(f"{path} was replaced by a {type(now).__name__}")
                return
            if now.shape != a[3]:
                out.append(f"{path} changed shape {a[3]} -> {now.shape} (an in-place reshape, e.g. `.shape = ...`)")
                return
            if now.dtype != a[4]:
                out.append(f"{path} changed dtype {a[4]} -> {now.dtype}")
                return
            if not np.array_equal(a[2], now, equal_nan=True):
                n_changed = int(np.sum(~((a[2] == now) | (np.isnan(a[2]) & np.isnan(now))))) if a[2].dtype.kind == "f" \
                    else int(np.sum(a[2] != now))
                out.append(f"{path} changed values at {n_changed} of {now.size} elements (written in place)")
            return
        if b[0] != a[0]:
            out.append(f"{path} changed type {a[0]} -> {b[0]}")
            return
        if a[0] in ("tuple", "list"):
            if len(a[1]) != len(now):
                out.append(f"{path} changed length {len(a[1])} -> {len(now)}")
                return
            for i, (u, v) in enumerate(zip(a[1], now)):
                walk(u, v, f"{path}[{i}]")
        elif a[0] == "dict":
            added = [k for k in now if k not in a[1] and k not in allow]
            removed = [k for k in a[1] if k not in now]
            if added:
                out.append(f"{path} gained key(s) {added}")
            if removed:
                out.append(f"{path} lost key(s) {removed}")
            for k in a[1]:
                if k in now and k not in allow:
                    walk(a[1][k], now[k], f"{path}[{k!r}]")
        elif not _same_value(a[1], now):
            out.append(f"{path} changed value {a[1]!r} -> {now!r}")

    walk(before, obj, where)
    return out

