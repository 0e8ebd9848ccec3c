"""Tests for fast_layers/pool.py against the naive references in layers/pool.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fast_layers._kernels_numpy import _strategy
from fast_layers.pool import (
    avg_pool_backward_fast,
    avg_pool_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from gradient_check import eval_numerical_gradient_array, rel_error
from _rules.geometry import pool_geometry
from layers.pool import (
    avg_pool_backward_naive,
    avg_pool_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)
from tests.conftest import assert_close, assert_same_bits, assert_unchanged, snapshot

SHAPES = [(2, 3, 6, 6), (1, 2, 7, 9), (2, 1, 5, 4)]
WINDOWS = [(1, 1), (2, 2), (3, 3), (2, 3), (3, 1)]
STRIDES = [1, 2, 3, (1, 2), (3, 1), (2, 3)]


def _grid():
    for shape, (hh, ww), stride in itertools.product(SHAPES, WINDOWS, STRIDES):
        if hh <= shape[2] and ww <= shape[3]:
            yield shape, {"pool_height": hh, "pool_width": ww, "stride": stride}


GRID = list(_grid())
GRID_IDS = [f"{s}-{p['pool_height']}x{p['pool_width']}-s{p['stride']}" for s, p in GRID]


def test_grid_covers_tiling_and_non_tiling_pools_and_every_strategy():
    tiles = [pool_geometry(s, p).tiles for s, p in GRID]
    assert sum(tiles) >= 5 and len(tiles) - sum(tiles) >= 50
    strategies = [_strategy(pool_geometry(s, p)) for s, p in GRID]
    assert {k: strategies.count(k) >= 5 for k in ("reshape", "as_strided", "per_window")} == {
        "reshape": True, "as_strided": True, "per_window": True}


@pytest.mark.parametrize(
    "x_shape, hh, ww, stride, expected",
    [
        ((1, 1, 6, 6), 2, 2, 2, "reshape"),        # tiles, K = 4 < 9 outputs
        ((1, 1, 7, 6), 2, 2, 2, "as_strided"),     # a leftover row
        ((1, 1, 6, 6), 3, 3, 1, "as_strided"),     # overlapping, K = 9 < 16 outputs
        ((1, 1, 6, 6), 3, 3, 3, "per_window"),     # tiles, but K = 9 > 4 outputs
        ((1, 1, 32, 32), 32, 32, 1, "per_window"),  # global pooling
    ],
)
def test_strategy_choice(x_shape, hh, ww, stride, expected):
    assert _strategy(pool_geometry(x_shape, {"pool_height": hh, "pool_width": ww, "stride": stride})) == expected


def _int_valued(rng, shape, dtype, high=3):
    # Few distinct values: many ties. Small integers: every sum is exact in any order,
    # so overlapping windows must give bit-identical gradients.
    return rng.integers(0, high, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, pp", GRID, ids=GRID_IDS)
def test_max_pool_fast_matches_naive_exactly_with_ties(rng, shape, pp, dtype):
    x = _int_valued(rng, shape, dtype)
    out_n, cache_n = max_pool_forward_naive(x, pp)
    out_f, cache_f = max_pool_forward_fast(x, pp)
    assert out_f.dtype == dtype and out_f.shape == out_n.shape
    np.testing.assert_array_equal(out_f, out_n)
    dout = _int_valued(rng, out_n.shape, dtype, high=50) + 1
    dx_f = max_pool_backward_fast(dout, cache_f)
    assert dx_f.dtype == dtype
    np.testing.assert_array_equal(dx_f, max_pool_backward_naive(dout, cache_n))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, pp", GRID, ids=GRID_IDS)
def test_pool_fast_matches_naive_random_values(rng, shape, pp, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    for fwd_n, bwd_n, fwd_f, bwd_f in [
        (max_pool_forward_naive, max_pool_backward_naive, max_pool_forward_fast, max_pool_backward_fast),
        (avg_pool_forward_naive, avg_pool_backward_naive, avg_pool_forward_fast, avg_pool_backward_fast),
    ]:
        out_n, cache_n = fwd_n(x, pp)
        out_f, cache_f = fwd_f(x, pp)
        assert out_f.dtype == dtype
        assert_close(out_f, out_n, dtype)
        dout = rng.standard_normal(out_n.shape).astype(dtype)
        dx_f = bwd_f(dout, cache_f)
        assert dx_f.dtype == dtype
        assert_close(dx_f, bwd_n(dout, cache_n), dtype)


@pytest.mark.parametrize(
    "pp", [{"pool_height": 2, "pool_width": 2, "stride": 2}, {"pool_height": 3, "pool_width": 2, "stride": (2, 1)}]
)
def test_max_pool_fast_tie_rule_hand_case(pp):
    # Every window is constant: the gradient must land on each window's top-left element.
    x = np.zeros((1, 1, 4, 4))
    out, cache = max_pool_forward_fast(x, pp)
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    dx = max_pool_backward_fast(dout, cache)
    geom = pool_geometry(x.shape, pp)
    expected = np.zeros_like(x)
    for i in range(geom.H_out):
        for j in range(geom.W_out):
            expected[0, 0, i * geom.stride[0], j * geom.stride[1]] += dout[0, 0, i, j]
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize("window, stride", [(2, 2), (2, 1), (3, 1)])  # reshape, as_strided, per_window
def test_max_pool_fast_nan_matches_naive(window, stride):
    x = np.array([[[[1.0, np.nan, 3.0, 4.0], [np.nan, 9.0, 2.0, 2.0], [0.0, 0.0, np.nan, 1.0],
                    [5.0, 6.0, 7.0, 8.0]]]])
    pp = {"pool_height": window, "pool_width": window, "stride": stride}
    out_n, cache_n = max_pool_forward_naive(x, pp)
    out_f, cache_f = max_pool_forward_fast(x, pp)
    np.testing.assert_array_equal(out_f, out_n)
    assert np.isnan(out_f).any()
    dout = np.arange(1.0, out_n.size + 1).reshape(out_n.shape)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache_f), max_pool_backward_naive(dout, cache_n))


@pytest.mark.parametrize("make_view", [
    lambda a: a[:, :, ::2, :],            # strided rows
    lambda a: a[..., ::-1],               # negative stride
    lambda a: a.transpose(1, 0, 2, 3),    # permuted batch/channel
])
@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 2, "stride": (1, 2)},
                                {"pool_height": 5, "pool_width": 4, "stride": 4}])
def test_pool_fast_non_contiguous_input(rng, make_view, pp):
    x = make_view(_int_valued(rng, (3, 2, 12, 8), np.float64))
    assert not x.flags.c_contiguous
    for fwd_n, bwd_n, fwd_f, bwd_f in [
        (max_pool_forward_naive, max_pool_backward_naive, max_pool_forward_fast, max_pool_backward_fast),
        (avg_pool_forward_naive, avg_pool_backward_naive, avg_pool_forward_fast, avg_pool_backward_fast),
    ]:
        out_n, cache_n = fwd_n(x, pp)
        out_f, cache_f = fwd_f(x, pp)
        assert_close(out_f, out_n)
        dout = _int_valued(rng, out_n.shape, np.float64, 10)[..., ::-1]  # a non-contiguous dout too
        assert_close(bwd_f(dout, cache_f), bwd_n(dout, cache_n))


@pytest.mark.parametrize("forward, backward", [(max_pool_forward_fast, max_pool_backward_fast),
                                               (avg_pool_forward_fast, avg_pool_backward_fast)])
@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 2, "stride": (2, 1)},
                                {"pool_height": 4, "pool_width": 4, "stride": 2}])
def test_pool_fast_backward_matches_numeric_gradient(rng, forward, backward, pp):
    # Distinct values 0.01 apart: no finite-difference step crosses a max-pool kink.
    x = rng.permutation(np.arange(2 * 2 * 6 * 6, dtype=np.float64)).reshape(2, 2, 6, 6) * 0.01
    out, cache = forward(x, pp)
    dout = rng.standard_normal(out.shape)
    num = eval_numerical_gradient_array(lambda v: forward(v, pp)[0], x, dout)
    assert rel_error(backward(dout, cache), num) < 1e-8


@pytest.mark.parametrize("forward, backward", [(max_pool_forward_fast, max_pool_backward_fast),
                                               (avg_pool_forward_fast, avg_pool_backward_fast)])
@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 3, "stride": 1},
                                {"pool_height": 4, "pool_width": 4, "stride": 2}])
def test_pool_fast_does_not_mutate(rng, forward, backward, pp):
    x = rng.standard_normal((2, 3, 6, 6))
    before = snapshot((x, pp))
    out, cache = forward(x, pp)
    assert_unchanged(before, (x, pp))
    dout = rng.standard_normal(out.shape)
    before = snapshot((dout, cache))
    backward(dout, cache)
    assert_unchanged(before, (dout, cache))


def test_pool_fast_int_input_computes_in_float64():
    x = np.arange(16).reshape(1, 1, 4, 4)
    out, _ = avg_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[[[2.5, 4.5], [10.5, 12.5]]]])


@pytest.mark.parametrize("forward", [max_pool_forward_fast, avg_pool_forward_fast])
@pytest.mark.parametrize(
    "x_shape, pp, exc, match",
    [
        ((1, 1, 3, 3), {"pool_height": 2, "pool_width": 4, "stride": 1}, ValueError, r"window 2x4 is larger than the input 3x3"),
        ((1, 1, 3, 3), {"pool_height": 2, "pool_width": 2, "stride": (1, 0)}, ValueError, r"got \(1, 0\)"),
        ((1, 1, 3, 3), {"pool_height": 2, "pool_width": 2, "stride": True}, TypeError, r"got True"),
        ((3, 3), {"pool_height": 2, "pool_width": 2, "stride": 1}, ValueError, r"x must be 4-D"),
    ],
)
def test_pool_fast_rejects_bad_configuration(forward, x_shape, pp, exc, match):
    with pytest.raises(exc, match=match):
        forward(np.zeros(x_shape), pp)


@pytest.mark.parametrize("forward, backward", [(max_pool_forward_fast, max_pool_backward_fast),
                                               (avg_pool_forward_fast, avg_pool_backward_fast)])
def test_pool_fast_backward_rejects_bad_dout_and_cache(forward, backward):
    _, cache = forward(np.zeros((1, 2, 5, 5)), {"pool_height": 3, "pool_width": 3, "stride": 2})
    with pytest.raises(ValueError, match=r"dout has shape \(1, 2, 3, 3\).*\(1, 2, 2, 2\)"):
        backward(np.zeros((1, 2, 3, 3)), cache)
    with pytest.raises(TypeError, match=r"2-tuple \(x, pool_param\).*got ndarray"):
        backward(np.zeros((1, 2, 2, 2)), np.zeros(3))


@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 3, "stride": 2},
                                {"pool_height": 5, "pool_width": 5, "stride": 3}])
def test_max_pool_fast_non_finite_dout_and_no_negative_zero(rng, pp):
    x = _int_valued(rng, (2, 2, 6, 8), np.float64)  # 2x2/2 tiles this shape, 3x3/2 does not
    out_n, cache_n = max_pool_forward_naive(x, pp)
    _, cache_f = max_pool_forward_fast(x, pp)
    dout = -_int_valued(rng, out_n.shape, np.float64, 10) - 1  # all negative
    dx = max_pool_backward_fast(dout, cache_f)
    np.testing.assert_array_equal(dx, max_pool_backward_naive(dout, cache_n))
    # Pixels that receive nothing hold +0.0, as in the naive version (not -0.0 from -g * False).
    assert not np.signbit(dx[dx == 0]).any()
    dout[0, 0, 0, 0], dout[1, 1, 0, 1] = np.inf, -np.inf
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache_f), max_pool_backward_naive(dout, cache_n))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pp", [{"pool_height": 2, "pool_width": 2, "stride": 2},
                                {"pool_height": 3, "pool_width": 3, "stride": 2},
                                {"pool_height": 2, "pool_width": 3, "stride": (1, 2)},
                                {"pool_height": 3, "pool_width": 3, "stride": 3}])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
@pytest.mark.parametrize("kernel_relu", [True, False], ids=["relu in the kernel", "numpy relu after the pool"])
def test_relu_max_pool_forward_and_backward_equal_the_unfused_pair_bit_for_bit(rng, dtype, pp, layout, kernel_relu,
                                                                               monkeypatch):
    from fast_layers import pool
    from fast_layers.pool import relu_max_pool_backward, relu_max_pool_forward
    from layers import relu_backward, relu_forward

    if kernel_relu and not pool._RELU_ZERO_IS_POSITIVE[np.dtype(dtype)]:
        pytest.skip("numpy's ReLU keeps -0.0 here: relu_max_pool_forward never writes the ReLU in the kernel")
    # Both ways of placing the ReLU must give the unfused bits (the second is what a platform whose
    # ReLU keeps -0.0 runs).
    monkeypatch.setitem(pool._RELU_ZERO_IS_POSITIVE, np.dtype(dtype), kernel_relu)

    for trial in range(8):
        a = rng.integers(-2, 3, (2, 3, 9, 16)).astype(dtype)
        a[rng.random(a.shape) < 0.15] = -0.0          # ReLU and pool ties on zeros of both signs
        if trial % 2:
            a[rng.random(a.shape) < 0.05] = np.nan
        if trial % 3 == 0:
            a[rng.random(a.shape) < 0.05] = -np.inf
        a = a[..., ::2] if layout == "strided" else a[..., :8]
        before = snapshot((a, pp))
        r, relu_cache = relu_forward(a)
        want, pool_cache = max_pool_forward_fast(r, pp)
        got, cache = relu_max_pool_forward(a, pp)
        assert_unchanged(before, (a, pp))
        assert got.dtype == dtype
        assert_same_bits(got, want)
        dout = rng.integers(-3, 4, want.shape).astype(dtype)
        dout[rng.random(want.shape) < 0.2] = -0.0
        unfused = relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache)
        assert_same_bits(relu_max_pool_backward(dout, cache), unfused)


def test_relu_max_pool_forward_validates_like_the_pool():
    from fast_layers.pool import relu_max_pool_backward, relu_max_pool_forward

    with pytest.raises(ValueError, match=r"window 2x4 is larger than the input 3x3"):
        relu_max_pool_forward(np.zeros((1, 1, 3, 3)), {"pool_height": 2, "pool_width": 4, "stride": 1})
    out, cache = relu_max_pool_forward(np.arange(16.0).reshape(1, 1, 4, 4) - 8, {"pool_height": 2, "pool_width": 2,
                                                                                  "stride": 2})
    np.testing.assert_array_equal(out, [[[[0.0, 0.0], [5.0, 7.0]]]])
    with pytest.raises(ValueError, match=r"dout has shape \(1, 1, 3, 3\)"):
        relu_max_pool_backward(np.zeros((1, 1, 3, 3)), cache)
