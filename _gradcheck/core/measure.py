"""The checker's one measure of disagreement, and the pass rule applied to it.

Every comparison of the checker, the grid and the assignment graders goes through
:func:`relative_error`; the thresholds come from the tolerance table (:mod:`_rules.tolerances`).
"""

from __future__ import annotations

import numpy as np

from _rules.tolerances import tolerance

__all__ = ["relative_error", "errors_under_rule", "close"]


def relative_error(a, n, floor):
    """``|a - n| / max(|a| + |n|, floor)``, inf where that is not finite.

    Parameters
    ----------
    a : array_like
        The value under test (the analytic gradient, a student's output).
    n : array_like, broadcastable with ``a``
        The reference (the numeric gradient, the toolkit's output).
    floor : float or array_like
        Keeps values that are ~0 from failing on noise (``state.Rule.floor``).

    Returns
    -------
    ndarray
        Elementwise relative errors, ``inf`` where ``a`` or ``n`` is nan/inf.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(np.subtract(a, n)) / np.maximum(np.abs(a) + np.abs(n), floor)
    return np.where(np.isfinite(err), err, np.inf)


def errors_under_rule(got, ref, dtype=np.float64, scale=0.0):
    """Elementwise :func:`relative_error` of ``got`` against ``ref`` with the pass rule of ``dtype``.

    Parameters
    ----------
    got, ref : array_like, same shape
    dtype : numpy dtype
        Picks the row of the tolerance table.
    scale : float
        Values below ``grad_frac`` x max(max|ref|, scale) are judged against that floor (e.g. a
        model's largest gradient when this one is ~0).

    Returns
    -------
    (ndarray, float)
        The errors, shape of ``ref``, and the largest error that passes (``grad_rtol``).
    """
    t = tolerance(dtype)
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, scale)
    return relative_error(got, ref, max(t.grad_frac * scale, 1e-300)), t.grad_rtol


def close(got, ref, dtype=np.float64) -> bool:
    """Whether ``got`` matches ``ref`` under the pass rule of ``dtype`` (shapes must agree too)."""
    try:
        got = np.asarray(got, np.float64)
    except (TypeError, ValueError):
        return False
    ref = np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        return False
    err, rtol = errors_under_rule(got, ref, dtype)
    return bool(err.size == 0 or float(err.max()) <= rtol)
