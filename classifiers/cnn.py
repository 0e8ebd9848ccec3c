"""A three-layer convolutional network: conv - relu - 2x2 max pool - affine - relu - affine - softmax.

The convolution keeps the spatial size (stride 1, ``pad = (filter_size - 1) // 2``, so odd filter
sizes give ``H_out = H``); the pool halves it. Every block is one of the toolkit's sandwich layers,
whose convolution and pooling are the fast implementations.

Notation
--------
N : batch size
C, H, W : channels, height and width of an input image
F : number of filters (``num_filters``)
HH = WW : ``filter_size``
H_p, W_p : height and width after the pool
M : ``hidden_dim``
K : ``num_classes``
"""

from __future__ import annotations

import numpy as np

from _rules.geometry import conv_geometry, pool_geometry
from fast_layers.buffers import recycling
from layer_utils import affine_relu_backward, affine_relu_forward, conv_relu_pool_backward, conv_relu_pool_forward
from layers import affine_backward, affine_forward, softmax_loss

from ._common import (as_input, check_dtype, check_nonnegative, check_positive_int, course_exports, l2_penalty,
                      random_source)

# As in the course: `from classifiers.cnn import *` also gives every layer and sandwich.
from fast_layers import *  # noqa: E402,F401,F403
from layer_utils import *  # noqa: E402,F401,F403
from layers import *  # noqa: E402,F401,F403

__all__ = ["ThreeLayerConvNet", *course_exports()]


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax, with L2 weight decay.

    Parameters
    ----------
    input_dim : tuple of int
        (C, H, W) of one image.
    num_filters : int
        F.
    filter_size : int
        Side of the square filters (odd sizes keep H and W through the convolution).
    hidden_dim : int
        M, the width of the hidden affine layer.
    num_classes : int
        K.
    weight_scale : float
        Standard deviation of the normal weight initialization; biases start at 0.
    reg : float
        L2 strength: the loss gains ``0.5 * reg * (||W1||^2 + ||W2||^2 + ||W3||^2)``.
    dtype : np.float32 or np.float64
        Dtype of the parameters and computations (float64 for gradient checks).
    seed : int or None
        An addition to the CS231n signature. None (the default): the weights are drawn from
        numpy's global generator, so ``np.random.seed(k)`` first reproduces them, as in CS231n.
        An int: they come from a private ``np.random.RandomState(seed)`` and the global state is
        left alone.

    Attributes
    ----------
    params : dict of ndarray
        ``W1`` (F, C, HH, WW), ``b1`` (F,), ``W2`` (F*H_p*W_p, M), ``b2`` (M,),
        ``W3`` (M, K), ``b3`` (K,).
    conv_param, pool_param : dict
        The convolution's and the pool's hyper-parameters.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        if not isinstance(input_dim, (tuple, list)) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}")
        C, H, W = (check_positive_int(v, "each of input_dim") for v in input_dim)
        F = check_positive_int(num_filters, "num_filters")
        size = check_positive_int(filter_size, "filter_size")
        hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        num_classes = check_positive_int(num_classes, "num_classes")
        weight_scale = check_nonnegative(weight_scale, "weight_scale")
        self.reg = check_nonnegative(reg, "reg")
        self.dtype = check_dtype(dtype)
        self.input_dim = (C, H, W)
        self.conv_param = {"stride": 1, "pad": (size - 1) // 2}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        # The shared geometry helpers decide the output sizes (and reject images that are too small).
        conv = conv_geometry((1, C, H, W), (F, C, size, size), self.conv_param)
        pool = pool_geometry(conv.out_shape, self.pool_param)
        pooled = F * pool.H_out * pool.W_out

        rng = random_source(seed)

        def init(*shape):
            return (weight_scale * rng.randn(*shape)).astype(self.dtype)

        self.params = {
            "W1": init(F, C, size, size), "b1": np.zeros(F, dtype=self.dtype),
            "W2": init(pooled, hidden_dim), "b2": np.zeros(hidden_dim, dtype=self.dtype),
            "W3": init(hidden_dim, num_classes), "b3": np.zeros(num_classes, dtype=self.dtype),
        }

    @recycling
    def loss(self, X, y=None):
        """Compute class scores (``y`` is None) or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, C, H, W)
        y : ndarray of int, shape (N,), or None

        Returns
        -------
        scores : ndarray, shape (N, K)
            When ``y`` is None.
        loss : float
            When ``y`` is given: mean softmax loss plus the L2 penalty.
        grads : dict of ndarray
            When ``y`` is given: one gradient per entry of ``params``, same shapes and dtype.
        """
        X = as_input(X, self.dtype, self.input_dim, "ThreeLayerConvNet")
        p = self.params
        pooled, conv_cache = conv_relu_pool_forward(X, p["W1"], p["b1"], self.conv_param, self.pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, p["W2"], p["b2"])
        scores, scores_cache = affine_forward(hidden, p["W3"], p["b3"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        # The input is the data: its gradient is never used, so it is not computed.
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache, input_grad=False)
        penalty = l2_penalty(p, ("W1", "W2", "W3"), self.reg, grads)
        return float(data_loss) + penalty, grads
