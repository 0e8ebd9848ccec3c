"""FullyConnectedNet: hand-computed scores, numeric gradients of every parameter, dtype, modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifiers import FullyConnectedNet
from gradient_check import eval_numerical_gradient


def _numeric_grads(model, X, y):
    grads = {}
    for name, value in model.params.items():
        grads[name] = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value, verbose=False, h=1e-5)
    return grads


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("reg", [0.0, 0.7])
@pytest.mark.parametrize("keep", [1.0, 0.6])
def test_fc_net_gradients_match_numeric_for_every_parameter(normalization, reg, keep, rng):
    N, D, K = 4, 6, 3
    X = rng.standard_normal((N, 2, 3))  # flattened to D = 6
    y = np.array([0, 2, 1, 2])
    model = FullyConnectedNet([5, 4], input_dim=D, num_classes=K, dropout_keep_ratio=keep,
                              normalization=normalization, reg=reg, weight_scale=0.5,
                              dtype=np.float64, seed=7)
    # Non-zero biases: with zero biases a row whose inputs were all dropped (or all ReLU'd away)
    # sits exactly on the next ReLU's kink, where the numeric gradient is meaningless.
    for i in (1, 2, 3):
        model.params[f"b{i}"] = 0.3 * rng.standard_normal(model.params[f"b{i}"].shape)
    if normalization is not None:
        # Non-trivial gamma/beta so that their gradients are exercised away from the init.
        for i in (1, 2):
            model.params[f"gamma{i}"] = 1.0 + 0.3 * rng.standard_normal(model.params[f"gamma{i}"].shape)
            model.params[f"beta{i}"] = 0.2 * rng.standard_normal(model.params[f"beta{i}"].shape)
    loss, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    numeric = _numeric_grads(model, X, y)
    for name in model.params:
        assert grads[name].shape == model.params[name].shape
        np.testing.assert_allclose(grads[name], numeric[name], rtol=1e-5, atol=1e-8, err_msg=name)


def test_fc_net_initial_loss_is_log_num_classes_for_tiny_weights(rng):
    model = FullyConnectedNet([20, 10], input_dim=15, num_classes=7, weight_scale=1e-6, dtype=np.float64, seed=0)
    loss, _ = model.loss(rng.standard_normal((30, 15)), rng.integers(0, 7, size=30))
    # Near-zero scores make the softmax uniform: loss = -log(1/7).
    assert loss == pytest.approx(math.log(7), abs=1e-6)


def test_fc_net_scores_match_hand_computation():
    model = FullyConnectedNet([2], input_dim=2, num_classes=2, dtype=np.float64)
    model.params["W1"] = np.array([[1.0, -1.0], [2.0, 0.5]])
    model.params["b1"] = np.array([0.0, 1.0])
    model.params["W2"] = np.array([[1.0, 0.0], [-1.0, 3.0]])
    model.params["b2"] = np.array([0.5, -0.5])
    X = np.array([[1.0, 1.0], [2.0, -1.0]])
    scores = model.loss(X)
    # Row 0: hidden = relu([1 + 2, -1 + 0.5 + 1]) = [3, 0.5]; scores = [3 - 0.5 + 0.5, 1.5 - 0.5] = [3, 1]
    # Row 1: hidden = relu([2 - 2, -2 - 0.5 + 1]) = [0, 0]; scores = b2 = [0.5, -0.5]
    np.testing.assert_allclose(scores, [[3.0, 1.0], [0.5, -0.5]])


def test_fc_net_reg_adds_half_squared_weight_norm():
    model = FullyConnectedNet([], input_dim=2, num_classes=2, reg=0.5, dtype=np.float64)
    model.params["W1"] = np.array([[1.0, 2.0], [0.0, -2.0]])
    X = np.zeros((3, 2))
    loss, grads = model.loss(X, np.array([0, 1, 1]))
    # Zero scores: data loss log 2; penalty 0.5 * 0.5 * (1 + 4 + 0 + 4) = 2.25
    assert loss == pytest.approx(math.log(2) + 2.25, rel=1e-12)
    # Data gradient of W is X^T (...) = 0, so dW = reg * W.
    np.testing.assert_allclose(grads["W1"], 0.5 * model.params["W1"])


def test_fc_net_float32_stays_float32(rng):
    model = FullyConnectedNet([8], input_dim=5, num_classes=3, normalization="batchnorm",
                              dropout_keep_ratio=0.5, reg=0.1, seed=0)
    X = rng.standard_normal((6, 5))  # float64 data is cast to the model dtype
    loss, grads = model.loss(X, rng.integers(0, 3, size=6))
    assert isinstance(loss, float)
    for name, g in grads.items():
        assert g.dtype == np.float32, name
    assert model.loss(X).dtype == np.float32


def test_fc_net_dropout_is_the_identity_at_test_time(rng):
    np.random.seed(1)
    plain = FullyConnectedNet([10, 10], input_dim=4, num_classes=3, weight_scale=1.0, dtype=np.float64)
    np.random.seed(1)
    dropped = FullyConnectedNet([10, 10], input_dim=4, num_classes=3, dropout_keep_ratio=0.3, weight_scale=1.0,
                                dtype=np.float64)
    for name in plain.params:
        np.testing.assert_array_equal(plain.params[name], dropped.params[name])
    X = rng.standard_normal((5, 4))
    np.testing.assert_allclose(dropped.loss(X), plain.loss(X), rtol=1e-12)
    # ...and changes the training loss (otherwise the dropout layer is not wired in).
    y = np.zeros(5, dtype=int)
    assert dropped.loss(X, y)[0] != pytest.approx(plain.loss(X, y)[0], rel=1e-6)


def test_fc_net_batchnorm_test_mode_uses_running_statistics(rng):
    model = FullyConnectedNet([3], input_dim=2, num_classes=2, normalization="batchnorm", dtype=np.float64, seed=0)
    X = rng.standard_normal((8, 2)) * 3 + 5
    model.loss(X, np.zeros(8, dtype=int))
    running_mean = model.bn_params[0]["running_mean"]
    assert running_mean.shape == (3,) and np.any(running_mean != 0)
    # Test mode must not update them.
    model.loss(X)
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], running_mean)


def test_fc_net_global_seed_reproduces_initialization_and_seed_is_the_dropout_seed():
    np.random.seed(5)
    a = FullyConnectedNet([4], input_dim=3)
    np.random.seed(5)
    # As in CS231n, seed= goes to the dropout layers only: the weights still come from np.random.
    b = FullyConnectedNet([4], input_dim=3, dropout_keep_ratio=0.5, seed=123)
    c = FullyConnectedNet([4], input_dim=3)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert a.params["W1"].shape == (3, 4) and a.params["W2"].shape == (4, 10)
    assert b.dropout_param == {"mode": "train", "p": 0.5, "seed": 123}
    # The same seeded mask on every call, and the global state is not read or moved by it.
    X, y = np.random.randn(6, 3), np.arange(6) % 10
    state = np.random.get_state()[1].copy()
    first, second = b.loss(X, y)[0], b.loss(X, y)[0]
    assert first == second
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("kwargs, err, match", [
    ({"normalization": "groupnorm"}, ValueError, "normalization"),
    ({"dropout_keep_ratio": 0.0}, ValueError, "keep probability"),
    ({"reg": -1.0}, ValueError, "reg"),
    ({"dtype": np.int32}, TypeError, "dtype"),
])
def test_fc_net_rejects_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        FullyConnectedNet([4], input_dim=3, **kwargs)


def test_fc_net_rejects_inputs_of_the_wrong_size():
    model = FullyConnectedNet([4], input_dim=3)
    with pytest.raises(ValueError, match="3 values"):
        model.loss(np.zeros((2, 4)))
