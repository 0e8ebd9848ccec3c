"""A fully connected network of any depth, with optional batch/layer norm and dropout.

Architecture, for ``L = len(hidden_dims) + 1`` affine layers::

    {affine - [batchnorm | layernorm] - relu - [dropout]} x (L - 1) - affine - softmax

Every block is the toolkit's own pure functions (``layers.affine_forward``, ...); this module
only wires them together and sums the gradients.

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

from layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)

from ._common import as_input, check_dtype, check_nonnegative, check_positive_int, l2_penalty

__all__ = ["FullyConnectedNet"]

_NORMALIZATIONS = (None, "batchnorm", "layernorm")


class FullyConnectedNet:
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
        Seeds the weight initialization, and when dropout is on also fixes the dropout mask:
        with a seed, every call uses the same mask (as in CS231n; what a gradient check needs).
        For training with dropout, leave it None so that each minibatch draws a new mask.

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

        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = (weight_scale * rng.standard_normal((fan_in, fan_out))).astype(self.dtype)
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
            h, norm_cache = batchnorm_forward(h, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        elif self.normalization == "layernorm":
            h, norm_cache = layernorm_forward(h, p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i - 1])
        h, relu_cache = relu_forward(h)
        drop_cache = None
        if self.use_dropout:
            h, drop_cache = dropout_forward(h, self.dropout_param)
        return h, (affine_cache, norm_cache, relu_cache, drop_cache)

    def _hidden_backward(self, dh, caches, i, grads):
        """Backpropagate through hidden block ``i``, storing its parameter gradients in ``grads``."""
        affine_cache, norm_cache, relu_cache, drop_cache = caches
        if drop_cache is not None:
            dh = dropout_backward(dh, drop_cache)
        dh = relu_backward(dh, relu_cache)
        if self.normalization == "batchnorm":
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dh, norm_cache)
        elif self.normalization == "layernorm":
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dh, norm_cache)
        dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, affine_cache)
        return dh

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
        penalty, reg_grads = l2_penalty(self.params, weights, self.reg)
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            dh = self._hidden_backward(dh, block_caches[i - 1], i, grads)
        for name in weights:
            grads[name] = grads[name] + reg_grads[name]
        return float(data_loss) + penalty, grads
