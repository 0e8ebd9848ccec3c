"""Grading a student's models: ``TwoLayerNet``, ``FullyConnectedNet`` (any depth, dropout, batchnorm,
layernorm) and ``ThreeLayerConvNet``.

Each model is built in the worker with a small configuration (:data:`CONFIGS`) and used by reference
(:mod:`_gradcheck.grader.assignment.remote`). The grading process then checks, against the toolkit's model of the
same class built with the same arguments and given the same parameters:

``(params)``   the parameter names and shapes after ``__init__`` (``W1``, ``b1``, ..., ``gamma1``,
               ``beta1``), biases and ``beta`` zero, ``gamma`` one, weights of ``weight_scale``'s size;
``scores``     ``loss(X)``: the class scores in test mode (no dropout; batchnorm's running statistics);
``loss``       ``loss(X, y)``'s loss, with the course's convention ``0.5 * reg * sum(W**2)`` over weights;
``dW1`` ...    every gradient, against the reference's and against the numeric gradient of the
               student's *own* loss (so a gradient that is right for a wrong loss is told apart);
``scores after a train step``   (batchnorm) test-mode scores after one ``loss(X, y)``: the running
               statistics must have moved as the reference's did.

With dropout the training loss depends on the mask, so its loss and gradients are checked against the
numeric gradient of the student's own loss only (the worker pins numpy's global generator per call).
Diagnoses: the regularization's factor or convention (a difference of exactly ``c * reg * W``), reg on
biases, a missing layer's reg term, a data term not divided by N, test-time dropout, scores computed in
train mode, running statistics never updated.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from _rules.tolerances import CHECKER, tolerance

from _gradcheck.core.measure import close, relative_error
from _gradcheck.core.result import ERROR, FAIL, PASS
from _gradcheck.diagnose.assignment1 import reg_coefficient
from _gradcheck.grader.rows import judge
from _gradcheck.grader.assignment.common import (
    StudentRaised, AssignmentJob, call_student, error_row, reference_module, row, timed)
from _gradcheck.grader.assignment.remote import construct

__all__ = ["CLASSES", "CONFIGS", "jobs", "grade_model", "layers_note"]

KIND = "model"
CLASSES = ("TwoLayerNet", "FullyConnectedNet", "ThreeLayerConvNet")
H_NUMERIC = 1e-5
N = 4

CONFIGS = {
    "TwoLayerNet": [
        ("reg 0.3", dict(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.1, reg=0.3)),
    ],
    "FullyConnectedNet": [
        ("2 hidden, reg 0.2", dict(hidden_dims=[5, 4], input_dim=6, num_classes=3, reg=0.2, weight_scale=0.1,
                                   dtype="float64")),
        ("1 hidden, batchnorm, reg 0.1", dict(hidden_dims=[5], input_dim=6, num_classes=3, reg=0.1,
                                              normalization="batchnorm", weight_scale=0.1, dtype="float64")),
        ("3 hidden, layernorm", dict(hidden_dims=[4, 5, 3], input_dim=6, num_classes=3, reg=0.0,
                                     normalization="layernorm", weight_scale=0.1, dtype="float64")),
        ("2 hidden, dropout 0.6", dict(hidden_dims=[5, 4], input_dim=6, num_classes=3, reg=0.0, weight_scale=0.1,
                                       dropout_keep_ratio=0.6, seed=123, dtype="float64")),
    ],
    "ThreeLayerConvNet": [
        ("reg 0.1", dict(input_dim=(3, 6, 6), num_filters=3, filter_size=3, hidden_dim=5, num_classes=3,
                         weight_scale=0.1, reg=0.1, dtype="float64")),
    ],
}


def _ref_kwargs(kw):
    out = dict(kw)
    if "dtype" in out:
        out["dtype"] = np.dtype(out["dtype"])
    return out


def _input(cls, kw, rng):
    if cls == "ThreeLayerConvNet":
        return rng.normal(0, 1, (2,) + tuple(kw["input_dim"])), rng.integers(0, kw["num_classes"], 2)
    X = rng.normal(0, 1, (N, 2, 3))   # examples of shape (2, 3): the model must flatten them
    return X, rng.integers(0, kw["num_classes"], N)


def _params_like(ref_params, rng):
    """Parameters to set in both models: random, biases and betas non-zero (so reg on them shows)."""
    out = {}
    for k, v in ref_params.items():
        if k.startswith("gamma"):
            out[k] = rng.uniform(0.5, 1.5, v.shape)
        elif k.startswith(("b", "beta")):
            out[k] = rng.normal(0, 0.3, v.shape)
        else:
            out[k] = rng.normal(0, 0.5, v.shape)
    return out


# ---------------------------------------------------------------------------------------------

def params_are_a_dict(r, got) -> bool:
    """False, with ``r``'s status and diagnosis set, unless ``model.params`` is a non-empty dict."""
    if isinstance(got, dict) and not got:
        r.update(status=ERROR, diagnosis="model.params is empty after __init__: not implemented yet")
        return False
    if not isinstance(got, dict):
        r.update(status=FAIL, diagnosis=f"model.params must be a dict of arrays, got {type(got).__name__}")
        return False
    return True


def params_names_and_shapes(got, ref_params) -> list:
    """What is wrong with ``got``'s names and shapes against ``ref_params``: missing, unexpected, misshapen."""
    missing = [k for k in ref_params if k not in got]
    extra = [k for k in got if k not in ref_params]
    wrong = [f"{k} {np.shape(got[k])} (expected {ref_params[k].shape})" for k in ref_params
             if k in got and np.shape(got[k]) != ref_params[k].shape]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:  # str(): the keys come from the student's dict, which may hold any hashable
        problems.append(f"unexpected {', '.join(map(str, extra))}")
    if wrong:
        problems.append(f"wrong shapes: {'; '.join(wrong)}")
    return problems


def _check_params(r, got, ref_params, kw):
    if not params_are_a_dict(r, got):
        return False
    problems = params_names_and_shapes(got, ref_params)
    if not problems:
        for k, v in got.items():
            v = np.asarray(v, np.float64)
            if k.startswith(("b", "beta")) and np.any(v):
                problems.append(f"{k} must start at 0")
            elif k.startswith("gamma") and not np.allclose(v, 1):
                problems.append(f"{k} must start at 1")
            elif k.startswith("W") and v.size >= 20:
                sd, ws = float(v.std()), float(kw.get("weight_scale", 0.1))
                if not 0.5 * ws <= sd <= 2 * ws:
                    problems.append(f"{k} has standard deviation {sd:.3g}; weight_scale * randn gives ~{ws:g}")
    if problems:
        r.update(status=FAIL, diagnosis="after __init__: " + "; ".join(problems)
                 + f" (the course's names: {', '.join(ref_params)})")
        return False
    return True


def _set_params(obj, params):
    for k, v in params.items():
        obj.set_item("params", k, v.copy())


def _numeric(obj, X, y, params, name, rng_seed, idx=None, h=H_NUMERIC):
    base = params[name]
    idx = np.arange(base.size) if idx is None else np.asarray(idx)
    vals = np.concatenate([base.flat[idx] + h, base.flat[idx] - h])
    both = np.concatenate([idx, idx])
    losses, stop = obj.map_loss("loss", [X, y], "params", name, base, both, vals, rng=rng_seed)
    if stop is not None:
        raise StudentRaised(f"loss(X, y) did not return a number with {name} changed by {h:g} (element "
                            f"{int(both[stop])})")
    n = len(idx)
    return (losses[:n] - losses[n:]) / (2 * h)


def _compare_numeric(obj, X, y, params, name, grad, rng_seed, scale):
    """``(max rel err, worst flat index)`` of ``grad`` against the student's own numeric gradient; elements
    whose numeric value changes with the step (a ReLU kink within h) are left out."""
    num = _numeric(obj, X, y, params, name, rng_seed)
    t = tolerance(np.float64)
    g = np.asarray(grad, np.float64).reshape(-1)
    floor = max(t.grad_frac * max(float(np.max(np.abs(num))), scale), 1e-12)  # scale: the model's largest gradient
    err = relative_error(g, num, floor)
    bad = np.flatnonzero(err > t.grad_rtol)
    if bad.size:
        fine = _numeric(obj, X, y, params, name, rng_seed, idx=bad, h=H_NUMERIC / 100)
        kink = np.abs(fine - num[bad]) > CHECKER.kink_slope * np.maximum(np.abs(num[bad]), floor)
        err[bad[kink]] = 0.0
    w = int(np.argmax(err))
    return float(err[w]), w, num


def _loss_and_grads(out, what):
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict)):
        raise StudentRaised(f"{what} must return (loss, grads) with grads a dict, got {type(out).__name__}"
                            + (" (not implemented yet?)" if out is None else ""))
    try:
        loss = float(np.asarray(out[0], np.float64))
    except (TypeError, ValueError):
        raise StudentRaised(f"{what}'s loss is not a number: {type(out[0]).__name__}") from None
    return loss, out[1]


def _reg_sums(params):
    ws = {k: float(np.sum(v ** 2)) for k, v in params.items() if k.startswith("W")}
    bs = {k: float(np.sum(v ** 2)) for k, v in params.items() if not k.startswith("W")}
    return ws, bs


def _explain_loss(loss, ref_loss, data_loss, params, reg, n):
    """Name the difference of ``loss`` from the course's; ``n`` is the batch the loss was computed on."""
    ws, bs = _reg_sums(params)
    S = sum(ws.values())
    # (difference from the course's loss, what it means); with reg = 0 the regularization causes are all 0
    reg_causes = [(0.5 * reg * S, "the loss adds reg * sum(W**2); the course's convention is 0.5 * reg * sum(W**2) "
                                  "(whose gradient is reg * W)"),
                  (-0.5 * reg * S, "the loss has no regularization term 0.5 * reg * sum(W**2)"),
                  (0.5 * reg * sum(v for k, v in bs.items() if k.startswith("b") and not k.startswith("beta")),
                   "the regularization also covers the biases: the course regularizes the weights W only"),
                  (0.5 * reg * sum(bs.values()), "the regularization also covers the biases, gamma and beta: the "
                                                  "course regularizes the weights W only")]
    reg_causes += [(-0.5 * reg * v, f"the regularization term misses {k}: 0.5 * reg * sum({k}**2) is not added")
                   for k, v in ws.items()]
    causes = (reg_causes if reg != 0 else []) + [
        ((n - 1) * data_loss, "the data loss is summed over the examples, not averaged (divide by N)")]
    for delta, text in causes:
        if abs(delta) > CHECKER.nonzero_term \
                and abs((loss - ref_loss) - delta) <= CHECKER.loss_cause * max(1.0, abs(ref_loss)):
            return text
    return "the loss differs from the course's (softmax data loss averaged over N + 0.5 * reg * sum(W**2))"


def _explain_grad(name, g, ref_g, data_g, params, reg, n):
    d = np.asarray(g, np.float64) - ref_g
    c = reg_coefficient(d, params[name], reg)
    if c is not None:
        k = round(c * 2) / 2
        if name.startswith("W"):
            if abs(k - 1) < CHECKER.coefficient:
                return (f"d{name} - the reference's = reg * {name}: the gradient holds 2 * reg * {name} (the "
                        f"derivative of reg * sum({name}**2)); with the course's 0.5 * reg * sum(W**2) it is "
                        f"reg * {name}")
            if abs(k + 1) < CHECKER.coefficient:
                return f"d{name} lacks the regularization gradient reg * {name}"
            return f"d{name} - the reference's = {c:.3g} * reg * {name}: the regularization gradient has the " \
                   f"wrong factor (reg * {name} is due)"
        factor = "" if abs(c - 1) < CHECKER.coefficient else f"{c:.3g} * "
        return f"d{name} - the reference's = {factor}reg * {name}: {name} is regularized; the course " \
               f"regularizes the weights W only"
    if data_g is not None and close(d, (n - 1) * data_g):
        return f"d{name} is the data gradient summed over the examples, not averaged (divide by N = {n})"
    return None


def _train_scores_mlp(params, X, kw, dropout=False):
    """Scores in train mode: batchnorm on batch statistics, and with ``dropout`` the course's seeded mask
    (each dropout call re-seeds: the first ``rand`` draw of the layer's shape, kept where ``< p``)."""
    h = X.reshape(X.shape[0], -1)
    L = len(kw["hidden_dims"]) + 1
    p = kw.get("dropout_keep_ratio", 1)
    for i in range(1, L):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if kw.get("normalization") == "batchnorm":
            h = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-5) * params[f"gamma{i}"] + params[f"beta{i}"]
        h = np.maximum(h, 0)
        if dropout and kw.get("seed") is not None:
            h = h * (np.random.RandomState(kw["seed"]).rand(*h.shape) < p) / p
    return h @ params[f"W{L}"] + params[f"b{L}"]


# ---------------------------------------------------------------------------------------------

def grade_model(session, cls, label, kw, seed=0) -> list:
    """Rows for one configuration of one model class."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed + 31)
    tag = f"{label}: "
    ref_mod = reference_module("classifiers.cnn" if cls == "ThreeLayerConvNet" else "classifiers.fc_net")
    np_state = np.random.get_state()
    try:
        ref = getattr(ref_mod, cls)(**_ref_kwargs(kw))
    finally:
        np.random.set_state(np_state)
    rows = []
    r_params = row(cls, tag + "(params)", KIND)
    rows.append(r_params)
    try:
        obj = call_student(lambda: construct(session, cls, rng=seed, **kw), what=f"{cls}({_kw_text(kw)})")
        got_params = call_student(obj.get, "params", what=f"{cls}.params")
    except StudentRaised as exc:
        return [error_row(cls, tag + "(init)", KIND, str(exc))]
    except AttributeError:
        return [error_row(cls, tag + "(init)", KIND, f"{cls}(...) did not return an object")]
    if not _check_params(r_params, got_params, ref.params, kw):
        return timed(rows, t0)
    params = _params_like(ref.params, rng)
    X, y = _input(cls, kw, rng)
    dropout = kw.get("dropout_keep_ratio", 1) < 1
    bn = kw.get("normalization") == "batchnorm"
    try:
        _set_params(obj, params)
        ref.params.update({k: v.copy() for k, v in params.items()})
        rows.append(_scores_row(obj, ref, cls, tag + "scores", X, kw, params, dropout, seed))
        ref_data = copy.deepcopy(ref)   # for the data term alone (reg 0), without moving ref's running stats
        ref_data.reg = 0.0
        got = call_student(obj.call, "loss", X.copy(), y.copy(), rng=seed, what=f"{cls}.loss(X, y)")
        loss, grads = _loss_and_grads(got, f"{cls}.loss(X, y)")
        ref_loss, ref_grads = ref.loss(X.copy(), y.copy())
        if bn:  # before the numeric gradient's many training calls move the running statistics further
            r = row(cls, tag + "scores after a train step", KIND)
            scores = call_student(obj.call, "loss", X.copy(), what=f"{cls}.loss(X) after loss(X, y)")
            if judge(r, scores, ref.loss(X.copy()), what="scores") is False:
                r.diagnosis = "test-mode scores after one loss(X, y) differ from the course's: the batchnorm " \
                                 "running statistics were not updated (or not passed on) by the training call"
            rows.append(r)
        rows += _loss_rows(obj, ref_data, cls, tag, X, y, params, kw, loss, grads, ref_loss, ref_grads, dropout,
                           seed)
    except StudentRaised as exc:
        rows.append(error_row(cls, tag + "(calls)", KIND, str(exc)))
    return timed(rows, t0)


def _kw_text(kw):
    return ", ".join(f"{k}={v!r}" for k, v in kw.items())


def _scores_row(obj, ref, cls, label, X, kw, params, dropout, seed):
    r = row(cls, label, KIND)
    scores = call_student(obj.call, "loss", X.copy(), rng=seed, what=f"{cls}.loss(X)")
    ref_scores = ref.loss(X.copy())
    if judge(r, scores, ref_scores, what="scores") or r.max_rel_error is None:
        return r
    again = call_student(obj.call, "loss", X.copy(), rng=seed + 1, what=f"{cls}.loss(X)")
    if dropout and (not close(again, scores) or close(scores, _train_scores_mlp(params, X, kw, dropout=True))):
        r.diagnosis = "loss(X) (test mode) still applies dropout (its scores are those of a masked network); " \
                         "dropout must be off at test time"
    elif kw.get("normalization") == "batchnorm" and close(scores, _train_scores_mlp(params, X, kw)):
        r.diagnosis = "loss(X) runs batchnorm in train mode (batch statistics): at test time (y is None) it " \
                         "must use the running statistics"
    else:
        r.diagnosis = "the test-mode scores differ from the course's on the same parameters"
    return r


def _loss_rows(obj, ref_data, cls, tag, X, y, params, kw, loss, grads, ref_loss, ref_grads, dropout, seed):
    rows = []
    reg = float(kw.get("reg", 0.0))
    data_loss, data_grads = ref_data.loss(X.copy(), y.copy())
    n = X.shape[0]
    scale = max(float(np.max(np.abs(v))) for v in ref_grads.values())
    if not dropout:  # with dropout the mask decides the loss: judged through its gradients below, no row
        r = row(cls, tag + "loss", KIND)
        if judge(r, np.asarray(loss), np.asarray(ref_loss), what="loss") is False:
            r.diagnosis = _explain_loss(loss, ref_loss, data_loss, params, reg, n)
        rows.append(r)
    for name in params:
        rg = row(cls, tag + f"d{name}", KIND)
        g = grads.get(name)
        if g is None:
            rg.update(status=FAIL, diagnosis=f"grads has no entry {name!r}")
            rows.append(rg)
            continue
        if np.shape(g) != params[name].shape:
            rg.update(status=FAIL, diagnosis=f"grads[{name!r}] has shape {np.shape(g)}, expected "
                                             f"{params[name].shape}")
            rows.append(rg)
            continue
        own_err, w, num = _compare_numeric(obj, X, y, params, name, g, seed, scale)
        own_ok = own_err <= tolerance(np.float64).grad_rtol
        if dropout:
            rg.update(status=PASS if own_ok else FAIL, max_rel_error=own_err,
                      worst_index=[int(i) for i in np.unravel_index(w, params[name].shape)],
                      analytic=float(np.asarray(g, np.float64).flat[w]), numeric=float(num[w]))
            if not own_ok:
                rg.diagnosis = f"d{name} is not the gradient of the model's own loss (numeric gradient of " \
                                  f"loss(X, y) with the dropout mask fixed)"
            rows.append(rg)
            continue
        if not judge(rg, g, ref_grads[name], what=f"d{name}", scale=scale):
            why = _explain_grad(name, g, ref_grads[name], data_grads[name], params, reg, n)
            own = "it matches the numeric gradient of the model's own loss, so the loss itself differs" if own_ok \
                else f"it is not the gradient of the model's own loss either (rel err {own_err:.2e})"
            rg.diagnosis = (why + "; " if why else "") + own
        elif not own_ok:
            rg.update(status=FAIL, max_rel_error=own_err, diagnosis=f"d{name} is the course's, but the model's own "
                                                                    f"loss has another gradient (rel err {own_err:.2e}): "
                                                                    f"the loss is wrong")
        rows.append(rg)
    return rows


def layers_note(cls, info) -> str | None:
    """Which layers the student's class runs on (from the worker's manifest)."""
    layers = info.get("layers") if isinstance(info, dict) else None
    if not isinstance(layers, dict):
        return None
    from _gradcheck.grader import specs

    known = {n for s in specs.specs() for n in (s.forward, *s.backwards)}
    own = [n for n in layers.get("own") or [] if n in known]
    toolkit = [n for n in layers.get("toolkit") or [] if n in known]
    if own and not toolkit:
        return f"{cls} is graded on the student's own layers ({', '.join(own[:6])}{', ...' if len(own) > 6 else ''})"
    if toolkit and not own:
        return f"{cls} is graded on the toolkit's layers (its module defines none of its own)"
    if own and toolkit:
        return f"{cls} is graded on the student's own {', '.join(own[:6])} and the toolkit's " \
               f"{', '.join(toolkit[:6])}{', ...' if len(toolkit) > 6 else ''}"
    return f"{cls}'s module has no layer function under a toolkit name (its own or imported by name)"


def jobs(manifest: dict, session, seed: int) -> list:
    out = []
    for cls in CLASSES:
        if cls not in manifest:
            continue
        for label, kw in CONFIGS[cls]:
            out.append(AssignmentJob(f"{cls} [{label}]",
                                     lambda cls=cls, label=label, kw=kw: grade_model(session, cls, label, kw, seed),
                                     {cls}, note=layers_note(cls, manifest[cls]), layer=cls, config=label))
    return out

