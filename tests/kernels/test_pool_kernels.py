"""Pooling kernels: the compiled ones and their numpy twins against the naive layers, with the same tests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fast_layers.kernel_table import TWINS as twin
from layers import avg_pool_backward_naive, avg_pool_forward_naive, max_pool_backward_naive, max_pool_forward_naive
from tests.conftest import assert_close, assert_same_bits

try:
    import im2col_cython as compiled
except ImportError:
    compiled = None

MODULES = [pytest.param(compiled, id="compiled", marks=pytest.mark.skipif(compiled is None, reason="not built")),
           pytest.param(twin, id="numpy")]
# x shape, (HH, WW, stride): tiling, overlapping, gaps, leftovers, global, 1x1.
CASES = [((2, 3, 8, 8), (2, 2, 2)), ((2, 2, 7, 9), (3, 3, 2)), ((1, 2, 9, 7), (2, 3, (3, 1))),
         ((2, 1, 6, 6), (6, 6, 1)), ((1, 3, 5, 5), (1, 1, 2)), ((3, 2, 10, 6), (2, 2, (1, 3))),
         ((1, 1, 6, 8), (3, 2, 3))]


def _pp(w):
    return {"pool_height": w[0], "pool_width": w[1], "stride": w[2]}


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES)
def test_max_pool_kernels_equal_naive_bit_for_bit_with_ties_and_nan(module, dtype, shape, window):
    rng = np.random.default_rng(0)
    # Small integers: many ties, and every sum of routed gradients is exact in any order.
    x = rng.integers(0, 3, shape).astype(dtype)
    x[0, 0, 1, :2] = np.nan
    out_n, cache_n = max_pool_forward_naive(x, _pp(window))
    np.testing.assert_array_equal(module.max_pool_forward_cython(x, *window), out_n)
    dout = rng.integers(-4, 5, out_n.shape).astype(dtype)
    want = max_pool_backward_naive(dout, cache_n)
    for parallel in (True, False):
        np.testing.assert_array_equal(module.max_pool_backward_cython(x, dout, *window, parallel=parallel), want)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES)
def test_avg_pool_kernels_match_naive(module, dtype, shape, window):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    out_n, cache_n = avg_pool_forward_naive(x, _pp(window))
    assert_close(module.avg_pool_forward_cython(x, *window), out_n, dtype)
    dout = rng.standard_normal(out_n.shape).astype(dtype)
    got = module.avg_pool_backward_cython(dout, x.shape, *window, parallel=False)
    assert got.dtype == dtype
    assert_close(got, avg_pool_backward_naive(dout, cache_n), dtype)


@pytest.mark.parametrize("module", MODULES)
def test_max_pool_backward_kernel_gives_positive_zero_and_passes_non_finite_dout(module):
    x = np.array([[[[1.0, 5.0], [5.0, 0.0]]]])
    for d, want in ((-0.0, [[0.0, 0.0], [0.0, 0.0]]), (np.inf, [[0.0, np.inf], [0.0, 0.0]])):
        dx = module.max_pool_backward_cython(x, np.full((1, 1, 1, 1), d), 2, 2, 2)
        np.testing.assert_array_equal(dx[0, 0], want)
        assert not np.signbit(dx).any()


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("call,exc,match", [
    (lambda m: m.max_pool_forward_cython(np.zeros((1, 1, 4, 4)), 5, 2, 1), ValueError, "larger than the input"),
    (lambda m: m.max_pool_forward_cython(np.zeros((1, 4, 4)), 2, 2, 1), ValueError, "must be 4-D"),
    (lambda m: m.avg_pool_forward_cython([[1.0]], 1, 1, 1), TypeError, "numpy ndarray"),
    (lambda m: m.max_pool_forward_cython(np.zeros((1, 1, 4, 4)), 2, 2, 0), ValueError, "stride"),
    (lambda m: m.max_pool_backward_cython(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 2)), 2, 2, 2),
     ValueError, r"dout must have the pooling output's shape \(1, 1, 2, 2\), got \(1, 1, 3, 2\)"),
    (lambda m: m.avg_pool_backward_cython(np.zeros((1, 1, 2, 2)), (1, 1, 4, 4), 2, 0, 2), ValueError, "pool_width"),
])
def test_pool_kernels_refuse_bad_arguments_with_the_same_message(module, call, exc, match):
    with pytest.raises(exc, match=match):
        call(module)


def test_pool_kernels_are_deterministic_across_thread_settings():
    if compiled is None:
        pytest.skip("not built")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 8, 12, 12))
    for window in itertools.product((2, 3), (2, 3), (1, 2)):
        a = compiled.avg_pool_backward_cython(compiled.avg_pool_forward_cython(x, *window), x.shape, *window)
        b = compiled.avg_pool_backward_cython(compiled.avg_pool_forward_cython(x, *window, parallel=False),
                                              x.shape, *window, parallel=False)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES)
def test_positive_only_max_pool_backward_is_relu_backward_of_the_pool_backward(module, dtype, shape, window):
    rng = np.random.default_rng(4)
    a = rng.integers(-2, 3, shape).astype(dtype)  # ties, zeros and negative maxima
    a[0, 0, 0, :2] = np.nan
    r = np.maximum(a, 0)  # the ReLU's output, NaN kept, as relu_forward makes it
    out_n, cache_n = max_pool_forward_naive(r, _pp(window))
    dout = rng.integers(-4, 5, out_n.shape).astype(dtype)
    want = np.where(a > 0, max_pool_backward_naive(dout, cache_n), dtype(0))
    got = module.max_pool_backward_cython(r, dout, *window, positive_only=True)
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(got[got == 0]).any()  # +0.0, as relu_backward gives


def _first_max_pool(x, hh, ww, stride):
    """The compiled kernels' value rule, one window at a time: the window's FIRST maximal element
    (its sign of zero included), NaN for a window holding a NaN."""
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    N, C, H, W = x.shape
    out = np.empty((N, C, (H - hh) // sh + 1, (W - ww) // sw + 1), x.dtype)
    for n, c, i, j in np.ndindex(out.shape):
        win = x[n, c, i * sh:i * sh + hh, j * sw:j * sw + ww].ravel()
        out[n, c, i, j] = np.nan if np.isnan(win).any() else win[np.flatnonzero(win == win.max())[0]]
    return out


def _awkward(rng, shape, dtype, seed):
    """Small integers (ties everywhere) with -0.0, and by seed NaN, -inf and +inf sprinkled in."""
    x = rng.integers(-2, 3, shape).astype(dtype)
    x[rng.random(shape) < 0.15] = -0.0
    for k, value in enumerate((np.nan, -np.inf, np.inf)):
        if seed % (k + 2) == 0:
            x[rng.random(shape) < 0.05] = value
    return x


# The 2x2 stride-2 pool has its own row-vectorized kernels (im2col_cython._max_pool_2x2_*): even
# and odd sizes (a row / column no window reaches), one-window planes.
SHAPES_2X2 = [(2, 3, 8, 8), (1, 2, 7, 9), (2, 2, 5, 4), (3, 2, 2, 2), (1, 1, 3, 3), (2, 3, 34, 36)]


@pytest.mark.skipif(compiled is None, reason="not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES_2X2)
@pytest.mark.parametrize("seed", range(6))
def test_compiled_2x2_max_pool_keeps_the_first_maximum_bit_for_bit(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x = _awkward(rng, shape, dtype, seed)
    want = _first_max_pool(x, 2, 2, 2)
    for parallel in (False, True):
        assert_same_bits(compiled.max_pool_forward_cython(x, 2, 2, 2, parallel=parallel), want)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES_2X2)
@pytest.mark.parametrize("seed", range(6))
def test_2x2_max_pool_backward_equals_naive_bit_for_bit_with_nan_and_negative_zero(module, dtype, shape, seed):
    rng = np.random.default_rng(100 + seed)
    x = _awkward(rng, shape, dtype, seed)
    out_n, cache_n = max_pool_forward_naive(x, _pp((2, 2, 2)))
    np.testing.assert_array_equal(module.max_pool_forward_cython(x, 2, 2, 2), out_n)
    dout = rng.integers(-4, 5, out_n.shape).astype(dtype)
    dout[rng.random(out_n.shape) < 0.2] = -0.0
    want = max_pool_backward_naive(dout, cache_n)
    for parallel in (False, True):
        assert_same_bits(module.max_pool_backward_cython(x, dout, 2, 2, 2, parallel=parallel), want)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES + [((2, 2, 7, 9), (2, 2, 2)), ((1, 2, 6, 6), (3, 3, 3))])
@pytest.mark.parametrize("seed", range(4))
def test_first_if_nonpositive_pools_before_the_relu_bit_for_bit(module, dtype, shape, window, seed):
    # np.maximum(pool(a, first_if_nonpositive), 0) must be the pool of np.maximum(a, 0), the ReLU
    # then the pool, in every bit: the ReLU'd window of a non-positive maximum is all zeros and
    # the pool takes its first one (what layer_utils.conv_relu_pool_forward relies on).
    rng = np.random.default_rng(200 + seed)
    a = _awkward(rng, shape, dtype, seed)
    relu_then_pool = module.max_pool_forward_cython(np.maximum(a, 0), *window)
    pooled = module.max_pool_forward_cython(a, *window, first_if_nonpositive=True)
    assert_same_bits(np.maximum(pooled, 0), relu_then_pool)
    # Where the maximum is positive (or NaN) the flag changes nothing.
    plain = module.max_pool_forward_cython(a, *window)
    keep = ~(plain <= 0)
    np.testing.assert_array_equal(pooled[keep], plain[keep])


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES + [((2, 2, 7, 9), (2, 2, 2))])
def test_positive_only_backward_reads_the_relu_input_or_output_alike(module, dtype, shape, window):
    rng = np.random.default_rng(5)
    a = _awkward(rng, shape, dtype, 0)
    dout = rng.integers(-4, 5, module.max_pool_forward_cython(a, *window).shape).astype(dtype)
    from_output = module.max_pool_backward_cython(np.maximum(a, 0), dout, *window, positive_only=True)
    from_input = module.max_pool_backward_cython(a, dout, *window, positive_only=True)
    assert_same_bits(from_input, from_output)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES + [((2, 2, 7, 9), (2, 2, 2)), ((1, 2, 6, 6), (3, 3, 3))])
@pytest.mark.parametrize("seed", range(3))
def test_zero_if_nonpositive_writes_positive_zero_where_the_maximum_is_not_positive(module, dtype, shape, window,
                                                                                     seed):
    rng = np.random.default_rng(300 + seed)
    a = _awkward(rng, shape, dtype, seed)
    a[:, ::2] = -np.abs(a[:, ::2])  # every other channel has no positive value (-0.0 stays -0.0)
    plain = module.max_pool_forward_cython(a, *window)
    got = module.max_pool_forward_cython(a, *window, zero_if_nonpositive=True)
    nonpositive = plain <= 0
    assert nonpositive.any() or np.isnan(plain).all()  # a global window may hold a NaN
    assert_same_bits(got[nonpositive], np.zeros(int(nonpositive.sum()), dtype))
    np.testing.assert_array_equal(got[~nonpositive], plain[~nonpositive])
    if module is compiled:  # its NaN is the one canonical NaN, the twin keeps numpy's
        assert_same_bits(got[~nonpositive], plain[~nonpositive])


@pytest.mark.skipif(compiled is None, reason="not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,window", CASES + [((2, 2, 9, 11), (3, 3, 1)), ((1, 2, 12, 12), (4, 4, 4))])
@pytest.mark.parametrize("seed", range(4))
def test_compiled_max_pool_keeps_the_first_maximum_bit_for_bit_on_every_window(dtype, shape, window, seed):
    # The general kernel scans a whole output row tap by tap; its pick must stay the first maximum.
    rng = np.random.default_rng(400 + seed)
    x = _awkward(rng, shape, dtype, seed)
    want = _first_max_pool(x, *window)
    for parallel in (False, True):
        assert_same_bits(compiled.max_pool_forward_cython(x, *window, parallel=parallel), want)


@pytest.mark.skipif(compiled is None, reason="not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES_2X2)
def test_compiled_2x2_avg_pool_sums_in_the_general_kernels_order_bit_for_bit(dtype, shape):
    # (((0 + v0) + v1) + v2) + v3, then / 4: the general loop's order, so the same bits (-0.0 too).
    rng = np.random.default_rng(7)
    x = _awkward(rng, shape, dtype, 1) * dtype(0.1)
    Ho, Wo = shape[2] // 2, shape[3] // 2
    tap = [x[:, :, a:2 * Ho:2, b:2 * Wo:2] for a in (0, 1) for b in (0, 1)]
    want = ((((np.zeros_like(tap[0]) + tap[0]) + tap[1]) + tap[2]) + tap[3]) / dtype(4)
    dout = rng.standard_normal(want.shape).astype(dtype)
    dout[0, 0, 0, :] = -0.0
    share = np.zeros_like(dout) + dout / dtype(4)
    want_dx = np.zeros_like(x)
    for a in (0, 1):
        for b in (0, 1):
            want_dx[:, :, a:2 * Ho:2, b:2 * Wo:2] = share
    for parallel in (False, True):
        assert_same_bits(compiled.avg_pool_forward_cython(x, 2, 2, 2, parallel=parallel), want)
        assert_same_bits(compiled.avg_pool_backward_cython(dout, x.shape, 2, 2, 2, parallel=parallel), want_dx)
