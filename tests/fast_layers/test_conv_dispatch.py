"""conv_forward_fast / conv_backward_fast: the measured rule picks the layer, and any pick agrees with naive.

On this project's machine the strides layer won every measured shape, so by default the fast
entry points are the strides layer; ``tuning.winograd_min_channels`` turns Winograd on for 3x3
stride-1 convolutions with enough channels, and the fast backward follows whichever cache it gets.
"""

from __future__ import annotations

import numpy as np
import pytest

from fast_layers import conv_backward_fast, conv_forward_fast, tuning
from fast_layers.winograd import WinogradCache
from layers import conv_backward_naive, conv_forward_naive
from tests.conftest import assert_close

SHAPES = [
    # (x shape, w shape, conv_param, Winograd applies)
    ((2, 4, 7, 6), (5, 4, 3, 3), {"stride": 1, "pad": 1}, True),
    ((3, 2, 5, 5), (2, 2, 3, 3), {"stride": 1, "pad": 0}, True),
    ((2, 4, 7, 6), (5, 4, 3, 3), {"stride": 2, "pad": 1}, False),
    ((2, 3, 8, 8), (4, 3, 5, 5), {"stride": 1, "pad": 2}, False),
]


def _case(xs, ws, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype),
            rng.standard_normal(ws[0]).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs, ws, cp, applies", SHAPES)
def test_default_is_the_strides_layer(xs, ws, cp, applies, dtype):
    x, w, b = _case(xs, ws, dtype)
    assert tuning.WINOGRAD_MIN_CHANNELS is None
    _, cache = conv_forward_fast(x, w, b, cp)
    assert type(cache) is tuple and len(cache) == 5 and cache[4].ndim == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("least, xs, ws, cp, applies", [(m,) + s for s in SHAPES for m in (1, 3, 5)])
def test_the_knob_picks_winograd_where_it_applies_and_every_pick_matches_naive(least, xs, ws, cp, applies, dtype):
    x, w, b = _case(xs, ws, dtype)
    ref, ref_cache = conv_forward_naive(x, w, b, cp)
    dout = np.random.default_rng(1).standard_normal(ref.shape).astype(dtype)
    with tuning.override(winograd_min_channels=least):
        out, cache = conv_forward_fast(x, w, b, cp)
        grads = conv_backward_fast(dout, cache)
        _, dw_only, db_only = conv_backward_fast(dout, cache, input_grad=False)
    expect_winograd = applies and min(xs[1], ws[0]) >= least
    assert isinstance(cache, WinogradCache) is expect_winograd
    assert_close(out, ref, dtype, scale=10)
    for got, want in zip(grads, conv_backward_naive(dout, ref_cache)):
        assert_close(got, want, dtype, scale=10)
    np.testing.assert_array_equal(dw_only, grads[1])
    np.testing.assert_array_equal(db_only, grads[2])


def test_a_bad_input_is_refused_the_same_way_with_the_knob_on():
    x, w, b = _case((2, 4, 7, 6), (5, 4, 3, 3), np.float64)
    with tuning.override(winograd_min_channels=1):
        with pytest.raises(ValueError, match="b must have shape"):
            conv_forward_fast(x, w, b[:3], {"stride": 1, "pad": 1})
        with pytest.raises(TypeError):
            conv_forward_fast(x.tolist(), w, b, {"stride": 1, "pad": 1})
