"""Float64 finite differences for the layer checker.

Step size
---------
``h = cbrt(eps) * max(1, max|x|)`` per input, where ``eps`` is the machine epsilon of the dtype the
forward actually computes in when given float64 inputs (normally float64: ``h ~ 6e-6`` for unit-scale
inputs; ``h ~ 5e-3`` if a layer insists on float32). ``cbrt(eps)`` balances the central difference's
truncation error ``O(h^2)`` against its rounding error ``O(eps / h)``.

Every probe uses the step that was actually taken (``(x + h) - x`` in floating point, not ``h``),
and the output *difference* is formed before the dot product with ``dout`` so that outputs a probe
does not touch cancel exactly.

Kinks
-----
Besides the central difference, each probe keeps the one-sided slopes
``g+ = (f(x+h) - f(x)) / h`` and ``g- = (f(x) - f(x-h)) / h``. On a smooth function they agree to
``O(h)``; when a kink (ReLU at 0, a max-pool near-tie, an SVM margin at 0) lies within ``h`` of x they
differ by a finite amount and the central difference is meaningless there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from _rules.tolerances import CHECKER

__all__ = ["step_size", "FullProbe", "probe_full", "probe_direction", "probe_joint"]

# Elements that feed more outputs than this do not keep their per-output contributions
# (only used to diagnose overwritten accumulations and to group pooling ties).
_KEEP_CONTRIB = 64


def step_size(x64: np.ndarray, eval_dtype) -> float:
    """Return the finite-difference step for one input (see the module docstring)."""
    eps = np.finfo(np.dtype(eval_dtype)).eps
    scale = float(np.max(np.abs(x64))) if x64.size else 1.0
    return float(np.cbrt(eps) * max(1.0, scale))


@dataclass
class FullProbe:
    """Per-element results of probing every element of one input."""

    central: np.ndarray       # central-difference gradient, float64, shape of x
    plus: np.ndarray          # one-sided slope g+
    minus: np.ndarray         # one-sided slope g-
    noise: np.ndarray         # bound on the rounding noise of `central` (float64 evaluation)
    abs_sum: np.ndarray       # sum over outputs of |d out_k / d x_i * dout_k| (no cancellation)
    fanout: np.ndarray        # number of outputs each element changes
    touched: dict = field(default_factory=dict)   # flat index -> flat output indices changed
    terms: dict = field(default_factory=dict)     # flat index -> per-output contributions


def _as64(out) -> np.ndarray:
    return np.array(out, dtype=np.float64, copy=True).reshape(-1)


def probe_full(run, x: np.ndarray, h: float, dout64: np.ndarray, eval_eps: float) -> FullProbe:
    """Central and one-sided differences of ``sum(run() * dout)`` for every element of ``x``.

    Parameters
    ----------
    run : callable
        ``run() -> ndarray``: the forward output for the current contents of the inputs. With a
        ``run.many(x, flat_indices, values)`` attribute, every probe goes in one batch through it.
    x : ndarray of float64, C-contiguous
        The input to probe; perturbed in place and restored bit for bit.
    h : float
    dout64 : ndarray of float64, shape of the output
    eval_eps : float
        Machine epsilon of the dtype the forward computes in.
    """
    d = np.asarray(dout64, dtype=np.float64).reshape(-1)
    ad = np.abs(d)
    out0 = _as64(run())
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("probe_full needs a C-contiguous array")
    shape = x.shape
    res = FullProbe(*(np.zeros(shape) for _ in range(5)), fanout=np.zeros(shape, dtype=np.int64))
    central, plus, minus = res.central.reshape(-1), res.plus.reshape(-1), res.minus.reshape(-1)
    noise, abs_sum, fanout = res.noise.reshape(-1), res.abs_sum.reshape(-1), res.fanout.reshape(-1)
    batch = _batched(run, x, h) if getattr(run, "many", None) is not None else None
    for i in range(flat.size):
        saved = flat[i]
        up, down = saved + h, saved - h
        if batch is not None:
            op, om = batch[2 * i], batch[2 * i + 1]
        else:
            try:
                flat[i] = up
                op = _as64(run())
                flat[i] = down
                om = _as64(run())
            finally:
                flat[i] = saved
        hp, hm = up - saved, saved - down
        changed = np.flatnonzero((op != out0) | (om != out0))
        dp, dm, dc = op[changed] - out0[changed], out0[changed] - om[changed], op[changed] - om[changed]
        dd = d[changed]
        plus[i] = np.dot(dp, dd) / hp
        minus[i] = np.dot(dm, dd) / hm
        central[i] = np.dot(dc, dd) / (hp + hm)
        noise[i] = eval_eps * np.dot(np.abs(op[changed]) + np.abs(om[changed]), ad[changed]) / (hp + hm)
        contrib = dc * dd / (hp + hm)
        abs_sum[i] = np.sum(np.abs(contrib))
        fanout[i] = changed.size
        if changed.size <= _KEEP_CONTRIB:
            res.touched[i] = changed
            res.terms[i] = contrib
    return res


def _batched(run, x: np.ndarray, h: float) -> np.ndarray:
    """Every probe of :func:`probe_full` in one batch: rows ``2i`` and ``2i + 1`` are the outputs at
    ``x_i + h`` and ``x_i - h`` (``run.many(x, flat_indices, values)``, e.g. one request to a worker)."""
    flat = x.reshape(-1)
    idx = np.repeat(np.arange(flat.size), 2)
    values = np.empty(2 * flat.size)
    values[0::2] = flat + h
    values[1::2] = flat - h
    return run.many(x, idx, values)


def probe_direction(run, x: np.ndarray, v: np.ndarray, h: float, dout64: np.ndarray, eval_eps: float):
    """Probe ``sum(run() * dout)`` along direction ``v`` of input ``x``.

    Returns
    -------
    central, plus, minus : float
        Directional derivative per unit of ``h`` (central and one-sided), i.e. estimates of
        ``<dout, J v>``.
    step : ndarray
        The displacement actually taken, ``(x + h v) - (x - h v)``, divided by ``2h``
        (so ``<g, step>`` is the analytic prediction).
    noise : float
        Bound on the rounding noise of ``central``.
    """
    d = np.asarray(dout64, dtype=np.float64).reshape(-1)
    saved = x.copy()
    out0 = _as64(run())
    up, down = saved + h * v, saved - h * v
    try:
        x[...] = up
        op = _as64(run())
        x[...] = down
        om = _as64(run())
    finally:
        x[...] = saved
    plus = np.dot(op - out0, d) / h
    minus = np.dot(out0 - om, d) / h
    central = np.dot(op - om, d) / (2 * h)
    noise = eval_eps * np.dot(np.abs(op) + np.abs(om), np.abs(d)) / (2 * h)
    return central, plus, minus, (up - down) / (2 * h), noise


def probe_joint(run, x: np.ndarray, flat_idx, h: float, dout64: np.ndarray, eval_eps: float):
    """Move the elements ``flat_idx`` of ``x`` together by +-h; return (central, plus, minus, noise)."""
    v = np.zeros(x.size)
    v[np.asarray(flat_idx)] = 1.0
    c, p, m, _, noise = probe_direction(run, x, v.reshape(x.shape), h, dout64, eval_eps)
    return c, p, m, noise


def is_kinked(plus: float, minus: float, noise: float, scale: float) -> bool:
    """True when the one-sided slopes disagree by more than smooth curvature could explain."""
    return abs(plus - minus) > CHECKER.kink_slope * (abs(plus) + abs(minus)) + CHECKER.kink_scale * scale \
        + CHECKER.kink_noise * noise
