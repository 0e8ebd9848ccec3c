"""Grading a student's ``KNearestNeighbor`` (assignment 1): the three distance matrices and the vote.

The class is built in the worker (``KNearestNeighbor()``, then ``train(X_train, y_train)``) and used by
reference (:mod:`_gradcheck.grader.assignment.remote`). ``compute_distances_two_loops``, ``_one_loop`` and
``_no_loops`` are compared with the toolkit's L2 distances on the same data; ``predict_labels`` gets
the reference distances (no two equal within a row, so the k nearest are unambiguous) and labels
chosen so that many rows have a tied vote, which the course breaks towards the smallest label.
A failing method is explained by the classic mistakes replayed on the same data (squared
distances, a sign error in the no-loop expansion, L1 distances, the matrix transposed; the largest
or the nearest label winning a tie, ``k`` ignored, the farthest neighbours voting).
"""

from __future__ import annotations

import time

import numpy as np

from _gradcheck.core.measure import close
from _gradcheck.core.result import FAIL, PASS
from _gradcheck.grader.rows import judge
from _gradcheck.grader.assignment.common import (
    AssignmentJob, StudentRaised, call_student, error_row, reference_module, row, timed)
from _gradcheck.grader.assignment.remote import construct

__all__ = ["CLASS", "METHODS", "jobs", "grade_knn"]

CLASS = "KNearestNeighbor"
DISTANCES = ("compute_distances_two_loops", "compute_distances_one_loop", "compute_distances_no_loops")
METHODS = DISTANCES + ("predict_labels",)
KIND = "knn"
VOTE_KS = (1, 3, 4, 5)


def data(seed: int):
    rng = np.random.default_rng(seed + 20)
    X_train = rng.normal(0, 1, (24, 10))
    X_test = rng.normal(0, 1, (9, 10))
    y_train = rng.integers(0, 4, 24)
    return X_train, y_train, X_test


def _distance_mistakes(X, T, ref):
    x2 = (X ** 2).sum(1)[:, None]
    t2 = (T ** 2).sum(1)[None, :]
    with np.errstate(invalid="ignore"):
        return [
            (ref ** 2, "these are squared distances: take the square root"),
            (np.sqrt(x2 + t2 + 2 * X @ T.T), "sign error in the expansion: ||x - t||^2 = ||x||^2 + ||t||^2 "
                                              "- 2 x.t (the cross term is subtracted)"),
            (np.sqrt(np.abs(x2 + t2 - X @ T.T)), "the cross term lacks its factor 2: ||x||^2 + ||t||^2 - 2 x.t"),
            (np.abs(X[:, None, :] - T[None, :, :]).sum(-1), "these are L1 distances; the course uses L2"),
            (ref.T, "the matrix is transposed: dists[i, j] is test row i against training row j, shape "
                    "(num_test, num_train)"),
            (np.sqrt(np.abs(x2 - 2 * X @ T.T)), "the training rows' squared norms ||t||^2 are missing"),
            (np.sqrt(np.abs(t2 - 2 * X @ T.T)), "the test rows' squared norms ||x||^2 are missing"),
        ]


def _vote(y_train, dists, k, tie="smallest", nearest=True):
    """The k-nearest vote under a mistaken rule (the course's own vote is the reference's ``predict_labels``)."""
    out = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        order = np.argsort(dists[i], kind="stable")
        order = order if nearest else order[::-1]
        closest = y_train[order[:k]]
        labels, counts = np.unique(closest, return_counts=True)
        top = labels[counts == counts.max()]
        if tie == "smallest":
            out[i] = top.min()
        elif tie == "largest":
            out[i] = top.max()
        else:  # the tied label met first among the nearest (Counter.most_common, a dict's order)
            out[i] = next(c for c in closest if c in top)
    return out


def _vote_mistakes(y_train, dists, k):
    return [
        (_vote(y_train, dists, k, tie="largest"), "a tied vote goes to the largest label; the course's goes to "
                                                  "the smallest"),
        (_vote(y_train, dists, k, tie="first"), "a tied vote goes to the label of the nearest neighbour among "
                                                "them (Counter.most_common?); the course's goes to the smallest label"),
        (_vote(y_train, dists, 1), "k is ignored: only the nearest neighbour votes"),
        (_vote(y_train, dists, k, nearest=False), "the k farthest training rows vote (argsort descending?)"),
    ]


def _method_rows(obj, method, X_train, y_train, X_test, ref_knn):
    r = row(method, "dists" if method in DISTANCES else "labels", KIND, function=f"{CLASS}.{method}")
    if method in DISTANCES:
        ref = ref_knn.compute_distances_two_loops(X_test)
        got = call_student(obj.call, method, X_test.copy(), what=f"{CLASS}.{method}(X)")
        if got is None:
            return error_row(method, "dists", KIND, f"{CLASS}.{method} returned None (not implemented yet?)",
                             function=f"{CLASS}.{method}")
        judge(r, got, ref, what="dists")
        if r.status != PASS:
            g = np.asarray(got, dtype=np.float64) if np.asarray(got).dtype.kind in "biuf" else None
            if g is not None and g.shape == ref.shape and not np.any(g):
                r.diagnosis = "all distances are 0, as in the starter code (not implemented yet?)"
            else:
                found = [t for m, t in _distance_mistakes(X_test, X_train, ref)
                         if g is not None and m.shape == g.shape and _close(g, m)]
                r.diagnosis = found[0] if found else (r.diagnosis or "the distances differ from the "
                                                         "L2 distances (the 'analytic' value is yours)")
        return r
    dists = ref_knn.compute_distances_two_loops(X_test)
    for k in VOTE_KS:
        ref = ref_knn.predict_labels(dists, k=k)
        got = call_student(obj.call, method, dists.copy(), k=k, what=f"{CLASS}.predict_labels(dists, k={k})")
        if got is None:
            return error_row(method, "labels", KIND, f"{CLASS}.predict_labels returned None (not implemented yet?)",
                             function=f"{CLASS}.{method}")
        g = np.asarray(got)
        if g.shape != ref.shape or g.dtype.kind not in "biuf" or not np.array_equal(g, ref):
            bad = int(np.argmax(g != ref)) if g.shape == ref.shape else None
            found = [t for m, t in _vote_mistakes(y_train, dists, k) if g.shape == m.shape and np.array_equal(g, m)]
            ties = sum(_tied(y_train, dists[i], k) for i in range(dists.shape[0]))
            if g.shape == ref.shape and not np.any(g) and np.any(ref):
                text = "every label is 0, as in the starter code (not implemented yet?)"
            elif found:
                text = found[0]
            elif g.shape != ref.shape:
                text = f"labels have shape {g.shape}, expected {ref.shape}"
            else:
                text = "the predicted labels differ from the k-nearest vote"
            r.update(status=FAIL, worst_index=None if bad is None else [bad],
                     analytic=None if bad is None else float(g.flat[bad]),
                     numeric=None if bad is None else float(ref[bad]), max_rel_error=None,
                     diagnosis=f"with k = {k} ({ties} of {len(ref)} rows have a tied vote): {text}")
            return r
    return r


def _tied(y_train, d, k) -> bool:
    labels, counts = np.unique(y_train[np.argsort(d, kind="stable")[:k]], return_counts=True)
    return int((counts == counts.max()).sum()) > 1


def _close(a, b) -> bool:
    return close(np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(b), b, 0.0))


def grade_knn(session, methods, seed: int = 0) -> list:
    """Rows for the student's ``KNearestNeighbor``: one per method it defines."""
    t0 = time.perf_counter()
    X_train, y_train, X_test = data(seed)
    ref_knn = reference_module("classifiers.k_nearest_neighbor").KNearestNeighbor()
    ref_knn.train(X_train, y_train)
    try:
        obj = call_student(lambda: construct(session, CLASS), what=f"{CLASS}()")
        call_student(obj.call, "train", X_train.copy(), y_train.copy(), what=f"{CLASS}.train(X, y)")
    except (StudentRaised, AttributeError) as exc:
        return [error_row(CLASS, "(train)", KIND, str(exc))]
    rows = []
    for method in methods:
        try:
            rows.append(_method_rows(obj, method, X_train, y_train, X_test, ref_knn))
        except StudentRaised as exc:
            rows.append(error_row(method, "(call)", KIND, str(exc), function=f"{CLASS}.{method}"))
    return timed(rows, t0)


def jobs(manifest: dict, session, seed: int) -> list:
    """One job for the student's ``KNearestNeighbor`` class, if its module defines one."""
    if CLASS not in manifest:
        return []
    return [AssignmentJob(CLASS, lambda: grade_knn(session, METHODS, seed), set(METHODS) | {CLASS})]
