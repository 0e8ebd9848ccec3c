"""Multiclass SVM (hinge) loss of a linear classifier, naive and vectorized (assignment 1).

Both compute, for weights W, data X and labels y, with margin 1,

    loss = mean_i sum_{j != y[i]} max(0, s_ij - s_iy + 1) + reg * sum(W**2),   s = X @ W

and its gradient ``dW`` (the hinge's kink, a margin exactly 0, counts as inactive). The penalty
is ``reg * ||W||^2`` (gradient ``2 * reg * W``), as in the course's linear classifiers.

Notation
--------
N : number of examples
D : input dimension
C : number of classes
"""

from __future__ import annotations

import numpy as np

from ._linear_checks import check_linear_loss_args

__all__ = ["svm_loss_naive", "svm_loss_vectorized"]

DELTA = 1.0


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss and gradient with explicit loops.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Weights.
    X : ndarray, shape (N, D)
        A minibatch of data.
    y : ndarray of int, shape (N,)
        Labels; ``y[i] = c`` means X[i] has class c, 0 <= c < C.
    reg : float
        Regularization strength (>= 0).

    Returns
    -------
    loss : float
    dW : ndarray, shape (D, C)
        Gradient of the loss with respect to W, in the floating dtype of W and X.
    """
    W, X, y, reg, dtype = check_linear_loss_args(W, X, y, reg, "svm_loss_naive")
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.float64)
    for i in range(N):
        scores = X[i].astype(np.float64) @ W
        correct = scores[y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - correct + DELTA
            if margin > 0:
                loss += margin
                # The margin grows with class j's score and shrinks with the correct class's.
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W.astype(np.float64) ** 2)
    dW = dW / N + 2 * reg * W
    return float(loss), dW.astype(dtype)


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss and gradient without explicit loops; same inputs and outputs as
    :func:`svm_loss_naive`."""
    W, X, y, reg, dtype = check_linear_loss_args(W, X, y, reg, "svm_loss_vectorized")
    N = X.shape[0]
    rows = np.arange(N)
    scores = X @ W
    margins = scores - scores[rows, y][:, None] + dtype.type(DELTA)
    margins[rows, y] = 0
    active = margins > 0
    loss = np.sum(margins[active], dtype=np.float64) / N + reg * np.sum(W.astype(np.float64) ** 2)
    # Each active margin adds X[i] to its class's column and takes X[i] from the correct one.
    coeff = active.astype(dtype)
    coeff[rows, y] = -coeff.sum(axis=1)
    dW = X.T @ coeff / dtype.type(N) + dtype.type(2 * reg) * W
    return float(loss), dW.astype(dtype, copy=False)
