"""Fully connected networks: CS231n's ``TwoLayerNet`` and ``FullyConnectedNet``.

``FullyConnectedNet`` has any depth, with optional batch/layer norm and dropout. Architecture, for ``L = len(hidden_dims) + 1`` affine layers::

    {affine - [batchnorm | layernorm] - relu - [dropout]} x (L - 1) - affine - softmax

Every block is the toolkit's own pure functions (``layers.affine_forward``, ...); this module
only wires them together and sums the gradients. Initial weights are drawn from numpy's global
generator (``np.random.randn``), so ``np.random.seed(k)`` before building a model reproduces it.

As in CS231n, ``from classifiers.fc_net import *`` also brings every layer and sandwich function
into scope (the coursework notebooks call ``affine_forward`` after that import).

Notation
--------
N : batch size
D : input dimension (``input_dim``, the product of an example's shape)
H_i : width of hidden layer i
K : number of classes
"""

from __future__ import annotations

import numbers

import numpy as np

from fast_layers.buffers import recycling
from layer_utils import affine_relu_backward, affine_relu_forward
from fast_layers import batchnorm_backward_fast, batchnorm_forward_fast, relu_backward_fast, relu_forward_fast
from layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    softmax_loss,
)

from ._common import (ParamsFile, as_input, check_dtype, check_nonnegative, check_positive_int, check_seed,
                      course_exports, l2_penalty)

# As in the course: `from classifiers.fc_net import *` also gives every layer and sandwich.
from fast_layers import *  # noqa: E402,F401,F403
from layer_utils import *  # noqa: E402,F401,F403
from layers import *  # noqa: E402,F401,F403

__all__ = ["TwoLayerNet", "FullyConnectedNet", *course_exports()]

_NORMALIZATIONS = (None, "batchnorm", "layernorm")


class TwoLayerNet(ParamsFile):
    """affine - relu - affine - softmax, with L2 weight decay (CS231n assignment 1).

    The arithmetic runs in the dtype of the parameters (float64 as initialized), so parameters
    set by hand, e.g. ``model.params['W1'] = np.linspace(...)``, are used as they are.

    Parameters
    ----------
    input_dim : int
        D, the number of values in one example (inputs are flattened).
    hidden_dim : int
        H, the width of the hidden layer.
    num_classes : int
        K.
    weight_scale : float
        Standard deviation of the weights, drawn from numpy's global generator
        (``np.random.seed(k)`` reproduces them); biases start at 0.
    reg : float
        L2 strength: the loss gains ``0.5 * reg * (||W1||^2 + ||W2||^2)``.

    Attributes
    ----------
    params : dict of ndarray
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, K), ``b2`` (K,).
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        input_dim = check_positive_int(input_dim, "input_dim")
        hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        num_classes = check_positive_int(num_classes, "num_classes")
        weight_scale = check_nonnegative(weight_scale, "weight_scale")
        self.reg = check_nonnegative(reg, "reg")
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes),
        }

    @recycling
    def loss(self, X, y=None):
        """Compute class scores (``y`` is None) or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, d1, ..., dk) with d1*...*dk = D
        y : ndarray of int, shape (N,), or None

        Returns
        -------
        scores : ndarray, shape (N, K)
            When ``y`` is None.
        loss : float
            When ``y`` is given: mean softmax loss plus the L2 penalty.
        grads : dict of ndarray
            When ``y`` is given: ``W1``, ``b1``, ``W2``, ``b2``, shaped like ``params``.
        """
        p = self.params
        dtype = np.result_type(p["W1"].dtype, np.float32)
        X = as_input(X, dtype, (p["W1"].shape[0],), "TwoLayerNet")
        hidden, hidden_cache = affine_relu_forward(X, p["W1"], p["b1"])
        scores, scores_cache = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache, input_grad=False)
        penalty = l2_penalty(p, ("W1", "W2"), self.reg, grads)
        return float(data_loss) + penalty, grads


class FullyConnectedNet(ParamsFile):
    """A multi-layer perceptron with a softmax loss and L2 weight decay.

    Parameters
    ----------
    hidden_dims : sequence of int
        Width of each hidden layer (may be empty: a linear softmax classifier).
    input_dim : int
        D, the number of values in one example (inputs are flattened).
    num_classes : int
        K.
    dropout_keep_ratio : float
        Probability of keeping a hidden unit, in (0, 1]; 1 disables dropout.
    normalization : None, 'batchnorm' or 'layernorm'
        Normalization after each hidden affine layer.
    reg : float
        L2 strength: the loss gains ``0.5 * reg * sum ||W_i||^2`` (biases and gamma/beta exempt).
    weight_scale : float
        Standard deviation of the normal weight initialization; biases start at 0,
        gamma at 1 and beta at 0.
    dtype : np.float32 or np.float64
        Dtype of all parameters and computations (use float64 for gradient checks).
    seed : int or None
        The dropout layers' seed, as in CS231n: with a seed every call uses the same mask (what a
        gradient check needs); leave it None for training, so that each minibatch draws a new
        mask from the global generator. The weights are always drawn from numpy's global
        generator: call ``np.random.seed(k)`` first to reproduce them.

    Attributes
    ----------
    params : dict of ndarray
        ``W1`` (D, H_1), ``b1`` (H_1,), ..., ``W{L}`` (H_{L-1}, K), ``b{L}`` (K,), and with
        normalization ``gamma{i}``, ``beta{i}`` (H_i,) for i < L.
    bn_params : list of dict
        One parameter dict per normalization layer (running statistics live here).
    dropout_param : dict
        ``{'mode', 'p', ['seed']}`` passed to the dropout layers.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        try:
            hidden_dims = [check_positive_int(h, "each of hidden_dims") for h in hidden_dims]
        except TypeError as exc:
            raise TypeError(f"hidden_dims must be a sequence of ints, got {hidden_dims!r}") from exc
        input_dim = check_positive_int(input_dim, "input_dim")
        num_classes = check_positive_int(num_classes, "num_classes")
        if normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
        if (not isinstance(dropout_keep_ratio, numbers.Real) or isinstance(dropout_keep_ratio, bool)
                or not 0 < dropout_keep_ratio <= 1):
            raise ValueError(f"dropout_keep_ratio is a keep probability in (0, 1], got {dropout_keep_ratio!r}")
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = check_nonnegative(reg, "reg")
        weight_scale = check_nonnegative(weight_scale, "weight_scale")
        self.dtype = check_dtype(dtype)
        self.num_layers = len(hidden_dims) + 1
        self.input_dim = input_dim

        check_seed(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = (weight_scale * np.random.randn(fan_in, fan_out)).astype(self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=self.dtype)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out, dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(fan_out, dtype=self.dtype)

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": float(dropout_keep_ratio)}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization is not None:
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def _hidden_forward(self, h, i):
        """Run hidden block ``i`` (1-based); return its output and the caches, in order."""
        p = self.params
        h, affine_cache = affine_forward(h, p[f"W{i}"], p[f"b{i}"])
        norm_cache = None
        if self.normalization == "batchnorm":
            h, norm_cache = batchnorm_forward_fast(h, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        elif self.normalization == "layernorm":
            h, norm_cache = layernorm_forward(h, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        h, relu_cache = relu_forward_fast(h)
        drop_cache = None
        if self.use_dropout:
            h, drop_cache = dropout_forward(h, self.dropout_param)
        return h, (affine_cache, norm_cache, relu_cache, drop_cache)

    def _hidden_backward(self, dh, caches, i, grads):
        """Backpropagate through hidden block ``i``, storing its parameter gradients in ``grads``."""
        affine_cache, norm_cache, relu_cache, drop_cache = caches
        if drop_cache is not None:
            dh = dropout_backward(dh, drop_cache)
        dh = relu_backward_fast(dh, relu_cache)
        if self.normalization == "batchnorm":
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward_fast(dh, norm_cache)
        elif self.normalization == "layernorm":
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dh, norm_cache)
        # Block 1's input is the data: its gradient is never used, so it is not computed.
        dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, affine_cache, input_grad=i > 1)
        return dh

    @recycling
    def loss(self, X, y=None):
        """Compute class scores (``y`` is None, test mode) or the loss and its gradients.

        Parameters
        ----------
        X : ndarray, shape (N, d1, ..., dk) with d1*...*dk = D
        y : ndarray of int, shape (N,), or None
            Labels in [0, K).

        Returns
        -------
        scores : ndarray, shape (N, K)
            When ``y`` is None.
        loss : float
            When ``y`` is given: mean softmax loss plus the L2 penalty.
        grads : dict of ndarray
            When ``y`` is given: one gradient per entry of ``params``, same shapes and dtype.
        """
        X = as_input(X, self.dtype, (self.input_dim,), "FullyConnectedNet")
        mode = "test" if y is None else "train"
        # The mode lives in the param dicts the layers read; this model owns those dicts.
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        h = X
        block_caches = []
        for i in range(1, self.num_layers):
            h, caches = self._hidden_forward(h, i)
            block_caches.append(caches)
        L = self.num_layers
        scores, last_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        weights = [f"W{i}" for i in range(1, L + 1)]
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache, input_grad=L > 1)
        for i in range(L - 1, 0, -1):
            dh = self._hidden_backward(dh, block_caches[i - 1], i, grads)
        penalty = l2_penalty(self.params, weights, self.reg, grads)
        return float(data_loss) + penalty, grads
