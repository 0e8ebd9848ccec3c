"""Grading a student's linear classifiers (assignment 1): ``LinearSVM`` and ``Softmax``.

Built in the worker and used by reference. ``train(X, y, learning_rate=0, num_iters=2)`` creates ``W``
(the course's ``0.001 * randn(D, C)``) without moving it; then ``loss(X, y, reg)`` (loss and ``dW``)
is compared with the toolkit's vectorized loss at that ``W``, ``predict(X)`` with ``argmax(X @ W)``,
and one SGD step of ``train`` on a one-example training set (every minibatch row is that example,
so the step is known) with ``W - learning_rate * dW``.
"""

from __future__ import annotations

import time

import numpy as np

from _gradcheck.core.result import FAIL
from _gradcheck.grader.rows import judge
from _gradcheck.grader.assignment.common import (
    AssignmentJob, StudentRaised, call_student, error_row, reference_module, row, timed)
from _gradcheck.grader.assignment.remote import construct

__all__ = ["CLASSES", "jobs", "grade_linear"]

KIND = "model"
CLASSES = {"LinearSVM": ("classifiers.linear_svm", "svm_loss_vectorized"),
           "Softmax": ("classifiers.softmax", "softmax_loss_vectorized")}
REG = 0.1


def grade_linear(session, cls, seed=0) -> list:
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed + 7)
    X, y = rng.normal(0, 1, (8, 5)), np.arange(8) % 3
    modname, fname = CLASSES[cls]
    ref_loss = getattr(reference_module(modname), fname)
    rows = []
    try:
        obj = call_student(lambda: construct(session, cls, rng=seed), what=f"{cls}()")
        call_student(obj.call, "train", X.copy(), y.copy(), learning_rate=0.0, reg=REG, num_iters=2, batch_size=4,
                     rng=seed, what=f"{cls}.train(X, y, learning_rate=0, num_iters=2)")
        W = call_student(obj.get, "W", what=f"{cls}.W")
    except (StudentRaised, AttributeError) as exc:
        return [error_row(cls, "(train)", KIND, str(exc))]
    r = row(cls, "W", KIND)
    rows.append(r)
    if not isinstance(W, np.ndarray) or W.shape != (5, 3):
        r.update(status=FAIL, diagnosis=f"after train(X, y) W must be an array of shape (D, C) = (5, 3), got "
                                        f"{getattr(W, 'shape', type(W).__name__)}"
                                        + (" (not implemented yet?)" if W is None else ""))
        return timed(rows, t0)
    W = np.asarray(W, np.float64)
    want_loss, want_dW = ref_loss(W, X, y, REG)
    try:
        got = call_student(obj.call, "loss", X.copy(), y.copy(), REG, what=f"{cls}.loss(X, y, reg)")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise StudentRaised(f"{cls}.loss must return (loss, dW), got {type(got).__name__}")
        r_loss, r_dw = row(cls, "loss", KIND), row(cls, "dW", KIND)
        judge(r_loss, np.asarray(got[0], np.float64), np.asarray(want_loss), what="loss")
        judge(r_dw, got[1], want_dW, what="dW")
        rows += [r_loss, r_dw]
        r_pred = row(cls, "predict", KIND)
        pred = call_student(obj.call, "predict", X.copy(), what=f"{cls}.predict(X)")
        want = np.argmax(X @ W, axis=1)
        if pred is None or np.shape(pred) != want.shape or not np.array_equal(np.asarray(pred), want):
            r_pred.update(status=FAIL, diagnosis="predict(X) must be argmax(X @ W) over the classes, shape (N,)"
                          + (" (not implemented yet?)" if pred is None else ""))
        rows.append(r_pred)
        rows.append(_train_step(obj, cls, X, y, W, ref_loss, seed))
    except StudentRaised as exc:
        rows.append(error_row(cls, "(calls)", KIND, str(exc)))
    return timed(rows, t0)


def _train_step(obj, cls, X, y, W, ref_loss, seed):
    r = row(cls, "train step", KIND)
    lr = 0.5
    call_student(obj.call, "train", X[:1].copy(), y[:1].copy(), learning_rate=lr, reg=REG, num_iters=1,
                 batch_size=3, rng=seed, what=f"{cls}.train on one example, one step")
    W2 = np.asarray(call_student(obj.get, "W", what=f"{cls}.W"), np.float64)
    _, g = ref_loss(W, X[[0, 0, 0]], y[[0, 0, 0]], REG)
    if judge(r, W2, W - lr * g, what="W after one step") is False:
        if np.shape(W2) == W.shape and np.allclose(W2, W):
            r.diagnosis = "train() leaves W unchanged: each iteration must step W -= learning_rate * dW"
        elif np.shape(W2) == W.shape and np.allclose(W2, W + lr * g):
            r.diagnosis = "train() steps uphill: W += learning_rate * dW (it must subtract)"
        else:
            r.diagnosis = "one step of train() on a one-example training set is not W - learning_rate * dW"
    return r


def jobs(manifest: dict, session, seed: int) -> list:
    return [AssignmentJob(cls, lambda cls=cls: grade_linear(session, cls, seed), {cls})
            for cls in CLASSES if cls in manifest]
