"""The strides convolution's blocking over images: every block layout gives the naive result.

Small test shapes fit in one block, so the backward's block budget is shrunk here to force the
multi-block path (several column-gradient blocks) through ``fast_layers.tuning.override``, the
documented way to change it.
"""

from __future__ import annotations

import numpy as np
import pytest

import fast_layers.conv as fconv
from fast_layers import tuning
from layers import conv_backward_naive, conv_forward_naive
from tests.conftest import assert_close


@pytest.mark.parametrize("N", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("budget", [1, 3000, 10**9], ids=["one-image-blocks", "mixed", "one-block"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_strides_matches_naive_for_every_block_layout(N, budget, dtype):
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, 3, 7, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    cp = {"stride": (2, 1), "pad": (1, 0), "dilation": (1, 2)}
    ref_out, ref_cache = conv_forward_naive(x, w, b, cp)
    dout = rng.standard_normal(ref_out.shape).astype(dtype)
    with tuning.override(backward_block_bytes=budget):
        out, cache = fconv.conv_forward_strides(x, w, b, cp)
        grads = fconv.conv_backward_strides(dout, cache)
    assert out.dtype == dtype
    assert_close(out, ref_out, dtype, scale=10)
    for got, ref in zip(grads, conv_backward_naive(dout, ref_cache)):
        assert got.dtype == dtype
        assert_close(got, ref, dtype, scale=10)
