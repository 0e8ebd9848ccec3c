"""Softmax (cross-entropy) loss of a linear classifier, naive and vectorized (assignment 1).

Both compute, for weights W, data X and labels y,

    loss = mean_i [ -log softmax(X[i] @ W)[y[i]] ] + reg * sum(W**2)

and its gradient ``dW``. Note the penalty is ``reg * ||W||^2`` (gradient ``2 * reg * W``), the
convention of the course's linear classifiers; the networks use ``0.5 * reg * ||W||^2``.

Notation
--------
N : number of examples
D : input dimension
C : number of classes
"""

from __future__ import annotations

import numpy as np

from ._linear_checks import check_linear_loss_args

__all__ = ["softmax_loss_naive", "softmax_loss_vectorized"]


def softmax_loss_naive(W, X, y, reg):
    """Softmax loss and gradient with explicit loops over examples and classes.

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
    W, X, y, reg, dtype = check_linear_loss_args(W, X, y, reg, "softmax_loss_naive")
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.float64)
    for i in range(N):
        scores = X[i].astype(np.float64) @ W
        scores -= scores.max()  # shifting every score by one constant leaves softmax unchanged
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y[i]])
        for j in range(C):
            # d(-log p_y)/d score_j = p_j - [j == y]; score_j = X[i] @ W[:, j]
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss = loss / N + reg * np.sum(W.astype(np.float64) ** 2)
    dW = dW / N + 2 * reg * W
    return float(loss), dW.astype(dtype)


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and gradient without explicit loops; same inputs and outputs as
    :func:`softmax_loss_naive`."""
    W, X, y, reg, dtype = check_linear_loss_args(W, X, y, reg, "softmax_loss_vectorized")
    N = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -np.sum(log_probs[rows, y], dtype=np.float64) / N + reg * np.sum(W.astype(np.float64) ** 2)
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.T @ dscores / dtype.type(N) + dtype.type(2 * reg) * W
    return float(loss), dW.astype(dtype, copy=False)
