"""Assignment 1's linear losses: hand-computed values, naive == vectorized, numeric gradients in W,
the CS231n regularization convention, dtype and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from gradient_check import eval_numerical_gradient

PAIRS = {"softmax": (softmax_loss_naive, softmax_loss_vectorized), "svm": (svm_loss_naive, svm_loss_vectorized)}
ALL = [f for pair in PAIRS.values() for f in pair]


def _problem(rng, N, D, C, scale=0.1):
    return scale * rng.standard_normal((D, C)), rng.standard_normal((N, D)), rng.integers(0, C, size=N)


def test_softmax_loss_hand_computed():
    # Scores X @ W = [[1, 0], [0, 0]]; labels [0, 1]: -log(e/(e+1)) - log(1/2), halved; + reg*||W||^2
    W = np.array([[1.0, 0.0], [0.0, 0.0]])
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1])
    expected = (-math.log(math.e / (math.e + 1)) + math.log(2)) / 2 + 0.25 * 1.0
    for f in PAIRS["softmax"]:
        loss, dW = f(W, X, y, 0.25)
        assert loss == pytest.approx(expected, rel=1e-12)
        # dscores = probs - onehot, divided by N; dW = X^T dscores / N + 2 reg W
        p = math.e / (math.e + 1)
        want = np.array([[(p - 1) / 2, (1 - p) / 2], [0.25, -0.25]]) + 0.5 * W
        np.testing.assert_allclose(dW, want, rtol=1e-12)


def test_svm_loss_hand_computed():
    # Scores [[3, 1, 2]], label 0: margins 1-3+1 = -1 (inactive), 2-3+1 = 0 (at the kink: inactive)
    # Scores [[0, 2, 1]], label 0: margins 3 and 2 active.
    W = np.eye(3)
    X = np.array([[3.0, 1.0, 2.0], [0.0, 2.0, 1.0]])
    y = np.array([0, 0])
    for f in PAIRS["svm"]:
        loss, dW = f(W, X, y, 0.0)
        assert loss == pytest.approx((0 + 3 + 2) / 2, rel=1e-12)
        want = np.zeros((3, 3))
        want[:, 1] += X[1] / 2
        want[:, 2] += X[1] / 2
        want[:, 0] -= 2 * X[1] / 2
        np.testing.assert_allclose(dW, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("shape", [(1, 3, 2), (7, 5, 4), (20, 11, 10)])
@pytest.mark.parametrize("reg", [0.0, 0.37, 50.0])
def test_naive_and_vectorized_agree(name, shape, reg, rng):
    W, X, y = _problem(rng, *shape)
    (l_naive, d_naive), (l_vec, d_vec) = (f(W, X, y, reg) for f in PAIRS[name])
    assert l_naive == pytest.approx(l_vec, rel=1e-12)
    np.testing.assert_allclose(d_naive, d_vec, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [(4, 3, 2), (9, 6, 5)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_gradient_matches_numeric_gradient_in_W(f, shape, reg, rng):
    W, X, y = _problem(rng, *shape, scale=0.5)
    _, dW = f(W, X, y, reg)
    numeric = eval_numerical_gradient(lambda w: f(w, X, y, reg)[0], W.copy(), verbose=False, h=1e-6)
    np.testing.assert_allclose(dW, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_regularization_is_reg_times_squared_norm(f, rng):
    W, X, y = _problem(rng, 5, 4, 3)
    l0, d0 = f(W, X, y, 0.0)
    l1, d1 = f(W, X, y, 2.0)
    assert l1 - l0 == pytest.approx(2.0 * np.sum(W ** 2), rel=1e-12)
    np.testing.assert_allclose(d1 - d0, 4.0 * W, rtol=1e-12)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_inputs_not_mutated_and_float32_stays_float32(f, rng):
    W, X, y = _problem(rng, 6, 4, 3)
    W32, X32 = W.astype(np.float32), X.astype(np.float32)
    copies = (W32.copy(), X32.copy(), y.copy())
    loss, dW = f(W32, X32, y, 0.1)
    assert dW.dtype == np.float32 and isinstance(loss, float)
    for before, after in zip(copies, (W32, X32, y)):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_allclose(dW, f(W, X, y, 0.1)[1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("change, err, match", [
    (lambda W, X, y: (W, X[:, :-1], y), ValueError, "features per row"),
    (lambda W, X, y: (W, X, y[:-1]), ValueError, "one label per row"),
    (lambda W, X, y: (W, X, np.where(y == y[0], 3, y)), ValueError, "label 3 is out of range for 3 classes"),
    (lambda W, X, y: (W, X, y + 0.5), TypeError, "integer class labels"),
    (lambda W, X, y: (W.tolist(), X, y), TypeError, "W must be a real numeric ndarray"),
    (lambda W, X, y: (W, X[:0], y[:0]), ValueError, "no examples"),
])
def test_bad_input_raises_a_message_naming_it(f, change, err, match, rng):
    W, X, y = _problem(rng, 5, 4, 3)
    with pytest.raises(err, match=match):
        f(*change(W, X, y), 0.1)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
        f(W, X, y, -1.0)
