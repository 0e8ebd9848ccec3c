"""Tests for layers/losses.py: softmax cross-entropy and multiclass hinge."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient, rel_error
from layers.losses import softmax_loss, svm_loss
from tests.conftest import assert_close, assert_unchanged, snapshot

LOSSES = [softmax_loss, svm_loss]


def test_softmax_loss_hand_computed():
    # Row 0: scores [0, ln 3], label 1 -> p = [1/4, 3/4], -log(3/4).
    # Row 1: scores [2, 2], label 0 -> p = [1/2, 1/2], -log(1/2).
    x = np.array([[0.0, math.log(3.0)], [2.0, 2.0]])
    y = np.array([1, 0])
    loss, dx = softmax_loss(x, y)
    assert loss == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2, rel=1e-12)
    # dx = (p - onehot) / N
    assert_close(dx, np.array([[0.25, -0.25], [-0.5, 0.5]]) / 2)


def test_svm_loss_hand_computed():
    # Row 0: scores [3, 1, 2.5], label 0: margins 1 - 3 + 1 = -1 -> 0, 2.5 - 3 + 1 = 0.5.
    # Row 1: scores [0, 0, 0], label 2: margins 1 and 1.
    # Row 2: scores [1, 2, 1], label 0: margins 2 - 1 + 1 = 2, 1 - 1 + 1 = 1.
    x = np.array([[3.0, 1.0, 2.5], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])
    y = np.array([0, 2, 0])
    loss, dx = svm_loss(x, y)
    assert loss == pytest.approx((0.5 + 2.0 + 3.0) / 3, rel=1e-12)
    expected = np.array([[-1.0, 0.0, 1.0], [1.0, 1.0, -2.0], [-2.0, 1.0, 1.0]]) / 3
    assert_close(dx, expected)


def test_svm_margin_exactly_zero_is_inactive():
    # 1.0 - 2.0 + 1 == 0 exactly: the margin is not active, no loss, no gradient.
    loss, dx = svm_loss(np.array([[2.0, 1.0]]), np.array([0]))
    assert loss == 0.0
    np.testing.assert_array_equal(dx, [[0.0, 0.0]])


def test_softmax_extreme_logits_give_finite_loss_and_exact_gradient():
    x = np.array([[1000.0, -1000.0], [1000.0, -1000.0], [-1000.0, -1000.0]])
    y = np.array([0, 1, 1])
    loss, dx = softmax_loss(x, y)
    # Row 0 is certain and right: 0. Row 1 is certain and wrong: 2000. Row 2 is a tie: log 2.
    assert np.isfinite(loss)
    assert loss == pytest.approx((0.0 + 2000.0 + math.log(2.0)) / 3, rel=1e-12)
    np.testing.assert_array_equal(dx, np.array([[0.0, 0.0], [1.0, -1.0], [0.5, -0.5]]) / 3)


def test_svm_extreme_logits():
    x = np.array([[1000.0, -1000.0], [1000.0, -1000.0]])
    y = np.array([0, 1])
    loss, dx = svm_loss(x, y)
    assert loss == pytest.approx(2001.0 / 2, rel=1e-12)
    np.testing.assert_array_equal(dx, np.array([[0.0, 0.0], [1.0, -1.0]]) / 2)


def test_softmax_extreme_logits_float32():
    x = np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32)
    loss, dx = softmax_loss(x, np.array([2]))
    assert loss.dtype == np.float32 and dx.dtype == np.float32
    assert loss == pytest.approx(1000.0, rel=1e-6)
    np.testing.assert_array_equal(dx, np.array([[1.0, 0.0, -1.0]], dtype=np.float32))


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_loss_gradient_matches_numeric(loss_fn, rng):
    N, C = 5, 4
    # Scores on a grid spaced 0.05 apart (plus a random offset per row) keep every hinge
    # margin at least ~0.01 away from 0, so the finite difference never crosses a kink.
    x = rng.permutation(np.arange(N * C) * 0.05).reshape(N, C) + 0.0123
    y = rng.integers(0, C, N)
    _, dx = loss_fn(x, y)
    num = eval_numerical_gradient(lambda v: loss_fn(v, y)[0], x, verbose=False)
    assert rel_error(dx, num) < 1e-7


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_preserves_dtype_and_does_not_mutate(loss_fn, dtype, rng):
    x = rng.standard_normal((4, 3)).astype(dtype)
    y = np.array([0, 2, 1, 2])
    before = snapshot((x, y))
    loss, dx = loss_fn(x, y)
    assert_unchanged(before, (x, y))
    assert dx.dtype == dtype
    assert np.asarray(loss).dtype == dtype
    ref_loss, ref_dx = loss_fn(x.astype(np.float64), y)
    assert_close(dx, ref_dx, dtype)
    assert loss == pytest.approx(ref_loss, rel=1e-5)


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize(
    "y, exc, match",
    [
        (np.array([0, 3]), ValueError, r"\[0, C\) = \[0, 3\); y\[1\] = 3"),
        (np.array([-1, 0]), ValueError, r"y\[0\] = -1"),
        (np.array([0, 1, 2]), ValueError, r"y must have shape \(N,\) = \(2,\).*\(3,\)"),
        (np.array([[0, 1]]), ValueError, r"got shape \(1, 2\)"),
        (np.array([0.0, 1.0]), TypeError, r"integer class labels, got dtype float64"),
        ([0, 1], TypeError, r"y must be a numpy ndarray.*list"),
    ],
)
def test_loss_rejects_bad_labels(loss_fn, y, exc, match):
    with pytest.raises(exc, match=match):
        loss_fn(np.zeros((2, 3)), y)


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_loss_rejects_bad_scores(loss_fn):
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, C\).*\(2, 3, 1\)"):
        loss_fn(np.zeros((2, 3, 1)), np.array([0, 1]))
