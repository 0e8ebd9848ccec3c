"""Object-style layers (level 3) that hold their weights, built on the pure layer functions.

Every module has one calling convention::

    out = layer.forward(x)        # keeps the forward's cache on the object
    dx = layer.backward(dout)     # gradient w.r.t. x; parameter gradients land in .d<name>

A module with parameters (``Conv``, ``Affine``, ``BatchNorm``) stores them as attributes
(``.w``, ``.b`` / ``.gamma``, ``.beta``) and their gradients next to them (``.dw``, ``.db`` /
``.dgamma``, ``.dbeta``). Given an ``optimizer``, it updates its parameters at the end of each
``backward`` (after computing ``dx`` with the weights the forward used). All arithmetic is the
pure functions' (``layers.affine_forward``, ``fast_layers.conv_forward_fast``, ...): a module only
keeps the cache and the state.

``optimizer`` is an update rule ``rule(w, dw, config) -> (next_w, config)`` such as ``optim.adam``,
alone or as a pair ``(rule, config)``. Each parameter gets its own copy of ``config`` (momentum
and Adam state are per parameter); the caller's dict is never modified. The rule is passed in
rather than named (``'adam'``) because this module sits below ``optim`` (level 4: training) and
does not import it; ``optim.get_update_rule('adam')`` turns a name into the rule.

Notation
--------
N : batch size
D : features of an affine input (the product of an example's shape); M : affine outputs
C, H, W : channels, height and width of an image batch
F : filters; HH, WW : filter (or pooling window) height and width
"""

from __future__ import annotations

import copy

import numpy as np

from fast_layers import (
    batchnorm_backward_fast,
    batchnorm_forward_fast,
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
    relu_backward_fast,
    relu_forward_fast,
    spatial_batchnorm_backward_fast,
    spatial_batchnorm_forward_fast,
)
from layers import (
    affine_backward,
    affine_forward,
    conv_backward_naive,
    conv_forward_naive,
    dropout_backward,
    dropout_forward,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

__all__ = ["Module", "Affine", "Conv", "ReLU", "MaxPool", "BatchNorm", "Dropout", "Sequential"]


_CONV_FUNCTIONS = {"fast": (conv_forward_fast, conv_backward_fast),
                   "naive": (conv_forward_naive, conv_backward_naive)}
_POOL_FUNCTIONS = {"fast": (max_pool_forward_fast, max_pool_backward_fast),
                   "naive": (max_pool_forward_naive, max_pool_backward_naive)}


def _implementation(table, impl):
    """Return the (forward, backward) pair of ``impl`` ('fast' or 'naive') from ``table``."""
    if not isinstance(impl, str) or impl not in table:
        raise ValueError(f"impl must be 'fast' or 'naive', got {impl!r}")
    return table[impl]


def _resolve_optimizer(optimizer):
    """Return ``(rule, config)`` for an optimizer given as a rule or a ``(rule, config)`` pair, or None."""
    if optimizer is None:
        return None
    if isinstance(optimizer, tuple):
        if len(optimizer) != 2 or not isinstance(optimizer[1], dict):
            raise TypeError(f"optimizer pair must be (rule, config dict), got {optimizer!r}")
        rule, config = optimizer
    else:
        rule, config = optimizer, {}
    if not callable(rule):
        raise TypeError(
            f"optimizer must be an update rule rule(w, dw, config) -> (next_w, config), such as "
            f"optim.adam, or a pair (rule, config); got {rule!r} (for a rule given by name use "
            f"optim.get_update_rule({rule!r}))"
        )
    return rule, dict(config)


class Module:
    """Base class: the forward/backward convention, the train/eval switch and the updates.

    Subclasses list their learnable attributes in ``param_names`` and implement ``_forward``
    (returning ``out, cache``) and ``_backward`` (returning ``dx`` and a dict of parameter
    gradients keyed like ``param_names``).
    """

    param_names: tuple[str, ...] = ()

    def __init__(self, optimizer=None):
        self.training = True
        self._cache = None
        opt = _resolve_optimizer(optimizer)
        self._rule = None if opt is None else opt[0]
        self.optim_configs = {} if opt is None else {name: dict(opt[1]) for name in self.param_names}

    def forward(self, x):
        """Run the layer on ``x`` and keep what backward needs; return the output."""
        out, self._cache = self._forward(x)
        return out

    __call__ = forward

    def backward(self, dout):
        """Backpropagate ``dout``; store the parameter gradients, update if an optimizer is set.

        Returns
        -------
        dx : ndarray, shape of the last forward's input
        """
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dx, grads = self._backward(dout, self._cache)
        updates = self._updates(grads) if self._rule is not None else {}
        # Commit only now: if the backward or any parameter's update failed above, the layer
        # (parameters, gradients, optimizer state) is exactly as it was before this call.
        for name, g in grads.items():
            setattr(self, "d" + name, g)
        for name, (value, config) in updates.items():
            setattr(self, name, value)
            self.optim_configs[name] = config
        return dx

    def _updates(self, grads):
        """Run the update rule for every parameter without changing the layer.

        Returns ``{name: (next_value, next_config)}``. The rule gets a copy of the parameter and of
        its config, since an update rule may write in place (``w -= lr * dw``, ``config['m'] *= b1``):
        a failure at the second parameter must not leave the first one half-updated.
        """
        updates = {}
        for name in self.param_names:
            value, config = self._rule(np.array(getattr(self, name), copy=True), grads[name],
                                       copy.deepcopy(self.optim_configs[name]))
            updates[name] = (value, config)
        return updates

    @property
    def params(self):
        """Dict of the learnable arrays, by attribute name (empty for parameter-free layers)."""
        return {name: getattr(self, name) for name in self.param_names}

    def train(self):
        """Switch to training behaviour (batch statistics, dropout on); return self."""
        self.training = True
        return self

    def eval(self):
        """Switch to test behaviour (running statistics, dropout off); return self."""
        self.training = False
        return self

    def _forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward(self, dout, cache):  # pragma: no cover - abstract
        raise NotImplementedError


class Affine(Module):
    """Fully connected layer, ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)
    optimizer : callable, (callable, config) or None
        Update applied to ``w`` and ``b`` at the end of each backward.
    """

    param_names = ("w", "b")

    def __init__(self, w, b, optimizer=None):
        self.w, self.b = w, b
        super().__init__(optimizer)

    def _forward(self, x):
        return affine_forward(x, self.w, self.b)

    def _backward(self, dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, {"w": dw, "b": db}


class Conv(Module):
    """2-D convolution layer.

    Parameters
    ----------
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'``, ``'pad'`` and optional ``'dilation'``, as for the functions.
    optimizer : callable, (callable, config) or None
        Update applied to ``w`` and ``b`` at the end of each backward.
    impl : 'fast' or 'naive'
        ``fast_layers.conv_*_fast`` or the loop reference ``layers.conv_*_naive``.
    """

    param_names = ("w", "b")

    def __init__(self, w, b, conv_param, optimizer=None, impl="fast"):
        self.w, self.b = w, b
        self.conv_param = conv_param
        self._fwd, self._bwd = _implementation(_CONV_FUNCTIONS, impl)
        super().__init__(optimizer)

    def _forward(self, x):
        return self._fwd(x, self.w, self.b, self.conv_param)

    def _backward(self, dout, cache):
        dx, dw, db = self._bwd(dout, cache)
        return dx, {"w": dw, "b": db}


class ReLU(Module):
    """Elementwise ``max(0, x)``."""

    def _forward(self, x):
        return relu_forward_fast(x)

    def _backward(self, dout, cache):
        return relu_backward_fast(dout, cache), {}


class MaxPool(Module):
    """Max pooling.

    Parameters
    ----------
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``.
    impl : 'fast' or 'naive'
    """

    def __init__(self, pool_param, impl="fast"):
        self.pool_param = pool_param
        self._fwd, self._bwd = _implementation(_POOL_FUNCTIONS, impl)
        super().__init__()

    def _forward(self, x):
        return self._fwd(x, self.pool_param)

    def _backward(self, dout, cache):
        return self._bwd(dout, cache), {}


class BatchNorm(Module):
    """Batch normalization of (N, D) features, or per channel of (N, C, H, W) images.

    The layer picks ``batchnorm_*`` or ``spatial_batchnorm_*`` from the input's ndim. Its mode
    follows :meth:`train` / :meth:`eval`; the running statistics live in ``self.bn_param``.

    Parameters
    ----------
    gamma, beta : ndarray, shape (D,) or (C,)
    bn_param : dict or None
        ``'eps'``, ``'momentum'`` and initial ``'running_mean'`` / ``'running_var'``; copied,
        so the caller's dict is not modified. ``'mode'`` is set by the module.
    optimizer : callable, (callable, config) or None
        Update applied to ``gamma`` and ``beta`` at the end of each backward.
    """

    param_names = ("gamma", "beta")

    def __init__(self, gamma, beta, bn_param=None, optimizer=None):
        self.gamma, self.beta = gamma, beta
        self.bn_param = dict(bn_param or {})
        super().__init__(optimizer)

    def _forward(self, x):
        self.bn_param["mode"] = "train" if self.training else "test"
        fn = spatial_batchnorm_forward_fast if getattr(x, "ndim", None) == 4 else batchnorm_forward_fast
        out, cache = fn(x, self.gamma, self.beta, self.bn_param)
        return out, (fn is spatial_batchnorm_forward_fast, cache)

    def _backward(self, dout, cache):
        spatial, inner = cache
        fn = spatial_batchnorm_backward_fast if spatial else batchnorm_backward_fast
        dx, dgamma, dbeta = fn(dout, inner)
        return dx, {"gamma": dgamma, "beta": dbeta}


class Dropout(Module):
    """Inverted dropout; the identity after :meth:`eval`.

    Parameters
    ----------
    p : float
        Probability of KEEPING a unit, in (0, 1].
    seed : int or None
        With a seed every forward uses the same mask (what a gradient check needs).
    """

    def __init__(self, p, seed=None):
        self.dropout_param = {"p": p}
        if seed is not None:
            self.dropout_param["seed"] = seed
        super().__init__()

    def _forward(self, x):
        param = dict(self.dropout_param, mode="train" if self.training else "test")
        return dropout_forward(x, param)

    def _backward(self, dout, cache):
        return dropout_backward(dout, cache), {}


class Sequential(Module):
    """A chain of modules: forward in order, backward in reverse.

    Parameters
    ----------
    *modules : Module
        The layers, first to last. Each updates its own parameters if it has an optimizer.
    """

    def __init__(self, *modules):
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Module instances, got {type(m).__name__}")
        self.modules = list(modules)
        super().__init__()

    def _forward(self, x):
        for m in self.modules:
            x = m.forward(x)
        return x, True

    def _backward(self, dout, cache):
        for m in reversed(self.modules):
            dout = m.backward(dout)
        return dout, {}

    @property
    def params(self):
        """Dict ``'<index>.<name>'`` -> array over every module's parameters."""
        return {f"{i}.{k}": v for i, m in enumerate(self.modules) for k, v in m.params.items()}

    def train(self):
        """Put every module in training mode; return self."""
        self.training = True
        for m in self.modules:
            m.train()
        return self

    def eval(self):
        """Put every module in test mode; return self."""
        self.training = False
        for m in self.modules:
            m.eval()
        return self

    def __getitem__(self, i):
        return self.modules[i]

    def __len__(self):
        return len(self.modules)
