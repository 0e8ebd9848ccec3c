"""Grading a student's update rules (``sgd``, ``sgd_momentum``, ``rmsprop``, ``adam``) over consecutive steps.

The course calls a rule as ``next_w, config = rule(w, dw, config)`` and hands the returned ``config``
to the next step, so a rule is right only if ``next_w`` *and* the state it leaves in ``config``
(``velocity``, ``cache``, ``m``/``v``/``t``) match the toolkit's :mod:`optim` step after step. Two
scenarios, each several steps long on one config dict: the notebook's (every hyper-parameter and
an initial state given, Adam at ``t = 5``) and the defaults' (only ``learning_rate`` given, state
absent, small gradients so that where ``epsilon`` goes shows). Each step starts from the
reference's ``next_w`` of the step before (an error shows at the step it happens), while each side
carries its own ``config``.

A failing rule is explained by replaying classic mistakes (:data:`MISTAKES`) on the same steps: a
mistake whose whole trace matches the student's names the bug (no bias correction, ``t``
incremented after use, ``epsilon`` inside the square root, state not written back, the velocity's
sign, ...).
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

__all__ = ["RULES", "STATE", "jobs", "grade_rule", "MISTAKES"]

RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}
STEPS = 4
KIND = "update"


# ---------------------------------------------------------------------------------------------
# Scenarios

def scenarios(rule: str, seed: int) -> list:
    """``(name, config, [(w, dw), ...])`` for ``rule``: the notebook's and the defaults'."""
    rng = np.random.default_rng(seed)
    shape = (4, 5)
    given = {"learning_rate": 1e-2}
    if rule == "sgd_momentum":
        given.update(momentum=0.9, velocity=rng.normal(0, 0.1, shape))
    elif rule == "rmsprop":
        given.update(decay_rate=0.99, epsilon=1e-8, cache=rng.uniform(0.1, 1.0, shape))
    elif rule == "adam":
        given.update(beta1=0.9, beta2=0.999, epsilon=1e-8, m=rng.normal(0, 0.1, shape),
                     v=rng.uniform(0.1, 1.0, shape), t=5)
    out = [("notebook", given, rng.normal(0, 1, shape), [rng.normal(0, 1, shape) for _ in range(STEPS)])]
    # Defaults: gradients ~1e-4 make sqrt(cache) ~ epsilon's neighbourhood, where its place matters.
    fresh = {"learning_rate": 1e-3 if rule == "adam" else 1e-2}
    out.append(("defaults", fresh, rng.normal(0, 1, shape), [rng.normal(0, 1e-4, shape) for _ in range(STEPS)]))
    return out


def _trace(rule_fn, config, w0, dws, ref_ws=None):
    """Run ``rule_fn`` over the steps: ``[(next_w, {state key: value or missing}), ...]`` and the ws used."""
    config = copy.deepcopy(config)
    steps, ws, w = [], [], w0
    for k, dw in enumerate(dws):
        ws.append(w)
        next_w, config = rule_fn(w.copy(), dw.copy(), config)
        steps.append((copy.deepcopy(next_w), copy.deepcopy(config) if isinstance(config, dict) else None))
        w = ref_ws[k + 1] if ref_ws is not None and k + 1 < len(ref_ws) else np.asarray(next_w)
    return steps, ws


# ---------------------------------------------------------------------------------------------
# Classic mistakes, replayed in the grading process (each written from the rule's description)

def _hp(config, key, default):
    return config.get(key, default) if config.get(key) is not None else default


def _momentum(sign_v=-1, sign_w=+1, store=True, nesterov=False):
    def rule(w, dw, config):
        config = dict(config)
        lr, mu = _hp(config, "learning_rate", 1e-2), _hp(config, "momentum", 0.9)
        v0 = config.get("velocity")
        v0 = np.zeros_like(w) if v0 is None else v0
        v = mu * v0 + sign_v * lr * dw
        if nesterov:
            next_w = w - mu * v0 + (1 + mu) * v
        else:
            next_w = w + sign_w * v
        if store:
            config["velocity"] = v
        return next_w, config
    return rule


def _rmsprop(eps_inside=False, store=True, square=True, swap=False, root=True):
    def rule(w, dw, config):
        config = dict(config)
        lr, rho, eps = (_hp(config, "learning_rate", 1e-2), _hp(config, "decay_rate", 0.99),
                        _hp(config, "epsilon", 1e-8))
        c0 = config.get("cache")
        c0 = np.zeros_like(w) if c0 is None else c0
        g = dw * dw if square else dw
        c = (1 - rho) * c0 + rho * g if swap else rho * c0 + (1 - rho) * g
        denom = (np.sqrt(c + eps) if eps_inside else np.sqrt(c) + eps) if root else c + eps
        if store:
            config["cache"] = c
        with np.errstate(all="ignore"):
            return w - lr * dw / denom, config
    return rule


def _adam(correct=True, t_use="new", t_store="new", eps_inside=False, store=True, store_hat=False,
          square=True):
    def rule(w, dw, config):
        config = dict(config)
        lr, b1, b2, eps = (_hp(config, "learning_rate", 1e-3), _hp(config, "beta1", 0.9),
                           _hp(config, "beta2", 0.999), _hp(config, "epsilon", 1e-8))
        t0 = int(_hp(config, "t", 0))
        m0, v0 = config.get("m"), config.get("v")
        m0 = np.zeros_like(w) if m0 is None else m0
        v0 = np.zeros_like(w) if v0 is None else v0
        t = t0 + 1 if t_use == "new" else t0
        m = b1 * m0 + (1 - b1) * dw
        v = b2 * v0 + (1 - b2) * (dw * dw if square else dw)
        with np.errstate(all="ignore"):
            mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
            next_w = w - lr * mh / (np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps)
        if store:
            config["m"], config["v"] = (mh, vh) if store_hat else (m, v)
        if t_store == "new":
            config["t"] = t0 + 1
        return next_w, config
    return rule


MISTAKES = {
    "sgd": [
        (lambda w, dw, c: (w + _hp(c, "learning_rate", 1e-2) * dw, dict(c)),
         "steps uphill: next_w = w + lr * dw (the course's is w - lr * dw)"),
    ],
    "sgd_momentum": [
        (_momentum(sign_v=+1, sign_w=-1),
         "the velocity has the opposite sign of the course's: v = mu*v + lr*dw with next_w = w - v moves w "
         "the same way on a fresh start, but config['velocity'] must hold v = mu*v - lr*dw (next_w = w + v)"),
        (_momentum(sign_v=-1, sign_w=-1),
         "next_w = w - v with v = mu*v - lr*dw: the step goes uphill (the course's is next_w = w + v)"),
        (_momentum(store=False),
         "the new velocity is not written back to config['velocity']: every step starts from the old one"),
        (_momentum(nesterov=True),
         "this is Nesterov momentum; the course's sgd_momentum is plain momentum: v = mu*v - lr*dw, next_w = w + v"),
    ],
    "rmsprop": [
        (_rmsprop(eps_inside=True),
         "epsilon is inside the square root: the course's step is lr*dw / (sqrt(cache) + epsilon)"),
        (_rmsprop(store=False),
         "the new cache is not written back to config['cache']: every step starts from the old one"),
        (_rmsprop(square=False),
         "the cache averages dw, not dw**2: cache = decay_rate*cache + (1 - decay_rate) * dw**2"),
        (_rmsprop(swap=True),
         "decay_rate and 1 - decay_rate are swapped: cache = decay_rate*cache + (1 - decay_rate) * dw**2"),
        (_rmsprop(root=False),
         "the step divides by cache, not by its square root: lr*dw / (sqrt(cache) + epsilon)"),
    ],
    "adam": [
        (_adam(correct=False),
         "no bias correction: the step must use m / (1 - beta1**t) and v / (1 - beta2**t)"),
        (_adam(t_use="old", t_store="new"),
         "t is incremented after it is used: the course increments t first, then corrects with the new t"),
        (_adam(t_use="new", t_store="old"),
         "t is never written back to config['t']: every step uses the same t"),
        (_adam(t_use="old", t_store="old"),
         "t is never incremented: the bias correction must use t + 1 and store it in config['t']"),
        (_adam(eps_inside=True),
         "epsilon is inside the square root: the course's step is lr*m_hat / (sqrt(v_hat) + epsilon)"),
        (_adam(store=False),
         "the new m and v are not written back to config['m'] and config['v']: every step starts from the old ones"),
        (_adam(store_hat=True),
         "the bias-corrected m_hat and v_hat are stored in config['m'] and config['v']: keep the raw moments "
         "there and correct only for the step"),
        (_adam(square=False),
         "v averages dw, not dw**2: v = beta2*v + (1 - beta2) * dw**2"),
    ],
}


# ---------------------------------------------------------------------------------------------
# Judging

def _same(a, b) -> bool:
    """Equal under the pass rule, where equal non-finite values count as equal (a replayed mistake)."""
    try:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    both = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    return close(np.where(both, 0.0, a), np.where(both, 0.0, b))


def _matches(student, mimic, keys) -> bool:
    for (sw, sc), (mw, mc) in zip(student, mimic):
        if not _same(sw, mw):
            return False
        if (sc is None) != (mc is None):
            return False
        for key in keys if sc is not None else ():
            a, b = sc.get(key), mc.get(key)
            if a is None or b is None:  # absent and zeros (a setdefault that was never updated) agree
                if not _zero_or_none(a) or not _zero_or_none(b):
                    return False
            elif not _same(a, b):
                return False
    return True


def _zero_or_none(v) -> bool:
    try:
        return v is None or not np.any(np.asarray(v, np.float64))
    except (TypeError, ValueError):
        return False


def _diagnose(rule: str, student_traces, scen, first_bad) -> str:
    keys = STATE[rule]
    for mistake, text in MISTAKES[rule]:
        try:
            mimics = [_trace(mistake, cfg, ws[0], dws, ws)[0] for (_, cfg, _, dws), ws in zip(scen, student_traces[1])]
        except (ValueError, TypeError, ZeroDivisionError, KeyError):
            continue
        if all(_matches(s, m, keys) for s, m in zip(student_traces[0], mimics)):
            return text
    name, step, what = first_bad
    return f"{what} first differs from the course's at step {step + 1} of the {name} scenario " \
           f"({_scenario_text(name)}); no common mistake reproduces it"


def _scenario_text(name: str) -> str:
    return ("every hyper-parameter and an initial state given in config" if name == "notebook" else
            "only learning_rate given, no state, gradients ~1e-4")


def grade_rule(rule: str, student_fn, seed: int = 0) -> list:
    """Rows for one update rule: ``next_w`` and each state key, over every scenario and step."""
    t0 = time.perf_counter()
    ref_fn = getattr(reference_module("optim"), rule)
    keys = STATE[rule]
    scen = scenarios(rule, seed)
    student_steps, used_ws = [], []
    first_bad = None
    rows = {q: row(rule, q, KIND) for q in ("next_w",) + keys}
    for name, cfg, w0, dws in scen:
        ref_steps, ref_ws = _trace(ref_fn, cfg, w0, dws)
        ref_ws = ref_ws + [ref_steps[-1][0]]
        config = copy.deepcopy(cfg)
        mine = []
        for k, dw in enumerate(dws):
            what = f"{rule}(w, dw, config) at step {k + 1} of the {name} scenario"
            try:
                out = call_student(student_fn, ref_ws[k].copy(), dw.copy(), config, what=what)
            except StudentRaised as exc:
                return [error_row(rule, "(steps)", KIND, str(exc))]
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                stub = out is None
                return [error_row(rule, "(steps)", KIND,
                                  f"{what} returned {type(out).__name__}"
                                  + (" (not implemented yet?)" if stub else "")
                                  + "; the course's update rules return (next_w, config)")]
            next_w, returned = out
            if next_w is None:
                return [error_row(rule, "(steps)", KIND, f"{what} returned next_w = None: not implemented yet")]
            if not isinstance(returned, dict):
                return [row(rule, "(config)", KIND, FAIL, diagnosis=f"{what} returned a config of type "
                            f"{type(returned).__name__}; it must return the config dict for the next step")]
            # copies: the worker's in-place changes of the next step are applied to these very arrays
            mine.append((copy.deepcopy(next_w), copy.deepcopy(returned)))
            ref_w, ref_cfg = ref_steps[k]
            _judge_step(rows, rule, keys, next_w, returned, ref_w, ref_cfg, (name, k))
            if first_bad is None:
                bad = [q for q, r in rows.items() if r.status != PASS]
                if bad:
                    first_bad = (name, k, bad[0] if bad[0] == "next_w" else f"config[{bad[0]!r}]")
            config = returned
        student_steps.append(mine)
        used_ws.append(ref_ws)
    out = list(rows.values())
    failing = [r for r in out if r.status != PASS]
    if failing:
        text = _diagnose(rule, (student_steps, used_ws), scen, first_bad)
        for r in failing:
            r.diagnosis = f"{r.diagnosis}; {text}" if r.diagnosis else text
    return timed(out, t0)


def _judge_step(rows, rule, keys, next_w, returned, ref_w, ref_cfg, where) -> None:
    """Compare one step; keep each row's worst comparison (a failing one sticks)."""
    name, k = where
    tagged = [("next_w", next_w, ref_w)] + [(q, returned.get(q, _MISSING), ref_cfg[q]) for q in keys]
    for q, got, ref in tagged:
        r = rows[q]
        if r.status != PASS:
            continue
        trial = row(rule, q, KIND)
        if got is _MISSING or got is None:
            trial.update(status=FAIL, diagnosis=f"config[{q!r}] is missing after step {k + 1} of the {name} "
                                                f"scenario: the state must be written back to the config")
        else:
            judge(trial, got, ref, what=q if q == "next_w" else f"config[{q!r}]")
            if trial.status != PASS and trial.diagnosis == "":
                trial.diagnosis = f"wrong at step {k + 1} of the {name} scenario"
        if trial.status != PASS or (trial.max_rel_error or 0) >= (r.max_rel_error or 0):
            r.take_verdict(trial)


_MISSING = object()


def jobs(manifest: dict, session, seed: int) -> list:
    """One :class:`AssignmentJob` per update rule the student's module defines."""
    out = []
    for rule in RULES:
        if rule not in manifest:
            continue

        def run(rule=rule):
            return grade_rule(rule, session.function(rule), seed)

        out.append(AssignmentJob(rule, run, {rule}))
    return out

