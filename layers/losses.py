"""Classification losses: softmax cross-entropy and multiclass hinge (SVM).

Each returns ``(loss, dx)`` in one call, as in CS231n: the loss averaged over the batch and its
gradient with respect to the scores.

Notation
--------
N : batch size
C : number of classes
x : scores (logits), shape (N, C); ``x[i, j]`` is the score of class j for example i
y : labels, shape (N,), integers in [0, C)
"""

from __future__ import annotations

import numpy as np

from _rules.geometry import check_array, check_index_range, float_dtype, refuse_subclass

__all__ = ["softmax_loss", "svm_loss"]


def _check_scores_and_labels(x, y):
    """Validate scores and labels; return (N, C)."""
    check_array(x, "x", 2, "(N, C) of class scores")
    N, C = x.shape
    if N < 1 or C < 1:
        raise ValueError(f"x must have at least one example and one class, got shape {x.shape}")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"y must be a numpy ndarray of integer labels, got {type(y).__name__}")
    refuse_subclass(y, "y")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (N,):
        raise ValueError(f"y must have shape (N,) = ({N},), one label per row of x, got shape {y.shape}")
    check_index_range(y, C, "y", "labels", "C")
    return N, C


def softmax_loss(x, y):
    """Compute the mean softmax cross-entropy loss and its gradient.

    ``loss = -mean_i log(exp(x[i, y[i]]) / sum_j exp(x[i, j]))``. Each row is shifted by its
    maximum before exponentiating, so scores of any magnitude (e.g. +-1000) give a finite loss
    and an exact gradient.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Scores.
    y : ndarray of int, shape (N,)
        Labels in [0, C).

    Returns
    -------
    loss : numpy floating scalar
        In the floating dtype of x.
    dx : ndarray, shape (N, C)
        ``(softmax(x) - onehot(y)) / N``.
    """
    N, _ = _check_scores_and_labels(x, y)
    dtype = float_dtype(x)
    xf = x.astype(dtype, copy=False)
    shifted = xf - xf.max(axis=1, keepdims=True)
    # log-sum-exp of the shifted row: its largest term is exp(0) = 1, so the sum is in [1, C].
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_probs[rows, y].sum() / dtype.type(N)
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= dtype.type(N)
    return dtype.type(loss), dx


def svm_loss(x, y):
    """Compute the mean multiclass hinge loss (margin 1) and its gradient.

    ``loss = mean_i sum_{j != y[i]} max(0, x[i, j] - x[i, y[i]] + 1)``. A margin of exactly 0
    counts as inactive (zero subgradient).

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Scores.
    y : ndarray of int, shape (N,)
        Labels in [0, C).

    Returns
    -------
    loss : numpy floating scalar
        In the floating dtype of x.
    dx : ndarray, shape (N, C)
    """
    N, _ = _check_scores_and_labels(x, y)
    dtype = float_dtype(x)
    xf = x.astype(dtype, copy=False)
    rows = np.arange(N)
    margins = np.maximum(xf - xf[rows, y][:, None] + dtype.type(1), 0)
    margins[rows, y] = 0
    loss = margins.sum() / dtype.type(N)
    active = (margins > 0).astype(dtype)
    # The correct class's score is subtracted once in every active margin of its row.
    active[rows, y] = -active.sum(axis=1)
    active /= dtype.type(N)
    return dtype.type(loss), active
