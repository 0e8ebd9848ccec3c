"""Tests for layers/dense.py: affine and ReLU."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers.dense import affine_backward, affine_forward, relu_backward, relu_forward
from tests.conftest import assert_close, assert_unchanged, snapshot


def test_affine_forward_matches_hand_computed_case():
    # x row 0 flattens to [1, 2, 3, 4]; row 1 to [0, -1, 0, 1].
    x = np.array([[[1.0, 2.0], [3.0, 4.0]], [[0.0, -1.0], [0.0, 1.0]]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    b = np.array([0.5, -0.5])
    out, _ = affine_forward(x, w, b)
    # row 0: [1 + 3 + 8, 2 + 3 - 4] + b = [12.5, 0.5]; row 1: [0 + 0 + 2, -1 + 0 - 1] + b = [2.5, -2.5]
    np.testing.assert_array_equal(out, [[12.5, 0.5], [2.5, -2.5]])


def test_affine_backward_matches_numeric_gradient(rng):
    x = rng.standard_normal((3, 2, 3, 2))
    w = rng.standard_normal((12, 4))
    b = rng.standard_normal(4)
    dout = rng.standard_normal((3, 4))
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout)) < 1e-8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_preserves_dtype(rng, dtype):
    x = rng.standard_normal((2, 3)).astype(dtype)
    w = rng.standard_normal((3, 4)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    out, cache = affine_forward(x, w, b)
    assert out.dtype == dtype
    assert_close(out, x.astype(np.float64) @ w + b, dtype)
    grads = affine_backward(np.ones((2, 4), dtype=np.float64), cache)
    assert all(g.dtype == dtype for g in grads)


def test_affine_does_not_mutate_inputs_or_cache(rng):
    x = rng.standard_normal((2, 3))
    w = rng.standard_normal((3, 2))
    b = rng.standard_normal(2)
    args = snapshot((x, w, b))
    out, cache = affine_forward(x, w, b)
    assert_unchanged(args, (x, w, b))
    dout = rng.standard_normal(out.shape)
    before = snapshot((dout, cache))
    affine_backward(dout, cache)
    assert_unchanged(before, (dout, cache))


def test_affine_accepts_non_contiguous_input(rng):
    x = rng.standard_normal((4, 6))[:, ::2]
    w = rng.standard_normal((3, 2))
    b = np.zeros(2)
    out, cache = affine_forward(x, w, b)
    assert_close(out, np.ascontiguousarray(x) @ w)
    dx, _, _ = affine_backward(np.ones((4, 2)), cache)
    assert_close(dx, np.tile(w.sum(axis=1), (4, 1)))


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, match",
    [
        ((2, 3), (4, 2), (2,), r"D = prod\(x.shape\[1:\]\) = 3"),
        ((2, 3), (3, 2), (3,), r"b must have shape \(M,\) = \(2,\).*\(3,\)"),
        ((3,), (3, 2), (2,), r"at least 2 dimensions, got shape \(3,\)"),
        ((2, 3), (3,), (2,), r"w must be 2-D"),
    ],
)
def test_affine_rejects_bad_shapes(x_shape, w_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        affine_forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape))


def test_affine_backward_rejects_bad_dout_and_cache():
    _, cache = affine_forward(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3\).*\(2, 4\)"):
        affine_backward(np.zeros((2, 3)), cache)
    with pytest.raises(TypeError, match=r"3-tuple \(x, w, b\).*got tuple of length 2"):
        affine_backward(np.zeros((2, 4)), cache[:2])


def test_affine_rejects_lists():
    with pytest.raises(TypeError, match="x must be a numpy ndarray, got list"):
        affine_forward([[1.0]], np.zeros((1, 1)), np.zeros(1))


def test_relu_forward_and_backward_hand_case():
    x = np.array([[-2.0, 0.0, 3.0], [0.5, -0.1, 7.0]])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0], [0.5, 0.0, 7.0]])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    # The derivative at exactly 0 is 0 by the documented convention.
    np.testing.assert_array_equal(relu_backward(dout, cache), [[0.0, 0.0, 3.0], [4.0, 0.0, 6.0]])


def test_relu_backward_matches_numeric_gradient(rng):
    # Values at least 0.1 away from the kink so that h = 1e-5 never crosses it.
    x = rng.uniform(0.1, 1.0, (3, 4, 5)) * rng.choice([-1.0, 1.0], (3, 4, 5))
    dout = rng.standard_normal(x.shape)
    _, cache = relu_forward(x)
    dx = relu_backward(dout, cache)
    assert isinstance(dx, np.ndarray)
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: relu_forward(v)[0], x, dout)) < 1e-9


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_preserves_dtype_and_does_not_mutate(rng, dtype):
    x = rng.standard_normal((2, 3)).astype(dtype)
    before = snapshot(x)
    out, cache = relu_forward(x)
    assert out.dtype == dtype
    dout = rng.standard_normal((2, 3))
    before_b = snapshot((dout, cache))
    dx = relu_backward(dout, cache)
    assert dx.dtype == dtype
    assert_unchanged(before, x)
    assert_unchanged(before_b, (dout, cache))


def test_relu_backward_rejects_bad_dout_and_cache():
    _, cache = relu_forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dout has shape \(3, 2\)"):
        relu_backward(np.zeros((3, 2)), cache)
    with pytest.raises(TypeError, match=r"1-tuple \(x\).*returned by relu_forward"):
        relu_backward(np.zeros((2, 3)), np.zeros((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_np_where_bit_for_bit_on_special_values(dtype):
    # Every pair (x, dout) of special values: the gradient is dout's exact bits where x > 0 and
    # +0.0 elsewhere (x NaN included), never dout * (x > 0), which gives -0.0 and NaN there.
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -1e-40, 1.0, -2.5, 3e38], dtype)
    x = np.repeat(specials, specials.size).reshape(10, 10)
    dout = np.tile(specials, specials.size).reshape(10, 10)
    _, cache = relu_forward(x)
    dx = relu_backward(dout, cache)
    expected = np.where(x > 0, dout, dtype(0))
    assert dx.dtype == dtype and dx.shape == x.shape
    assert dx.tobytes() == expected.tobytes()


def test_relu_backward_takes_non_contiguous_dout_and_0d_arrays(rng):
    x = rng.standard_normal((4, 6))
    dout = rng.standard_normal((6, 4)).T  # Fortran-ordered view
    dx = relu_backward(dout, relu_forward(x)[1])
    np.testing.assert_array_equal(dx, np.where(x > 0, dout, 0.0))
    for value in (-1.0, 2.0):
        dx0 = relu_backward(np.array(5.0), relu_forward(np.array(value))[1])
        assert isinstance(dx0, np.ndarray) and dx0.shape == () and dx0 == (5.0 if value > 0 else 0.0)
