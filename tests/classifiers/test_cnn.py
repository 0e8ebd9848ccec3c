"""ThreeLayerConvNet: shapes, numeric gradients of every parameter, a hand-built case, dtype."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifiers import ThreeLayerConvNet
from gradient_check import eval_numerical_gradient


@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_cnn_gradients_match_numeric_for_every_parameter(reg, rng):
    # Small on purpose: 59 parameters, two loss evaluations each.
    X = rng.standard_normal((2, 1, 4, 4))
    y = np.array([1, 2])
    model = ThreeLayerConvNet(input_dim=(1, 4, 4), num_filters=2, filter_size=3, hidden_dim=3,
                              num_classes=3, weight_scale=0.3, reg=reg, dtype=np.float64, seed=0)
    # Random biases keep pre-activations off the ReLU kinks and the pool ties.
    for name in ("b1", "b2", "b3"):
        model.params[name] = 0.2 * rng.standard_normal(model.params[name].shape)
    loss, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value, verbose=False, h=1e-6)
        assert grads[name].shape == value.shape
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_cnn_parameter_shapes_follow_the_geometry():
    model = ThreeLayerConvNet(input_dim=(1, 9, 8), num_filters=4, filter_size=3, hidden_dim=6, num_classes=5)
    shapes = {k: v.shape for k, v in model.params.items()}
    # 3x3 conv with pad 1 keeps 9x8; the 2x2 pool floors it to 4x4: 4 * 4 * 4 = 64 features.
    assert shapes == {"W1": (4, 1, 3, 3), "b1": (4,), "W2": (64, 6), "b2": (6,), "W3": (6, 5), "b3": (5,)}
    assert all(v.dtype == np.float32 for v in model.params.values())


def test_cnn_scores_match_hand_computation():
    # One 1x1 filter of weight 2 on a 1x2x2 image, bias -1: conv = 2x - 1, relu, 2x2 max pool.
    model = ThreeLayerConvNet(input_dim=(1, 2, 2), num_filters=1, filter_size=1, hidden_dim=1,
                              num_classes=2, dtype=np.float64)
    model.params.update(W1=np.array([[[[2.0]]]]), b1=np.array([-1.0]), W2=np.array([[1.0]]),
                        b2=np.array([0.5]), W3=np.array([[1.0, -1.0]]), b3=np.array([0.0, 3.0]))
    X = np.array([[[[0.0, 1.5], [1.0, 0.2]]], [[[0.1, 0.2], [0.3, 0.4]]]])
    # Image 0: conv [[-1, 2], [1, -0.6]] -> relu -> max 2 -> hidden 2.5 -> scores [2.5, 0.5]
    # Image 1: conv all negative -> relu 0 -> max 0 -> hidden 0.5 -> scores [0.5, 2.5]
    np.testing.assert_allclose(model.loss(X), [[2.5, 0.5], [0.5, 2.5]])
    loss, _ = model.loss(X, np.array([0, 1]))
    # Both rows put a 2-point margin on the right class: loss = log(1 + e^-2).
    assert loss == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-12)


def test_cnn_initial_loss_is_log_num_classes_for_tiny_weights(rng):
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=4, filter_size=3, hidden_dim=10,
                              weight_scale=1e-4, dtype=np.float64, seed=0)
    loss, _ = model.loss(rng.standard_normal((5, 1, 8, 8)), np.arange(5))
    assert loss == pytest.approx(math.log(10), abs=1e-6)


def test_cnn_float32_stays_float32(rng):
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3, hidden_dim=4, reg=0.1, seed=0)
    loss, grads = model.loss(rng.standard_normal((3, 1, 8, 8)), np.array([0, 1, 2]))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.loss(rng.standard_normal((3, 1, 8, 8))).dtype == np.float32


def test_cnn_rejects_images_of_the_wrong_shape():
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3, hidden_dim=4)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        model.loss(np.zeros((2, 3, 8, 8)))


@pytest.mark.parametrize("filter_size, match", [(2, "output would be empty"), (3, "pooling window 2x2 is larger")])
def test_cnn_rejects_images_too_small_for_the_conv_or_the_pool(filter_size, match):
    # 1x1 images: a 2x2 filter (pad 0) has no valid position; a 3x3 one (pad 1) leaves 1x1 to pool.
    with pytest.raises(ValueError, match=match):
        ThreeLayerConvNet(input_dim=(1, 1, 1), filter_size=filter_size)
