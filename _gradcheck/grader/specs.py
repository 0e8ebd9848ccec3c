"""Every layer the toolkit ships, declared once.

A :class:`LayerSpec` says everything the rest of the toolkit needs to know about one layer:

* which forward/backward pair it is (attribute names, resolved in the toolkit module that exports
  them, or in a student's module under the same names);
* its signature: each positional argument's role (a differentiable input, a data array such as
  labels, a parameter dict of a known kind, a plain value) and, for arrays, a fixed ndim;
* its **layouts**: small seeded argument builders, ``make(rng, dtype) -> args``. Several per layer,
  covering what the assignment asks for (conv stride 1/2/3, pad 0/1/2, non-square inputs and
  kernels, N = 1 and N > 1; overlapping and tiling pools; several batch sizes and group counts...).
  Layouts marked ``extended`` use what the assignment does not ask for (per-axis stride/pad,
  dilation, a stride that does not divide the input); layouts marked ``api`` are the ones the
  hardening tests (API, no mutation, invalid input, dtype promotion) run;
* whether it is random (dropout), has kinks (ReLU, max pool, SVM), zero-pads its input, which
  naive reference a fast twin must agree with, and which ``bn_param`` keys its forward may replace.

Who reads it: ``_gradcheck.grader.grid`` (what ``python -m gradient_check`` checks, for the toolkit and
for a student's module: one layer on all its layouts), ``--starter`` and the test matrices
through ``tests/_api_registry.py``. Adding a layer: write the pair, add one
``LayerSpec`` to ``SPECS`` below, export the pair from its package's ``__init__``.

This module sits with the checker (level 4) because it names layers of every level below it:
references, fast twins, sandwiches. It imports none of them: names are resolved on demand.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Arg", "Layout", "LayerSpec", "SPECS", "PARAM_KEYS", "EXPORTING_MODULES", "specs", "spec",
           "describe", "missing_specs", "resolve"]

# Packages whose __all__ lists public layer functions; every such function needs a spec.
EXPORTING_MODULES = ("layers", "fast_layers", "layer_utils")

# Keys a parameter dict of each kind must hold (the layer raises when one is missing).
PARAM_KEYS = {
    "conv": ("stride", "pad"),
    "pool": ("pool_height", "pool_width", "stride"),
    "dropout": ("p", "mode"),
    "bn": ("mode",),
    "eps": (),
}

INPUT, DATA, PARAM, VALUE = "input", "data", "param", "value"


@dataclass(frozen=True)
class Arg:
    """One positional argument of a forward.

    Attributes
    ----------
    name : str
    role : {'input', 'data', 'param', 'value'}
        ``input``: a floating array the backward differentiates; ``data``: an array that is not
        differentiated (labels); ``param``: a dict of kind ``kind``; ``value``: anything else (G).
    ndim : int or None
        Fixed number of axes of an array argument (None: any).
    kind : str or None
        For a ``param``: a key of :data:`PARAM_KEYS`.
    """

    name: str
    role: str
    ndim: int | None = None
    kind: str | None = None


def inp(name, ndim=None):
    return Arg(name, INPUT, ndim)


def data(name, ndim=None):
    return Arg(name, DATA, ndim)


def param(name, kind):
    return Arg(name, PARAM, kind=kind)


def value(name):
    return Arg(name, VALUE)


@dataclass(frozen=True)
class Layout:
    """A small seeded configuration of a layer's arguments.

    Attributes
    ----------
    make : callable
        ``make(rng, dtype) -> list``: every positional argument of the forward.
    extended : bool
        Uses what the CS231n assignment does not ask for (per-axis stride/pad, dilation, a stride
        that does not divide the input): checked on the toolkit, and on student code only with
        ``--extended``.
    api : bool
        Run by the hardening test matrices (API, no mutation, invalid input, dtype promotion).
    tag : str
        Short id for test ids and the ``name[tag]`` keys of the test matrices ('' for the first).
    student_backward : bool
        Check a student's backward here (False where CS231n asks only for the forward, e.g.
        batchnorm's test mode: the forward is still compared with the toolkit's).
    """

    make: Callable = field(repr=False)
    extended: bool = False
    api: bool = False
    tag: str = ""
    student_backward: bool = True


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its pair, signature, layouts and properties (see the module docstring)."""

    name: str
    module: str
    family: str
    forward: str
    backward: str | None
    args: tuple
    layouts: tuple
    alt_backwards: tuple = ()
    random: bool = False
    kinks: bool = False
    pads: bool = False
    reference: str | None = None
    may_update: tuple = ()
    compatible_caches: tuple = ()

    def __post_init__(self):
        roles = [a.role for a in self.args]
        n_in = roles.count(INPUT)
        if n_in == 0 or roles[:n_in] != [INPUT] * n_in:
            raise ValueError(f"spec {self.name!r}: the differentiable inputs must come first in args "
                             f"(the checker calls forward(*inputs, *params)), got roles {roles}")
        for a in self.args:
            if a.role == PARAM and a.kind not in PARAM_KEYS:
                raise ValueError(f"spec {self.name!r}: param {a.name!r} has kind {a.kind!r}; known kinds are "
                                 f"{sorted(PARAM_KEYS)} (add the new kind to PARAM_KEYS in _gradcheck/grader/specs.py)")
        if not self.layouts or not any(lay.api for lay in self.layouts):
            raise ValueError(f"spec {self.name!r}: needs at least one layout with api=True")

    @property
    def is_loss(self) -> bool:
        """A loss returns ``(loss, grads)`` and has no backward."""
        return self.backward is None

    @property
    def input_names(self) -> tuple:
        return tuple(a.name for a in self.args if a.role == INPUT)

    @property
    def backwards(self) -> tuple:
        return ((self.backward,) if self.backward else ()) + tuple(self.alt_backwards)

    def split(self, args):
        """``(inputs, params)``: the differentiable arrays, then every other argument."""
        n = len(self.input_names)
        return list(args[:n]), list(args[n:])

    def api_layouts(self):
        return [lay for lay in self.layouts if lay.api]

    def grid(self, extended=False):
        return [lay for lay in self.layouts if extended or not lay.extended]


def resolve(name: str, module_name: str, module=None):
    """The attribute ``name`` of ``module`` (default: import ``module_name``), or None."""
    mod = module if module is not None else importlib.import_module(module_name)
    fn = getattr(mod, name, None)
    if callable(fn) and name in _specs_rnn.ADAPTERS:  # a course signature outside the (out, cache) form
        return _specs_rnn.ADAPTERS[name](fn)
    return fn if callable(fn) else None


def describe(spec: LayerSpec, args) -> str:
    """Name a layout by what it holds: ``x 1x2x5x8, w 3x2x3x3, stride 3, pad 2``."""
    return ", ".join(text for text, _ in _describe_parts(spec, args))


def settings(spec: LayerSpec, args) -> frozenset:
    """The parts of :func:`describe` that are not array shapes (``stride 3``, ``mode train``...)."""
    return frozenset(text for text, is_shape in _describe_parts(spec, args) if not is_shape)


def _describe_parts(spec, args):
    """``(text, is_shape)`` for each part of a layout's description, in order."""
    parts = []
    for a, v in zip(spec.args, args):
        if isinstance(v, np.ndarray) and a.role in (INPUT, DATA):
            if a.role == INPUT and a.name in ("b", "beta", "gamma") and len(parts) > 0:
                continue  # implied by the shapes already named
            parts.append((f"{a.name} " + "x".join(str(s) for s in v.shape), True))
        elif isinstance(v, dict):
            parts += [(text, False) for text in _describe_dict(v)]
        elif a.role == VALUE:
            parts.append((f"{a.name} {v}", False))
    return parts


def _describe_dict(d):
    out = []
    if "pool_height" in d:
        out.append(f"pool {d['pool_height']}x{d['pool_width']}")
    for k, v in d.items():
        if k in ("pool_height", "pool_width", "running_mean", "running_var", "momentum", "eps"):
            continue
        if k == "seed":
            continue
        out.append(f"{k} {v}")
    return out


# --- input builders ------------------------------------------------------------------------------

def _f(rng, shape, dtype, scale=1.0, shift=0.0):
    return (scale * rng.standard_normal(shape) + shift).astype(dtype)


def _distinct(rng, shape, dtype):
    """Values in [-1, 1) at least 2/size apart: a finite-difference step never changes an argmax."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) * (2.0 / size) - 1.0).astype(dtype)


def conv_args(x, w, cp):
    """Builder of (x, w, b, conv_param) with x of shape ``x`` and w of shape ``w``."""
    def make(rng, dtype):
        return [_f(rng, x, dtype), _f(rng, w, dtype, 0.5), _f(rng, (w[0],), dtype), dict(cp)]
    return make


def pool_args(x, ph, pw, stride, distinct=True):
    def make(rng, dtype):
        arr = _distinct(rng, x, dtype) if distinct else _f(rng, x, dtype)
        return [arr, {"pool_height": ph, "pool_width": pw, "stride": stride}]
    return make


def _bn_param(rng, D, mode):
    p = {"mode": mode, "momentum": 0.8, "eps": 1e-5}
    if mode == "test":
        p.update(running_mean=rng.standard_normal(D), running_var=rng.random(D) + 0.5)
    return p


def norm_args(x, D, mode="train"):
    """(x, gamma, beta, bn_param) for batchnorm and spatial batchnorm (D = features/channels)."""
    def make(rng, dtype):
        return [_f(rng, x, dtype, 2.0, 1.0), _f(rng, (D,), dtype), _f(rng, (D,), dtype), _bn_param(rng, D, mode)]
    return make


def layernorm_args(N, D):
    def make(rng, dtype):
        return [_f(rng, (N, D), dtype, 2.0), _f(rng, (D,), dtype), _f(rng, (D,), dtype), {"eps": 1e-5}]
    return make


def groupnorm_args(x, G):
    def make(rng, dtype):
        C = x[1]
        return [_f(rng, x, dtype), _f(rng, (1, C, 1, 1), dtype), _f(rng, (1, C, 1, 1), dtype), G, {"eps": 1e-5}]
    return make


def dense_args(x, M):
    def make(rng, dtype):
        D = int(np.prod(x[1:]))
        return [_f(rng, x, dtype), _f(rng, (D, M), dtype, 0.5), _f(rng, (M,), dtype)]
    return make


def array_args(shape):
    def make(rng, dtype):
        return [_f(rng, shape, dtype)]
    return make


def loss_args(N, C, labels=None):
    def make(rng, dtype):
        y = np.array(labels) if labels is not None else rng.integers(0, C, size=N)
        return [_f(rng, (N, C), dtype), y]
    return make


def dropout_args(shape, p, mode, seed=None):
    def make(rng, dtype):
        d = {"p": p, "mode": mode}
        if seed is not None:
            d["seed"] = seed
        return [_f(rng, shape, dtype), d]
    return make


def conv_relu_pool_args(x, w, cp, pp):
    def make(rng, dtype):
        return conv_args(x, w, cp)(rng, dtype) + [dict(pp)]
    return make


def conv_bn_relu_args(x, w, cp, mode="train"):
    def make(rng, dtype):
        xa, wa, ba, c = conv_args(x, w, cp)(rng, dtype)
        F = w[0]
        return [xa, wa, ba, _f(rng, (F,), dtype), _f(rng, (F,), dtype), c, _bn_param(rng, F, mode)]
    return make


# --- the layouts ---------------------------------------------------------------------------------
# Kept small (a naive student layer loops in Python over every output for every probe) and with
# (H + 2 pad - HH) divisible by the stride except where marked extended: CS231n lets students assume it.

def _conv(x, w, extended=False, api=False, tag="", **cp):
    return Layout(conv_args(x, w, cp), extended=extended, api=api, tag=tag)


CONV_LAYOUTS = (
    _conv((3, 2, 4, 4), (4, 2, 3, 3), stride=1, pad=1),             # N, C, F distinct
    _conv((2, 3, 5, 7), (4, 3, 3, 3), stride=2, pad=1),             # non-square input
    _conv((1, 2, 5, 8), (3, 2, 3, 3), stride=3, pad=2),             # N = 1
    _conv((2, 3, 4, 6), (5, 3, 2, 3), stride=1, pad=0),             # non-square kernel
    _conv((3, 1, 5, 6), (2, 1, 3, 2), stride=2, pad=2),
    _conv((2, 3, 6, 5), (4, 3, 3, 2), extended=True, api=True, tag="per-axis", stride=(2, 1), pad=1, dilation=1),
    _conv((3, 2, 5, 6), (2, 2, 3, 3), extended=True, tag="dilated", stride=2, pad=(1, 0), dilation=(1, 2)),
    _conv((2, 2, 6, 6), (3, 2, 2, 3), extended=True, tag="dilation 2", stride=1, pad=1, dilation=2),
    _conv((2, 2, 6, 7), (2, 2, 3, 3), extended=True, tag="stride does not divide", stride=2, pad=0),
)


def _pool(x, ph, pw, stride, extended=False, api=False, tag=""):
    return Layout(pool_args(x, ph, pw, stride), extended=extended, api=api, tag=tag)


POOL_LAYOUTS = (
    _pool((3, 2, 4, 6), 2, 2, 2),                                   # tiling
    _pool((2, 3, 7, 5), 3, 3, 2),                                   # overlapping
    _pool((1, 2, 4, 5), 2, 2, 1),                                   # overlapping, N = 1
    _pool((2, 2, 5, 6), 3, 2, 2),                                   # non-square window
    _pool((2, 3, 6, 6), 2, 3, (2, 1), extended=True, api=True, tag="per-axis"),
    _pool((3, 2, 5, 4), 3, 2, (1, 2), extended=True, tag="per-axis overlap"),
    _pool((2, 2, 6, 7), 3, 3, 2, extended=True, tag="stride does not divide"),
)

# CS231n's reshape pool takes only square windows that tile the input (pool size == stride); its
# im2col pool needs (H - HH) and (W - WW) divisible by one stride.
RESHAPE_POOL_LAYOUTS = (
    _pool((3, 2, 4, 6), 2, 2, 2, api=True),
    _pool((1, 3, 6, 6), 3, 3, 3),
)
IM2COL_POOL_LAYOUTS = RESHAPE_POOL_LAYOUTS + POOL_LAYOUTS[1:4]

DENSE_LAYOUTS = (
    Layout(dense_args((3, 2, 4), 5), api=True),
    Layout(dense_args((1, 5), 3)),
    Layout(dense_args((4, 2, 2, 2), 3)),
)

RELU_LAYOUTS = (
    Layout(array_args((3, 4)), api=True),
    Layout(array_args((1, 7))),
    Layout(array_args((2, 3, 2, 2))),
)

LOSS_LAYOUTS = (
    Layout(loss_args(4, 5)),
    Layout(loss_args(5, 4, [0, 3, 1, 1, 2]), api=True),             # a repeated label
    Layout(loss_args(1, 6)),                                        # N = 1
    Layout(loss_args(3, 7)),
    Layout(loss_args(8, 3)),
)

DROPOUT_LAYOUTS = (
    # The first layout is probed element by element: small. The kept fraction is judged on the
    # 2000-unit layouts (a Hoeffding bound of +-0.06 there), which are probed along directions.
    Layout(dropout_args((4, 6), 0.7, "train", seed=3), api=True),
    Layout(dropout_args((40, 50), 0.7, "train", seed=5)),
    Layout(dropout_args((50, 40), 0.3, "train")),                    # no seed: the global generator
    Layout(dropout_args((4, 5), 0.7, "test"), api=True, tag="test"),
)

BN_LAYOUTS = (
    Layout(norm_args((6, 3), 3), api=True),
    Layout(norm_args((3, 5), 5)),
    Layout(norm_args((8, 2), 2)),
    Layout(norm_args((6, 3), 3, "test"), api=True, tag="test", student_backward=False),
)

LN_LAYOUTS = (
    Layout(layernorm_args(5, 4), api=True),
    Layout(layernorm_args(3, 6)),
    Layout(layernorm_args(1, 7)),
)

SBN_LAYOUTS = (
    Layout(norm_args((2, 3, 4, 5), 3), api=True),
    Layout(norm_args((3, 2, 2, 3), 2)),
    Layout(norm_args((1, 4, 3, 2), 4)),
    Layout(norm_args((2, 3, 2, 2), 3, "test"), tag="test", student_backward=False),
)

GN_LAYOUTS = (
    Layout(groupnorm_args((2, 4, 3, 3), 2), api=True),
    Layout(groupnorm_args((1, 6, 2, 3), 3)),
    Layout(groupnorm_args((3, 4, 2, 2), 1)),                        # one group: layer norm
    Layout(groupnorm_args((2, 3, 3, 2), 3)),                        # one channel per group
)

_CONV_API = {"stride": (2, 1), "pad": 1, "dilation": 1}

CONV_RELU_LAYOUTS = (CONV_LAYOUTS[0], CONV_LAYOUTS[1], CONV_LAYOUTS[5])

CONV_RELU_POOL_LAYOUTS = (
    Layout(conv_relu_pool_args((2, 2, 4, 4), (3, 2, 3, 3), {"stride": 1, "pad": 1},
                               {"pool_height": 2, "pool_width": 2, "stride": 2})),
    Layout(conv_relu_pool_args((1, 3, 5, 7), (2, 3, 3, 3), {"stride": 1, "pad": 1},
                               {"pool_height": 3, "pool_width": 3, "stride": 2})),
    Layout(conv_relu_pool_args((2, 3, 6, 5), (4, 3, 3, 2), _CONV_API,
                               {"pool_height": 2, "pool_width": 2, "stride": 1}), extended=True, api=True,
           tag="per-axis"),
)

CONV_BN_RELU_LAYOUTS = (
    Layout(conv_bn_relu_args((3, 2, 4, 4), (2, 2, 3, 3), {"stride": 1, "pad": 1})),
    Layout(conv_bn_relu_args((2, 3, 5, 7), (4, 3, 3, 3), {"stride": 2, "pad": 1})),
    Layout(conv_bn_relu_args((2, 3, 6, 5), (4, 3, 3, 2), _CONV_API), extended=True, api=True, tag="per-axis"),
)

def linear_loss_args(N, D, C, reg, scale=0.1):
    """(W, X, y, reg) for assignment 1's losses of the weights, ``f(W, X, y, reg) -> (loss, dW)``."""
    def make(rng, dtype):
        return [_f(rng, (D, C), dtype, scale), _f(rng, (N, D), dtype), rng.integers(0, C, size=N), reg]
    return make


LINEAR_LOSS_LAYOUTS = (
    Layout(linear_loss_args(5, 4, 3, 0.1), api=True),
    Layout(linear_loss_args(1, 6, 4, 0.0)),                          # N = 1, no regularization
    Layout(linear_loss_args(8, 3, 10, 2.5)),                         # more classes than features
    Layout(linear_loss_args(12, 7, 5, 0.01, scale=1.0)),             # larger weights: many active margins
)

AFFINE_RELU_LAYOUTS = (
    Layout(dense_args((3, 5), 4), api=True),
    Layout(dense_args((1, 2, 3), 4)),
)


def affine_norm_relu_args(x, M, norm_param):
    """(x, w, b, gamma, beta, norm_param) for affine_bn_relu / affine_ln_relu."""
    def make(rng, dtype):
        return dense_args(x, M)(rng, dtype) + [_f(rng, (M,), dtype), _f(rng, (M,), dtype), norm_param(rng, M)]
    return make


AFFINE_BN_RELU_LAYOUTS = (
    Layout(affine_norm_relu_args((4, 2, 3), 5, lambda rng, M: _bn_param(rng, M, "train")), api=True),
    Layout(affine_norm_relu_args((3, 6), 4, lambda rng, M: _bn_param(rng, M, "train"))),
    Layout(affine_norm_relu_args((3, 6), 4, lambda rng, M: _bn_param(rng, M, "test")), api=True, tag="test",
           student_backward=False),
)

AFFINE_LN_RELU_LAYOUTS = (
    Layout(affine_norm_relu_args((4, 2, 3), 5, lambda rng, M: {"eps": 1e-5}), api=True),
    Layout(affine_norm_relu_args((1, 6), 4, lambda rng, M: {"eps": 1e-5})),
)


# --- the specifications --------------------------------------------------------------------------

_XWB = (inp("x", 4), inp("w", 4), inp("b", 1))
_BN_UPDATES = ("running_mean", "running_var")
_AFFINE_NORM_ARGS = (inp("x"), inp("w", 2), inp("b", 1), inp("gamma", 1), inp("beta", 1))


def _conv_spec(impl, module, family="conv", layouts=CONV_LAYOUTS, **kw):
    reference = None if impl == "naive" else "conv_forward_naive"
    return LayerSpec(f"conv_forward_{impl}", module, family, f"conv_forward_{impl}", f"conv_backward_{impl}",
                     _XWB + (param("conv_param", "conv"),), layouts, pads=True, reference=reference, **kw)


def _pool_spec(kind, impl, module, layouts=POOL_LAYOUTS):
    other = "fast" if impl == "naive" else "naive"
    # the naive and fast implementations document one cache layout; the course's variants have their own
    compatible = (f"{kind}_pool_forward_{other}",) if impl in ("naive", "fast") else ()
    return LayerSpec(f"{kind}_pool_forward_{impl}", module, f"{kind}_pool", f"{kind}_pool_forward_{impl}",
                     f"{kind}_pool_backward_{impl}", (inp("x", 4), param("pool_param", "pool")), layouts,
                     kinks=kind == "max", reference=None if impl == "naive" else f"{kind}_pool_forward_naive",
                     compatible_caches=compatible)


def _linear_loss_spec(name, module, kinks=False):
    # The weights W are the one differentiable input; X and y are data, reg a plain value.
    return LayerSpec(name, module, name.rsplit("_", 1)[0], name, None,
                     (inp("W", 2), data("X", 2), data("y", 1), value("reg")), LINEAR_LOSS_LAYOUTS, kinks=kinks)


SPECS: tuple[LayerSpec, ...] = (
    _conv_spec("naive", "layers"),
    _conv_spec("im2col", "fast_layers"),
    _conv_spec("strides", "fast_layers", compatible_caches=("conv_forward_fast",)),
    _conv_spec("fast", "fast_layers", compatible_caches=("conv_forward_strides",)),
    _pool_spec("max", "naive", "layers"),
    _pool_spec("max", "fast", "fast_layers"),
    _pool_spec("max", "reshape", "fast_layers", RESHAPE_POOL_LAYOUTS),
    _pool_spec("max", "im2col", "fast_layers", IM2COL_POOL_LAYOUTS),
    _pool_spec("avg", "naive", "layers"),
    _pool_spec("avg", "fast", "fast_layers"),
    LayerSpec("affine_forward", "layers", "affine", "affine_forward", "affine_backward",
              (inp("x"), inp("w", 2), inp("b", 1)), DENSE_LAYOUTS),
    LayerSpec("relu_forward", "layers", "relu", "relu_forward", "relu_backward", (inp("x"),), RELU_LAYOUTS,
              kinks=True, compatible_caches=("relu_forward_fast",)),
    LayerSpec("relu_forward_fast", "fast_layers", "relu", "relu_forward_fast", "relu_backward_fast", (inp("x"),),
              RELU_LAYOUTS, kinks=True, reference="relu_forward", compatible_caches=("relu_forward",)),
    LayerSpec("softmax_loss", "layers", "softmax", "softmax_loss", None, (inp("x", 2), data("y", 1)),
              LOSS_LAYOUTS),
    LayerSpec("svm_loss", "layers", "svm", "svm_loss", None, (inp("x", 2), data("y", 1)), LOSS_LAYOUTS,
              kinks=True),
    _linear_loss_spec("softmax_loss_naive", "classifiers.softmax"),
    _linear_loss_spec("softmax_loss_vectorized", "classifiers.softmax"),
    _linear_loss_spec("svm_loss_naive", "classifiers.linear_svm", kinks=True),
    _linear_loss_spec("svm_loss_vectorized", "classifiers.linear_svm", kinks=True),
    LayerSpec("dropout_forward", "layers", "dropout", "dropout_forward", "dropout_backward",
              (inp("x"), param("dropout_param", "dropout")), DROPOUT_LAYOUTS, random=True),
    LayerSpec("batchnorm_forward", "layers", "batchnorm", "batchnorm_forward", "batchnorm_backward",
              (inp("x", 2), inp("gamma", 1), inp("beta", 1), param("bn_param", "bn")), BN_LAYOUTS,
              alt_backwards=("batchnorm_backward_alt",), may_update=_BN_UPDATES,
              compatible_caches=("batchnorm_forward_fast",)),
    LayerSpec("batchnorm_forward_fast", "fast_layers", "batchnorm", "batchnorm_forward_fast",
              "batchnorm_backward_fast", (inp("x", 2), inp("gamma", 1), inp("beta", 1), param("bn_param", "bn")),
              BN_LAYOUTS, may_update=_BN_UPDATES, reference="batchnorm_forward",
              compatible_caches=("batchnorm_forward",)),
    LayerSpec("layernorm_forward", "layers", "layernorm", "layernorm_forward", "layernorm_backward",
              (inp("x", 2), inp("gamma", 1), inp("beta", 1), param("ln_param", "eps")), LN_LAYOUTS),
    LayerSpec("spatial_batchnorm_forward", "layers", "spatial_batchnorm", "spatial_batchnorm_forward",
              "spatial_batchnorm_backward", (inp("x", 4), inp("gamma", 1), inp("beta", 1), param("bn_param", "bn")),
              SBN_LAYOUTS, may_update=_BN_UPDATES, compatible_caches=("spatial_batchnorm_forward_fast",)),
    LayerSpec("spatial_batchnorm_forward_fast", "fast_layers", "spatial_batchnorm", "spatial_batchnorm_forward_fast",
              "spatial_batchnorm_backward_fast",
              (inp("x", 4), inp("gamma", 1), inp("beta", 1), param("bn_param", "bn")), SBN_LAYOUTS,
              may_update=_BN_UPDATES, reference="spatial_batchnorm_forward",
              compatible_caches=("spatial_batchnorm_forward",)),
    LayerSpec("spatial_groupnorm_forward", "layers", "spatial_groupnorm", "spatial_groupnorm_forward",
              "spatial_groupnorm_backward",
              (inp("x", 4), inp("gamma", 4), inp("beta", 4), value("G"), param("gn_param", "eps")), GN_LAYOUTS),
    LayerSpec("affine_relu_forward", "layer_utils", "affine_relu", "affine_relu_forward", "affine_relu_backward",
              (inp("x"), inp("w", 2), inp("b", 1)), AFFINE_RELU_LAYOUTS, kinks=True),
    LayerSpec("conv_relu_forward", "layer_utils", "conv_relu", "conv_relu_forward", "conv_relu_backward",
              _XWB + (param("conv_param", "conv"),), CONV_RELU_LAYOUTS, kinks=True, pads=True),
    LayerSpec("conv_relu_pool_forward", "layer_utils", "conv_relu_pool", "conv_relu_pool_forward",
              "conv_relu_pool_backward", _XWB + (param("conv_param", "conv"), param("pool_param", "pool")),
              CONV_RELU_POOL_LAYOUTS, kinks=True, pads=True),
    LayerSpec("conv_bn_relu_forward", "layer_utils", "conv_bn_relu", "conv_bn_relu_forward", "conv_bn_relu_backward",
              _XWB + (inp("gamma", 1), inp("beta", 1), param("conv_param", "conv"), param("bn_param", "bn")),
              CONV_BN_RELU_LAYOUTS, kinks=True, pads=True, may_update=_BN_UPDATES),
    LayerSpec("affine_bn_relu_forward", "layer_utils", "affine_bn_relu", "affine_bn_relu_forward",
              "affine_bn_relu_backward", _AFFINE_NORM_ARGS + (param("bn_param", "bn"),), AFFINE_BN_RELU_LAYOUTS,
              kinks=True, may_update=_BN_UPDATES),
    LayerSpec("affine_ln_relu_forward", "layer_utils", "affine_ln_relu", "affine_ln_relu_forward",
              "affine_ln_relu_backward", _AFFINE_NORM_ARGS + (param("ln_param", "eps"),), AFFINE_LN_RELU_LAYOUTS,
              kinks=True),
)


from _gradcheck.grader import specs_rnn as _specs_rnn  # noqa: E402  (the recurrent layers, in a file of their own)

SPECS = SPECS + _specs_rnn.build_specs()


class SpecNotFound(LookupError):
    """No specification has this name; the message says where to add one."""


def specs(extra=()):
    """Every specification (``SPECS`` followed by ``extra``)."""
    return tuple(SPECS) + tuple(extra)


def spec(name: str, extra=()) -> LayerSpec:
    """The specification named ``name`` (its forward's name)."""
    for s in specs(extra):
        if s.name == name:
            return s
    raise SpecNotFound(f"no layer specification named {name!r}: add a LayerSpec({name!r}, ...) to SPECS in "
                       f"_gradcheck/grader/specs.py (see 'Adding a layer' in README.md)")


def _layer_like(name: str) -> bool:
    return "_forward" in name or "_backward" in name or name.endswith("_loss")


def missing_specs(module, all_specs=None) -> list:
    """One message per public layer function of ``module`` that no specification names.

    ``module`` is a package whose ``__all__`` lists its public functions (``layers``...); a layer
    function is any ``*_forward*``, ``*_backward*`` or ``*_loss`` callable in it.
    """
    all_specs = specs() if all_specs is None else all_specs
    known = {s.forward for s in all_specs} | {b for s in all_specs for b in s.backwards}
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    where = getattr(module, "__name__", "?")
    init = getattr(module, "__file__", where) or where
    missing = sorted(n for n in names if _layer_like(n) and callable(getattr(module, n, None)) and n not in known)
    return [f"{where}.{n} (exported in {init}) has no specification: add a LayerSpec naming it to SPECS in "
            f"_gradcheck/grader/specs.py (see 'Adding a layer' in README.md)" for n in missing]
