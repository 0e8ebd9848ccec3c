"""The analytic side of a check (phases *probe* and *purity*): forward and backward on copies.

``probe`` runs the forward twice (a random layer is seeded or reported, a deterministic one that
repeats differently fails) and the backward twice, snapshotting everything a call could change;
``purity`` then compares the two backward results and their dtypes.
"""

from __future__ import annotations

import copy

import numpy as np

from _rules.tolerances import CHECKER

from _gradcheck.core.findings import Finding
from _gradcheck.core.purity import changes, snapshot
from _gradcheck.core.state import Analytic, LayerError, Run, layer_call

__all__ = ["probe", "purity", "call_forward", "copy_params"]


def copy_params(params):
    try:
        return copy.deepcopy(params)
    except Exception:  # un-copyable objects: a shallow copy still isolates dict keys
        return [dict(p) if isinstance(p, dict) else p for p in params]


def call_forward(forward, arrays, params, is_loss):
    res = layer_call("forward", forward, *arrays, *params)
    if res is None:
        raise LayerError("forward returned None (not implemented yet?)")
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        what = "(loss, grads)" if is_loss else "(out, cache)"
        raise LayerError(f"forward must return a pair {what}, got {type(res).__name__}"
                          + (f" of length {len(res)}" if isinstance(res, (tuple, list)) else ""))
    out, second = res
    if out is None:
        raise LayerError("forward returned None as its output (not implemented yet?)")
    return _as_float_array(out, "forward output"), second


def _as_float_array(v, what: str) -> np.ndarray:
    """``np.asarray(v)`` for a real floating array; a ragged list or a string array is a LayerError."""
    try:
        a = np.asarray(v)
    except Exception as exc:  # ragged nested lists, objects whose __array__ raises
        raise LayerError(f"{what} is not an array ({type(v).__name__} that numpy cannot convert: "
                          f"{type(exc).__name__}: {exc})") from None
    if a.dtype.kind != "f":
        raise LayerError(f"{what} must be a floating array, got dtype {a.dtype}")
    return a


def _as_grads(res, n_expected, names, who):
    try:
        return _checked_grads(res, n_expected, names, who)
    except LayerError as exc:
        exc.who = exc.who or ("backward" if who == "backward" else None)
        raise


def _checked_grads(res, n_expected, names, who):
    if res is None:
        raise LayerError(f"{who} returned None instead of gradients (not implemented yet?)")
    grads = (res,) if isinstance(res, np.ndarray) else tuple(res) if isinstance(res, (tuple, list)) else None
    if grads is None:
        raise LayerError(f"{who} must return an ndarray or a tuple of ndarrays, got {type(res).__name__}")
    if len(grads) != n_expected:
        raise LayerError(f"{who} returned {len(grads)} gradient(s) but {n_expected} were expected "
                          f"(for {', '.join(names)}); pass wrt= to say which inputs it differentiates")
    for g, name in zip(grads, names):
        if g is None or not isinstance(g, (np.ndarray, np.generic, float)):
            raise LayerError(f"{who} returned {type(g).__name__} for d{name}, expected an ndarray")
    return [_as_float_array(g, f"{who}'s d{name}") for g, name in zip(grads, names)]


def _same(a, b) -> bool:
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0, 1e-300)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return bool(np.all(diff <= CHECKER.same_result * scale) or np.array_equal(a, b, equal_nan=True))


def _seedable(params, seed):
    """Copy of params with a 'seed' added to every dropout-style dict that lacks one, or None."""
    added = False
    new = copy_params(params)
    for p in new:
        if isinstance(p, dict) and "p" in p and p.get("seed") is None:
            p["seed"] = int(seed)
            added = True
    return new if added else None


def _fresh(run: Run):
    return [np.array(a, copy=True) for a in run.inputs], copy_params(run.params)


def probe(run: Run) -> bool:
    """Run forward twice and backward twice; fill ``run.analytic``. False if nothing is checkable."""
    first = _repeatable_forward(run)
    if first is None:
        return False
    ins, prm, out, cache, cache_again = first
    if run.is_loss:
        if out.size != 1:
            raise LayerError(f"a loss must return a scalar loss, got shape {out.shape}")
        grads = _as_grads(cache, len(run.wrt), run.wnames, "the loss function")
        again = _as_grads(cache_again, len(run.wrt), run.wnames, "the loss function")
        run.analytic = Analytic(out, np.ones(out.shape), grads, again)
        return True
    dout_layer = _dout_for(run, out).astype(out.dtype)
    given = dout_layer.copy()
    before_dout, before_cache = snapshot(given), snapshot(cache)
    before_in, before_p = snapshot(ins), snapshot(prm)
    res = layer_call("backward", run.backward, given, cache)
    grads = _as_grads(res, len(run.wrt), run.wnames, "backward")
    run.mutations += [Finding(f"backward mutated dout: {c}", "purity", "backward")
                      for c in changes(before_dout, given, "dout")]
    run.mutations += [Finding(f"backward mutated the cache: {c}", "purity", "backward")
                      for c in changes(before_cache, cache, "cache")]
    run.mutations += _mutated(run, before_in, ins, before_p, prm, "backward", " (through the cache)")
    res = layer_call("backward", run.backward, dout_layer.copy(), cache_again)
    again = _as_grads(res, len(run.wrt), run.wnames, "backward")
    run.analytic = Analytic(out, dout_layer.astype(np.float64), grads, again)
    return True


def _repeatable_forward(run: Run):
    """Run forward on two fresh copies; seed a random layer or give up when they differ.

    Returns ``(inputs, params, out, cache, second cache)`` of the first run, or None
    when the layer is random and cannot be seeded (``LayerCheck.not_checkable`` says why).
    """
    for attempt in range(2):
        ins, prm = _fresh(run)
        before_in, before_p = snapshot(ins), snapshot(prm)
        out, cache = call_forward(run.forward, ins, prm, run.is_loss)
        out_b, cache_b = call_forward(run.forward, *_fresh(run), run.is_loss)
        if _same(out, out_b):
            run.mutations += _mutated(run, before_in, ins, before_p, prm, "forward", "")
            return ins, prm, out, cache, cache_b
        if run.deterministic:
            _nondeterministic_forward(run, out, out_b)
            return None
        seeded = _seedable(run.params, run.seed) if attempt == 0 else None
        if seeded is None:
            run.check.not_checkable = ("forward gives different outputs for identical inputs (a random layer "
                                       "that cannot be seeded: give it a 'seed' in its param dict and have it "
                                       "draw from np.random.default_rng(seed))")
            return None
        run.params = seeded
        run.check.warnings.append("the dropout-style param dict had no 'seed'; checked with seed="
                                  f"{run.seed} added (every evaluation re-seeded with it)")
    return None


def _nondeterministic_forward(run: Run, out, out_b):
    if out.shape != out_b.shape:
        what = f"outputs of shapes {out.shape} and {out_b.shape}"
    else:
        diff = np.abs(out.astype(np.float64) - out_b.astype(np.float64))
        what = f"different outputs (max difference {float(np.nanmax(diff)):.3g})"
    run.check.problems.append(Finding(
        f"non-deterministic forward: two runs on identical inputs give {what}, but this layer draws no random "
        f"numbers (uninitialised memory from np.empty, or added noise?); gradients were not compared",
        "determinism", "forward"))


def _mutated(run: Run, before_in, ins, before_p, prm, who: str, how: str) -> list:
    """Changes a call made to the inputs (``before_in``) and params (``before_p``), one phrase each."""
    found = []
    for i, nm in enumerate(run.names):
        found += [Finding(f"{who} mutated input '{nm}'{how}: {c}", "purity", who)
                  for c in changes(before_in[1][i], ins[i], nm)]
    for j, p in enumerate(prm):
        found += [Finding(f"{who} mutated params[{j}]: {c}", "purity", who)
                  for c in changes(before_p[1][j], p, f"params[{j}]", allow=run.mutable)]
    return found


def _dout_for(run: Run, out) -> np.ndarray:
    if run.dout is None:
        return run.rng.standard_normal(out.shape)
    d = np.asarray(run.dout, dtype=np.float64)
    if d.shape != out.shape:
        raise ValueError(f"dout has shape {d.shape} but the forward output has shape {out.shape}")
    if d.size > 1 and np.all(d == d.flat[0]):
        run.check.warnings.append("dout is constant: errors that sum to zero over the outputs "
                                  "(e.g. a missing mean term) are invisible; use a random dout")
    return d



def purity(run: Run) -> None:
    an, check = run.analytic, run.check
    for g1, g2, nm in zip(an.grads, an.grads_again, run.wnames):
        if g1.shape == g2.shape and not _same(g1, g2):
            diff = float(np.max(np.abs(g1.astype(np.float64) - g2)))
            check.problems.append(Finding(f"non-deterministic backward: two runs on identical inputs give "
                                          f"different d{nm} (max difference {diff:.3g}); uninitialised memory "
                                          f"(np.empty) or random state?", "determinism", "backward"))
    for g, nm in zip(an.grads, run.wnames):
        # float16 layers compute in float32 (the toolkit's documented promotion): not worth a warning
        promoted = run.rule.dtype == np.float16 and g.dtype == np.float32
        if g.dtype != run.rule.dtype and not promoted:
            check.warnings.append(Finding(f"d{nm} has dtype {g.dtype} but the layer computes in {run.rule.dtype}",
                                          "dtype", "backward", output=f"d{nm}", have=str(g.dtype),
                                          want=str(run.rule.dtype)))

