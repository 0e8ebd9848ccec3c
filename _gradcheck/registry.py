"""Every layer the toolkit ships, with small seeded inputs for the command-line check.

An :class:`Entry` names a forward/backward pair by attribute (resolved at run time in ``layers``
or ``fast_layers``, or in a student's module), says which arguments are differentiable, and makes
inputs from a generator. A new layer needs one entry here; ``tests/test_gradient_check.py``
fails for any exported ``*_forward*`` function without one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable


__all__ = ["Entry", "ENTRIES", "entries", "resolve"]

N = 3  # batch size: 3 keeps 1/N distinguishable from 1/2 in the diagnosis


@dataclass(frozen=True)
class Entry:
    """One registered check.

    Attributes
    ----------
    label : str
        Name shown in the report (the forward's name, plus a configuration note if needed).
    forward, backward : str
        Attribute names; ``backward`` is None for a loss returning ``(loss, dx)``.
    module : str
        ``'layers'`` or ``'fast_layers'``: where the toolkit's own implementation lives.
    names : tuple of str
        Names of the differentiable inputs, in the forward's order.
    make : callable
        ``make(rng, dtype) -> (inputs, params)``.
    compare_forward : bool
        Whether a student's forward output can be compared with the toolkit's (False for
        random layers, whose masks depend on how the generator is used).
    classic : bool
        The configuration is one a CS231n-style implementation supports (int stride and pad,
        no dilation); only these are run against a student's module.
    """

    label: str
    forward: str
    backward: str | None
    module: str
    names: tuple
    make: Callable = field(repr=False)
    compare_forward: bool = True
    classic: bool = True


def _f(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def _conv(x_shape, w_shape, conv_param):
    def make(rng, dtype):
        x = _f(rng, x_shape, dtype)
        w = _f(rng, w_shape, dtype, 0.5)
        b = _f(rng, (w_shape[0],), dtype)
        return [x, w, b], [dict(conv_param)]
    return make


def _pool(x_shape, pool_param):
    def make(rng, dtype):
        return [_f(rng, x_shape, dtype)], [dict(pool_param)]
    return make


def _affine(rng, dtype):
    return [_f(rng, (N, 2, 3), dtype), _f(rng, (6, 4), dtype, 0.5), _f(rng, (4,), dtype)], []


def _relu(rng, dtype):
    return [_f(rng, (N, 4, 5), dtype)], []


def _loss(rng, dtype):
    C = 5
    return [_f(rng, (N + 1, C), dtype)], [rng.integers(0, C, size=N + 1)]


def _bn(rng, dtype):
    D = 5
    return [_f(rng, (N + 1, D), dtype, 2.0) + 1.0, _f(rng, (D,), dtype), _f(rng, (D,), dtype)], \
        [{"mode": "train"}]


def _ln(rng, dtype):
    D = 6
    return [_f(rng, (N, D), dtype, 2.0), _f(rng, (D,), dtype), _f(rng, (D,), dtype)], [{}]


def _sbn(rng, dtype):
    C = 3
    return [_f(rng, (N, C, 3, 3), dtype), _f(rng, (C,), dtype), _f(rng, (C,), dtype)], [{"mode": "train"}]


def _sgn(rng, dtype):
    C = 4
    return [_f(rng, (N - 1, C, 3, 3), dtype), _f(rng, (1, C, 1, 1), dtype), _f(rng, (1, C, 1, 1), dtype)], \
        [2, {}]


def _dropout(rng, dtype):
    return [_f(rng, (N, 4, 5), dtype)], [{"p": 0.7, "mode": "train", "seed": 123}]


def _affine_relu(rng, dtype):
    return [_f(rng, (N, 5), dtype), _f(rng, (5, 4), dtype), _f(rng, (4,), dtype)], []


_CONV = {"stride": 1, "pad": 1}
_CONV_ODD = {"stride": 2, "pad": (1, 0), "dilation": (1, 2)}
_POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}
_POOL_OVERLAP = {"pool_height": 3, "pool_width": 2, "stride": (1, 2)}


def _conv_relu(rng, dtype):
    return _conv((N, 2, 4, 4), (3, 2, 3, 3), _CONV)(rng, dtype)


def _conv_relu_pool(rng, dtype):
    inputs, params = _conv((N - 1, 2, 4, 4), (2, 2, 3, 3), _CONV)(rng, dtype)
    return inputs, params + [dict(_POOL)]


def _conv_bn_relu(rng, dtype):
    inputs, params = _conv((N, 2, 4, 4), (2, 2, 3, 3), _CONV)(rng, dtype)
    return inputs + [_f(rng, (2,), dtype), _f(rng, (2,), dtype)], params + [{"mode": "train"}]


_XWB = ("x", "w", "b")
_XGB = ("x", "gamma", "beta")
_NORMAL_CONV = _conv((N, 2, 4, 4), (3, 2, 3, 3), _CONV)
_ODD_CONV = _conv((N, 2, 5, 6), (2, 2, 3, 3), _CONV_ODD)
_ODD_NOTE = " (stride 2, pad (1,0), dilation (1,2))"
_OVERLAP_NOTE = " (3x2 window, stride (1,2))"

ENTRIES: tuple[Entry, ...] = (
    Entry("conv_forward_naive", "conv_forward_naive", "conv_backward_naive", "layers", _XWB, _NORMAL_CONV),
    Entry("conv_forward_naive" + _ODD_NOTE, "conv_forward_naive", "conv_backward_naive", "layers", _XWB, _ODD_CONV, classic=False),
    Entry("conv_forward_im2col", "conv_forward_im2col", "conv_backward_im2col", "fast_layers", _XWB, _NORMAL_CONV),
    Entry("conv_forward_im2col" + _ODD_NOTE, "conv_forward_im2col", "conv_backward_im2col", "fast_layers", _XWB, _ODD_CONV, classic=False),
    Entry("conv_forward_strides", "conv_forward_strides", "conv_backward_strides", "fast_layers", _XWB, _NORMAL_CONV),
    Entry("conv_forward_strides" + _ODD_NOTE, "conv_forward_strides", "conv_backward_strides", "fast_layers", _XWB, _ODD_CONV, classic=False),
    Entry("conv_forward_fast", "conv_forward_fast", "conv_backward_fast", "fast_layers", _XWB, _NORMAL_CONV),
    Entry("affine_forward", "affine_forward", "affine_backward", "layers", _XWB, _affine),
    Entry("relu_forward", "relu_forward", "relu_backward", "layers", ("x",), _relu),
    Entry("softmax_loss", "softmax_loss", None, "layers", ("x",), _loss),
    Entry("svm_loss", "svm_loss", None, "layers", ("x",), _loss),
    Entry("dropout_forward", "dropout_forward", "dropout_backward", "layers", ("x",), _dropout, False),
    Entry("batchnorm_forward", "batchnorm_forward", "batchnorm_backward", "layers", _XGB, _bn),
    Entry("batchnorm_forward + backward_alt", "batchnorm_forward", "batchnorm_backward_alt", "layers", _XGB, _bn),
    Entry("layernorm_forward", "layernorm_forward", "layernorm_backward", "layers", _XGB, _ln),
    Entry("spatial_batchnorm_forward", "spatial_batchnorm_forward", "spatial_batchnorm_backward", "layers", _XGB, _sbn),
    Entry("spatial_groupnorm_forward", "spatial_groupnorm_forward", "spatial_groupnorm_backward", "layers", _XGB, _sgn),
    Entry("max_pool_forward_naive", "max_pool_forward_naive", "max_pool_backward_naive", "layers", ("x",),
          _pool((N, 2, 4, 4), _POOL)),
    Entry("max_pool_forward_naive" + _OVERLAP_NOTE, "max_pool_forward_naive", "max_pool_backward_naive", "layers",
          ("x",), _pool((N, 2, 5, 4), _POOL_OVERLAP), classic=False),
    Entry("avg_pool_forward_naive", "avg_pool_forward_naive", "avg_pool_backward_naive", "layers", ("x",),
          _pool((N, 2, 4, 4), _POOL)),
    Entry("max_pool_forward_fast", "max_pool_forward_fast", "max_pool_backward_fast", "fast_layers", ("x",),
          _pool((N, 2, 4, 4), _POOL)),
    Entry("max_pool_forward_fast" + _OVERLAP_NOTE, "max_pool_forward_fast", "max_pool_backward_fast", "fast_layers",
          ("x",), _pool((N, 2, 5, 4), _POOL_OVERLAP), classic=False),
    Entry("avg_pool_forward_fast", "avg_pool_forward_fast", "avg_pool_backward_fast", "fast_layers", ("x",),
          _pool((N, 2, 4, 4), _POOL)),
    Entry("avg_pool_forward_fast" + _OVERLAP_NOTE, "avg_pool_forward_fast", "avg_pool_backward_fast", "fast_layers",
          ("x",), _pool((N, 2, 5, 4), _POOL_OVERLAP), classic=False),
    Entry("affine_relu_forward", "affine_relu_forward", "affine_relu_backward", "layers", _XWB, _affine_relu),
    Entry("conv_relu_forward", "conv_relu_forward", "conv_relu_backward", "layers", _XWB, _conv_relu),
    Entry("conv_relu_pool_forward", "conv_relu_pool_forward", "conv_relu_pool_backward", "layers", _XWB,
          _conv_relu_pool),
    Entry("conv_bn_relu_forward", "conv_bn_relu_forward", "conv_bn_relu_backward", "layers",
          ("x", "w", "b", "gamma", "beta"), _conv_bn_relu),
)


def entries(only: str | None = None) -> list[Entry]:
    """Registered entries whose label contains ``only`` (all of them if None)."""
    return [e for e in ENTRIES if only is None or only in e.label]


def _toolkit_module(name: str):
    return importlib.import_module(name)


def resolve(entry: Entry, module=None):
    """Return ``(forward, backward)`` from ``module`` (default: the toolkit's), or None if absent."""
    mod = module if module is not None else _toolkit_module(entry.module)
    fwd = getattr(mod, entry.forward, None)
    bwd = getattr(mod, entry.backward, None) if entry.backward else None
    if not callable(fwd) or (entry.backward and not callable(bwd)):
        return None
    return fwd, bwd


def registered_names() -> set:
    """Every forward and backward attribute name that has an entry."""
    names = {e.forward for e in ENTRIES}
    names |= {e.backward for e in ENTRIES if e.backward}
    return names


def unregistered(module) -> list:
    """Public layer functions of ``module`` (``*_forward*``, ``*_backward*``, ``*_loss``) with no entry."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    public = [n for n in names if callable(getattr(module, n, None))
              and ("_forward" in n or "_backward" in n or n.endswith("_loss"))]
    known = registered_names()
    return sorted(n for n in public if n not in known)
