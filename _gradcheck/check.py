"""``check_layer``: compare a layer's analytic gradients with float64 finite differences, and more.

Pass/fail rule (per element ``i`` of input ``k``; ``a`` analytic, ``n`` numeric)::

    rel_err_i = |a_i - n_i| / max(|a_i| + |n_i|, floor_i)        pass  iff  max_i rel_err_i <= rtol
    floor_i   = max(frac * G / s_k,  4 * noise_i / rtol,  atol / rtol)
    G         = max over the layer's inputs j of  s_j * max|n_j|,   s_j = rms(input j)

============  ======  ======  ===========================================================
layer dtype   rtol    frac    noise_i (bound on the rounding error of a_i and n_i)
============  ======  ======  ===========================================================
float64       1e-6    1e-2    eps64 * sum|f|/h  +  16 eps64 * sum_k |contribution_k|
float32       1e-3    1e-2    eps64 * sum|f|/h  +  16 eps32 * sum_k |contribution_k|
============  ======  ======  ===========================================================

The numeric gradient is always computed in float64 (the inputs are cast before the forward is
re-run), so for a float32 layer the float32 analytic gradient is compared against a float64
reference; the looser rule only absorbs float32 rounding in the analytic side.

``floor`` keeps elements whose true gradient is ~0 from failing on noise: they are judged against
1 % of the layer's largest gradient, measured per *relative* change of each input (``s_j *
max|n_j|``) so that inputs of different scales are comparable and a structurally zero gradient
(a bias followed by batchnorm) is judged against the layer, not against its own rounding noise.
For float64 this still demands agreement to 1e-8 of that scale. ``frac`` also absorbs the
``O(h^2)`` truncation error of the central difference on strongly curved layers (batchnorm).
In directional mode the same rule applies to the scalar ``<g, v>``, with ``sum|g * v|`` in place
of ``max|n|``.
"""

from __future__ import annotations

import copy
import inspect
import time

import numpy as np

from . import numeric as num
from .diagnose import diagnose, ratio_phrase
from .purity import changes, snapshot
from .result import InputResult, LayerCheck

__all__ = ["check_layer", "RULES"]

RULES = {
    np.dtype(np.float64): {"rtol": 1e-6, "frac": 1e-2},
    np.dtype(np.float32): {"rtol": 1e-3, "frac": 1e-2},
}
MODES = ("full", "directional", "auto")
_DIRECTIONS = 3          # random directions per input in directional mode
_KINK_RETRIES = 5        # fresh directions tried when one crosses a kink
_NOISE_FACTOR = 4.0
_MUTABLE_KEYS = ("running_mean", "running_var")


class _LayerError(Exception):
    """The layer raised, or returned something that is not (out, cache) / a gradient tuple."""


def _names_for(forward, n_inputs, names):
    if names is not None:
        names = [str(s) for s in names]
        if len(names) != n_inputs:
            raise ValueError(f"names has {len(names)} entries but there are {n_inputs} inputs")
        return names
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= n_inputs:
        return positional[:n_inputs]
    return [f"x{i}" for i in range(n_inputs)]


def _copy_params(params):
    try:
        return copy.deepcopy(params)
    except Exception:  # un-copyable objects: a shallow copy still isolates dict keys
        return [dict(p) if isinstance(p, dict) else p for p in params]


def _forward(forward, arrays, params, is_loss):
    try:
        res = forward(*arrays, *params)
    except Exception as exc:
        raise _LayerError(f"forward raised {type(exc).__name__}: {exc}") from exc
    if res is None:
        raise _LayerError("forward returned None (not implemented yet?)")
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        what = "(loss, grads)" if is_loss else "(out, cache)"
        raise _LayerError(f"forward must return a pair {what}, got {type(res).__name__}"
                          + (f" of length {len(res)}" if isinstance(res, (tuple, list)) else ""))
    out, second = res
    if out is None:
        raise _LayerError("forward returned None as its output (not implemented yet?)")
    out = np.asarray(out)
    if out.dtype.kind != "f":
        raise _LayerError(f"forward output must be a floating array, got dtype {out.dtype}")
    return out, second


def _as_grads(res, n_expected, names, who):
    if res is None:
        raise _LayerError(f"{who} returned None instead of gradients (not implemented yet?)")
    grads = (res,) if isinstance(res, np.ndarray) else tuple(res) if isinstance(res, (tuple, list)) else None
    if grads is None:
        raise _LayerError(f"{who} must return an ndarray or a tuple of ndarrays, got {type(res).__name__}")
    if len(grads) != n_expected:
        raise _LayerError(f"{who} returned {len(grads)} gradient(s) but {n_expected} were expected "
                          f"(for {', '.join(names)}); pass wrt= to say which inputs it differentiates")
    out = []
    for g, name in zip(grads, names):
        if g is None or not isinstance(g, (np.ndarray, np.generic, float)):
            raise _LayerError(f"{who} returned {type(g).__name__} for d{name}, expected an ndarray")
        out.append(np.asarray(g))
    return out


def _backward(backward, dout, cache, n, names):
    try:
        res = backward(dout, cache)
    except Exception as exc:
        raise _LayerError(f"backward raised {type(exc).__name__}: {exc}") from exc
    return _as_grads(res, n, names, "backward")


def _same(a, b) -> bool:
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0, 1e-300)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return bool(np.all(diff <= 1e-12 * scale) or np.array_equal(a, b, equal_nan=True))


def _seedable(params, seed):
    """Copy of params with a 'seed' added to every dropout-style dict that lacks one, or None."""
    added = False
    new = _copy_params(params)
    for p in new:
        if isinstance(p, dict) and "p" in p and p.get("seed") is None:
            p["seed"] = int(seed)
            added = True
    return new if added else None


def check_layer(forward, backward, inputs, params=None, *, dout=None, mode="full", h=None,
                rtol=None, atol=None, seed=0, wrt=None, names=None, name=None,
                mutable=_MUTABLE_KEYS) -> LayerCheck:
    """Check a layer's backward against float64 finite differences of its forward, and more.

    Parameters
    ----------
    forward : callable
        ``forward(*inputs, *params) -> (out, cache)``. For a loss (``backward=None``):
        ``forward(*inputs, *params) -> (loss, grads)`` with ``grads`` an array or a tuple,
        e.g. ``softmax_loss(x, y) -> (loss, dx)``.
    backward : callable or None
        ``backward(dout, cache) -> grads``: a tuple in the order of the differentiable inputs,
        or one array (``relu_backward``). None for a loss.
    inputs : sequence of ndarray of float
        The arrays to differentiate with respect to (float32 or float64; not modified: the
        checker works on copies).
    params : sequence, optional
        Trailing non-differentiable arguments (``conv_param``, labels ``y``, ``G``...). Given
        to every call as a fresh deep copy, so running statistics do not drift between probes.
    dout : ndarray, optional
        Upstream gradient; default a seeded standard-normal array (non-uniform, so that errors
        cannot cancel in the sum). Ignored for a loss (the loss is differentiated directly).
    mode : {'full', 'directional', 'auto'}
        ``'full'`` probes every element (2 forwards each) and locates the worst one.
        ``'directional'`` compares ``<dout, J v>`` (2 forwards per random direction ``v``) with
        ``<backward(dout), v>``; cheap but cannot point at an element. ``'auto'`` runs the
        directional check first and the full check on the inputs that fail, to localize.
    h : float, optional
        Finite-difference step; default ``cbrt(eps) * max(1, max|x|)`` per input.
    rtol, atol : float, optional
        Override the dtype rule (see below).
    seed : int
        Seeds dout and the random directions (and a dropout dict lacking a seed).
    wrt : sequence of int or str, optional
        Which inputs ``backward`` returns gradients for, in its order (default: all of them).
    names : sequence of str, optional
        Input names for the report (default: the forward's parameter names).
    name : str, optional
        Layer name for the report (default: the forward's ``__name__``).
    mutable : tuple of str
        Dict keys in ``params`` that may legitimately change (batchnorm's running statistics).

    Returns
    -------
    LayerCheck
        Per-input results (max relative error, worst index with both values, kinks excluded,
        diagnosis), problems found (mutation, non-deterministic backward), warnings (vacuous
        check, constant dout), ``report()`` and ``plot()``.

    Notes
    -----
    Pass/fail rule, for each element i with analytic ``a`` and numeric ``n``:
    ``|a - n| / max(|a| + |n|, floor) <= rtol`` with ``rtol = 1e-6`` for float64 layers and
    ``1e-3`` for float32 layers; ``floor = max(1e-2 * G / s, 4 * rounding_noise / rtol,
    atol / rtol)`` where ``G`` is the layer's largest gradient per relative change of an input
    and ``s`` the rms of this input (see the module docstring of ``_gradcheck.check``). Elements within ``h`` of a
    kink (one-sided differences disagree, and the analytic value equals one of them) are
    excluded and counted. The layer also fails if forward or backward mutate an input, a param
    (except ``mutable`` keys), ``dout`` or anything in ``cache``, or if backward gives different
    results on identical calls. A random forward that cannot be seeded is "not checkable".
    """
    t0 = time.perf_counter()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    inputs = list(inputs)
    if not inputs:
        raise ValueError("inputs must hold at least one array to differentiate")
    for i, a in enumerate(inputs):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            raise TypeError(f"inputs[{i}] must be a floating ndarray, got "
                            f"{getattr(a, 'dtype', type(a).__name__)}")
    params = [] if params is None else list(params)
    is_loss = backward is None
    names = _names_for(forward, len(inputs), names)
    if wrt is None:
        wrt_idx = list(range(len(inputs)))
    else:
        wrt_idx = []
        for w in wrt:
            idx = names.index(w) if isinstance(w, str) else int(w)
            if not 0 <= idx < len(inputs):
                raise ValueError(f"wrt entry {w!r} does not name an input; inputs are {names}")
            wrt_idx.append(idx)
    layer_dtype = np.result_type(*inputs)
    layer_dtype = np.dtype(np.float32) if layer_dtype == np.float32 else np.dtype(np.float64)
    rule = dict(RULES[layer_dtype])
    if rtol is not None:
        rule["rtol"] = float(rtol)
    rtol_ = rule["rtol"]
    rule_text = (f"pass if max rel err <= {rtol_:g}; rel err = |a-n| / max(|a|+|n|, floor), "
                 f"floor = {rule['frac']:g} x the layer's gradient scale or the rounding-noise bound; "
                 f"numeric in float64")
    check = LayerCheck(name=name or getattr(forward, "__name__", "layer"), dtype=str(layer_dtype),
                       mode=mode, rtol=rtol_, rule=rule_text)
    # A stream of its own: inputs are typically drawn from default_rng(seed), and a dout equal to
    # the inputs makes e.g. batchnorm's dx vanish (dout in the span of {1, xhat}).
    rng = np.random.default_rng([int(seed), 0x6C6179])
    wnames = [names[i] for i in wrt_idx]

    def fresh():
        return [np.array(a, copy=True) for a in inputs]

    try:
        run_params = params
        for attempt in range(2):
            ins_a, prm_a = fresh(), _copy_params(run_params)
            snap_in, snap_p = snapshot(ins_a), snapshot(prm_a)
            out_a, cache_a = _forward(forward, ins_a, prm_a, is_loss)
            ins_b, prm_b = fresh(), _copy_params(run_params)
            out_b, cache_b = _forward(forward, ins_b, prm_b, is_loss)
            if _same(out_a, out_b):
                break
            seeded = _seedable(run_params, seed) if attempt == 0 else None
            if seeded is None:
                check.not_checkable = ("forward gives different outputs for identical inputs (a random layer "
                                       "that cannot be seeded: give it a 'seed' in its param dict and have it "
                                       "draw from np.random.default_rng(seed))")
                check.seconds = time.perf_counter() - t0
                return check
            run_params = seeded
            check.warnings.append("the dropout-style param dict had no 'seed'; checked with seed="
                                  f"{seed} added (every evaluation re-seeded with it)")
        for i, nm in enumerate(names):
            check.problems += [f"forward mutated input '{nm}': {c}" for c in changes(snap_in[1][i], ins_a[i], nm)]
        for j, p in enumerate(prm_a):
            check.problems += [f"forward mutated params[{j}]: {c}"
                               for c in changes(snap_p[1][j], p, f"params[{j}]", allow=mutable)]

        if is_loss:
            grads_a = _as_grads(cache_a, len(wrt_idx), wnames, "the loss function")
            grads_b = _as_grads(cache_b, len(wrt_idx), wnames, "the loss function")
            if out_a.size != 1:
                raise _LayerError(f"a loss must return a scalar loss, got shape {out_a.shape}")
            dout_used = np.ones(out_a.shape)
        else:
            if dout is None:
                dout_used = rng.standard_normal(out_a.shape)
            else:
                dout_used = np.asarray(dout, dtype=np.float64)
                if dout_used.shape != out_a.shape:
                    raise ValueError(f"dout has shape {dout_used.shape} but the forward output has shape {out_a.shape}")
                if dout_used.size > 1 and np.all(dout_used == dout_used.flat[0]):
                    check.warnings.append("dout is constant: errors that sum to zero over the outputs "
                                          "(e.g. a missing mean term) are invisible; use a random dout")
            dout_layer = dout_used.astype(out_a.dtype)
            dout_used = dout_layer.astype(np.float64)  # the numeric side sees exactly the same values
            g_dout, snap_dout, snap_cache = dout_layer.copy(), snapshot(dout_layer), snapshot(cache_a)
            snap_in2, snap_p2 = snapshot(ins_a), snapshot(prm_a)
            grads_a = _backward(backward, g_dout, cache_a, len(wrt_idx), wnames)
            check.problems += [f"backward mutated dout: {c}" for c in changes(snap_dout, g_dout, "dout")]
            check.problems += [f"backward mutated the cache: {c}" for c in changes(snap_cache, cache_a, "cache")]
            for i, nm in enumerate(names):
                check.problems += [f"backward mutated input '{nm}' (through the cache): {c}"
                                   for c in changes(snap_in2[1][i], ins_a[i], nm)]
            for j, p in enumerate(prm_a):
                check.problems += [f"backward mutated params[{j}]: {c}"
                                   for c in changes(snap_p2[1][j], p, f"params[{j}]", allow=mutable)]
            grads_b = _backward(backward, dout_layer.copy(), cache_b, len(wrt_idx), wnames)
        for g1, g2, nm in zip(grads_a, grads_b, wnames):
            if g1.shape == g2.shape and not _same(g1, g2):
                diff = float(np.max(np.abs(g1.astype(np.float64) - g2)))
                check.problems.append(f"non-deterministic backward: two runs on identical inputs give different "
                                      f"d{nm} (max difference {diff:.3g}); uninitialised memory (np.empty) or "
                                      f"random state?")
        for g, nm in zip(grads_a, wnames):
            if g.dtype.kind == "f" and g.dtype != layer_dtype:
                check.warnings.append(f"d{nm} has dtype {g.dtype} but the layer computes in {layer_dtype}")

        # Numeric side: float64 copies of every input, params deep-copied for every evaluation.
        arrays64 = [np.array(a, dtype=np.float64, order="C", copy=True) for a in inputs]

        def run():
            # Copies: a forward that writes into its inputs must not corrupt the probe point.
            return _forward(forward, [a.copy() for a in arrays64], _copy_params(run_params), is_loss)[0]

        eval_dtype = run().dtype
        if eval_dtype != np.float64:
            check.warnings.append(f"forward returns {eval_dtype} even for float64 inputs: the numeric "
                                  f"reference is computed in {eval_dtype} (larger step, less accurate)")
        eval_eps = float(np.finfo(eval_dtype).eps)
        batch = inputs[0].shape[0] if inputs[0].ndim >= 2 else None
        # Typical magnitude of each input: gradients are compared across inputs in units of
        # "change of f for a relative change of the input", so that a structurally zero gradient
        # (a bias followed by batchnorm) is judged against the layer's scale, not its own noise.
        rms = {k: float(np.sqrt(np.mean(arrays64[k] ** 2))) if arrays64[k].size else 0.0 for k in wrt_idx}
        fallback = max([v for v in rms.values() if v > 0], default=1.0)
        scale = {k: (v if v > 0 else fallback) for k, v in rms.items()}
        todo = []
        for k, g, nm in zip(wrt_idx, grads_a, wnames):
            x = arrays64[k]
            step = float(h) if h is not None else num.step_size(x, eval_dtype)
            res = InputResult(name=nm, shape=tuple(x.shape), mode=mode, h=step)
            check.inputs.append(res)
            if g.shape != x.shape:
                hint = " (transposed?)" if g.shape == x.shape[::-1] else ""
                res.diagnosis = f"d{nm} has shape {g.shape} but {nm} has shape {x.shape}{hint}"
                continue
            g64 = g.astype(np.float64)
            if not np.all(np.isfinite(g64)):
                res.diagnosis = f"d{nm} contains {int(np.sum(~np.isfinite(g64)))} non-finite value(s) (nan/inf)"
                continue
            todo.append((k, g64, nm, res))
        ctx = dict(run=run, dout=dout_used, eval_eps=eval_eps, rule=rule, atol=atol, layer_dtype=layer_dtype,
                   batch=batch)
        if mode in ("directional", "auto"):
            dprobes = {}
            for k, g64, nm, res in todo:
                t1 = time.perf_counter()
                dprobes[k] = _probe_directions(arrays64[k], g64, res.h, rng, ctx)
                res.seconds += time.perf_counter() - t1
            layer_scale = max([max([max(p[2], abs(p[1])) for p in dprobes[k] if p is not None], default=0.0)
                               * scale[k] for k in dprobes], default=0.0)
            for k, g64, nm, res in todo:
                _judge_directions(dprobes[k], layer_scale / scale[k], res, ctx)
        full_todo = [t for t in todo if mode == "full" or (mode == "auto" and not t[3].passed)]
        fprobes = {}
        for k, g64, nm, res in full_todo:
            t1 = time.perf_counter()
            if mode == "auto":
                res.warnings.append(f"directional check failed (rel err {res.max_rel_error:.2e}); "
                                    f"full check run to localize")
            res.mode = "full"
            res.diagnosis = ""
            fprobes[k] = num.probe_full(run, arrays64[k], res.h, dout_used, eval_eps)
            res.seconds += time.perf_counter() - t1
        # Inputs that passed the directional check contribute their (trusted) analytic magnitude.
        layer_scale = max([scale[k] * _finite_max(fprobes[k].central if k in fprobes else g64)
                           for k, g64, nm, res in todo], default=0.0)
        for k, g64, nm, res in full_todo:
            t1 = time.perf_counter()
            _judge_full(fprobes[k], arrays64[k], g64, res, ctx, layer_scale / scale[k], batch, nm)
            res.seconds += time.perf_counter() - t1
    except _LayerError as exc:
        check.error = str(exc)
    check.seconds = time.perf_counter() - t0
    return check


def _finite_max(a) -> float:
    """max |a| over the finite entries (0 for none): one nan must not poison every tolerance."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    return float(np.max(a[np.isfinite(a)], initial=0.0))


def _floor_terms(rule, atol, rtol, noise):
    f = _NOISE_FACTOR * noise / rtol
    if atol is not None:
        f = np.maximum(f, float(atol) / rtol)
    return f


def _probe_directions(x, g, h, rng, ctx):
    """Probe ``_DIRECTIONS`` random directions; return [(analytic, numeric, sum|g v|, noise)]."""
    out = []
    for _ in range(_DIRECTIONS):
        for _try in range(_KINK_RETRIES):
            v = rng.standard_normal(x.shape)
            v /= max(float(np.max(np.abs(v))), 1e-300)
            c, p, m, step, noise = num.probe_direction(ctx["run"], x, v, h, ctx["dout"], ctx["eval_eps"])
            gv = float(np.abs(g * step).sum())
            if not num.is_kinked(p, m, noise, gv):
                out.append((float(np.dot(g.ravel(), step.ravel())), c, gv, noise))
                break
        else:
            out.append(None)  # every try crossed a kink
    return out


def _judge_directions(probes, layer_scale, res, ctx):
    rule, rtol = ctx["rule"], ctx["rule"]["rtol"]
    layer_eps = float(np.finfo(ctx["layer_dtype"]).eps)
    worst = (-1.0, None, None)
    res.kinks_excluded = sum(p is None for p in probes)
    for p in probes:
        if p is None:
            continue
        a, c, gv, noise = p
        floor = max(rule["frac"] * max(gv, layer_scale),
                    float(_floor_terms(rule, ctx["atol"], rtol, noise + 16 * layer_eps * gv)), 1e-300)
        err = abs(a - c) / max(abs(a) + abs(c), floor)
        if not np.isfinite(err):
            err = np.inf  # a nan/inf forward near x must fail, not compare as "not worse"
        if err > worst[0]:
            worst = (err, a, c)
    if worst[1] is None:
        res.passed = True
        res.max_rel_error = 0.0
        res.warnings.append("every random direction crossed a kink: nothing was compared")
        return
    res.max_rel_error, res.analytic, res.numeric = worst
    res.passed = worst[0] <= rtol
    if not res.passed:
        res.diagnosis = "directional derivative <dout, J v> disagrees with <backward(dout), v>"
        ratios = [a / c for a, c, _, _ in (p for p in probes if p is not None) if c != 0]
        if len(ratios) >= 2 and abs(ratios[0] - 1) > 1e-3 and all(abs(r - ratios[0]) <= 1e-4 * abs(ratios[0]) for r in ratios):
            res.diagnosis += f" in every direction by the same factor: {ratio_phrase(ratios[0], ctx['batch'])}"


def _judge_full(pr, x, g, res, ctx, layer_scale, batch, nm):
    rule, rtol = ctx["rule"], ctx["rule"]["rtol"]
    layer_eps = float(np.finfo(ctx["layer_dtype"]).eps)
    n = pr.central
    noise = np.nan_to_num(pr.noise + 16 * layer_eps * pr.abs_sum, nan=0.0, posinf=0.0)
    own = _finite_max(n)
    floor = np.maximum(rule["frac"] * max(own, layer_scale), _floor_terms(rule, ctx["atol"], rtol, noise))
    floor = np.maximum(floor, 1e-300)
    diff = np.abs(g - n)
    err = diff / np.maximum(np.abs(g) + np.abs(n), floor)
    err = np.where(np.isfinite(err), err, np.inf)  # nan/inf from the forward near x fail
    bad = err > rtol
    # A kink within h: the one-sided slopes differ by enough to explain the discrepancy, and the
    # analytic value is one of them (the slope on the kink-free side), up to curvature.
    side = np.minimum(np.abs(g - pr.plus), np.abs(g - pr.minus))
    side_tol = max(10 * rtol, 1e-3) * np.maximum(np.abs(g) + np.abs(pr.plus) + np.abs(pr.minus), floor)
    kink = bad & (np.abs(pr.plus - pr.minus) >= diff) & (side <= side_tol)
    res.kinks_excluded = int(kink.sum())
    bad &= ~kink
    err_c = np.where(kink, 0.0, err)
    n_cmp = np.where(kink, g, n)
    res.analytic_grad, res.numeric_grad = g, n
    if err_c.size and not kink.all():
        w = int(np.argmax(np.where(kink, -1.0, err)))  # the worst compared element
        res.worst_index = tuple(int(i) for i in np.unravel_index(w, x.shape))
        res.max_rel_error = float(err_c.flat[w])
        res.analytic, res.numeric = float(g.flat[w]), float(n.flat[w])
    else:
        res.max_rel_error = 0.0
    res.passed = not bad.any()
    if res.kinks_excluded:
        tie = _check_ties(ctx["run"], x, g, res.h, ctx["dout"], ctx["eval_eps"], pr, kink, rtol, floor)
        if tie:
            res.passed = False
            res.diagnosis = tie
    nonfinite = int(np.sum(~np.isfinite(n)))
    if nonfinite and not res.diagnosis:
        res.diagnosis = (f"the numeric gradient is nan/inf at {nonfinite} element(s) of {nm}: the forward "
                         f"is not finite within h of x (log/sqrt/division of a value near 0?)")
    if not res.passed and not res.diagnosis:
        res.diagnosis = diagnose(g, n_cmp, bad, name=nm, x=x, batch=batch, probe=pr, rtol=rtol,
                                 floor=float(np.max(floor)))
    if x.size and np.max(np.abs(g)) <= rtol * float(np.min(floor)) and np.max(np.abs(n)) <= rtol * float(np.min(floor)):
        res.warnings.append(f"vacuous: analytic and numeric d{nm} are both ~0 everywhere, so this check "
                            f"proves nothing (every ReLU input negative? a bias followed by a normalization?)")
    elif res.kinks_excluded and res.kinks_excluded == x.size:
        res.warnings.append(f"vacuous: every element of {nm} is within h of a kink; nothing was compared")


def _check_ties(run, x, g, h, dout, eval_eps, pr, kink, rtol, floor):
    """Move each group of kinked elements that share an output together (pooling ties).

    At an exact tie in a max pool, each tied element alone sits on a kink, but moving all of them
    together is smooth: the pooled value moves by h. The analytic gradients of the group must
    then add up to the numeric slope; routing the gradient to every tied element fails here.
    """
    flat_k = [int(i) for i in np.flatnonzero(kink.ravel())]
    owner = {}
    parent = {i: i for i in flat_k}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in flat_k:
        for o in pr.touched.get(i, ()):
            j = owner.setdefault(int(o), i)
            if j != i:
                parent[find(i)] = find(j)
    groups = {}
    for i in flat_k:
        groups.setdefault(find(i), []).append(i)
    gflat = g.ravel()
    fl = float(np.max(floor))
    for members in groups.values():
        if len(members) < 2:
            continue
        c, p, m, noise = num.probe_joint(run, x, members, h, dout, eval_eps)
        if num.is_kinked(p, m, noise, float(np.sum(np.abs(gflat[members])))):
            continue
        a = float(np.sum(gflat[members]))
        err = abs(a - c) / max(abs(a) + abs(c), fl)
        if err > max(10 * rtol, 1e-3):
            idx = [tuple(int(t) for t in np.unravel_index(i, x.shape)) for i in members[:4]]
            return (f"errors only at pooling ties (elements {idx} are tied; moving them together changes "
                    f"the output at slope {c:.6g} but their analytic gradients sum to {a:.6g}): the "
                    f"gradient is routed to every tied maximum instead of one")
    return ""
