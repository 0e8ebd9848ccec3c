"""Tests for layers/sandwich.py: chained layers built on the fast conv and pool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers.conv import conv_forward_naive
from layers.dense import affine_forward, relu_forward
from layers.norm import spatial_batchnorm_forward
from layers.pool import max_pool_forward_naive
from layers.sandwich import (
    affine_relu_backward,
    affine_relu_forward,
    conv_bn_relu_backward,
    conv_bn_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from tests.conftest import assert_close, assert_unchanged, snapshot

REPO = Path(__file__).resolve().parents[2]
CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.mark.parametrize(
    "statement",
    [
        "import fast_layers",
        "import layers",
        "import fast_layers.pool",
        "import layers.sandwich",
        "from layers import conv_relu_pool_forward, conv_bn_relu_backward",
        "from fast_layers import max_pool_forward_fast; import layers",
        "import layers; import fast_layers; layers.conv_relu_forward",
    ],
)
def test_packages_import_in_a_fresh_process_in_any_order(statement):
    # Each statement in a new interpreter: a circular import between layers and fast_layers
    # only shows up on the first import in a process.
    code = statement + "; import layers, fast_layers; assert layers.conv_bn_relu_forward and fast_layers.max_pool_forward_fast"
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def _conv_inputs(rng, C=2, F=3, H=4, W=4):
    x = rng.standard_normal((2, C, H, W))
    w = rng.standard_normal((F, C, 3, 3)) * 0.5
    b = rng.standard_normal(F) * 0.1
    return x, w, b


def test_affine_relu_matches_composition_and_numeric_gradient(rng):
    x = rng.standard_normal((3, 2, 2))
    w = rng.standard_normal((4, 5))
    b = rng.standard_normal(5)
    out, cache = affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, relu_forward(affine_forward(x, w, b)[0])[0])
    dout = rng.standard_normal(out.shape)
    dx, dw, db = affine_relu_backward(dout, cache)
    f = affine_relu_forward
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, w, b)[0], x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: f(x, v, b)[0], w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: f(x, w, v)[0], b, dout)) < 1e-7


def test_conv_relu_matches_naive_composition_and_numeric_gradient(rng):
    x, w, b = _conv_inputs(rng)
    out, cache = conv_relu_forward(x, w, b, CONV)
    assert_close(out, relu_forward(conv_forward_naive(x, w, b, CONV)[0])[0])
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_relu_backward(dout, cache)
    f = conv_relu_forward
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, w, b, CONV)[0], x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: f(x, v, b, CONV)[0], w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: f(x, w, v, CONV)[0], b, dout)) < 1e-7


def test_conv_relu_pool_matches_naive_composition_and_numeric_gradient(rng):
    x, w, b = _conv_inputs(rng)
    out, cache = conv_relu_pool_forward(x, w, b, CONV, POOL)
    ref = max_pool_forward_naive(relu_forward(conv_forward_naive(x, w, b, CONV)[0])[0], POOL)[0]
    assert out.shape == (2, 3, 2, 2)
    assert_close(out, ref)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_relu_pool_backward(dout, cache)
    f = conv_relu_pool_forward
    # Random data: a max-pool tie or a conv output at exactly 0 has probability zero.
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, w, b, CONV, POOL)[0], x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: f(x, v, b, CONV, POOL)[0], w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: f(x, w, v, CONV, POOL)[0], b, dout)) < 1e-7


@pytest.mark.parametrize("mode", ["train", "test"])
def test_conv_bn_relu_matches_naive_composition_and_numeric_gradient(rng, mode):
    x, w, b = _conv_inputs(rng)
    gamma = rng.standard_normal(3)
    beta = rng.standard_normal(3)
    params = {"mode": mode, "running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    bn_param = dict(params)
    out, cache = conv_bn_relu_forward(x, w, b, gamma, beta, CONV, bn_param)
    ref_param = dict(params)
    a = spatial_batchnorm_forward(conv_forward_naive(x, w, b, CONV)[0], gamma, beta, ref_param)[0]
    assert_close(out, relu_forward(a)[0])
    # The running statistics are updated exactly as the plain spatial batchnorm does.
    assert_close(bn_param["running_mean"], ref_param["running_mean"])
    assert_close(bn_param["running_var"], ref_param["running_var"])
    dout = rng.standard_normal(out.shape)
    grads = conv_bn_relu_backward(dout, cache)
    assert len(grads) == 5
    inputs = [x, w, b, gamma, beta]

    def f_of(k):
        def f(v):
            args = list(inputs)
            args[k] = v
            return conv_bn_relu_forward(*args, CONV, dict(params))[0]
        return f

    for k, g in enumerate(grads):
        assert g.shape == inputs[k].shape
        num = eval_numerical_gradient_array(f_of(k), inputs[k], dout)
        if mode == "train" and k == 2:
            # Batch statistics cancel a per-channel conv bias: db is exactly 0 in theory, and
            # relative error between two round-off-sized numbers means nothing.
            np.testing.assert_allclose(g, 0.0, atol=1e-12)
            np.testing.assert_allclose(num, 0.0, atol=1e-8)
        else:
            assert rel_error(g, num) < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sandwiches_preserve_dtype_and_do_not_mutate(rng, dtype):
    x, w, b = (a.astype(dtype) for a in _conv_inputs(rng))
    gamma, beta = np.ones(3, dtype), np.zeros(3, dtype)
    cases = [
        (conv_relu_forward, conv_relu_backward, (x, w, b, CONV)),
        (conv_relu_pool_forward, conv_relu_pool_backward, (x, w, b, CONV, POOL)),
        (conv_bn_relu_forward, conv_bn_relu_backward, (x, w, b, gamma, beta, CONV, {"mode": "test"})),
        (affine_relu_forward, affine_relu_backward, (x, rng.standard_normal((32, 5)).astype(dtype), np.zeros(5, dtype))),
    ]
    for forward, backward, args in cases:
        before = snapshot(args)
        out, cache = forward(*args)
        assert_unchanged(before, args)
        assert out.dtype == dtype
        dout = rng.standard_normal(out.shape)
        before = snapshot((dout, cache))
        grads = backward(dout, cache)
        assert_unchanged(before, (dout, cache))
        assert all(g.dtype == dtype for g in grads)


@pytest.mark.parametrize(
    "backward, n, fields",
    [
        (affine_relu_backward, 2, r"\(affine_cache, relu_cache\)"),
        (conv_relu_backward, 2, r"\(conv_cache, relu_cache\)"),
        (conv_relu_pool_backward, 3, r"\(conv_cache, relu_cache, pool_cache\)"),
        (conv_bn_relu_backward, 3, r"\(conv_cache, bn_cache, relu_cache\)"),
    ],
)
def test_sandwich_backward_rejects_wrong_cache(backward, n, fields):
    with pytest.raises(TypeError, match=rf"{n}-tuple {fields}"):
        backward(np.zeros((1, 1)), (None,) * (n + 1))


def test_sandwich_errors_come_from_the_pieces(rng):
    x, w, b = _conv_inputs(rng)
    with pytest.raises(ValueError, match=r"window 3x3 is larger than the input 2x2"):
        conv_relu_pool_forward(x, w, b, {"stride": 2, "pad": 1}, {"pool_height": 3, "pool_width": 3, "stride": 1})
    with pytest.raises(ValueError, match=r"gamma must have shape \(C,\) = \(3,\), got shape \(2,\)"):
        conv_bn_relu_forward(x, w, b, np.ones(2), np.zeros(3), CONV, {"mode": "train"})
    _, cache = conv_relu_pool_forward(x, w, b, CONV, POOL)
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 4, 4\)"):
        conv_relu_pool_backward(np.zeros((2, 3, 4, 4)), cache)


def test_conv_bn_relu_grads_share_the_promoted_dtype(rng):
    # float32 images and filters with float64 gamma: the layer computes in float64 throughout,
    # so dx, dw and db come back in float64 like dgamma and dbeta.
    x, w, b = (a.astype(np.float32) for a in _conv_inputs(rng))
    out, cache = conv_bn_relu_forward(x, w, b, np.ones(3), np.zeros(3), CONV, {"mode": "train"})
    assert out.dtype == np.float64
    grads = conv_bn_relu_backward(rng.standard_normal(out.shape).astype(np.float32), cache)
    assert [g.dtype for g in grads] == [np.float64] * 5
