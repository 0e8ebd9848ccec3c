"""layer_modules.py: object-style layers give exactly the pure functions' numbers, update as told, and all or nothing."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import fast_layers
import layer_modules as lm
import layer_utils
import layers
import optim
from layer_modules import Affine, BatchNorm, Conv, Dropout, MaxPool, ReLU, Sequential
from tests.conftest import assert_unchanged, snapshot

CONV_PARAM = {"stride": 1, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.mark.parametrize("impl, fwd, bwd", [
    ("fast", fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
    ("naive", layers.conv_forward_naive, layers.conv_backward_naive),
])
def test_conv_module_matches_the_functions(impl, fwd, bwd, rng):
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    dout = rng.standard_normal((2, 4, 5, 5))
    conv = Conv(w, b, CONV_PARAM, impl=impl)
    out = conv.forward(x)
    dx = conv.backward(dout)
    ref_out, cache = fwd(x, w, b, CONV_PARAM)
    ref_dx, ref_dw, ref_db = bwd(dout, cache)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(dx, ref_dx)
    np.testing.assert_array_equal(conv.dw, ref_dw)
    np.testing.assert_array_equal(conv.db, ref_db)
    # No optimizer: the weights are the caller's arrays, untouched.
    assert conv.w is w and conv.b is b


def test_conv_module_with_sgd_updates_after_computing_dx_with_the_old_weights(rng):
    x = rng.standard_normal((2, 1, 4, 4))
    w = rng.standard_normal((2, 1, 3, 3))
    b = np.zeros(2)
    dout = rng.standard_normal((2, 2, 4, 4))
    before = snapshot((w, b))
    conv = Conv(w, b, CONV_PARAM, optimizer=(optim.sgd, {"learning_rate": 0.1}))
    conv.forward(x)
    dx = conv.backward(dout)
    _, cache = fast_layers.conv_forward_fast(x, w, b, CONV_PARAM)
    ref_dx, ref_dw, ref_db = fast_layers.conv_backward_fast(dout, cache)
    np.testing.assert_array_equal(dx, ref_dx)
    np.testing.assert_allclose(conv.w, w - 0.1 * ref_dw, rtol=1e-15)
    np.testing.assert_allclose(conv.b, b - 0.1 * ref_db, rtol=1e-15)
    assert_unchanged(before, (w, b), "the caller's weights")


def test_affine_module_with_momentum_keeps_state_per_parameter(rng):
    x = rng.standard_normal((3, 2, 2))
    w = rng.standard_normal((4, 5))
    b = rng.standard_normal(5)
    config = {"learning_rate": 0.5, "momentum": 0.5}
    fc = Affine(w, b, optimizer=(optim.sgd_momentum, config))
    dout = rng.standard_normal((3, 5))
    for _ in range(2):
        fc.forward(x)
        fc.backward(dout)
    # x and dout are fixed, so the gradient g of w is the same both times:
    # v1 = -0.5 g, w1 = w - 0.5 g ; v2 = 0.5 v1 - 0.5 g = -0.75 g, w2 = w1 + v2 = w - 1.25 g
    g = x.reshape(3, 4).T @ dout
    np.testing.assert_allclose(fc.w, w - 1.25 * g, rtol=1e-12)
    np.testing.assert_allclose(fc.b, b - 1.25 * dout.sum(axis=0), rtol=1e-12)
    assert fc.optim_configs["w"]["velocity"].shape == (4, 5)
    assert config == {"learning_rate": 0.5, "momentum": 0.5}


def test_relu_and_maxpool_modules_match_the_functions(rng):
    x = rng.standard_normal((2, 3, 4, 6))
    relu, pool = ReLU(), MaxPool(POOL_PARAM)
    r = relu.forward(x)
    p = pool.forward(r)
    dout = rng.standard_normal(p.shape)
    dr = pool.backward(dout)
    dx = relu.backward(dr)
    ref_r, rc = layers.relu_forward(x)
    ref_p, pc = fast_layers.max_pool_forward_fast(ref_r, POOL_PARAM)
    ref_dr = fast_layers.max_pool_backward_fast(dout, pc)
    np.testing.assert_array_equal(p, ref_p)
    np.testing.assert_array_equal(dx, layers.relu_backward(ref_dr, rc))


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2)])
def test_batchnorm_module_matches_the_functions_in_both_modes(shape, rng):
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    bn = BatchNorm(gamma, beta, {"momentum": 0.5})
    fwd = layers.spatial_batchnorm_forward if len(shape) == 4 else layers.batchnorm_forward
    bwd = layers.spatial_batchnorm_backward if len(shape) == 4 else layers.batchnorm_backward
    ref_param = {"mode": "train", "momentum": 0.5}
    out = bn.forward(x)
    ref_out, cache = fwd(x, gamma, beta, ref_param)
    np.testing.assert_array_equal(out, ref_out)
    dout = rng.standard_normal(shape)
    dx = bn.backward(dout)
    ref_dx, ref_dgamma, ref_dbeta = bwd(dout, cache)
    np.testing.assert_array_equal(dx, ref_dx)
    np.testing.assert_array_equal(bn.dgamma, ref_dgamma)
    np.testing.assert_array_equal(bn.dbeta, ref_dbeta)
    np.testing.assert_array_equal(bn.bn_param["running_mean"], ref_param["running_mean"])
    bn.eval()
    ref_param["mode"] = "test"
    np.testing.assert_array_equal(bn.forward(x), fwd(x, gamma, beta, ref_param)[0])


def test_dropout_module_is_seeded_in_training_and_the_identity_in_eval(rng):
    x = rng.standard_normal((4, 10))
    drop = Dropout(0.5, seed=3)
    out = drop.forward(x)
    ref, cache = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    np.testing.assert_array_equal(out, ref)
    dout = rng.standard_normal((4, 10))
    np.testing.assert_array_equal(drop.backward(dout), layers.dropout_backward(dout, cache))
    np.testing.assert_array_equal(drop.eval().forward(x), x)


def test_sequential_chains_forward_and_backward_like_the_functions(rng):
    x = rng.standard_normal((2, 1, 4, 4))
    w1, b1 = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3)
    w2, b2 = rng.standard_normal((12, 5)), rng.standard_normal(5)
    net = Sequential(Conv(w1, b1, CONV_PARAM), ReLU(), MaxPool(POOL_PARAM), Affine(w2, b2))
    scores = net.forward(x)
    y = np.array([1, 4])
    loss, dscores = layers.softmax_loss(scores, y)
    dx = net.backward(dscores)
    # The same network through the pure functions (the sandwich layers):
    h, c1 = layer_utils.conv_relu_pool_forward(x, w1, b1, CONV_PARAM, POOL_PARAM)
    ref_scores, c2 = layers.affine_forward(h, w2, b2)
    ref_loss, ref_dscores = layers.softmax_loss(ref_scores, y)
    dh, dw2, db2 = layers.affine_backward(ref_dscores, c2)
    ref_dx, dw1, db1 = layer_utils.conv_relu_pool_backward(dh, c1)
    np.testing.assert_array_equal(scores, ref_scores)
    np.testing.assert_array_equal(dx, ref_dx)
    np.testing.assert_array_equal(net[0].dw, dw1)
    np.testing.assert_array_equal(net[3].dw, dw2)
    assert sorted(net.params) == ["0.b", "0.w", "3.b", "3.w"]


def test_sequential_train_and_eval_reach_every_module():
    net = Sequential(Affine(np.eye(2), np.zeros(2)), BatchNorm(np.ones(2), np.zeros(2)), Dropout(0.5))
    net.eval()
    assert not any(m.training for m in net.modules)
    net.train()
    assert all(m.training for m in net.modules) and len(net) == 3


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before forward"):
        ReLU().backward(np.zeros(3))


@pytest.mark.parametrize("make, err", [
    (lambda: Conv(np.zeros((1, 1, 1, 1)), np.zeros(1), CONV_PARAM, impl="gpu"), ValueError),
    (lambda: Affine(np.zeros((2, 2)), np.zeros(2), optimizer=(optim.sgd, 0.1)), TypeError),
    (lambda: Affine(np.zeros((2, 2)), np.zeros(2), optimizer=(optim.sgd, {}, {})), TypeError),
    (lambda: Affine(np.zeros((2, 2)), np.zeros(2), optimizer=("sgd", {})), TypeError),
    (lambda: MaxPool(POOL_PARAM, impl=["fast"]), ValueError),
    (lambda: Sequential(ReLU(), "relu"), TypeError),
])
def test_modules_reject_bad_construction(make, err):
    with pytest.raises(err):
        make()


def test_a_rule_name_is_refused_with_the_way_to_resolve_it():
    # layer_modules sits below optim and does not import it: a name cannot be looked up here,
    # and the message says which callable to pass instead.
    with pytest.raises(TypeError, match=r"optim\.adam.*optim\.get_update_rule\('adam'\)"):
        Affine(np.zeros((2, 2)), np.zeros(2), optimizer="adam")


def test_a_rule_resolved_by_optim_get_update_rule_updates_like_the_rule_itself(rng):
    x, w, b, dout = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), np.zeros(2), rng.standard_normal((3, 2))
    by_name = Affine(w, b, optimizer=(optim.get_update_rule("adam"), {"learning_rate": 0.1}))
    direct = Affine(w, b, optimizer=(optim.adam, {"learning_rate": 0.1}))
    for layer in (by_name, direct):
        layer.forward(x)
        layer.backward(dout)
    np.testing.assert_array_equal(by_name.w, direct.w)
    assert not np.array_equal(by_name.w, w)


# --- a failing update leaves the layer as it was: every parameter updates, or none ---------------

class Refused(Exception):
    pass


def in_place_sgd_failing_on(fail_ndim):
    """An update rule in CS231n's in-place style that fails for parameters of ``fail_ndim`` axes."""
    def rule(w, dw, config):
        config["steps"] = config.get("steps", 0) + 1
        w -= config.get("learning_rate", 0.1) * dw     # in place, as the course's sgd does
        if w.ndim == fail_ndim:
            raise Refused(f"no update for a {w.ndim}-D parameter")
        return w, config
    return rule


def _layers(rule):
    rng = np.random.default_rng(0)
    return {
        "Affine": (lm.Affine(rng.standard_normal((4, 3)), rng.standard_normal(3), optimizer=rule), (2, 4)),
        "Conv": (lm.Conv(rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2), {"stride": 1, "pad": 1},
                         optimizer=rule), (2, 1, 4, 4)),
        "BatchNorm": (lm.BatchNorm(rng.standard_normal(4), rng.standard_normal(4), optimizer=rule), (3, 4)),
    }


def _state(layer):
    return copy.deepcopy({k: v for k, v in vars(layer).items() if k not in ("_cache", "_fwd", "_bwd")})


def _assert_same_state(before, after, what):
    assert before.keys() == after.keys(), f"{what}: attributes {sorted(set(after) ^ set(before))} appeared"
    for k in before:
        a, b = before[k], after[k]
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(b, a, err_msg=f"{what}: {k} changed")
        else:
            assert repr(a) == repr(b), f"{what}: {k} changed: {a!r} -> {b!r}"


@pytest.mark.parametrize("name", ["Affine", "Conv", "BatchNorm"])
@pytest.mark.parametrize("fail_ndim", [1, "first"], ids=["second-parameter-fails", "first-parameter-fails"])
def test_a_failing_update_leaves_every_parameter_and_the_optimizer_state_unchanged(name, fail_ndim):
    layer, shape = _layers(None)[name]
    first = getattr(layer, layer.param_names[0])
    rule = in_place_sgd_failing_on(first.ndim if fail_ndim == "first" else 1)
    layer, shape = _layers((rule, {"learning_rate": 0.5}))[name]
    held = {p: getattr(layer, p) for p in layer.param_names}          # the arrays the caller passed in
    held_values = {p: a.copy() for p, a in held.items()}
    x = np.random.default_rng(1).standard_normal(shape)
    out = layer.forward(x)
    before = _state(layer)
    with pytest.raises(Refused):
        layer.backward(np.ones_like(out))
    _assert_same_state(before, _state(layer), name)
    for p in layer.param_names:
        assert getattr(layer, p) is held[p], f"{name}.{p} was replaced"
        np.testing.assert_array_equal(held[p], held_values[p], err_msg=f"{name}.{p} was written in place")


@pytest.mark.parametrize("name", ["Affine", "Conv", "BatchNorm"])
def test_a_successful_backward_updates_every_parameter(name):
    layer, shape = _layers((optim.sgd, {"learning_rate": 0.5}))[name]
    before = {p: getattr(layer, p).copy() for p in layer.param_names}
    out = layer.forward(np.random.default_rng(1).standard_normal(shape))
    layer.backward(np.ones_like(out))
    for p in layer.param_names:
        np.testing.assert_allclose(getattr(layer, p), before[p] - 0.5 * getattr(layer, "d" + p))
