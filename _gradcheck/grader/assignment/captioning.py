"""Grading a student's ``CaptioningRNN`` (assignment 3), with a tanh RNN and with an LSTM, in float64.

The model is built in the worker (:mod:`_gradcheck.grader.assignment.remote`) on whatever recurrent layers its
module provides (its own, or the toolkit's it imports), and checked here against the toolkit's
``classifiers.rnn.CaptioningRNN`` built with the same arguments and given the same parameters:

``(params)``   the parameter names and shapes after ``__init__`` (``W_embed``, ``W_proj``, ``b_proj``,
               ``Wx``, ``Wh``, ``b``, ``W_vocab``, ``b_vocab``), biases zero;
``loss``       ``loss(features, captions)``'s loss on captions padded with ``<NULL>``;
``dW_embed`` ...  every gradient, against the reference's and against the numeric gradient of the
               student's *own* loss (a gradient right for a wrong loss is told apart);
``sample``     ``sample(features, max_length)``: the greedy captions of the same parameters.

Diagnoses of a wrong loss: the ``<NULL>`` mask ignored, captions not shifted into ``captions[:, :-1]``
(read) and ``captions[:, 1:]`` (scored), the projected features not used as the initial hidden state,
and the loss averaged over the words instead of over the N captions.
"""

from __future__ import annotations

import time

import numpy as np

from _rules.tolerances import CHECKER, tolerance

from _gradcheck.core.result import ERROR, FAIL
from _gradcheck.grader.rows import judge
from _gradcheck.grader.assignment.common import (
    StudentRaised, AssignmentJob, call_student, error_row, reference_module, row, timed)
from _gradcheck.grader.assignment.models import (
    _compare_numeric, _loss_and_grads, layers_note, params_are_a_dict, params_names_and_shapes)
from _gradcheck.grader.assignment.remote import construct

__all__ = ["CLASS", "CONFIGS", "jobs", "grade_captioning"]

KIND = "model"
CLASS = "CaptioningRNN"
WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "cat": 4, "on": 5, "mat": 6}
MAX_LENGTH = 6
CONFIGS = [
    (f"{cell}", dict(word_to_idx=WORDS, input_dim=6, wordvec_dim=4, hidden_dim=5, cell_type=cell,
                     dtype="float64"))
    for cell in ("rnn", "lstm")
]
PARAM_ORDER = ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def _inputs(rng):
    """Features (3, D) and captions (3, 6): <START> words [<END>] <NULL>..., so the mask matters."""
    features = rng.normal(0, 1, (3, 6))
    captions = np.array([[1, 3, 4, 5, 6, 2],
                         [1, 4, 2, 0, 0, 0],
                         [1, 6, 3, 2, 0, 0]], dtype=np.int64)
    return features, captions


def _params_like(ref_params, rng):
    """Random parameters for both models, biases non-zero (so a bias left out shows)."""
    return {k: rng.normal(0, 0.5 if k.startswith("b") else 0.6, v.shape) for k, v in ref_params.items()}


# ---------------------------------------------------------------------------------------------
# The course's forward pass with one step done differently: the wrong losses a diagnosis names.

def _variant_loss(params, features, captions, cell, *, mask=True, shift="course", h0="proj", per="N"):
    L = reference_module("layers")
    if shift == "course":
        cin, cout = captions[:, :-1], captions[:, 1:]
    elif shift == "none":
        cin, cout = captions, captions
    else:   # swapped
        cin, cout = captions[:, 1:], captions[:, :-1]
    m = (cout != WORDS["<NULL>"]) if mask else np.ones(cout.shape, bool)
    h, _ = L.affine_forward(features, params["W_proj"], params["b_proj"])
    if h0 == "zero":
        h = np.zeros_like(h)
    elif h0 == "tanh":
        h = np.tanh(h)
    x, _ = L.word_embedding_forward(cin, params["W_embed"])
    fwd = L.rnn_forward if cell == "rnn" else L.lstm_forward
    hs, _ = fwd(x, h, params["Wx"], params["Wh"], params["b"])
    scores, _ = L.temporal_affine_forward(hs, params["W_vocab"], params["b_vocab"])
    loss, _ = L.temporal_softmax_loss(scores, cout, m)
    if per == "words":
        loss = loss * features.shape[0] / max(1, int(m.sum()))
    return float(loss)


_LOSS_CAUSES = [
    (dict(mask=False), "the <NULL> padding is scored: the loss ignores the mask (captions_out != <NULL>) that "
                       "temporal_softmax_loss must be given"),
    (dict(shift="none"), "captions are not shifted: the network must read captions[:, :-1] (captions_in) and be "
                         "scored on captions[:, 1:] (captions_out)"),
    (dict(shift="none", mask=False), "captions are not shifted (captions_in = captions[:, :-1], captions_out = "
                                     "captions[:, 1:]) and the <NULL> mask is ignored"),
    (dict(shift="swapped"), "captions_in and captions_out are swapped: read captions[:, :-1], score "
                            "captions[:, 1:]"),
    (dict(h0="zero"), "the projected image features are not the initial hidden state: h0 must be "
                      "features @ W_proj + b_proj (the RNN starts from zeros here)"),
    (dict(h0="tanh"), "h0 passes through tanh: the course's initial hidden state is the affine projection "
                      "features @ W_proj + b_proj alone"),
    (dict(per="words"), "the loss is averaged over the non-<NULL> words; the course sums over the time steps "
                        "and averages over the N captions"),
]


def _explain_loss(loss, params, features, captions, cell):
    for kw, text in _LOSS_CAUSES:
        v = _variant_loss(params, features, captions, cell, **kw)
        if abs(loss - v) <= CHECKER.caption_loss_cause * max(1.0, abs(v)):
            return text
    return "the loss differs from the course's (temporal softmax over captions[:, 1:], <NULL> masked, summed " \
           "over time and averaged over N, from h0 = features @ W_proj + b_proj)"


# ---------------------------------------------------------------------------------------------

def grade_captioning(session, label, kw, seed=0) -> list:
    """Rows for one configuration (one cell type) of the student's CaptioningRNN."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed + 47)
    tag = f"{label}: "
    ref_kw = dict(kw, dtype=np.float64)
    np_state = np.random.get_state()
    try:
        ref = reference_module("classifiers.rnn").CaptioningRNN(**ref_kw)
    finally:
        np.random.set_state(np_state)
    rows = []
    try:
        obj = call_student(lambda: construct(session, CLASS, rng=seed, **kw), what=f"{CLASS}(..., "
                                                                                   f"cell_type={kw['cell_type']!r})")
        got_params = call_student(obj.get, "params", what=f"{CLASS}.params")
    except StudentRaised as exc:
        return [error_row(CLASS, tag + "(init)", KIND, str(exc))]
    except AttributeError:
        return [error_row(CLASS, tag + "(init)", KIND, f"{CLASS}(...) did not return an object")]
    r_params = row(CLASS, tag + "(params)", KIND)
    rows.append(r_params)
    if not _check_params(r_params, got_params, ref.params):
        return timed(rows, t0)
    params = _params_like(ref.params, rng)
    features, captions = _inputs(rng)
    try:
        for k, v in params.items():
            obj.set_item("params", k, v.copy())
        ref.params.update({k: v.copy() for k, v in params.items()})
        rows += _loss_rows(obj, ref, tag, params, features, captions, kw["cell_type"], seed)
    except StudentRaised as exc:
        rows.append(error_row(CLASS, tag + "(loss)", KIND, str(exc)))
    try:
        # Larger weights and more images than the loss's: greedy captions that vary from word to word and
        # image to image, so that a sampler feeding back the wrong word or state shows.
        sample_params = {k: 4 * v for k, v in params.items()}
        for k, v in sample_params.items():
            obj.set_item("params", k, v.copy())
        ref.params.update({k: v.copy() for k, v in sample_params.items()})
        rows.append(_sample_row(obj, ref, tag, rng.normal(0, 1, (6, features.shape[1])), seed))
    except StudentRaised as exc:
        rows.append(error_row(CLASS, tag + "sample", KIND, str(exc)))
    return timed(rows, t0)


def _check_params(r, got, ref_params) -> bool:
    if not params_are_a_dict(r, got):
        return False
    problems = params_names_and_shapes(got, ref_params)
    if not problems:
        nonzero = [k for k in ("b_proj", "b", "b_vocab") if np.any(np.asarray(got[k], np.float64))]
        if nonzero:
            problems.append(f"{', '.join(nonzero)} must start at 0")
    if problems:
        r.update(status=FAIL, diagnosis="after __init__: " + "; ".join(problems)
                 + " (the course's shapes: " + ", ".join(f"{k} {v.shape}" for k, v in ref_params.items())
                 + "; Wx, Wh and b have 4H columns for 'lstm')")
        return False
    return True


def _loss_rows(obj, ref, tag, params, features, captions, cell, seed):
    got = call_student(obj.call, "loss", features.copy(), captions.copy(), rng=seed,
                       what=f"{CLASS}.loss(features, captions)")
    loss, grads = _loss_and_grads(got, f"{CLASS}.loss(features, captions)")
    if not grads and loss == 0.0:
        return [error_row(CLASS, tag + "loss", KIND, "loss(features, captions) returns (0.0, {}): not "
                                                     "implemented yet")]
    ref_loss, ref_grads = ref.loss(features.copy(), captions.copy())
    rows = []
    r = row(CLASS, tag + "loss", KIND)
    loss_ok = judge(r, np.asarray(loss), np.asarray(ref_loss), what="loss")
    if not loss_ok:
        r.diagnosis = _explain_loss(loss, params, features, captions, cell)
    rows.append(r)
    scale = max(float(np.max(np.abs(v))) for v in ref_grads.values())
    for name in PARAM_ORDER:
        rg = row(CLASS, tag + f"d{name}", KIND)
        g = grads.get(name)
        problem = _grad_problem(name, g, params[name].shape)
        if problem:
            rg.update(status=FAIL, diagnosis=problem)
            rows.append(rg)
            continue
        own_err, _, _ = _compare_numeric(obj, features, captions, params, name, g, seed, scale)
        own_ok = own_err <= tolerance(np.float64).grad_rtol
        if not judge(rg, g, ref_grads[name], what=f"d{name}", scale=scale):
            rg.diagnosis = ("it matches the numeric gradient of the model's own loss, so the loss itself "
                               "differs" + ("" if loss_ok else f" ({r.diagnosis})")) if own_ok \
                else f"it is not the gradient of the model's own loss either (rel err {own_err:.2e})"
        elif not own_ok:
            rg.update(status=FAIL, max_rel_error=own_err,
                      diagnosis=f"d{name} is the course's, but the model's own loss has another gradient "
                                f"(rel err {own_err:.2e}): the loss is wrong")
        rows.append(rg)
    return rows


def _grad_problem(name, g, shape):
    if g is None:
        return f"grads has no entry {name!r}"
    try:
        arr = np.asarray(g)
        numeric = arr.dtype.kind in "biuf"
    except Exception:  # noqa: BLE001 - anything the student returned
        arr, numeric = None, False
    if not numeric:
        return f"grads[{name!r}] must be a numeric array, got {type(g).__name__}"
    if arr.shape != shape:
        return f"grads[{name!r}] has shape {arr.shape}, expected {shape}"
    return None


def _sample_row(obj, ref, tag, features, seed):
    r = row(CLASS, tag + "sample", KIND)
    got = call_student(obj.call, "sample", features.copy(), MAX_LENGTH, rng=seed,
                       what=f"{CLASS}.sample(features, {MAX_LENGTH})")
    want = ref.sample(features.copy(), MAX_LENGTH)
    try:
        arr = np.asarray(got)
        ok_type = arr.dtype.kind in "iu" or (arr.dtype.kind == "f" and np.all(arr == np.round(arr)))
    except Exception:  # noqa: BLE001 - anything the student returned
        ok_type = False
    if not ok_type:
        r.update(status=FAIL, diagnosis=f"sample must return an array of word indices, got {type(got).__name__}"
                 + (" (not implemented yet?)" if got is None else ""))
        return r
    if arr.shape != want.shape:
        r.update(status=FAIL, diagnosis=f"sample returned shape {arr.shape}, expected {want.shape} "
                                        f"(N, max_length): the generated words, without <START>")
        return r
    bad = np.argwhere(arr != want)
    if not bad.size:
        return r
    n, t = (int(i) for i in bad[0])
    r.update(status=FAIL, worst_index=[n, t], analytic=float(arr[n, t]), numeric=float(want[n, t]))
    if np.all(arr == WORDS["<NULL>"]):
        r.update(status=ERROR, diagnosis="sample returns only <NULL> words: not implemented yet")
    elif np.array_equal(arr, _sample_from_zero_h0(ref, features)):
        r.diagnosis = "sample starts from h0 = 0: the initial hidden state must be the projected features " \
                         "features @ W_proj + b_proj"
    elif np.array_equal(arr, _sample_reading_start(ref, features)):
        r.diagnosis = "sample reads the <START> word at every step: each step must read the word generated " \
                         "at the step before (the argmax of its scores)"
    elif np.array_equal(arr[:, 1:], want[:, :-1]) and np.all(arr[:, 0] == WORDS["<START>"]):
        r.diagnosis = "sample's captions begin with <START>: return the generated words only"
    else:
        r.diagnosis = (f"{len(bad)} of {want.size} greedy words differ from the course's on the same "
                          f"parameters (first: caption {n}, step {t}: {int(arr[n, t])}, expected "
                          f"{int(want[n, t])}); each step feeds back the argmax word, from h0 = features @ "
                          f"W_proj + b_proj and the <START> word")
    return r


def _sample_from_zero_h0(ref, features):
    saved = {k: ref.params[k] for k in ("W_proj", "b_proj")}
    try:
        ref.params.update({k: np.zeros_like(v) for k, v in saved.items()})
        return ref.sample(features.copy(), MAX_LENGTH)
    finally:
        ref.params.update(saved)


def _sample_reading_start(ref, features):
    """The greedy captions of a sampler that never feeds its words back."""
    L = reference_module("layers")
    p = ref.params
    h, _ = L.affine_forward(features, p["W_proj"], p["b_proj"])
    c = np.zeros_like(h)
    x = p["W_embed"][np.full(features.shape[0], WORDS["<START>"])]
    out = []
    for _ in range(MAX_LENGTH):
        if ref.cell_type == "rnn":
            h, _ = L.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        else:
            h, c, _ = L.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        out.append(np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1))
    return np.stack(out, axis=1)


def jobs(manifest: dict, session, seed: int) -> list:
    if CLASS not in manifest:
        return []
    return [AssignmentJob(f"{CLASS} [{label}]",
                          lambda label=label, kw=kw: grade_captioning(session, label, kw, seed),
                          {CLASS}, note=layers_note(CLASS, manifest[CLASS]), layer=CLASS, config=label)
            for label, kw in CONFIGS]
