"""layer_utils.py: each sandwich against the naive layers composed by hand and against numeric gradients."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layer_utils import (
    affine_bn_relu_backward,
    affine_bn_relu_forward,
    affine_ln_relu_backward,
    affine_ln_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    conv_bn_relu_backward,
    conv_bn_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from layers.conv import conv_forward_naive
from layers.dense import affine_forward, relu_forward
from layers.norm import batchnorm_forward, layernorm_forward, spatial_batchnorm_forward
from layers.pool import max_pool_forward_naive
from tests.conftest import assert_close, assert_same_bits, assert_unchanged, snapshot

CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}

EXPECTED_NAMES = {
    # The eight CS231n sandwiches, then the two affine + normalization ones.
    "affine_relu_forward", "affine_relu_backward", "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward", "conv_bn_relu_forward", "conv_bn_relu_backward",
    "affine_bn_relu_forward", "affine_bn_relu_backward", "affine_ln_relu_forward", "affine_ln_relu_backward",
}


def test_layer_utils_exports_the_sandwiches():
    import layer_utils

    assert set(layer_utils.__all__) == EXPECTED_NAMES
    assert all(callable(getattr(layer_utils, n)) for n in EXPECTED_NAMES)


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", [POOL, {"pool_height": 3, "pool_width": 3, "stride": 2}])
def test_conv_relu_pool_is_bit_for_bit_the_unfused_fast_chain(rng, dtype, pool):
    # The sandwich pools before its ReLU and fuses the ReLU's backward into the pool's; both must
    # give exactly what conv_forward_fast -> relu_forward -> max_pool_forward_fast and their
    # backwards give. Small integers make conv outputs tie and hit exactly 0; a NaN pixel spreads
    # NaN to the outputs that read it.
    from fast_layers import conv_backward_fast, conv_forward_fast, max_pool_backward_fast, max_pool_forward_fast
    from layers.dense import relu_backward

    for trial in range(4):
        x = rng.integers(-1, 2, (2, 2, 7, 8)).astype(dtype)
        if trial % 2:
            x[0, 1, 3, 4] = np.nan
        w = rng.integers(-1, 2, (3, 2, 3, 3)).astype(dtype)
        b = np.array([0.0, -1.0, 1.0], dtype)
        out, cache = conv_relu_pool_forward(x, w, b, CONV, pool)
        a, conv_cache = conv_forward_fast(x, w, b, CONV)
        r, relu_cache = relu_forward(a)
        want, pool_cache = max_pool_forward_fast(r, pool)
        assert (want == 0).any() and (a == 0).any()
        assert_same_bits(out, want)
        dout = rng.integers(-2, 3, out.shape).astype(dtype)
        grads = conv_relu_pool_backward(dout, cache)
        unfused = conv_backward_fast(relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache), conv_cache)
        for g, u in zip(grads, unfused):
            assert_same_bits(g, u)


def _numeric_grads_match(forward, inputs, params, grads, dout, skip_zero=()):
    """Check every gradient in ``grads`` against central differences of ``forward``'s output."""
    def f_of(k):
        def f(v):
            args = list(inputs)
            args[k] = v
            return forward(*args, *[dict(p) for p in params])[0]
        return f

    for k, g in enumerate(grads):
        assert g.shape == inputs[k].shape
        num = eval_numerical_gradient_array(f_of(k), inputs[k], dout)
        if k in skip_zero:
            # A bias followed by batch normalization cancels exactly: both gradients are ~0,
            # and a relative error between two round-off-sized numbers means nothing.
            np.testing.assert_allclose(g, 0.0, atol=1e-12)
            np.testing.assert_allclose(num, 0.0, atol=1e-8)
        else:
            assert rel_error(g, num) < 1e-6, f"input {k}"


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
    _numeric_grads_match(conv_bn_relu_forward, [x, w, b, gamma, beta], [CONV, params], grads, dout,
                         skip_zero=(2,) if mode == "train" else ())


def _affine_norm_inputs(rng, M=5):
    x = rng.standard_normal((4, 2, 3))
    w = rng.standard_normal((6, M)) * 0.5
    b = rng.standard_normal(M) * 0.1
    return [x, w, b, rng.standard_normal(M), rng.standard_normal(M)]


@pytest.mark.parametrize("mode", ["train", "test"])
def test_affine_bn_relu_matches_naive_composition_and_numeric_gradient(rng, mode):
    inputs = _affine_norm_inputs(rng)
    x, w, b, gamma, beta = inputs
    params = {"mode": mode, "running_mean": rng.standard_normal(5), "running_var": rng.random(5) + 0.5}
    bn_param, ref_param = dict(params), dict(params)
    out, cache = affine_bn_relu_forward(x, w, b, gamma, beta, bn_param)
    a = batchnorm_forward(affine_forward(x, w, b)[0], gamma, beta, ref_param)[0]
    np.testing.assert_array_equal(out, relu_forward(a)[0])
    # Train mode updates the running statistics exactly as the plain batchnorm does.
    np.testing.assert_array_equal(bn_param["running_mean"], ref_param["running_mean"])
    np.testing.assert_array_equal(bn_param["running_var"], ref_param["running_var"])
    dout = rng.standard_normal(out.shape)
    grads = affine_bn_relu_backward(dout, cache)
    assert len(grads) == 5
    _numeric_grads_match(affine_bn_relu_forward, inputs, [params], grads, dout,
                         skip_zero=(2,) if mode == "train" else ())


def test_affine_ln_relu_matches_naive_composition_and_numeric_gradient(rng):
    inputs = _affine_norm_inputs(rng)
    x, w, b, gamma, beta = inputs
    ln_param = {"eps": 1e-5}
    before = dict(ln_param)
    out, cache = affine_ln_relu_forward(x, w, b, gamma, beta, ln_param)
    assert ln_param == before
    a = layernorm_forward(affine_forward(x, w, b)[0], gamma, beta, {"eps": 1e-5})[0]
    np.testing.assert_array_equal(out, relu_forward(a)[0])
    dout = rng.standard_normal(out.shape)
    grads = affine_ln_relu_backward(dout, cache)
    assert len(grads) == 5
    # Layer normalization is per example, so unlike batchnorm it does not cancel db.
    assert np.abs(grads[2]).max() > 1e-3
    _numeric_grads_match(affine_ln_relu_forward, inputs, [ln_param], grads, dout)


@pytest.mark.parametrize("forward, backward, param", [
    (affine_bn_relu_forward, affine_bn_relu_backward, {"mode": "train"}),
    (affine_ln_relu_forward, affine_ln_relu_backward, {}),
])
def test_affine_norm_relu_grads_share_the_promoted_dtype(rng, forward, backward, param):
    x, w, b, _, _ = (a.astype(np.float32) for a in _affine_norm_inputs(rng))
    out, cache = forward(x, w, b, np.ones(5), np.zeros(5), param)
    assert out.dtype == np.float64
    grads = backward(rng.standard_normal(out.shape).astype(np.float32), cache)
    assert [g.dtype for g in grads] == [np.float64] * 5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sandwiches_preserve_dtype_and_do_not_mutate(rng, dtype):
    x, w, b = (a.astype(dtype) for a in _conv_inputs(rng))
    gamma, beta = np.ones(3, dtype), np.zeros(3, dtype)
    cases = [
        (conv_relu_forward, conv_relu_backward, (x, w, b, CONV)),
        (conv_relu_pool_forward, conv_relu_pool_backward, (x, w, b, CONV, POOL)),
        (conv_bn_relu_forward, conv_bn_relu_backward, (x, w, b, gamma, beta, CONV, {"mode": "test"})),
        (affine_relu_forward, affine_relu_backward, (x, rng.standard_normal((32, 5)).astype(dtype), np.zeros(5, dtype))),
        (affine_bn_relu_forward, affine_bn_relu_backward,
         (x, rng.standard_normal((32, 5)).astype(dtype), np.zeros(5, dtype), np.ones(5, dtype), np.zeros(5, dtype),
          {"mode": "test"})),
        (affine_ln_relu_forward, affine_ln_relu_backward,
         (x, rng.standard_normal((32, 5)).astype(dtype), np.zeros(5, dtype), np.ones(5, dtype), np.zeros(5, dtype),
          {})),
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
        (affine_bn_relu_backward, 3, r"\(affine_cache, bn_cache, relu_cache\)"),
        (affine_ln_relu_backward, 3, r"\(affine_cache, ln_cache, relu_cache\)"),
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
