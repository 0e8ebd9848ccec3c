"""A layer the toolkit does not ship (leaky ReLU), added the way docs/architecture.md's "Adding a layer" says.

Used by ``tests/test_specs.py``, in process and as a pytest plugin (``-p tests.toy_layer``) that
registers it before the test matrices are collected. ``CNNKIT_TOY`` selects what the plugin does:

* ``spec``: export the pair from ``layers`` and add :data:`LEAKY_SPEC` to the specifications;
* ``missing``: export the pair from ``layers`` but add no specification (a forgotten step).
"""

from __future__ import annotations

import os

import numpy as np

from _gradcheck.grader import specs

SLOPE = 0.1


def _check_x(x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be an ndarray, got {type(x).__name__}")
    if x.dtype.kind not in "fiub" or x.dtype == np.longdouble:
        raise TypeError(f"x must hold real numbers (float16/32/64, int, bool), got dtype {x.dtype}")


def leaky_relu_forward(x):
    """Leaky ReLU of x (any shape): ``(out, (x,))`` with out = x where x > 0, ``SLOPE * x`` elsewhere."""
    _check_x(x)
    xf = x.astype(np.result_type(x.dtype, np.float32), copy=False)
    return np.where(xf > 0, xf, xf * xf.dtype.type(SLOPE)), (x,)


def leaky_relu_backward(dout, cache):
    """Gradient of :func:`leaky_relu_forward`: ``dout`` where x > 0, ``SLOPE * dout`` elsewhere."""
    if not isinstance(cache, tuple) or len(cache) != 1:
        raise ValueError("cache must be the 1-tuple (x,) made by leaky_relu_forward")
    (x,) = cache
    _check_x(x)
    _check_x(dout)
    if dout.shape != x.shape:
        raise ValueError(f"dout has shape {dout.shape}, expected the forward output's {x.shape}")
    dtype = np.result_type(x.dtype, np.float32)
    d = dout.astype(dtype, copy=False)
    return np.where(x > 0, d, d * dtype.type(SLOPE))


def leaky_relu_backward_buggy(dout, cache):
    """Forgets the slope on the negative side (a plain ReLU backward)."""
    (x,) = cache
    return np.where(x > 0, dout, 0.0)


def leaky_spec(backward="leaky_relu_backward"):
    """The one specification the new layer needs."""
    return specs.LayerSpec(
        "leaky_relu_forward", __name__, "leaky_relu", "leaky_relu_forward", backward,
        (specs.inp("x"),),
        (specs.Layout(specs.array_args((3, 4)), api=True), specs.Layout(specs.array_args((1, 2, 5)))),
        kinks=True)


LEAKY_SPEC = leaky_spec()


def export_from_layers():
    """Export the pair from ``layers`` as ``layers/__init__.py`` would."""
    import layers

    for fn in (leaky_relu_forward, leaky_relu_backward):
        setattr(layers, fn.__name__, fn)
        if fn.__name__ not in layers.__all__:
            layers.__all__.append(fn.__name__)


def pytest_configure(config):
    mode = os.environ.get("CNNKIT_TOY", "spec")
    export_from_layers()
    if mode == "spec":
        specs.SPECS = specs.SPECS + (LEAKY_SPEC,)
