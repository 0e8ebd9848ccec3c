"""Tests for layers/pool.py: naive max and average pooling."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers.pool import (
    avg_pool_backward_naive,
    avg_pool_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)
from tests.conftest import assert_close, assert_unchanged, snapshot


def _pp(hh, ww, stride):
    return {"pool_height": hh, "pool_width": ww, "stride": stride}


def _distinct(rng, shape, spacing=0.01):
    """Values all at least `spacing` apart, so no finite-difference step crosses a max-pool kink."""
    return rng.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) * spacing


def test_max_pool_hand_case_with_ties_and_overlap():
    x = np.array([[[[1.0, 5.0, 5.0], [5.0, 2.0, 0.0], [3.0, 3.0, 3.0]]]])
    out, cache = max_pool_forward_naive(x, _pp(2, 2, 1))
    np.testing.assert_array_equal(out, [[[[5.0, 5.0], [5.0, 3.0]]]])
    dx = max_pool_backward_naive(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), cache)
    # Window (0,0) = [1 5; 5 2]: first max in row-major order is x[0,1] (not x[1,0]).
    # Window (0,1) = [5 5; 2 0]: first max is x[0,1] again -> 1 + 10 accumulate there.
    # Window (1,0) = [5 2; 3 3]: x[1,0]. Window (1,1) = [2 0; 3 3]: first of the 3s is x[2,1].
    expected = np.array([[[[0.0, 11.0, 0.0], [100.0, 0.0, 0.0], [0.0, 1000.0, 0.0]]]])
    np.testing.assert_array_equal(dx, expected)


def test_max_pool_all_equal_window_routes_to_top_left():
    x = np.full((1, 1, 2, 2), 7.0)
    _, cache = max_pool_forward_naive(x, _pp(2, 2, 2))
    np.testing.assert_array_equal(max_pool_backward_naive(np.full((1, 1, 1, 1), 3.0), cache),
                                  [[[[3.0, 0.0], [0.0, 0.0]]]])


def test_max_pool_nan_is_the_maximum_and_first_nan_gets_gradient():
    x = np.array([[[[1.0, np.nan], [np.nan, 9.0]]]])
    out, cache = max_pool_forward_naive(x, _pp(2, 2, 2))
    assert np.isnan(out[0, 0, 0, 0])
    np.testing.assert_array_equal(max_pool_backward_naive(np.ones((1, 1, 1, 1)), cache),
                                  [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_pool_leftover_rows_get_no_gradient_and_per_axis_stride():
    # H = 5 with 2-high windows at stride 2: rows 0-3 are pooled, row 4 is never reached.
    # W = 4 with 2-wide windows at stride 1: three overlapping windows per row.
    x = np.arange(20.0).reshape(1, 1, 5, 4)
    out, cache = avg_pool_forward_naive(x, _pp(2, 2, (2, 1)))
    # Window at (i, j) averages x[2i:2i+2, j:j+2]: x[r, c] = 4r + c, mean = 4(2i + 0.5) + j + 0.5.
    expected = np.array([[4 * (2 * i + 0.5) + j + 0.5 for j in range(3)] for i in range(2)])
    np.testing.assert_array_equal(out[0, 0], expected)
    dx = avg_pool_backward_naive(np.ones((1, 1, 2, 3)), cache)
    # Columns 0 and 3 are in one window each, columns 1 and 2 in two; each share is 1/4.
    row = np.array([0.25, 0.5, 0.5, 0.25])
    np.testing.assert_array_equal(dx[0, 0], np.vstack([row, row, row, row, np.zeros(4)]))


def test_avg_pool_hand_case():
    x = np.array([[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]]])
    out, _ = avg_pool_forward_naive(x, _pp(2, 2, 2))
    np.testing.assert_array_equal(out, [[[[3.5, 5.5]]]])  # (1+2+5+6)/4, (3+4+7+8)/4


@pytest.mark.parametrize("hh, ww, stride", [(2, 2, 2), (3, 2, 1), (2, 3, (1, 2)), (3, 3, 2)])
def test_max_pool_backward_matches_numeric_gradient(rng, hh, ww, stride):
    x = _distinct(rng, (2, 2, 5, 6))
    pp = _pp(hh, ww, stride)
    out, cache = max_pool_forward_naive(x, pp)
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_naive(dout, cache)
    num = eval_numerical_gradient_array(lambda v: max_pool_forward_naive(v, pp)[0], x, dout)
    assert rel_error(dx, num) < 1e-8


@pytest.mark.parametrize("hh, ww, stride", [(2, 2, 2), (3, 2, 1), (2, 3, (1, 2))])
def test_avg_pool_backward_matches_numeric_gradient(rng, hh, ww, stride):
    x = rng.standard_normal((2, 2, 5, 6))
    pp = _pp(hh, ww, stride)
    out, cache = avg_pool_forward_naive(x, pp)
    dout = rng.standard_normal(out.shape)
    dx = avg_pool_backward_naive(dout, cache)
    num = eval_numerical_gradient_array(lambda v: avg_pool_forward_naive(v, pp)[0], x, dout)
    assert rel_error(dx, num) < 1e-8


@pytest.mark.parametrize("forward, backward", [(max_pool_forward_naive, max_pool_backward_naive),
                                               (avg_pool_forward_naive, avg_pool_backward_naive)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_dtype_and_no_mutation(rng, forward, backward, dtype):
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    pp = _pp(2, 2, 2)
    before = snapshot((x, pp))
    out, cache = forward(x, pp)
    assert_unchanged(before, (x, pp))
    assert out.dtype == dtype
    assert_close(out, forward(x.astype(np.float64), pp)[0], dtype)
    dout = rng.standard_normal(out.shape)
    before = snapshot((dout, cache))
    dx = backward(dout, cache)
    assert_unchanged(before, (dout, cache))
    assert dx.dtype == dtype


@pytest.mark.parametrize("forward", [max_pool_forward_naive, avg_pool_forward_naive])
@pytest.mark.parametrize(
    "x_shape, pp, exc, match",
    [
        ((1, 1, 3, 3), _pp(4, 2, 1), ValueError, r"window 4x2 is larger than the input 3x3"),
        ((1, 1, 3, 3), _pp(2, 2, 0), ValueError, r"stride'\] must be >= 1 on both axes, got 0"),
        ((1, 1, 3, 3), _pp(2, 0, 1), ValueError, r"pool_width'\] must be >= 1, got 0"),
        ((1, 1, 3, 3), {"pool_height": 2, "stride": 1}, ValueError, r"missing required key\(s\) \['pool_width'\]"),
        ((1, 3, 3), _pp(2, 2, 1), ValueError, r"x must be 4-D \(N, C, H, W\), got shape \(1, 3, 3\)"),
        ((1, 1, 3, 3), _pp(2.0, 2, 1), TypeError, r"pool_height'\] must be a positive int, got 2.0"),
    ],
)
def test_pool_rejects_bad_configuration(forward, x_shape, pp, exc, match):
    with pytest.raises(exc, match=match):
        forward(np.zeros(x_shape), pp)


@pytest.mark.parametrize("forward, backward", [(max_pool_forward_naive, max_pool_backward_naive),
                                               (avg_pool_forward_naive, avg_pool_backward_naive)])
def test_pool_backward_rejects_bad_dout_and_cache(forward, backward):
    _, cache = forward(np.zeros((1, 2, 4, 4)), _pp(2, 2, 2))
    with pytest.raises(ValueError, match=r"dout has shape \(1, 2, 2, 3\).*\(1, 2, 2, 2\)"):
        backward(np.zeros((1, 2, 2, 3)), cache)
    with pytest.raises(TypeError, match=r"2-tuple \(x, pool_param\)"):
        backward(np.zeros((1, 2, 2, 2)), cache + (None,))
