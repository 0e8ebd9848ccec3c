"""Update rules in optim.py against steps worked out by hand, plus their calling contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

import optim
from tests.conftest import assert_unchanged, snapshot


def test_sgd_step_matches_hand_computation():
    w = np.array([1.0, -2.0])
    dw = np.array([0.5, 4.0])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    # 1 - 0.1*0.5 = 0.95 ; -2 - 0.1*4 = -2.4
    np.testing.assert_allclose(next_w, [0.95, -2.4], rtol=0, atol=1e-15)
    assert config["learning_rate"] == 0.1


def test_sgd_momentum_step_matches_hand_computation():
    w = np.array([1.0, 2.0])
    dw = np.array([1.0, -2.0])
    v0 = np.array([0.5, 0.5])
    config = {"learning_rate": 0.1, "momentum": 0.9, "velocity": v0}
    next_w, config = optim.sgd_momentum(w, dw, config)
    # v = 0.9*[0.5, 0.5] - 0.1*[1, -2] = [0.35, 0.65]; w + v = [1.35, 2.65]
    np.testing.assert_allclose(config["velocity"], [0.35, 0.65], rtol=0, atol=1e-15)
    np.testing.assert_allclose(next_w, [1.35, 2.65], rtol=0, atol=1e-15)


def test_sgd_momentum_first_step_starts_from_zero_velocity():
    w = np.array([3.0])
    next_w, config = optim.sgd_momentum(w, np.array([2.0]), {"learning_rate": 0.5})
    # v = 0.9*0 - 0.5*2 = -1 ; w + v = 2
    np.testing.assert_allclose(config["velocity"], [-1.0])
    np.testing.assert_allclose(next_w, [2.0])
    assert config["momentum"] == 0.9


def test_rmsprop_step_matches_hand_computation():
    w = np.array([1.0, 0.5])
    dw = np.array([2.0, -1.0])
    config = {"learning_rate": 0.1, "decay_rate": 0.75, "epsilon": 1e-12, "cache": np.array([0.0, 3.0])}
    next_w, config = optim.rmsprop(w, dw, config)
    # cache = 0.75*[0, 3] + 0.25*[4, 1] = [1.0, 2.5]
    np.testing.assert_allclose(config["cache"], [1.0, 2.5], rtol=1e-15)
    # w - 0.1*dw/sqrt(cache) = [1 - 0.2, 0.5 + 0.1/sqrt(2.5)] = [0.8, 0.5 + 0.0632455532033676]
    np.testing.assert_allclose(next_w, [0.8, 0.5632455532033676], rtol=1e-10)


def test_adam_first_step_moves_every_weight_by_the_learning_rate():
    # With zero moments and t=1 the bias corrections give m_hat = dw, v_hat = dw**2, so the
    # step is lr * sign(dw) whatever the gradient's magnitude.
    w = np.array([1.0, -1.0, 0.5])
    dw = np.array([3.0, -0.2, 5.0])
    next_w, config = optim.adam(w, dw, {"learning_rate": 0.01})
    np.testing.assert_allclose(next_w, [0.99, -0.99, 0.49], rtol=1e-8)
    assert config["t"] == 1
    np.testing.assert_allclose(config["m"], [0.3, -0.02, 0.5], rtol=1e-12)
    np.testing.assert_allclose(config["v"], [0.009, 0.00004, 0.025], rtol=1e-12)


def test_adam_second_step_matches_hand_computation():
    w = np.array([0.5])
    w, config = optim.adam(w, np.array([3.0]), {"learning_rate": 0.01})
    w, config = optim.adam(w, np.array([1.0]), config)
    # t=2: m = 0.9*0.3 + 0.1*1 = 0.37 ; v = 0.999*0.009 + 0.001*1 = 0.009991
    # m_hat = 0.37/0.19 = 1.9473684210526 ; v_hat = 0.009991/0.001999 = 4.9979989994998
    # w = 0.49 - 0.01 * 1.9473684210526 / 2.2356205133 = 0.49 - 0.0087106396 = 0.4812893604
    assert config["t"] == 2
    np.testing.assert_allclose(config["m"], [0.37], rtol=1e-12)
    np.testing.assert_allclose(config["v"], [0.009991], rtol=1e-12)
    np.testing.assert_allclose(w, [0.49 - 0.01 * 1.9473684210526 / math.sqrt(4.9979989994998)], rtol=1e-9)
    np.testing.assert_allclose(w, [0.4812893604], rtol=1e-9)


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_update_rules_do_not_modify_w_dw_or_state_arrays(rule, rng):
    w = rng.standard_normal((3, 4))
    dw = rng.standard_normal((3, 4))
    state = {"sgd": {}, "sgd_momentum": {"velocity": rng.standard_normal((3, 4))},
             "rmsprop": {"cache": rng.random((3, 4))},
             "adam": {"m": rng.standard_normal((3, 4)), "v": rng.random((3, 4)), "t": 3}}[rule]
    config = dict(state)
    before = snapshot((w, dw, state))
    fn = optim.get_update_rule(rule)
    next_w, returned = fn(w, dw, config)
    assert_unchanged(before, (w, dw, state), f"{rule} inputs")
    assert next_w is not w and not np.shares_memory(next_w, w)
    # The documented contract: the caller's dict is the returned dict, with state rebound.
    assert returned is config
    for key, array in state.items():
        if isinstance(array, np.ndarray):
            assert returned[key] is not array


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_update_rules_keep_float32(rule, rng):
    w = rng.standard_normal(5).astype(np.float32)
    dw = rng.standard_normal(5)  # a float64 gradient must not widen the weights
    fn = optim.get_update_rule(rule)
    next_w, config = fn(w, dw, None)
    next_w, config = fn(next_w, dw.astype(np.float32), config)
    assert next_w.dtype == np.float32
    for value in config.values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


def test_update_rule_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"dw has shape \(3,\), but w has shape \(2,\)"):
        optim.sgd(np.zeros(2), np.zeros(3))


def test_update_rule_rejects_negative_learning_rate():
    with pytest.raises(ValueError, match="learning_rate"):
        optim.adam(np.zeros(2), np.zeros(2), {"learning_rate": -1.0})


def test_update_rule_rejects_momentum_of_one():
    with pytest.raises(ValueError, match="momentum"):
        optim.sgd_momentum(np.zeros(2), np.zeros(2), {"momentum": 1.0})


def test_shared_config_between_shapes_is_refused():
    with pytest.raises(ValueError, match="velocity"):
        optim.sgd_momentum(np.zeros(2), np.zeros(2), {"velocity": np.zeros(3)})


def test_update_rule_rejects_integer_weights():
    with pytest.raises(TypeError, match="floating"):
        optim.sgd(np.zeros(2, dtype=int), np.zeros(2))


def test_get_update_rule_resolves_names_and_callables():
    assert optim.get_update_rule("adam") is optim.adam

    def custom(w, dw, config):
        return w, config

    assert optim.get_update_rule(custom) is custom
    with pytest.raises(ValueError, match="unknown update rule 'adamw'"):
        optim.get_update_rule("adamw")
    with pytest.raises(TypeError):
        optim.get_update_rule(3)
