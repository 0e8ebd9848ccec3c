"""Grading state across calls: batchnorm's running statistics, and norms that must keep none.

The layer grid checks each call on its own. Here one param dict goes through several consecutive
calls, as in a training loop and then at test time:

- ``batchnorm_forward`` / ``spatial_batchnorm_forward``: train-mode calls on batches with different
  statistics, then a test-mode call. After each train call ``running_mean`` and ``running_var`` must
  be ``momentum * running + (1 - momentum) * batch statistic`` (biased variance), with the dict's
  ``momentum`` or the course's default 0.9; the test-mode output must use the dict's running
  statistics (compared with the toolkit's on the student's own dict, so a test-mode mistake is told
  apart from a running-average one), and must leave them unchanged.
- ``layernorm_forward`` / ``spatial_groupnorm_forward``: the same sequence, but the dict must gain no
  array (no running statistics) and the test-mode output must be each example's own normalization
  (a layer norm copied from batchnorm that keeps and then reads a running mean fails here).

A failing row is explained by mistakes replayed on the same calls (momentum swapped, unbiased
variance, a standard deviation averaged, the dict's momentum ignored, statistics never stored,
batch statistics or no epsilon at test time).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from _gradcheck.core.measure import close
from _gradcheck.core.result import FAIL, PASS
from _gradcheck.grader.rows import judge
from _gradcheck.grader.assignment.common import (
    AssignmentJob, StudentRaised, call_student, error_row, reference_module, row, timed)

__all__ = ["BATCHNORMS", "STATELESS", "NAMES", "jobs"]

KIND = "state"
BATCHNORMS = ("batchnorm_forward", "spatial_batchnorm_forward")
STATELESS = ("layernorm_forward", "spatial_groupnorm_forward")
NAMES = BATCHNORMS + STATELESS
TRAIN_CALLS = 4


def _batches(name: str, seed: int):
    """Train batches with different per-feature statistics, a test batch, gamma, beta, extra args."""
    rng = np.random.default_rng(seed + 4)
    spatial = name.startswith("spatial")
    C = 4
    shape = (5, C, 3, 2) if spatial else (6, C)
    bshape = (1, C, 1, 1) if name == "spatial_groupnorm_forward" else (C,)
    lead = (1, C, 1, 1) if spatial else (1, C)

    def batch():
        return rng.normal(0, 1, shape) * rng.uniform(0.5, 3.0, lead) + rng.normal(0, 2, lead)

    xs = [batch() for _ in range(TRAIN_CALLS)]
    extra = (2,) if name == "spatial_groupnorm_forward" else ()
    return xs, batch(), rng.normal(1, 0.3, bshape), rng.normal(0, 0.3, bshape), extra, rng


def _scenarios(name, rng, C):
    if name in BATCHNORMS:
        return [("defaults", {"mode": "train"}),
                ("given", {"mode": "train", "momentum": 0.7, "eps": 1e-5,
                           "running_mean": rng.normal(0, 1, C), "running_var": rng.uniform(0.5, 2, C)})]
    return [("defaults", {"mode": "train"}), ("eps given", {"mode": "train", "eps": 1e-5})]


# ---------------------------------------------------------------------------------------------
# Batchnorm's running statistics, replayed

def _running(name, param, xs, momentum=None, swap=False, ddof=0, std=False, store=True):
    """Running statistics after the train calls, under one (possibly mistaken) rule."""
    C = xs[0].shape[1]
    rm = np.asarray(param.get("running_mean", np.zeros(C)), np.float64)
    rv = np.asarray(param.get("running_var", np.zeros(C)), np.float64)
    mom = param.get("momentum", 0.9) if momentum is None else momentum
    out = []
    for x in xs:
        axes = (0, 2, 3) if name.startswith("spatial") else (0,)
        mean, var = x.mean(axis=axes), x.var(axis=axes, ddof=ddof)
        if std:
            var = np.sqrt(var + param.get("eps", 1e-5))
        a, b = (1 - mom, mom) if swap else (mom, 1 - mom)
        if store:
            rm, rv = a * rm + b * mean, a * rv + b * var
        out.append((rm, rv))
    return out


_RUNNING_MISTAKES = [
    (dict(swap=True), "the momentum is swapped: running = momentum * running + (1 - momentum) * batch statistic"),
    (dict(ddof=1), "running_var averages the unbiased variance (ddof=1); the course uses the batch's biased "
                   "variance (np.var), the one it normalizes with"),
    (dict(std=True), "running_var averages the standard deviation sqrt(var + eps); it must average the variance"),
    (dict(momentum=0.9), "the dict's bn_param['momentum'] is ignored (0.9 is only the default)"),
    (dict(store=False), "the running statistics are never stored in bn_param: the dict must carry them to the "
                        "next call"),
]


def _grade_batchnorm(name, fn, ref_fn, seed):
    xs, x_test, gamma, beta, extra, rng = _batches(name, seed)
    C = xs[0].shape[1]
    rows = {q: row(name, q, KIND) for q in ("running_mean", "running_var", "(test mode)")}
    diag = {}
    for scen, param0 in _scenarios(name, rng, C):
        param = copy.deepcopy(param0)
        got_hist = []
        for k, x in enumerate(xs):
            what = f"{name} (train call {k + 1} of {len(xs)} on one bn_param, {scen} scenario)"
            _implemented(call_student(fn, x.copy(), gamma.copy(), beta.copy(), *extra, param, what=what), name)
            got_hist.append((copy.deepcopy(param.get("running_mean")), copy.deepcopy(param.get("running_var"))))
        want = _running(name, param0, xs)
        for q, i in (("running_mean", 0), ("running_var", 1)):
            r = rows[q]
            if r.status != PASS:
                continue
            for k, (got, exp) in enumerate(zip(got_hist, want)):
                trial = row(name, q, KIND)
                if got[i] is None:
                    trial.update(status=FAIL, diagnosis=f"bn_param[{q!r}] is missing after train call {k + 1}")
                else:
                    judge(trial, got[i], exp[i], what=f"bn_param[{q!r}]")
                if trial.status != PASS:
                    trial.diagnosis = trial.diagnosis or f"wrong after train call {k + 1} of the {scen} scenario"
                    r.take_verdict(trial)
                    diag.setdefault("running", _explain_running(name, param0, xs, got_hist))
                    break
                if (trial.max_rel_error or 0) >= (r.max_rel_error or 0):
                    r.update(max_rel_error=trial.max_rel_error, worst_index=trial.worst_index)
        # test mode, on the student's own dict
        param["mode"] = "test"
        before = copy.deepcopy(param)
        try:
            ref_out, _ = ref_fn(x_test.copy(), gamma.copy(), beta.copy(), *extra, _usable(before, C))
        except (ValueError, TypeError) as exc:  # running statistics the toolkit cannot read
            ref_out = None
            why = f"the running statistics left in bn_param are not arrays of shape ({C},): {exc}"
        out = call_student(fn, x_test.copy(), gamma.copy(), beta.copy(), *extra, param,
                           what=f"{name} (test mode after {len(xs)} train calls, {scen} scenario)")
        r = rows["(test mode)"]
        if r.status == PASS:
            got = out[0] if isinstance(out, (tuple, list)) and len(out) == 2 else None
            if got is None:
                r.update(status=FAIL, diagnosis="test mode must return (out, cache)")
            elif ref_out is None:
                r.update(status=FAIL, diagnosis=why)
            elif not judge(r, got, ref_out, what="test-mode output"):
                r.diagnosis = _explain_test(name, x_test, gamma, beta, before, got, C)
            elif not _unchanged(before, param):
                r.update(status=FAIL, diagnosis="test mode changed the running statistics in bn_param; only "
                                                "train mode updates them")
    if "running" in diag:
        for q in ("running_mean", "running_var"):
            if rows[q].status != PASS:
                rows[q].diagnosis += f"; {diag['running']}"
    return list(rows.values())


def _usable(param, C):
    p = dict(param)
    for key in ("running_mean", "running_var"):
        v = p.get(key)
        if v is None or np.shape(v) != (C,):
            p[key] = np.zeros(C)
    return p


def _unchanged(before, after) -> bool:
    for key in ("running_mean", "running_var"):
        a, b = before.get(key), after.get(key)
        if (a is None) != (b is None) or (a is not None and not np.array_equal(np.asarray(a), np.asarray(b))):
            return False
    return True


def _explain_running(name, param0, xs, got_hist) -> str:
    for kw, text in _RUNNING_MISTAKES:
        mimic = _running(name, param0, xs, **kw)
        ok = True
        for (gm, gv), (mm, mv) in zip(got_hist, mimic):
            for g, m, key in ((gm, mm, "running_mean"), (gv, mv, "running_var")):
                if g is None:
                    ok = ok and not np.any(m) and key not in param0
                elif not close(g, m):
                    ok = False
        if ok:
            return text
    return "no common mistake reproduces it (expected running = momentum * running + (1 - momentum) * " \
           "batch statistic, momentum from bn_param, default 0.9)"


def _explain_test(name, x, gamma, beta, param, got, C) -> str:
    axes = (0, 2, 3) if name.startswith("spatial") else (0,)
    shape = (1, C, 1, 1) if name.startswith("spatial") else (1, C)
    eps = param.get("eps", 1e-5)
    rm = np.asarray(param.get("running_mean", np.zeros(C)), np.float64).reshape(shape)
    rv = np.asarray(param.get("running_var", np.zeros(C)), np.float64).reshape(shape)
    g, b = gamma.reshape(shape), beta.reshape(shape)
    with np.errstate(all="ignore"):
        batch = g * (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps) + b
        no_eps = g * (x - rm) / np.sqrt(rv) + b
        no_affine = (x - rm) / np.sqrt(rv + eps)
    for mimic, text in ((batch, "test mode normalizes with the batch's own statistics; it must use "
                                "bn_param's running_mean and running_var"),
                        (no_eps, "test mode leaves eps out: (x - running_mean) / sqrt(running_var + eps)"),
                        (no_affine, "test mode forgets gamma and beta")):
        if close(got, mimic):
            return text
    return "the test-mode output differs from the one computed with bn_param's running statistics"


# ---------------------------------------------------------------------------------------------
# Layer norm and group norm: no running statistics

def _grade_stateless(name, fn, ref_fn, seed):
    xs, x_test, gamma, beta, extra, rng = _batches(name, seed)
    r_keep = row(name, "(keeps no state)", KIND)
    r_test = row(name, "(test mode)", KIND)
    pname = "ln_param" if name.startswith("layer") else "gn_param"
    for scen, param0 in _scenarios(name, rng, xs[0].shape[1]):
        param = copy.deepcopy(param0)
        for k, x in enumerate(xs):
            _implemented(call_student(fn, x.copy(), gamma.copy(), beta.copy(), *extra, param,
                                      what=f"{name} (call {k + 1} of {len(xs)} on one {pname})"), name)
        added = sorted(str(k) for k, v in param.items()
                       if k not in param0 and isinstance(v, (np.ndarray, np.generic, float)))
        if added and r_keep.status == PASS:
            r_keep.update(status=FAIL, diagnosis=f"{pname} gained {', '.join(added)} over consecutive calls: "
                                                 f"{'layer' if pname == 'ln_param' else 'group'} norm uses each "
                                                 f"example's own statistics and keeps no running statistics "
                                                 f"(copied from batchnorm?)")
        param["mode"] = "test"
        # Compared with the student's own output on a fresh dict: the forward itself is the grid's job.
        fresh = call_student(fn, x_test.copy(), gamma.copy(), beta.copy(), *extra, copy.deepcopy(param0),
                             what=f"{name} (a fresh {pname})")
        ref_out = fresh[0] if isinstance(fresh, (tuple, list)) and len(fresh) == 2 else None
        out = call_student(fn, x_test.copy(), gamma.copy(), beta.copy(), *extra, param,
                           what=f"{name} (mode 'test' after {len(xs)} calls on one {pname})")
        if r_test.status == PASS:
            got = out[0] if isinstance(out, (tuple, list)) and len(out) == 2 else None
            if got is None or ref_out is None:
                r_test.update(status=FAIL, diagnosis="the call must return (out, cache)")
            elif not judge(r_test, got, ref_out, what="test-time output"):
                r_test.diagnosis = (f"with {pname}['mode'] = 'test' after {len(xs)} calls on one dict (as the "
                                       f"FullyConnectedNet does at test time) the output differs from the one on a "
                                       f"fresh dict: it must normalize each example by its own statistics, always"
                                       + (f"; it reads the {', '.join(added)} it kept" if added else ""))
    return [r_keep, r_test]


def _implemented(out, name):
    """Refuse a stub's answer: ``None`` or ``(None, ...)`` means the body is still to be written."""
    if out is None or (isinstance(out, (tuple, list)) and out and out[0] is None):
        raise StudentRaised(f"{name} returns None for its output: not implemented yet")
    return out


def grade(name, fn, seed=0) -> list:
    t0 = time.perf_counter()
    ref_fn = getattr(reference_module("layers"), name)
    try:
        rows = (_grade_batchnorm if name in BATCHNORMS else _grade_stateless)(name, fn, ref_fn, seed)
    except StudentRaised as exc:
        rows = [error_row(name, "(calls)", KIND, str(exc))]
    return timed(rows, t0)


def jobs(manifest: dict, session, seed: int, forbidden) -> list:
    """One job per stateful (or must-be-stateless) norm forward the student's module defines."""
    return [AssignmentJob(f"{name} (state)", lambda name=name: grade(name, session.function(name), seed),
                          forbidden(name), names={name}) for name in NAMES if name in manifest]
