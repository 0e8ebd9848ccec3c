"""TwoLayerNet: values hand-checked against an explicit formula, numeric gradients, parameters set
by hand are used as they are, global-seed initialization, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import TwoLayerNet
from gradient_check import eval_numerical_gradient


def _explicit_loss(p, X, y, reg):
    hidden = np.maximum(0, X.reshape(len(X), -1) @ p["W1"] + p["b1"])
    scores = hidden @ p["W2"] + p["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean() + 0.5 * reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))


def test_initialization_uses_the_global_generator_and_weight_scale():
    np.random.seed(231)
    a = TwoLayerNet(input_dim=40, hidden_dim=50, num_classes=7, weight_scale=1e-3)
    np.random.seed(231)
    W1 = 1e-3 * np.random.randn(40, 50)
    np.testing.assert_array_equal(a.params["W1"], W1)
    assert a.params["W1"].dtype == np.float64 and np.all(a.params["b1"] == 0) and a.params["W2"].shape == (50, 7)


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_loss_matches_the_formula_and_gradients_the_numeric_ones(reg, rng):
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=4, weight_scale=0.5, reg=reg)
    # Parameters set by hand (as the course notebook does) are used as they are.
    model.params["b1"] = 0.2 * rng.standard_normal(5)
    X = rng.standard_normal((3, 2, 3))
    y = np.array([0, 3, 1])
    loss, grads = model.loss(X, y)
    assert loss == pytest.approx(_explicit_loss(model.params, X, y, reg), rel=1e-12)
    for name in model.params:
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-9, err_msg=name)
    scores = model.loss(X)
    assert scores.shape == (3, 4)


def test_save_and_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = TwoLayerNet(input_dim=3, hidden_dim=2, num_classes=2)
    model.save("net.npy")
    other = TwoLayerNet(input_dim=3, hidden_dim=2, num_classes=2)
    assert other.load("net.npy")
    for k in model.params:
        np.testing.assert_array_equal(other.params[k], model.params[k])
