import numpy as np

from ..layers import *
from ..layer_utils import *


class FullyConnectedNet(object):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        # TODO: initialize the parameters.

    def loss(self, X, y=None):
        scores = None
        # TODO: the forward pass.
        if y is None:
            return scores
        loss, grads = 0.0, {}
        # TODO: the backward pass.
        return loss, grads
