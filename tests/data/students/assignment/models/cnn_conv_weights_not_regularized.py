"""A ThreeLayerConvNet without the conv weights in its reg term.

BUG: the convolution weights are left out of the regularization.
GRADE: exit=1 fail=ThreeLayerConvNet:loss diagnosis="misses W1"
"""
import numpy as np

from layers import *  # noqa: F401,F403
from layer_utils import *  # noqa: F401,F403


class ThreeLayerConvNet(object):
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32):
        self.params = {}
        self.reg = reg
        self.dtype = dtype
        C, H, W = input_dim
        self.params["W1"] = weight_scale * np.random.randn(num_filters, C, filter_size, filter_size)
        self.params["b1"] = np.zeros(num_filters)
        self.params["W2"] = weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim)
        self.params["b2"] = np.zeros(hidden_dim)
        self.params["W3"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b3"] = np.zeros(num_classes)
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        filter_size = W1.shape[2]
        conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        out1, c1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        out2, c2 = affine_relu_forward(out1, W2, b2)
        scores, c3 = affine_forward(out2, W3, b3)
        if y is None:
            return scores
        loss, grads = 0, {}
        loss, ds = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W2 ** 2) + np.sum(W3 ** 2))
        d2, grads["W3"], grads["b3"] = affine_backward(ds, c3)
        d1, grads["W2"], grads["b2"] = affine_relu_backward(d2, c2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(d1, c1)
        grads["W3"] += self.reg * W3
        grads["W2"] += self.reg * W2
        return loss, grads
