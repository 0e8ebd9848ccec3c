"""max_pool_{forward,backward}_{reshape,im2col}: equal to the naive pool where they apply, the
reshape backward's equal split of ties, caches of the course's shape, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from fast_layers import (max_pool_backward_im2col, max_pool_backward_reshape, max_pool_forward_im2col,
                         max_pool_forward_reshape)
from gradient_check import eval_numerical_gradient_array
from layers import max_pool_backward_naive, max_pool_forward_naive

TILING = [{"pool_height": 2, "pool_width": 2, "stride": 2}, {"pool_height": 3, "pool_width": 3, "stride": 3}]
IM2COL = TILING + [{"pool_height": 3, "pool_width": 2, "stride": 1}, {"pool_height": 2, "pool_width": 2, "stride": 1}]
VARIANTS = {"reshape": (max_pool_forward_reshape, max_pool_backward_reshape, TILING),
            "im2col": (max_pool_forward_im2col, max_pool_backward_im2col, IM2COL)}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equal_to_naive_on_distinct_values(variant, dtype, rng):
    forward, backward, params = VARIANTS[variant]
    for pool_param in params:
        x = rng.permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6).astype(dtype)  # no ties
        before = x.copy()
        out, cache = forward(x, pool_param)
        out_n, cache_n = max_pool_forward_naive(x, pool_param)
        np.testing.assert_array_equal(out, out_n)
        assert out.dtype == dtype
        dout = rng.standard_normal(out.shape).astype(dtype)
        dx = backward(dout, cache)
        np.testing.assert_allclose(dx, max_pool_backward_naive(dout, cache_n), rtol=1e-6)
        assert dx.dtype == dtype
        np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_backward_matches_numeric_gradient(variant, rng):
    forward, backward, params = VARIANTS[variant]
    x = rng.standard_normal((2, 2, 6, 6))
    out, cache = forward(x, params[0])
    dout = rng.standard_normal(out.shape)
    num = eval_numerical_gradient_array(lambda z: forward(z, params[0])[0], x, dout)
    np.testing.assert_allclose(backward(dout, cache), num, rtol=1e-7, atol=1e-9)


def test_reshape_backward_splits_ties_and_im2col_gives_the_first():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = np.array([[[[6.0]]]])
    _, cache = max_pool_forward_reshape(x, pool)
    np.testing.assert_array_equal(max_pool_backward_reshape(dout, cache)[0, 0], [[2.0, 2.0], [0.0, 2.0]])
    _, cache = max_pool_forward_im2col(x, pool)
    np.testing.assert_array_equal(max_pool_backward_im2col(dout, cache)[0, 0], [[6.0, 0.0], [0.0, 0.0]])


def test_caches_have_the_course_fields(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, (cx, x_reshaped, cout) = max_pool_forward_reshape(x, pool)
    assert cx is x and x_reshaped.shape == (1, 2, 2, 2, 2, 2) and cout is out
    _, (cx, x_cols, argmax, cparam) = max_pool_forward_im2col(x, pool)
    assert x_cols.shape == (4, 2 * 2 * 2) and argmax.shape == (8,) and cparam == pool and cparam is not pool


def test_refusals_name_the_problem(rng):
    x = rng.standard_normal((1, 1, 5, 5))
    with pytest.raises(ValueError, match="pool_height == pool_width == stride that tile"):
        max_pool_forward_reshape(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match="not a multiple of stride 2"):
        max_pool_forward_im2col(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    _, cache = max_pool_forward_im2col(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    with pytest.raises(ValueError, match="dout has shape"):
        max_pool_backward_im2col(np.zeros((1, 1, 3, 3)), cache)
