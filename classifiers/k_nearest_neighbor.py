"""k-nearest-neighbour classification with L2 distances (assignment 1).

The distance matrix is computed three ways that must agree: two loops (one pair at a time),
one loop (one test row against all training rows) and no loop, from
``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b``.

Notation
--------
num_test, num_train : number of test and training examples
D : dimension of one example
"""

from __future__ import annotations

import numpy as np

__all__ = ["KNearestNeighbor"]


def _as_rows(X, name, D=None):
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real 2-D ndarray (rows are examples), got "
                         f"{getattr(X, 'shape', type(X).__name__)}")
    if D is not None and X.shape[1] != D:
        raise ValueError(f"{name} has {X.shape[1]} values per row but the training data has {D}")
    return X.astype(np.float64, copy=False)


class KNearestNeighbor:
    """A kNN classifier with Euclidean (L2) distance."""

    def __init__(self):
        pass

    def train(self, X, y):
        """Memorize the training data: X of shape (num_train, D) and labels y of shape (num_train,)."""
        X = _as_rows(X, "X")
        y = np.asarray(y)
        if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
            raise ValueError(f"y must hold one integer label per row of X (shape ({X.shape[0]},)), got "
                             f"dtype {y.dtype} shape {y.shape}")
        self.X_train = X
        self.y_train = y

    def _test_rows(self, X):
        if not hasattr(self, "X_train"):
            raise ValueError("call train(X, y) before computing distances or predicting")
        return _as_rows(X, "X", self.X_train.shape[1])

    def predict(self, X, k=1, num_loops=0):
        """Predict a label for every row of X from its k nearest training rows.

        Parameters
        ----------
        X : ndarray, shape (num_test, D)
        k : int
            Number of neighbours that vote.
        num_loops : 0, 1 or 2
            Which distance implementation to use.

        Returns
        -------
        ndarray of int, shape (num_test,)
        """
        compute = {0: self.compute_distances_no_loops, 1: self.compute_distances_one_loop,
                   2: self.compute_distances_two_loops}.get(num_loops)
        if compute is None:
            raise ValueError(f"Invalid value {num_loops!r} for num_loops (expected 0, 1 or 2)")
        return self.predict_labels(compute(X), k=k)

    def compute_distances_two_loops(self, X):
        """L2 distance of every test row to every training row, one pair at a time.

        Returns
        -------
        dists : ndarray, shape (num_test, num_train)
            ``dists[i, j]`` is the distance between test row i and training row j.
        """
        X = self._test_rows(X)
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            for j in range(self.X_train.shape[0]):
                dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))
        return dists

    def compute_distances_one_loop(self, X):
        """Same as :meth:`compute_distances_two_loops`, one test row against all training rows."""
        X = self._test_rows(X)
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            dists[i] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
        return dists

    def compute_distances_no_loops(self, X):
        """Same as :meth:`compute_distances_two_loops`, with one matrix product and broadcasting."""
        X = self._test_rows(X)
        squared = (np.sum(X ** 2, axis=1)[:, None] + np.sum(self.X_train ** 2, axis=1)[None, :]
                   - 2.0 * X @ self.X_train.T)
        # Rounding can leave a tiny negative where the true squared distance is 0.
        return np.sqrt(np.maximum(squared, 0.0))

    def predict_labels(self, dists, k=1):
        """Vote among the k nearest training labels; a tie goes to the smallest label.

        Parameters
        ----------
        dists : ndarray, shape (num_test, num_train)
        k : int
            1 <= k <= num_train.

        Returns
        -------
        ndarray of int, shape (num_test,)
        """
        dists = np.asarray(dists)
        if not hasattr(self, "y_train"):
            raise ValueError("call train(X, y) before predicting")
        if dists.ndim != 2 or dists.shape[1] != len(self.y_train):
            raise ValueError(f"dists must have shape (num_test, {len(self.y_train)}), got {dists.shape}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(self.y_train):
            raise ValueError(f"k must be an int in 1..{len(self.y_train)}, got {k!r}")
        y_pred = np.zeros(dists.shape[0], dtype=self.y_train.dtype)
        for i in range(dists.shape[0]):
            # A stable sort keeps the earlier training row first among equal distances.
            closest_y = self.y_train[np.argsort(dists[i], kind="stable")[:k]]
            labels, counts = np.unique(closest_y, return_counts=True)
            y_pred[i] = labels[np.argmax(counts)]  # argmax takes the first (smallest) of tied labels
        return y_pred
