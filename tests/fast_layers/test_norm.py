"""fast_layers/norm.py: the fast batchnorm twins give the references' bits, statistics and caches."""

from __future__ import annotations

import numpy as np
import pytest

from fast_layers import (
    batchnorm_backward_fast,
    batchnorm_forward_fast,
    spatial_batchnorm_backward_fast,
    spatial_batchnorm_forward_fast,
)
from layers import batchnorm_backward, batchnorm_forward, spatial_batchnorm_backward, spatial_batchnorm_forward
from tests.conftest import assert_same_bits, assert_unchanged, snapshot


def _bn_param(rng, D, mode, dtype):
    return {"mode": mode, "momentum": 0.7, "eps": 1e-3, "running_mean": rng.standard_normal(D).astype(dtype),
            "running_var": (rng.random(D) + 0.5).astype(dtype)}


def _same(got, want):
    for g, w in zip(got, want, strict=True):
        if isinstance(w, np.ndarray) and w.dtype.kind == "f":
            assert_same_bits(g, w)
        else:
            assert g == w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("N", [1, 2, 13, 257])
def test_batchnorm_fast_twin_equals_the_reference_bit_for_bit(dtype, mode, N):
    rng = np.random.default_rng(N)
    x = (rng.standard_normal((N, 5)) * 50 + 3).astype(dtype)
    gamma, beta, dout = (rng.standard_normal(s).astype(dtype) for s in (5, 5, (N, 5)))
    p_ref, p_fast = _bn_param(rng, 5, mode, dtype), None
    p_fast = dict(p_ref)
    out, cache = batchnorm_forward(x, gamma, beta, p_ref)
    out_f, cache_f = batchnorm_forward_fast(x, gamma, beta, p_fast)
    assert_same_bits(out_f, out)
    _same(cache_f, cache)
    for key in ("running_mean", "running_var"):
        assert_same_bits(p_fast[key], p_ref[key])
    before = snapshot((dout, cache_f))
    _same(batchnorm_backward_fast(dout, cache_f), batchnorm_backward(dout, cache))
    assert_unchanged(before, (dout, cache_f))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_fast_twin_equals_the_reference_bit_for_bit(dtype, mode):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, 4, 5, 2)) * 4 - 1).astype(dtype)
    gamma, beta = rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)
    p_ref = _bn_param(rng, 4, mode, dtype)
    p_fast = dict(p_ref)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, p_ref)
    out_f, cache_f = spatial_batchnorm_forward_fast(x, gamma, beta, p_fast)
    assert_same_bits(out_f, out)
    dout = rng.standard_normal(x.shape).astype(dtype)
    _same(spatial_batchnorm_backward_fast(dout, cache_f), spatial_batchnorm_backward(dout, cache))


def test_batchnorm_backward_fast_computes_a_hand_made_cache_in_the_layer_dtype():
    # float32 x and gamma with float64 statistics: float32 gradients, the statistics rounded first.
    rng = np.random.default_rng(2)
    x, gamma, beta, dout = (rng.standard_normal(s).astype(np.float32) for s in ((6, 3), 3, 3, (6, 3)))
    mean, std = x.astype(np.float64).mean(axis=0), x.astype(np.float64).std(axis=0) + 0.1
    got = batchnorm_backward_fast(dout, (x, gamma, beta, mean, std, "train"))
    rounded = batchnorm_backward_fast(dout, (x, gamma, beta, mean.astype(np.float32), std.astype(np.float32), "train"))
    _same(got, rounded)
    assert all(a.dtype == np.float32 for a in got)


def test_batchnorm_fast_twin_refuses_what_the_reference_refuses():
    x = np.ones((4, 3))
    for call in (batchnorm_forward, batchnorm_forward_fast):
        with pytest.raises(ValueError, match="mode"):
            call(x, np.ones(3), np.zeros(3), {"mode": "eval"})
    _, cache = batchnorm_forward_fast(x, np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match="batchnorm_forward_fast"):
        batchnorm_backward_fast(np.ones((4, 2)), cache)
