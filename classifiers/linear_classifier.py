"""Linear classifiers trained by minibatch SGD: ``LinearSVM`` and ``Softmax`` (assignment 1).

A linear classifier scores ``X @ W`` (fold the bias in by appending a column of ones to X, the
"bias trick"). ``train`` samples minibatches with ``np.random.choice`` from numpy's global
generator and initializes W lazily with ``0.001 * np.random.randn``, so ``np.random.seed(k)``
reproduces a run, as in CS231n.

Notation
--------
N : number of examples
D : input dimension (including the bias column, if any)
C : number of classes
"""

from __future__ import annotations

import numpy as np

from ._common import ParamsFile, check_positive_int
from .linear_svm import svm_loss_naive, svm_loss_vectorized
from .softmax import softmax_loss_naive, softmax_loss_vectorized

__all__ = ["LinearClassifier", "LinearSVM", "Softmax", "svm_loss_naive", "svm_loss_vectorized",
           "softmax_loss_naive", "softmax_loss_vectorized"]


class LinearClassifier(ParamsFile):
    """Base class: SGD training and prediction; subclasses define :meth:`loss`.

    Attributes
    ----------
    W : ndarray, shape (D, C), or None before the first ``train``
    """

    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        """Fit W by stochastic gradient descent.

        Parameters
        ----------
        X : ndarray, shape (N, D)
        y : ndarray of int, shape (N,)
            Labels in 0..C-1; C is taken as ``max(y) + 1`` when W is first created.
        learning_rate : float
        reg : float
            Regularization strength passed to the loss.
        num_iters : int
            Number of SGD steps.
        batch_size : int
            Examples per step, drawn with replacement.
        verbose : bool
            Print the loss every 100 iterations.

        Returns
        -------
        list of float
            The minibatch loss of every iteration.
        """
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty 2-D ndarray (N, D), got {getattr(X, 'shape', type(X).__name__)}")
        y = np.asarray(y)
        if y.shape != (X.shape[0],) or y.dtype.kind not in "iu" or y.min() < 0:
            raise ValueError(f"y must hold one integer label >= 0 per row of X (shape ({X.shape[0]},)), "
                             f"got dtype {y.dtype} shape {y.shape}")
        if isinstance(num_iters, bool) or not isinstance(num_iters, (int, np.integer)) or num_iters < 0:
            raise ValueError(f"num_iters must be an int >= 0, got {num_iters!r}")
        batch_size = check_positive_int(batch_size, "batch_size")
        num_train, dim = X.shape
        num_classes = int(np.max(y)) + 1
        if self.W is None:
            self.W = 0.001 * np.random.randn(dim, num_classes)
        loss_history = []
        for it in range(num_iters):
            batch = np.random.choice(num_train, batch_size)
            loss, grad = self.loss(X[batch], y[batch], reg)
            loss_history.append(loss)
            self.W = self.W - learning_rate * grad
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        """Return the predicted class of every row of X: ``argmax(X @ W)``, shape (N,)."""
        if self.W is None:
            raise ValueError("this classifier has no weights yet: call train() (or load()) first")
        return np.argmax(X @ self.W, axis=1)

    def loss(self, X_batch, y_batch, reg):
        """Return ``(loss, dW)`` on a minibatch; defined by the subclasses."""
        raise NotImplementedError("use LinearSVM or Softmax, or subclass LinearClassifier and define loss()")

    def _params_to_save(self):
        return {"W": self.W}

    def _restore_params(self, params):
        self.W = params["W"]


class LinearSVM(LinearClassifier):
    """A linear classifier with the multiclass SVM loss."""

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier with the softmax (cross-entropy) loss."""

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
