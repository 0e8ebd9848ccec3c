"""conv_forward_fast / conv_backward_fast are the strides layer: same outputs, same cache, same bits."""

from __future__ import annotations

import numpy as np
import pytest

from fast_layers import conv_backward_fast, conv_backward_strides, conv_forward_fast, conv_forward_strides
from tests.conftest import assert_same_bits

SHAPES = [
    ((2, 3, 6, 6), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ((2, 3, 7, 5), (4, 3, 3, 3), {"stride": 1, "pad": (0, 2)}),
    ((2, 3, 6, 6), (4, 3, 3, 3), {"stride": 2, "pad": 1}),
    ((2, 3, 6, 6), (4, 3, 5, 5), {"stride": 1, "pad": 2}),
    ((2, 3, 6, 6), (4, 3, 3, 3), {"stride": 1, "pad": 2, "dilation": 2}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs, ws, cp", SHAPES)
def test_fast_entry_points_are_the_strides_layer(xs, ws, cp, dtype):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (xs, ws, ws[:1]))
    out, cache = conv_forward_fast(x, w, b, cp)
    ref_out, ref_cache = conv_forward_strides(x, w, b, cp)
    assert_same_bits(out, ref_out)
    assert_same_bits(cache[4], ref_cache[4])
    dout = rng.standard_normal(out.shape).astype(dtype)
    for got, want in zip(conv_backward_fast(dout, cache), conv_backward_strides(dout, ref_cache)):
        assert_same_bits(got, want)
    dx, dw, db = conv_backward_fast(dout, cache, input_grad=False)
    assert dx is None
