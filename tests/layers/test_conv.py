"""Tests for the naive convolution in layers/conv.py: hand-worked cases, gradients, validation."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers import conv_backward_naive, conv_forward_naive
from tests.conftest import assert_unchanged, snapshot


def test_conv_forward_naive_hand_worked_3x3_input_2x2_filter():
    # x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]], b = 10, stride 1, no pad:
    # each output is x[i,j] - x[i+1,j+1] + 10 = -4 + 10 = 6 everywhere.
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    b = np.array([10.0])
    out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 6.0))


def test_conv_forward_naive_hand_worked_padding_and_stride():
    # 2x2 input of ones, 3x3 filter of ones, pad 1, stride 1: each output counts the
    # input pixels its window covers; all four windows cover the whole 2x2 input -> 4.
    # With stride 2 only the top-left window remains.
    x = np.ones((1, 1, 2, 2))
    w = np.ones((1, 1, 3, 3))
    b = np.zeros(1)
    out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 4.0))
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    np.testing.assert_array_equal(out, np.full((1, 1, 1, 1), 4.0))


def test_conv_forward_naive_hand_worked_dilation_and_channels():
    # x channel 0 = 0..15 in a 4x4 grid, channel 1 = 100 everywhere.
    # Filter taps (dilation 2) at (0,0),(0,2),(2,0),(2,2) with weights 1,2,3,4 on channel 0
    # and 0.5 on each tap of channel 1. Output (0,0): 1*0 + 2*2 + 3*8 + 4*10 + 0.5*100*4 = 268.
    # Output (0,1) shifts every channel-0 tap by +1: 268 + (1+2+3+4) = 278; (1,0) by +4: 308.
    x = np.stack([np.arange(16.0).reshape(4, 4), np.full((4, 4), 100.0)])[None]
    w = np.zeros((1, 2, 2, 2))
    w[0, 0] = [[1, 2], [3, 4]]
    w[0, 1] = 0.5
    out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0, "dilation": 2})
    np.testing.assert_array_equal(out[0, 0], [[268.0, 278.0], [308.0, 318.0]])


def test_conv_backward_naive_hand_worked_single_window():
    # One window (filter covers the whole input): out = sum(x*w) + b, so with dout = 3,
    # dx = 3*w, dw = 3*x, db = 3.
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.array([[[[0.5, -1.0], [2.0, 0.0]]]])
    out, cache = conv_forward_naive(x, w, np.array([1.0]), {"stride": 1, "pad": 0})
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == 0.5 - 2.0 + 6.0 + 0.0 + 1.0
    dx, dw, db = conv_backward_naive(np.full((1, 1, 1, 1), 3.0), cache)
    np.testing.assert_array_equal(dx, [[[[1.5, -3.0], [6.0, 0.0]]]])
    np.testing.assert_array_equal(dw, [[[[3.0, 6.0], [9.0, 12.0]]]])
    np.testing.assert_array_equal(db, [3.0])


@pytest.mark.parametrize(
    "conv_param,wshape",
    [
        ({"stride": 1, "pad": 1}, (3, 2, 3, 3)),
        ({"stride": 2, "pad": 1}, (3, 2, 3, 3)),
        ({"stride": (1, 2), "pad": (2, 0)}, (2, 2, 3, 2)),
        ({"stride": 1, "pad": 0, "dilation": 2}, (2, 2, 2, 3)),
        ({"stride": 3, "pad": 2, "dilation": (1, 2)}, (2, 2, 1, 2)),
    ],
)
def test_conv_backward_naive_matches_numeric_gradient(conv_param, wshape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 7, 6))
    w = rng.standard_normal(wshape)
    b = rng.standard_normal(wshape[0])
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    # The output is linear in each of x, w and b, so central differences have no truncation
    # error at any step; a step of 1e-3 (not 1e-5) just shrinks the rounding noise 100-fold.
    h = 1e-3
    dx_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, conv_param)[0], x, dout, h)
    dw_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, conv_param)[0], w, dout, h)
    db_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, w, v, conv_param)[0], b, dout, h)
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dw, dw_num) < 1e-8
    assert rel_error(db, db_num) < 1e-8


def test_conv_naive_output_size_uses_floor_for_widths_that_do_not_divide():
    # W=6, WW=3, stride 2, pad 0: (6 - 3)//2 + 1 = 2 columns; the last input column is unused.
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 6))
    out, _ = conv_forward_naive(x, np.ones((1, 1, 3, 3)), np.zeros(1), {"stride": 2, "pad": 0})
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(out[0, 0, 0, 1], x[0, 0, 0:3, 2:5].sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_naive_keeps_float_dtype(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 4, 4)).astype(dtype)
    w = rng.standard_normal((2, 2, 3, 3)).astype(dtype)
    out, cache = conv_forward_naive(x, w, np.zeros(2, dtype), {"stride": 1, "pad": 1})
    assert out.dtype == dtype
    grads = conv_backward_naive(np.ones_like(out), cache)
    assert all(g.dtype == dtype for g in grads)


def test_conv_naive_int_bias_with_float64_images_promotes_to_float64():
    x = np.ones((1, 1, 3, 3))
    out, _ = conv_forward_naive(x, np.ones((1, 1, 3, 3)), np.array([128]), {"stride": 1, "pad": 0})
    assert out.dtype == np.float64 and out[0, 0, 0, 0] == 9.0 + 128


def test_conv_naive_does_not_mutate_inputs_or_cache():
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3),
            {"stride": 2, "pad": 1})
    before = snapshot(args)
    out, cache = conv_forward_naive(*args)
    assert_unchanged(before, args, "conv_forward_naive argument")
    dout = rng.standard_normal(out.shape)
    before_cache, before_dout = snapshot(cache), snapshot(dout)
    conv_backward_naive(dout, cache)
    assert_unchanged(before_cache, cache, "cache")
    assert_unchanged(before_dout, dout, "dout")
