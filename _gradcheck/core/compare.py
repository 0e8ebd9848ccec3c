"""The numeric side of a check (phase *compare*).

``compare`` re-runs the forward on float64 copies of the inputs, probes random directions
and/or every element, and judges each input by the pass rule (``check`` module docstring). What
it finds about a failure (the compared arrays, the directional ratios) is left on the ``Run`` for
the *diagnose* phase (:mod:`_gradcheck.diagnose.phase`).
"""

from __future__ import annotations

import time

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core import numeric as num
from _gradcheck.core.analytic import call_forward, copy_params
from _gradcheck.core.findings import Finding
from _gradcheck.core.measure import relative_error
from _gradcheck.core.result import InputResult
from _gradcheck.core.state import Compared, LayerError, Numeric, Run

__all__ = ["compare"]

_DIRECTIONS = 3          # random directions per input in directional mode
_KINK_RETRIES = 5        # fresh directions tried when one crosses a kink


def compare(run: Run) -> None:
    run.numeric = nm = _numeric_side(run)
    for k, g in zip(run.wrt, run.analytic.grads):
        x = nm.arrays64[k]
        step = float(run.h) if run.h is not None else num.step_size(x, nm.eval_dtype)
        res = InputResult(name=run.names[k], shape=tuple(x.shape), mode=run.check.mode, h=step)
        run.check.inputs.append(res)
        g64 = _comparable(g, x, res)
        if g64 is not None:
            run.todo.append((k, g64, res))
    if run.check.mode in ("directional", "auto"):
        _compare_directions(run)
    _compare_full(run)


def _numeric_side(run: Run) -> Numeric:
    arrays64 = [np.array(a, dtype=np.float64, order="C", copy=True) for a in run.inputs]
    shape = run.analytic.out.shape

    def forward64():
        # Copies: a forward that writes into its inputs must not corrupt the probe point.
        out = call_forward(run.forward, [a.copy() for a in arrays64], copy_params(run.params), run.is_loss)[0]
        if out.shape != shape:
            raise LayerError(f"forward output changed shape from {shape} to {out.shape} between calls")
        return out

    if getattr(run.forward, "map_first", None) is not None:
        forward64.many = _many(run, forward64, arrays64, shape)
    eval_dtype = forward64().dtype
    if eval_dtype != np.float64:
        run.check.warnings.append(Finding(f"forward returns {eval_dtype} even for float64 inputs: the numeric "
                                          f"reference is computed in {eval_dtype} (larger step, less accurate)",
                                          "dtype", "forward", output="forward", have=str(eval_dtype),
                                          want="float64"))
    # Typical magnitude of each input: gradients are compared across inputs in units of
    # "change of f for a relative change of the input", so that a structurally zero gradient
    # (a bias followed by batchnorm) is judged against the layer's scale, not its own noise.
    rms = {k: float(np.sqrt(np.mean(arrays64[k] ** 2))) for k in run.wrt}
    fallback = max([v for v in rms.values() if v > 0], default=1.0)
    batch = run.inputs[0].shape[0] if run.inputs[0].ndim >= 2 else None
    return Numeric(run=forward64, arrays64=arrays64, eval_dtype=eval_dtype, batch=batch,
                    scale={k: (v if v > 0 else fallback) for k, v in rms.items()})


def _many(run: Run, forward64, arrays64, shape):
    """``many(x, flat_idx, values)``: the forward's outputs (float64, one row per variant) with one element
    of ``x`` set per variant, batched through a worker; a variant the batch cannot take (it raised,
    returned something else) is run alone, so that it fails exactly as ``forward64`` (the function it is attached to) does."""

    def many(x, flat_idx, values):
        k = next(i for i, a in enumerate(arrays64) if a is x)
        rows, at = [], 0
        while at < len(flat_idx):
            args = [a.copy() for a in arrays64] + list(copy_params(run.params))
            outs, stop = run.forward.map_first(args, k, flat_idx[at:], values[at:], shape)
            rows.append(outs)
            if stop is None:
                break
            j = at + stop
            flat = x.reshape(-1)
            saved = flat[flat_idx[j]]
            try:
                flat[flat_idx[j]] = values[j]
                rows.append(np.asarray(forward64(), np.float64).reshape(1, -1))
            finally:
                flat[flat_idx[j]] = saved
            at = j + 1
        return np.concatenate(rows)

    return many


def _comparable(g, x, res: InputResult):
    """``g`` as float64 if it can be compared with the numeric gradient of ``x``, else None (diagnosed)."""
    nm = res.name
    if g.shape != x.shape:
        hint = " (transposed?)" if g.shape == x.shape[::-1] else ""
        res.diagnosis = f"d{nm} has shape {g.shape} but {nm} has shape {x.shape}{hint}"
        return None
    g64 = g.astype(np.float64)
    if not np.all(np.isfinite(g64)):
        res.diagnosis = f"d{nm} contains {int(np.sum(~np.isfinite(g64)))} non-finite value(s) (nan/inf)"
        return None
    return g64


def _finite_max(a) -> float:
    """max |a| over the finite entries (0 for none): one nan must not poison every tolerance."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    return float(np.max(a[np.isfinite(a)], initial=0.0))


def _compare_directions(run: Run) -> None:
    nm = run.numeric
    probes = {}
    for k, g64, res in run.todo:
        t1 = time.perf_counter()
        probes[k] = _probe_directions(run, nm.arrays64[k], g64, res.h)
        res.seconds += time.perf_counter() - t1
    layer_scale = max([max([max(p[2], abs(p[1])) for p in probes[k] if p is not None], default=0.0)
                       * nm.scale[k] for k in probes], default=0.0)
    for k, g64, res in run.todo:
        _judge_directions(run, probes[k], layer_scale / nm.scale[k], res)


def _probe_directions(run: Run, x, g, h):
    """Probe ``_DIRECTIONS`` random directions; return [(analytic, numeric, sum|g v|, noise)]."""
    out = []
    for _ in range(_DIRECTIONS):
        for _try in range(_KINK_RETRIES):
            v = run.rng.standard_normal(x.shape)
            v /= max(float(np.max(np.abs(v))), 1e-300)
            c, p, m, step, noise = num.probe_direction(run.numeric.run, x, v, h, run.analytic.dout64,
                                                       run.numeric.eval_eps)
            gv = float(np.abs(g * step).sum())
            if not num.is_kinked(p, m, noise, gv):
                out.append((float(np.dot(g.ravel(), step.ravel())), c, gv, noise))
                break
        else:
            out.append(None)  # every try crossed a kink
    return out


def _judge_directions(run: Run, probes, layer_scale, res: InputResult) -> None:
    rule = run.rule
    worst = (-1.0, None, None)
    res.kinks_excluded = sum(p is None for p in probes)
    for p in probes:
        if p is None:
            continue
        a, c, gv, noise = p
        floor = float(rule.floor(max(gv, layer_scale), noise + CHECKER.rounding_terms * rule.eps * gv))
        err = float(relative_error(a, c, floor))  # a nan/inf forward near x fails (inf)
        if err > worst[0]:
            worst = (err, a, c)
    if worst[1] is None:
        res.passed = True
        res.max_rel_error = 0.0
        res.warnings.append("every random direction crossed a kink: nothing was compared")
        return
    res.max_rel_error, res.analytic, res.numeric = worst
    res.passed = worst[0] <= rule.rtol
    if not res.passed:
        res.diagnosis = "directional derivative <dout, J v> disagrees with <backward(dout), v>"
        run.direction_ratios.append((res, [a / c for a, c, _, _ in (p for p in probes if p is not None) if c != 0]))


def _compare_full(run: Run) -> None:
    nm, mode = run.numeric, run.check.mode
    full = [t for t in run.todo if mode == "full" or (mode == "auto" and not t[2].passed)]
    probes = {}
    for k, g64, res in full:
        t1 = time.perf_counter()
        if mode == "auto":
            res.warnings.append(Finding(f"directional check failed (rel err {res.max_rel_error:.2e}); "
                                        f"full check run to localize", "escalated"))
        res.mode = "full"
        res.diagnosis = ""
        probes[k] = num.probe_full(nm.run, nm.arrays64[k], res.h, run.analytic.dout64, nm.eval_eps)
        res.seconds += time.perf_counter() - t1
    # Inputs that passed the directional check contribute their (trusted) analytic magnitude.
    layer_scale = max([nm.scale[k] * _finite_max(probes[k].central if k in probes else g64)
                       for k, g64, res in run.todo], default=0.0)
    for k, g64, res in full:
        t1 = time.perf_counter()
        run.compared.append(_judge_full(run, probes[k], nm.arrays64[k], g64, res, layer_scale / nm.scale[k]))
        res.seconds += time.perf_counter() - t1


def _judge_full(run: Run, pr: num.FullProbe, x, g, res: InputResult, layer_scale) -> Compared:
    rule = run.rule
    n = pr.central
    noise = np.nan_to_num(pr.noise + CHECKER.rounding_terms * rule.eps * pr.abs_sum, nan=0.0, posinf=0.0)
    floor = rule.floor(max(_finite_max(n), layer_scale), noise)
    diff = np.abs(g - n)
    err = relative_error(g, n, floor)  # nan/inf from the forward near x fail
    bad = err > rule.rtol
    # A kink within h: the one-sided slopes differ by enough to explain the discrepancy, and the
    # analytic value is one of them (the slope on the kink-free side), up to curvature.
    side = np.minimum(np.abs(g - pr.plus), np.abs(g - pr.minus))
    side_tol = _side_rtol(rule.rtol) * np.maximum(np.abs(g) + np.abs(pr.plus) + np.abs(pr.minus), floor)
    kink = bad & (np.abs(pr.plus - pr.minus) >= diff) & (side <= side_tol)
    res.kinks_excluded = int(kink.sum())
    bad &= ~kink
    res.analytic_grad, res.numeric_grad = g, n
    if not kink.all():
        w = int(np.argmax(np.where(kink, -1.0, err)))  # the worst compared element
        res.worst_index = tuple(int(i) for i in np.unravel_index(w, x.shape))
        res.max_rel_error = float(err.flat[w])
        res.analytic, res.numeric = float(g.flat[w]), float(n.flat[w])
    else:
        res.max_rel_error = 0.0
    res.passed = not bad.any()
    if res.kinks_excluded:
        tie = _check_ties(run, x, g, res.h, pr, kink, floor)
        if tie:
            res.passed = False
            res.diagnosis = tie
    return Compared(res=res, x=x, g=g, probe=pr, bad=bad, kink=kink, floor=floor)


def _side_rtol(rtol: float) -> float:
    """How far a kinked element's analytic value may sit from a one-sided slope (and a tie group's sum)."""
    return max(CHECKER.kink_side * rtol, CHECKER.kink_side_floor)


def _check_ties(run: Run, x, g, h, pr, kink, floor):
    """Move each group of kinked elements that share an output together (pooling ties).

    At an exact tie in a max pool, each tied element alone sits on a kink, but moving all of them
    together is smooth: the pooled value moves by h. The analytic gradients of the group must
    then add up to the numeric slope; routing the gradient to every tied element fails here.
    """
    gflat = g.ravel()
    fl = float(np.max(floor))
    for members in _tie_groups(kink, pr.touched):
        c, p, m, noise = num.probe_joint(run.numeric.run, x, members, h, run.analytic.dout64, run.numeric.eval_eps)
        if num.is_kinked(p, m, noise, float(np.sum(np.abs(gflat[members])))):
            continue
        a = float(np.sum(gflat[members]))
        err = float(relative_error(a, c, fl))
        if err > _side_rtol(run.rule.rtol):
            idx = [tuple(int(t) for t in np.unravel_index(i, x.shape)) for i in members[:4]]
            return (f"errors only at pooling ties (elements {idx} are tied; moving them together changes "
                    f"the output at slope {c:.6g} but their analytic gradients sum to {a:.6g}): the "
                    f"gradient is routed to every tied maximum instead of one")
    return ""


def _tie_groups(kink, touched) -> list:
    """Groups (of 2 or more) of kinked elements linked by an output they both change (union-find)."""
    flat_k = [int(i) for i in np.flatnonzero(kink.ravel())]
    owner = {}
    parent = {i: i for i in flat_k}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in flat_k:
        for o in touched.get(i, ()):
            j = owner.setdefault(int(o), i)
            if j != i:
                parent[find(i)] = find(j)
    groups = {}
    for i in flat_k:
        groups.setdefault(find(i), []).append(i)
    return [m for m in groups.values() if len(m) >= 2]


