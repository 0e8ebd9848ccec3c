"""Tests for layers/norm.py: batch, layer, spatial batch and spatial group normalization."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_check import eval_numerical_gradient_array, rel_error
from layers.norm import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)
from tests.conftest import assert_close, assert_unchanged, snapshot

EPS = 1e-5


# --- batchnorm: hand cases ---------------------------------------------------------------------


def test_batchnorm_train_hand_case_and_running_stats():
    # Column 0: [1, 3] -> mean 2, biased var 1. Column 1: [2, 6] -> mean 4, biased var 4.
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    gamma = np.array([2.0, 3.0])
    beta = np.array([0.5, -1.0])
    bn_param = {"mode": "train"}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    s0, s1 = np.sqrt(1.0 + EPS), np.sqrt(4.0 + EPS)
    expected = np.array([[2 * -1 / s0 + 0.5, 3 * -2 / s1 - 1.0], [2 * 1 / s0 + 0.5, 3 * 2 / s1 - 1.0]])
    assert_close(out, expected)
    # From zeros with momentum 0.9: 0.1 * batch statistic.
    assert_close(bn_param["running_mean"], [0.2, 0.4])
    assert_close(bn_param["running_var"], [0.1, 0.4])
    batchnorm_forward(x, gamma, beta, bn_param)
    # 0.9 * 0.2 + 0.1 * 2 = 0.38; 0.9 * 0.4 + 0.1 * 4 = 0.76; variances likewise.
    assert_close(bn_param["running_mean"], [0.38, 0.76])
    assert_close(bn_param["running_var"], [0.19, 0.76])


def test_batchnorm_momentum_and_eps_are_honoured():
    x = np.array([[0.0], [2.0]])  # mean 1, var 1
    bn_param = {"mode": "train", "momentum": 0.5, "eps": 3.0, "running_mean": np.array([3.0]),
                "running_var": np.array([5.0])}
    out, _ = batchnorm_forward(x, np.ones(1), np.zeros(1), bn_param)
    assert_close(out, [[-0.5], [0.5]])  # (x - 1) / sqrt(1 + 3)
    assert_close(bn_param["running_mean"], [2.0])  # 0.5 * 3 + 0.5 * 1
    assert_close(bn_param["running_var"], [3.0])  # 0.5 * 5 + 0.5 * 1


def test_batchnorm_test_mode_uses_running_stats_and_is_affine():
    bn_param = {"mode": "test", "eps": 1.0, "running_mean": np.array([1.0, -1.0]),
                "running_var": np.array([3.0, 0.0])}  # std = sqrt(var + 1) = [2, 1]
    before = snapshot(bn_param)
    x = np.array([[5.0, 0.0]])
    gamma = np.array([2.0, 3.0])
    beta = np.array([0.5, -1.0])
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    # xhat = [(5 - 1) / 2, (0 + 1) / 1] = [2, 1]; out = [2*2 + 0.5, 3*1 - 1]
    np.testing.assert_allclose(out, [[4.5, 2.0]])
    assert_unchanged(before, bn_param, "bn_param")  # test mode never touches the running stats
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(np.array([[1.0, 1.0]]), cache)
        np.testing.assert_allclose(dx, [[1.0, 3.0]])  # gamma / std
        np.testing.assert_allclose(dgamma, [2.0, 1.0])  # xhat
        np.testing.assert_allclose(dbeta, [1.0, 1.0])


def test_batchnorm_train_output_is_standardized(rng):
    x = rng.standard_normal((50, 3)) * [1.0, 5.0, 0.1] + [10.0, -3.0, 0.0]
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    # var/(var + eps) ~ 1 except for the column of std 0.1, where eps matters at 1e-3.
    np.testing.assert_allclose(out.std(axis=0), np.sqrt(x.var(axis=0) / (x.var(axis=0) + EPS)), rtol=1e-12)


def test_batchnorm_stores_new_running_arrays():
    # The caller's arrays are never written in place, even in train mode.
    rm, rv = np.array([1.0]), np.array([2.0])
    bn_param = {"mode": "train", "running_mean": rm, "running_var": rv}
    batchnorm_forward(np.array([[0.0], [4.0]]), np.ones(1), np.zeros(1), bn_param)
    assert rm[0] == 1.0 and rv[0] == 2.0
    assert bn_param["running_mean"] is not rm


# --- batchnorm: gradients ---------------------------------------------------------------------


def _bn_inputs(rng, N=5, D=4):
    x = rng.standard_normal((N, D)) * 2 + 1
    gamma = rng.standard_normal(D)
    beta = rng.standard_normal(D)
    dout = rng.standard_normal((N, D))
    return x, gamma, beta, dout


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_backward_matches_numeric_gradient(rng, mode, backward):
    x, gamma, beta, dout = _bn_inputs(rng)
    params = {"mode": mode, "running_mean": rng.standard_normal(4), "running_var": rng.random(4) + 0.5}

    def f(xv, gv, bv):
        # A fresh copy each time: the numeric probes must not feed the running statistics back.
        return batchnorm_forward(xv, gv, bv, dict(params))[0]

    _, cache = batchnorm_forward(x, gamma, beta, dict(params))
    dx, dgamma, dbeta = backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda v: f(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda v: f(x, gamma, v), beta, dout)) < 1e-7


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_backward_alt_equals_backward(rng, mode, dtype):
    x, gamma, beta, dout = (a.astype(dtype) for a in _bn_inputs(rng, 8, 6))
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": mode, "running_var": np.ones(6, dtype)})
    for a, b in zip(batchnorm_backward(dout, cache), batchnorm_backward_alt(dout, cache)):
        assert a.dtype == dtype
        assert_close(a, b, dtype, scale=10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_preserves_dtype(rng, dtype):
    x, gamma, beta, dout = (a.astype(dtype) for a in _bn_inputs(rng))
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    assert out.dtype == dtype
    assert bn_param["running_mean"].dtype == dtype and bn_param["running_var"].dtype == dtype
    ref, _ = batchnorm_forward(x.astype(np.float64), gamma.astype(np.float64), beta.astype(np.float64),
                               {"mode": "train"})
    assert_close(out, ref, dtype, scale=10)


def test_batchnorm_does_not_mutate_inputs_dout_or_cache(rng):
    x, gamma, beta, dout = _bn_inputs(rng)
    before = snapshot((x, gamma, beta))
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert_unchanged(before, (x, gamma, beta))
    before = snapshot((dout, cache))
    batchnorm_backward(dout, cache)
    batchnorm_backward_alt(dout, cache)
    assert_unchanged(before, (dout, cache))


# --- batchnorm: validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "gamma_shape, beta_shape, bn_param, exc, match",
    [
        ((3,), (4,), {"mode": "train"}, ValueError, r"gamma must have shape \(D,\) = \(4,\), got shape \(3,\)"),
        ((4,), (1, 4), {"mode": "train"}, ValueError, r"beta must have shape \(D,\) = \(4,\), got shape \(1, 4\)"),
        ((4,), (4,), {"mode": "eval"}, ValueError, r"'train' or 'test', got 'eval'"),
        ((4,), (4,), {}, ValueError, r"missing required key\(s\) \['mode'\]"),
        ((4,), (4,), {"mode": "train", "eps": 0.0}, ValueError, r"bn_param\['eps'\] must lie in \(0.0, inf\], got 0.0"),
        ((4,), (4,), {"mode": "train", "momentum": 1.5}, ValueError, r"bn_param\['momentum'\].*got 1.5"),
        ((4,), (4,), {"mode": "train", "eps": "1e-5"}, TypeError, r"bn_param\['eps'\] must be a real number"),
        ((4,), (4,), {"mode": "test", "running_mean": np.zeros(3)}, ValueError,
         r"bn_param\['running_mean'\] must have shape \(D,\) = \(4,\), got shape \(3,\)"),
        ((4,), (4,), "train", TypeError, r"bn_param must be a dict, got str"),
    ],
)
def test_batchnorm_rejects_bad_arguments(gamma_shape, beta_shape, bn_param, exc, match):
    with pytest.raises(exc, match=match):
        batchnorm_forward(np.zeros((2, 4)), np.ones(gamma_shape), np.zeros(beta_shape), bn_param)


def test_batchnorm_rejects_non_2d_x():
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, D\), got shape \(2, 4, 1\)"):
        batchnorm_forward(np.zeros((2, 4, 1)), np.ones(4), np.zeros(4), {"mode": "train"})


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_backward_rejects_bad_dout_and_cache(backward):
    _, cache = batchnorm_forward(np.zeros((2, 4)), np.ones(4), np.zeros(4), {"mode": "train"})
    with pytest.raises(ValueError, match=r"dout has shape \(4, 2\).*\(2, 4\)"):
        backward(np.zeros((4, 2)), cache)
    with pytest.raises(TypeError, match=r"6-tuple \(x, gamma, beta, mean, std, mode\)"):
        backward(np.zeros((2, 4)), cache[:5])


# --- layernorm ------------------------------------------------------------------------------------


def test_layernorm_hand_case():
    # Row 0: [1, 3] -> mean 2, var 1. Row 1: [0, 4] -> mean 2, var 4.
    x = np.array([[1.0, 3.0], [0.0, 4.0]])
    gamma = np.array([2.0, 3.0])
    beta = np.array([0.5, -1.0])
    ln_param = {"eps": EPS}
    before = snapshot(ln_param)
    out, _ = layernorm_forward(x, gamma, beta, ln_param)
    s0, s1 = np.sqrt(1.0 + EPS), np.sqrt(4.0 + EPS)
    expected = np.array([[2 * -1 / s0 + 0.5, 3 * 1 / s0 - 1.0], [2 * -2 / s1 + 0.5, 3 * 2 / s1 - 1.0]])
    assert_close(out, expected)
    assert_unchanged(before, ln_param, "ln_param")


def test_layernorm_backward_matches_numeric_gradient(rng):
    x, gamma, beta, dout = _bn_inputs(rng, 4, 6)
    _, cache = layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    f = layernorm_forward
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, gamma, beta, {})[0], x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda v: f(x, v, beta, {})[0], gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda v: f(x, gamma, v, {})[0], beta, dout)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layernorm_dtype_and_no_mutation(rng, dtype):
    x, gamma, beta, dout = (a.astype(dtype) for a in _bn_inputs(rng))
    before = snapshot((x, gamma, beta))
    out, cache = layernorm_forward(x, gamma, beta, {})
    assert_unchanged(before, (x, gamma, beta))
    before = snapshot((dout, cache))
    grads = layernorm_backward(dout, cache)
    assert_unchanged(before, (dout, cache))
    assert out.dtype == dtype and all(g.dtype == dtype for g in grads)


def test_layernorm_validation():
    with pytest.raises(ValueError, match=r"gamma must have shape \(D,\) = \(4,\), got shape \(2,\)"):
        layernorm_forward(np.zeros((2, 4)), np.ones(2), np.zeros(4), {})
    with pytest.raises(ValueError, match=r"ln_param\['eps'\] must lie in \(0.0, inf\], got -1"):
        layernorm_forward(np.zeros((2, 4)), np.ones(4), np.zeros(4), {"eps": -1})
    _, cache = layernorm_forward(np.zeros((2, 4)), np.ones(4), np.zeros(4), {})
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3\)"):
        layernorm_backward(np.zeros((2, 3)), cache)
    with pytest.raises(TypeError, match=r"returned by layernorm_forward, got list"):
        layernorm_backward(np.zeros((2, 4)), list(cache))


# --- spatial batchnorm -------------------------------------------------------------------------


def test_spatial_batchnorm_normalizes_each_channel_over_n_h_w(rng):
    x = rng.standard_normal((3, 2, 4, 5)) * np.array([1.0, 4.0])[:, None, None] + 7.0
    gamma = np.array([2.0, -1.0])
    beta = np.array([0.25, 3.0])
    bn_param = {"mode": "train"}
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    mean = x.mean(axis=(0, 2, 3))
    var = ((x - mean[:, None, None]) ** 2).mean(axis=(0, 2, 3))
    expected = gamma[:, None, None] * (x - mean[:, None, None]) / np.sqrt(var + EPS)[:, None, None] + beta[:, None, None]
    assert_close(out, expected)
    assert_close(bn_param["running_mean"], 0.1 * mean)
    assert_close(bn_param["running_var"], 0.1 * var)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_backward_matches_numeric_gradient(rng, mode):
    x = rng.standard_normal((2, 3, 3, 2))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)
    params = {"mode": mode, "running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}

    def f(xv, gv, bv):
        return spatial_batchnorm_forward(xv, gv, bv, dict(params))[0]

    _, cache = spatial_batchnorm_forward(x, gamma, beta, dict(params))
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda v: f(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda v: f(x, gamma, v), beta, dout)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spatial_batchnorm_dtype_no_mutation_non_contiguous(rng, dtype):
    x = rng.standard_normal((2, 3, 4, 6)).astype(dtype)[:, :, :, ::2]
    gamma, beta = np.ones(3, dtype), np.zeros(3, dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    before = snapshot((x, gamma, beta))
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert_unchanged(before, (x, gamma, beta))
    ref, _ = spatial_batchnorm_forward(np.ascontiguousarray(x, dtype=np.float64), gamma.astype(np.float64),
                                       beta.astype(np.float64), {"mode": "train"})
    assert out.dtype == dtype
    assert_close(out, ref, dtype, scale=10)
    before = snapshot((dout, cache))
    grads = spatial_batchnorm_backward(dout, cache)
    assert_unchanged(before, (dout, cache))
    assert all(g.dtype == dtype for g in grads)


def test_spatial_batchnorm_validation():
    with pytest.raises(ValueError, match=r"gamma must have shape \(C,\) = \(3,\), got shape \(1, 3, 1, 1\)"):
        spatial_batchnorm_forward(np.zeros((2, 3, 2, 2)), np.ones((1, 3, 1, 1)), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        spatial_batchnorm_forward(np.zeros((2, 3)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"got 'Train'"):
        spatial_batchnorm_forward(np.zeros((2, 3, 2, 2)), np.ones(3), np.zeros(3), {"mode": "Train"})
    _, cache = spatial_batchnorm_forward(np.zeros((2, 3, 2, 2)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 2, 1\)"):
        spatial_batchnorm_backward(np.zeros((2, 3, 2, 1)), cache)


# --- spatial groupnorm ---------------------------------------------------------------------------


def test_spatial_groupnorm_hand_case():
    # One example, channels [1, 3] and [10, 14] (H=1, W=2).
    x = np.array([[[[1.0, 3.0]], [[10.0, 14.0]]]])
    gamma = np.array([2.0, 3.0]).reshape(1, 2, 1, 1)
    beta = np.array([0.5, -1.0]).reshape(1, 2, 1, 1)
    # G = 2: each channel alone. [1, 3] mean 2 var 1; [10, 14] mean 12 var 4.
    out, _ = spatial_groupnorm_forward(x, gamma, beta, 2, {"eps": EPS})
    s0, s1 = np.sqrt(1.0 + EPS), np.sqrt(4.0 + EPS)
    assert_close(out, [[[[2 * -1 / s0 + 0.5, 2 * 1 / s0 + 0.5]], [[3 * -2 / s1 - 1.0, 3 * 2 / s1 - 1.0]]]])
    # G = 1: [1, 3, 10, 14] mean 7, var (36 + 16 + 9 + 49) / 4 = 27.5.
    out, _ = spatial_groupnorm_forward(x, gamma, beta, 1, {})
    s = np.sqrt(27.5 + EPS)
    assert_close(out, [[[[2 * -6 / s + 0.5, 2 * -4 / s + 0.5]], [[3 * 3 / s - 1.0, 3 * 7 / s - 1.0]]]])


@pytest.mark.parametrize("G", [1, 2, 4])
def test_spatial_groupnorm_backward_matches_numeric_gradient(rng, G):
    x = rng.standard_normal((2, 4, 3, 2))
    gamma, beta = rng.standard_normal((1, 4, 1, 1)), rng.standard_normal((1, 4, 1, 1))
    dout = rng.standard_normal(x.shape)

    def f(xv, gv, bv):
        return spatial_groupnorm_forward(xv, gv, bv, G, {})[0]

    _, cache = spatial_groupnorm_forward(x, gamma, beta, G, {})
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)
    assert dgamma.shape == (1, 4, 1, 1) and dbeta.shape == (1, 4, 1, 1)
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: f(v, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda v: f(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda v: f(x, gamma, v), beta, dout)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spatial_groupnorm_dtype_and_no_mutation(rng, dtype):
    x = rng.standard_normal((2, 4, 3, 3)).astype(dtype)
    gamma = rng.standard_normal((1, 4, 1, 1)).astype(dtype)
    beta = rng.standard_normal((1, 4, 1, 1)).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    gn_param = {}
    before = snapshot((x, gamma, beta, gn_param))
    out, cache = spatial_groupnorm_forward(x, gamma, beta, 2, gn_param)
    assert_unchanged(before, (x, gamma, beta, gn_param))
    before = snapshot((dout, cache))
    grads = spatial_groupnorm_backward(dout, cache)
    assert_unchanged(before, (dout, cache))
    assert out.dtype == dtype and all(g.dtype == dtype for g in grads)


@pytest.mark.parametrize(
    "G, gamma_shape, exc, match",
    [
        (3, (1, 4, 1, 1), ValueError, r"positive divisor of C = 4, got G = 3"),
        (0, (1, 4, 1, 1), ValueError, r"got G = 0"),
        (2.0, (1, 4, 1, 1), TypeError, r"G \(number of groups\) must be a positive int, got 2.0"),
        (2, (4,), ValueError, r"gamma must have shape \(1, C, 1, 1\) = \(1, 4, 1, 1\), got shape \(4,\)"),
    ],
)
def test_spatial_groupnorm_validation(G, gamma_shape, exc, match):
    with pytest.raises(exc, match=match):
        spatial_groupnorm_forward(np.zeros((2, 4, 2, 2)), np.ones(gamma_shape), np.zeros((1, 4, 1, 1)), G, {})


def test_spatial_groupnorm_backward_validation():
    _, cache = spatial_groupnorm_forward(np.zeros((2, 4, 2, 2)), np.ones((1, 4, 1, 1)),
                                         np.zeros((1, 4, 1, 1)), 2, {})
    with pytest.raises(ValueError, match=r"dout has shape \(2, 4, 2\)"):
        spatial_groupnorm_backward(np.zeros((2, 4, 2)), cache)
    with pytest.raises(TypeError, match=r"6-tuple \(x, gamma, beta, G, mean, std\)"):
        spatial_groupnorm_backward(np.zeros((2, 4, 2, 2)), cache[1:])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: batchnorm_forward(np.zeros((0, 3)), np.ones(3), np.zeros(3), {"mode": "train"}),
         r"at least one example.*got x shape \(0, 3\)"),
        (lambda: spatial_batchnorm_forward(np.zeros((2, 3, 0, 5)), np.ones(3), np.zeros(3), {"mode": "train"}),
         r"N, H and W >= 1.*\(2, 3, 0, 5\)"),
        (lambda: spatial_batchnorm_forward(np.zeros((0, 3, 4, 5)), np.ones(3), np.zeros(3), {"mode": "train"}),
         r"\(0, 3, 4, 5\)"),
        (lambda: layernorm_forward(np.zeros((2, 0)), np.ones(0), np.zeros(0), {}), r"D >= 1.*\(2, 0\)"),
        (lambda: spatial_groupnorm_forward(np.zeros((1, 0, 2, 2)), np.ones((1, 0, 1, 1)),
                                           np.zeros((1, 0, 1, 1)), 1, {}), r"C, H and W >= 1.*\(1, 0, 2, 2\)"),
    ],
)
def test_norms_refuse_empty_statistics(call, match):
    # A mean over nothing is NaN: refuse it instead of returning NaNs with a RuntimeWarning.
    with pytest.raises(ValueError, match=match):
        call()


def test_batchnorm_test_mode_accepts_an_empty_batch():
    out, _ = batchnorm_forward(np.zeros((0, 3)), np.ones(3), np.zeros(3), {"mode": "test"})
    assert out.shape == (0, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [1, 2, 7, 100, 257])
def test_batchnorm_train_statistics_are_numpys_mean_and_var_bit_for_bit(rng, dtype, N):
    x = (rng.standard_normal((N, 9)) * 50 + 3).astype(dtype)
    gamma, beta = rng.standard_normal(9).astype(dtype), rng.standard_normal(9).astype(dtype)
    out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 1e-3})
    mean, std = cache[3], cache[4]
    assert mean.tobytes() == x.mean(axis=0).tobytes()
    assert std.tobytes() == np.sqrt(x.var(axis=0) + dtype(1e-3)).tobytes()
    assert out.tobytes() == (gamma * ((x - x.mean(axis=0)) / std) + beta).tobytes()


def test_batchnorm_backward_computes_a_hand_made_cache_in_the_layer_dtype(rng):
    # float32 x and gamma with float64 statistics (a cache made by hand): the gradients are
    # float32, those of the statistics rounded to float32 first.
    x, gamma, beta, dout = (a.astype(np.float32) for a in _bn_inputs(rng, 6, 3))
    mean, std = x.astype(np.float64).mean(axis=0), x.astype(np.float64).std(axis=0) + 0.1
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        got = backward(dout, (x, gamma, beta, mean, std, "train"))
        rounded = backward(dout, (x, gamma, beta, mean.astype(np.float32), std.astype(np.float32), "train"))
        for a, b in zip(got, rounded):
            assert a.dtype == np.float32
            np.testing.assert_array_equal(a, b)
