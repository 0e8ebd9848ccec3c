"""Check one layer on every layout of its specification: the grid behind ``python -m gradient_check``.

For each layout (``_gradcheck.grader.specs``) of a layer the grid

1. compares a student's forward output with the toolkit's reference on the same arguments;
2. runs ``check_layer`` (analytic vs float64 numeric gradients, purity, determinism) with every
   backward of the layer; the first layout in the requested mode, the others, when ``'full'`` was
   asked, in ``'auto'`` mode (random directions, then every element where a direction disagrees),
   which finds the same failures at a fraction of the cost, and in ``'directional'`` mode once a
   layout has failed (only the first failing layout is localized and diagnosed);
3. for a random layer (dropout), checks what it must do whatever its mask: at train time every
   output is 0 or ``x / p`` and the kept fraction lies within a Hoeffding bound of ``p``; at test
   time the identity; the backward equals ``dout * out / x`` (the forward's own mask).

Every call into a random layer runs with numpy's global generator set to a fixed state and restored
afterwards, so a layer drawing from ``np.random`` (CS231n's dropout) is reproducible and the caller's
state is untouched. Deterministic layers run as they are: one that draws random numbers must show
it (its outputs differ between identical calls: a FAIL).

A failing gradient is blamed on the function that is wrong: the backward when the forward matches
the reference (or when there is no reference), the forward when the student's backward agrees
with the toolkit's backward on the same inputs. Rows are then merged over layouts: one row per
(function, input), the first failing layout named in ``layout``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from _rules.tolerances import CHECKER, tolerance

from _gradcheck.core.findings import Finding, kind_of
from _gradcheck.core.result import ERROR, FAIL, PASS
from _gradcheck.core.state import LayerError, layer_call
from _gradcheck.diagnose import assignment1 as diagnose_assignment1
from _gradcheck.diagnose import known_bugs
from _gradcheck.diagnose.patterns import border_message
from _gradcheck.check import check_layer
from _gradcheck.grader import specs as _specs
from _gradcheck.grader.rows import RANK, NotPresent, Row, judge

__all__ = ["Job", "jobs", "check_job", "DROPOUT_FALSE_ALARM"]

DROPOUT_FALSE_ALARM = CHECKER.dropout_false_alarm  # a correct dropout fails the kept-fraction bound
_RNG_STATE_SEED = 231        # the fixed state of np.random's global generator during every call


@dataclass
class Job:
    """One layer to check: its spec, the functions under test, the toolkit's reference, the layouts."""

    spec: _specs.LayerSpec
    forward: Callable
    backwards: tuple            # ((name, callable), ...), the main backward first
    reference: dict | None      # the toolkit's functions by name, when checking a student's module
    layouts: tuple

    @property
    def label(self) -> str:
        return self.spec.name

    @property
    def names(self) -> tuple:
        """The functions this job checks: the forward and every backward found."""
        return (self.spec.forward, *(b for b, _ in self.backwards))


def jobs(module=None, only=None, extended=False, all_specs=None):
    """``(jobs, absent)``: the layers to check, and a ``NotPresent`` for each layer that cannot be.

    ``only``: a substring, or a list of them, of the layer's function names (None: every layer).

    Without ``module``: every layer the toolkit ships, on all its layouts. With a student's
    ``module``: every specified layer whose forward it defines (under the toolkit's name), on the
    layouts the assignment covers (and the extended ones with ``extended``), with the toolkit's
    functions as the reference.
    """
    out, absent = [], []
    only = [only] if isinstance(only, str) else only
    for s in _specs.specs() if all_specs is None else all_specs:
        if only and not any(o in n for o in only for n in (s.name, *s.backwards)):
            continue
        own = {n: _specs.resolve(n, s.module) for n in (s.forward, *s.backwards)}
        if module is None:
            if None in own.values():
                absent.append(NotPresent(s.name, names=frozenset({s.forward})))
                continue
            out.append(Job(s, own[s.forward], tuple((b, own[b]) for b in s.backwards), None, tuple(s.layouts)))
            continue
        fwd = _specs.resolve(s.forward, None, module)
        if fwd is None:
            continue
        bwds = tuple((b, f) for b in s.backwards if (f := _specs.resolve(b, None, module)) is not None)
        if s.backward and not any(b == s.backward for b, _ in bwds):
            absent.append(NotPresent(s.name, f"no {s.backward} in the module", frozenset({s.forward}), s.backward))
            continue
        out.append(Job(s, fwd, bwds, own, tuple(s.grid(extended))))
    return out, absent


# --- calling the layer ---------------------------------------------------------------------------

def _pinned(fn):
    """``fn`` run with np.random's global state fixed, the caller's state restored afterwards.

    A function that runs in a worker process (``isolate.RemoteFunction``) has that done there.
    """
    if hasattr(fn, "pinned"):
        return fn.pinned(_RNG_STATE_SEED)
    state = np.random.RandomState(_RNG_STATE_SEED).get_state()

    def call(*args):
        saved = np.random.get_state()
        np.random.set_state(state)
        try:
            return fn(*args)
        finally:
            np.random.set_state(saved)

    call.__name__ = getattr(fn, "__name__", "layer")
    return call


def _wrap(job, fn):
    """``fn`` pinned to a fixed global generator state for a random layer; unchanged otherwise (a
    deterministic layer that draws random numbers must show it: its outputs differ between calls)."""
    return _pinned(fn) if fn is not None and job.spec.random else fn


def _call(fn, *args, what="the layer"):
    """``(result, '')`` or ``(None, what went wrong)``: student code may raise anything."""
    try:
        return layer_call(what, fn, *copy.deepcopy(args)), ""
    except LayerError as exc:
        return None, str(exc)


def _as_float_array(v):
    try:
        a = np.asarray(v)
    except (ValueError, TypeError):
        return None
    return a.astype(np.float64) if a.dtype.kind in "fiub" else None


def _first(res):
    return res[0] if isinstance(res, (tuple, list)) and len(res) == 2 else None


def _grads(res):
    return tuple(res) if isinstance(res, (tuple, list)) else (res,)


def _row(function, input_, kind, status, lay, layer, **kw) -> Row:
    """A report row of layout ``lay``: ``layer`` is the layer (its forward's name), ``function`` the one to blame."""
    return Row(layer=layer, function=function, input=input_, kind=kind, status=status, layout=lay.text,
               batch=lay.batch, settings=lay.settings, **kw)


# --- one layout ----------------------------------------------------------------------------------

@dataclass
class _Layout:
    """Everything known about one layout while it is being checked."""

    args: list
    text: str
    dtype: np.dtype
    batch: int | None
    settings: frozenset = frozenset()       # the layout's settings other than array shapes (specs.settings)
    forward_ok: bool = True


def _compare_forward(job, lay: _Layout):
    """The student's forward output against the toolkit's on the same arguments: one row."""
    s, t0 = job.spec, time.perf_counter()
    ref, why = _call(_wrap(job, job.reference[s.forward]), *lay.args)
    got, err = _call(_wrap(job, job.forward), *lay.args, what=s.forward)
    row = _row(s.forward, "(forward)", "forward", PASS, lay, s.name)
    if ref is None:
        row.update(status=ERROR, diagnosis=f"the toolkit's reference raised {why}")
    elif got is None or _first(got) is None:
        row.update(status=ERROR, diagnosis=err or "forward returned None "
                   "or not a pair (not implemented yet?)")
    else:
        out = np.asarray(_first(got)) if _as_float_array(_first(got)) is not None else None
        if out is None or out.dtype.kind != "f":
            row.update(status=ERROR, diagnosis=f"forward output must be a floating array, got "
                                               f"{getattr(out, 'dtype', type(_first(got)).__name__)}")
        else:
            _judge_forward(row, out, np.asarray(_first(ref), np.float64), job, lay)
    lay.forward_ok = row.status == PASS
    row.time_s = time.perf_counter() - t0
    return row


def _judge_forward(row, out, ref, job, lay):
    if out.shape != ref.shape:
        row.update(status=FAIL, diagnosis=f"forward output has shape {out.shape}, the toolkit's has {ref.shape}")
        return
    dtype = lay.dtype
    if out.dtype.itemsize < lay.dtype.itemsize:  # computed in lower precision: judged by its own rounding
        dtype = out.dtype
        row.warnings.append(Finding(f"forward returns {out.dtype} for {lay.dtype} inputs: compared with the "
                                    f"reference at the {out.dtype} tolerance", "dtype", "forward",
                                    output="forward", have=str(out.dtype), want=str(lay.dtype)))
    got = out.astype(np.float64)
    judge(row, got, ref, dtype, what="forward output")
    if row.status == FAIL:
        row.diagnosis = known_bugs.forward_bug(job.spec.family, got, lay.args) \
            or diagnose_assignment1.groupnorm_forward(job.spec.family, got, lay.args) or (  # hook: issue 20
            "forward output differs from the toolkit's reference (the 'analytic' value is yours, the "
            "'numeric' one the reference's)")


def _dout_for(job, lay, seed):
    """The upstream gradient for this layout, shaped like the forward's output (None for a loss)."""
    if job.spec.is_loss:
        return None
    res, _ = _call(_wrap(job, job.forward), *lay.args)
    try:
        shape = np.shape(_first(res))
    except (ValueError, TypeError):
        return None
    if res is None or _first(res) is None:
        return None
    return np.random.default_rng([int(seed), 0x646F7574]).standard_normal(shape)


def _reference_grads(job, lay, bname, dout, own=None):
    """The toolkit's gradients for the same arguments and dout (None without a reference).

    With ``own = (forward, backward)``: those functions' gradients instead.
    """
    if job.reference is None:
        return None
    s = job.spec
    fwd, bwd = own if own is not None else (job.reference[s.forward], job.reference.get(bname))
    res, _ = _call(_wrap(job, fwd), *lay.args)
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        return None
    if s.is_loss:
        return _grads(res[1])
    try:
        same = dout is not None and np.shape(res[0]) == np.shape(dout)
    except (ValueError, TypeError):
        same = False
    if not same or bwd is None:
        return None
    g, _ = _call(_wrap(job, bwd), dout.astype(lay.dtype), res[1])
    return None if g is None else _grads(g)


def _gradient_rows(job, lay, bname, chk, dout, rgrads, mine=None):
    s = job.spec
    bwd_name = bname or s.forward
    layer = s.name if bname == s.backward else f"{s.name} + {bname}"
    rows = []
    if chk.error or chk.not_checkable:
        blame = bwd_name if getattr(chk.error, "who", None) == "backward" else s.forward
        rows.append(_row(blame, "(layer)", "gradient", chk.status, lay, layer,
                         warnings=list(chk.warnings), diagnosis=chk.error or chk.not_checkable, time_s=chk.seconds))
        return rows
    for k, r in enumerate(chk.inputs):
        row = _row(bwd_name, r.name, "gradient", r.status, lay, layer)
        # auto mode on the later layouts is the grid's choice, not news: drop its "full check run" note
        notes = [w for w in r.warnings if kind_of(w) != "escalated"]
        row.update(status=r.status, shape=list(r.shape), mode=r.mode, h=r.h, max_rel_error=r.max_rel_error,
                   worst_index=None if r.worst_index is None else [int(i) for i in r.worst_index],
                   analytic=r.analytic, numeric=r.numeric, kinks_excluded=r.kinks_excluded, diagnosis=r.diagnosis,
                   warnings=notes + chk.warnings, time_s=r.seconds)
        if not r.passed:
            own = r.analytic_grad
            if own is None and mine is not None and k < len(mine):
                own = _as_float_array(mine[k])
            _explain(row, job, lay, r, own, k, dout, rgrads)
        rows.append(row)
    for p in chk.problems:
        kind = kind_of(p) or "purity"
        who = s.forward if getattr(p, "who", None) == "forward" else bwd_name
        rows.append(_row(who, f"({kind})", kind, FAIL, lay, layer, diagnosis=p))
    return rows


def _explain(row, job, lay, r, a, k, dout, rgrads):
    """Blame the right function and name a known mistake for one failing input (``a``: its gradient)."""
    s = job.spec
    correct = rgrads[k] if rgrads is not None and k < len(rgrads) else None
    if a is not None and correct is not None and np.shape(correct) == a.shape \
            and known_bugs._matches(a, correct) and not lay.forward_ok:
        row.function = s.forward
        row.diagnosis = (f"{r.diagnosis}; the backward's d{r.name} equals the toolkit's on this layout, so the "
                            f"forward is what is wrong (its output differs from the reference)")
        return
    if a is not None:
        d = np.ones(()) if dout is None else dout
        named = known_bugs.backward_bug(s.family, r.name, a, lay.args, d, correct) \
            or diagnose_assignment1.linear_loss_gradient(s.family, r.name, a, lay.args, correct) \
            or diagnose_assignment1.norm_backward_dx(s.family, r.name, a, lay.args, d, correct)  # hook: issue 20
        if named:
            row.diagnosis, row.diagnosis_kind = named, kind_of(named) or "known_bug"
    if kind_of(row.diagnosis) == "border" and not _pads(s, lay.args):
        row.diagnosis = border_message(row.diagnosis.details["width"], pads=False)
    if not lay.forward_ok:
        row.diagnosis += f" (the output of {s.forward} also differs from the toolkit's: fix it first)"


def _pads(spec, args) -> bool:
    """Whether the layer zero-pads its input on this layout (pooling never does)."""
    if not spec.pads:
        return False
    pads = [a["pad"] for a in args if isinstance(a, dict) and "pad" in a]
    return not pads or bool(np.any(np.asarray(pads[0]) != 0))


def _check_layout(job, layout, lay: _Layout, dtype, seed, mode):
    s = job.spec
    rows = []
    if job.reference is not None and not s.random:
        rows.append(_compare_forward(job, lay))
    if job.reference is not None and not layout.student_backward:
        return rows, []
    inputs, params = s.split(lay.args)
    dout = _dout_for(job, lay, seed)
    checks = []
    for bname, bwd in job.backwards or ((None, None),):
        chk = check_layer(_wrap(job, job.forward), _wrap(job, bwd) if bwd else None, inputs, params, dout=dout,
                          mode=mode, seed=seed, names=s.input_names, name=f"{bname or s.forward} [{lay.text}]",
                          mutable=s.may_update or ("running_mean", "running_var"), deterministic=not s.random)
        rgrads = _reference_grads(job, lay, bname, dout) if chk.status == FAIL else None
        # The layer's own gradients too: check_layer keeps none where it only probed directions.
        mine = _reference_grads(job, lay, bname, dout, own=(job.forward, bwd)) if rgrads is not None else None
        rows += _gradient_rows(job, lay, bname, chk, dout, rgrads, mine)
        checks.append(chk)
    if s.random:
        rows += _random_layer_rows(job, lay)
    return rows, checks


# --- random layers (dropout) ---------------------------------------------------------------------

def kept_fraction_bound(n: int, false_alarm: float = DROPOUT_FALSE_ALARM) -> float:
    """Half-width t with P(|kept/n - p| >= t) <= false_alarm for n independent units (Hoeffding)."""
    return math.sqrt(math.log(2.0 / false_alarm) / (2.0 * n))


def _random_layer_rows(job, lay):
    """Dropout's contract, checked from its output alone (the mask is never needed)."""
    s, t0 = job.spec, time.perf_counter()
    x, dparam = lay.args[0], lay.args[1]
    p, mode = float(dparam["p"]), dparam["mode"]
    fwd_row = _row(s.forward, f"({mode} mode)", "forward", PASS, lay, s.name)
    res, err = _call(_wrap(job, job.forward), *lay.args, what=s.forward)
    out = _as_float_array(_first(res))
    x64 = np.asarray(x, np.float64)
    if out is None or out.shape != x64.shape:
        fwd_row.update(status=ERROR if out is None else FAIL, diagnosis=err or (
            f"forward output has shape {None if out is None else out.shape}, expected x's {x64.shape}"))
        return [fwd_row]
    rtol = tolerance(lay.dtype).grad_rtol
    want = x64 / p if mode == "train" else x64
    kept = out != 0 if mode == "train" else np.ones(out.shape, bool)
    bad = kept & ~(np.abs(out - want) <= rtol * np.abs(want))
    problems = []
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), out.shape)
        problems.append(_scale_problem(mode, p, out[i], x64[i], int(bad.sum()), out.size))
    if mode == "train":
        problems += _fraction_problem(p, int(kept.sum()), out.size)
    if problems:
        fwd_row.update(status=FAIL, diagnosis="; ".join(problems))
    fwd_row.time_s = time.perf_counter() - t0
    rows = [fwd_row]
    for bname, bwd in job.backwards:
        rows.append(_mask_row(s, lay, bname, bwd, res, out, x64, mode))
    return rows


def _scale_problem(mode, p, o, x, n_bad, n):
    if mode == "test":
        return (f"test mode must return x unchanged, but {n_bad} of {n} outputs differ (e.g. {o:.6g} for "
                f"x = {x:.6g}): units dropped or rescaled at test time")
    hint = ""
    if np.isclose(o, x, rtol=CHECKER.dropout_scale):
        hint = ": kept units are not divided by p (inverted dropout scales them by 1/p at train time)"
    elif np.isclose(o, x / (1 - p), rtol=CHECKER.dropout_scale):
        hint = ": scaled by 1/(1 - p), as if p were the DROP probability (p is the probability of KEEPING a unit)"
    return f"{n_bad} of {n} outputs are neither 0 nor x / p (e.g. {o:.6g} for x / p = {x / p:.6g}){hint}"


def _fraction_problem(p, k, n):
    t = kept_fraction_bound(n)
    frac = k / n
    if abs(frac - p) <= t:
        return []
    hint = ""
    if abs(frac - (1 - p)) <= t:
        hint = "; it matches 1 - p: p is used as the DROP probability (CS231n's p is the probability of KEEPING a unit)"
    return [f"kept fraction {frac:.3f} ({k} of {n} units) is outside p = {p:g} +- {t:.3f} (Hoeffding bound, "
            f"false-alarm probability {DROPOUT_FALSE_ALARM:g}){hint}"]


def _mask_row(s, lay, bname, bwd, res, out, x64, mode):
    """The backward must route dout through the forward's own mask: dx = dout * out / x."""
    row = _row(bname, "x", "gradient", PASS, lay, s.name)
    dout = np.random.default_rng(17).standard_normal(x64.shape)
    got, err = _call(_pinned(bwd), dout.astype(lay.dtype), res[1], what=bname)
    one = got[0] if isinstance(got, (tuple, list)) and len(got) == 1 else got
    dx = None if got is None else _as_float_array(one)
    want = dout * out / x64
    if dx is None or dx.shape != want.shape:
        row.update(status=ERROR if dx is None else FAIL, diagnosis=err or f"dx has shape {dx.shape}, expected {want.shape}")
        return row
    rtol = tolerance(lay.dtype).grad_rtol
    bad = ~(np.abs(dx - want) <= rtol * np.abs(want) + 1e-300)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), dx.shape)
        row.update(status=FAIL, worst_index=[int(v) for v in i], analytic=float(dx[i]), numeric=float(want[i]),
                   diagnosis=f"dx differs from dout * mask at {int(bad.sum())} of {dx.size} elements, the mask "
                             f"being the forward's own (out / x: 0 or 1/p in train mode, 1 in {mode} mode)"
                   if mode == "train" else f"test mode: dx must equal dout, differs at {int(bad.sum())} elements")
    return row


# --- the whole layer -----------------------------------------------------------------------------

def check_job(job: Job, dtype="float64", seed=0, mode="full"):
    """Check ``job`` on all its layouts; return ``(rows, checks)``.

    ``rows`` are ``Row``s (one per function, input and kind, merged over layouts: see ``_merge``);
    ``checks`` are the ``LayerCheck`` of every (layout, backward), named ``function [layout]``.
    """
    dtype = np.dtype(dtype)
    rows, checks = [], []
    for k, layout in enumerate(job.layouts):
        args = layout.make(np.random.default_rng(seed), dtype)
        first = np.asarray(args[0])
        lay = _Layout(args, _specs.describe(job.spec, args), dtype, first.shape[0] if first.ndim >= 1 else None,
                      _specs.settings(job.spec, args))
        lmode = mode
        if k > 0 and mode == "full":
            # Localize (and diagnose) the first failing layout only; later ones just say pass or fail.
            lmode = "directional" if any(c.status == FAIL for c in checks) else "auto"
        r, c = _check_layout(job, layout, lay, dtype, seed, lmode)
        rows += r
        checks += c
    return _merge(rows), checks


def _merge(rows):
    """One row per (function, input, kind): the first failing layout's row, else the worst passing one."""
    groups = {}
    for r in rows:
        groups.setdefault((r.layer, r.function, r.input, r.kind), []).append(r)
    out = []
    for group in groups.values():
        worst = max(r.rank for r in group)
        if worst == 0:
            rep = max(group, key=lambda r: -1.0 if r.max_rel_error is None else r.max_rel_error)
        else:
            rep = next(r for r in group if r.rank == worst)
        failed = [r.layout for r in group if r.rank >= RANK[FAIL]]
        merged = dataclasses.replace(rep, layouts_checked=len(group), layouts_failed=failed,
                                     time_s=sum(r.time_s or 0.0 for r in group),
                                     kinks_excluded=sum(r.kinks_excluded or 0 for r in group),
                                     warnings=list(dict.fromkeys(w for r in group for w in r.warnings)))
        if failed and len(group) > 1:
            merged.layouts_note = _batch_note(group) + f" [fails on {len(failed)} of {len(group)} layouts]"
        out.append(merged)
    return out


def _batch_note(group) -> str:
    """'right for N = 1 only' when every N = 1 layout passes and every failure has N > 1."""
    if group[0].kind != "gradient":
        return ""
    ones = [r for r in group if r.batch == 1]
    bad = [r for r in group if r.rank >= RANK[FAIL]]
    if not bad or bad[0].diagnosis_kind == "batch_factor":
        return ""  # a 1/N or N factor is right at N = 1 by nature: the ratio already says it
    if getattr(bad[0].diagnosis, "details", {}).get("batch_mixing"):
        return ""  # the named mistake already says it is right for N = 1 only
    # The statement holds only when a failing layout differs from a passing N = 1 one in its batch alone.
    if ones and all(r.passed for r in ones) and all((r.batch or 0) > 1 for r in bad) \
            and all(r.settings in {o.settings for o in ones} for r in bad):
        return ("; right on every N = 1 layout, wrong for N > 1: a per-sample term mixed across the batch "
                "(e.g. indexing [:, y] instead of [np.arange(N), y], or a sum over the batch where one "
                "sample's value is needed)")
    return ""


