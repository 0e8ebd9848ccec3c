"""Every public layer function, with a builder of valid arguments: the registry the hardening
tests (no mutation, invalid inputs, NaN propagation, thread safety) iterate over.

``FORWARDS`` maps each exported forward (and each loss, which returns ``(loss, dx)``) to a
builder ``(rng, dtype) -> args``; ``BACKWARDS`` maps each exported backward to the forward whose
cache it takes. ``missing_entries()`` lists exports that are in neither, so a layer added to
``layers/__init__.py`` or ``fast_layers/__init__.py`` without a builder fails a test instead of
silently escaping the checks.
"""

from __future__ import annotations

import numpy as np

import fast_layers
import layers

CONV_PARAM = {"stride": (2, 1), "pad": 1, "dilation": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 3, "stride": (2, 1)}


def _a(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _conv(rng, dt):
    return [_a(rng, (2, 3, 6, 5), dt), _a(rng, (4, 3, 3, 2), dt), _a(rng, (4,), dt), dict(CONV_PARAM)]


def _pool(rng, dt):
    return [_a(rng, (2, 3, 6, 6), dt), dict(POOL_PARAM)]


def _bn_param():
    return {"mode": "train", "momentum": 0.8, "eps": 1e-5,
            "running_mean": np.zeros(3), "running_var": np.ones(3)}


BUILDERS = {
    "conv": _conv,
    "pool": _pool,
    "affine": lambda rng, dt: [_a(rng, (3, 2, 4), dt), _a(rng, (8, 5), dt), _a(rng, (5,), dt)],
    "relu": lambda rng, dt: [_a(rng, (3, 4), dt)],
    "dropout_train": lambda rng, dt: [_a(rng, (4, 5), dt), {"p": 0.7, "mode": "train", "seed": 3}],
    "dropout_test": lambda rng, dt: [_a(rng, (4, 5), dt), {"p": 0.7, "mode": "test"}],
    "batchnorm": lambda rng, dt: [_a(rng, (6, 3), dt), _a(rng, (3,), dt), _a(rng, (3,), dt), _bn_param()],
    "batchnorm_test": lambda rng, dt: [_a(rng, (6, 3), dt), _a(rng, (3,), dt), _a(rng, (3,), dt),
                                       {**_bn_param(), "mode": "test"}],
    "layernorm": lambda rng, dt: [_a(rng, (5, 4), dt), _a(rng, (4,), dt), _a(rng, (4,), dt), {"eps": 1e-5}],
    "spatial_batchnorm": lambda rng, dt: [_a(rng, (2, 3, 4, 5), dt), _a(rng, (3,), dt), _a(rng, (3,), dt),
                                          _bn_param()],
    "spatial_groupnorm": lambda rng, dt: [_a(rng, (2, 4, 3, 3), dt), _a(rng, (1, 4, 1, 1), dt),
                                          _a(rng, (1, 4, 1, 1), dt), 2, {"eps": 1e-5}],
    "loss": lambda rng, dt: [_a(rng, (5, 4), dt), np.array([0, 3, 1, 1, 2])],
    "conv_relu_pool": lambda rng, dt: [*_conv(rng, dt)[:4], {"pool_height": 2, "pool_width": 2, "stride": 1}],
    "conv_bn_relu": lambda rng, dt: [*_conv(rng, dt)[:3], _a(rng, (4,), dt), _a(rng, (4,), dt),
                                     dict(CONV_PARAM), {**_bn_param(), "running_mean": np.zeros(4),
                                                        "running_var": np.ones(4)}],
}

# name -> (callable, builder key). The keys of bn_param a forward may legitimately replace
# (CS231n's documented exception) are listed in MAY_UPDATE.
FORWARDS = {}
for _impl in ("im2col", "strides", "fast"):
    FORWARDS[f"conv_forward_{_impl}"] = (getattr(fast_layers, f"conv_forward_{_impl}"), "conv")
FORWARDS["conv_forward_naive"] = (layers.conv_forward_naive, "conv")
for _kind in ("max", "avg"):
    FORWARDS[f"{_kind}_pool_forward_naive"] = (getattr(layers, f"{_kind}_pool_forward_naive"), "pool")
    FORWARDS[f"{_kind}_pool_forward_fast"] = (getattr(fast_layers, f"{_kind}_pool_forward_fast"), "pool")
FORWARDS.update({
    "affine_forward": (layers.affine_forward, "affine"),
    "relu_forward": (layers.relu_forward, "relu"),
    "dropout_forward": (layers.dropout_forward, "dropout_train"),
    "dropout_forward[test]": (layers.dropout_forward, "dropout_test"),
    "batchnorm_forward": (layers.batchnorm_forward, "batchnorm"),
    "batchnorm_forward[test]": (layers.batchnorm_forward, "batchnorm_test"),
    "layernorm_forward": (layers.layernorm_forward, "layernorm"),
    "spatial_batchnorm_forward": (layers.spatial_batchnorm_forward, "spatial_batchnorm"),
    "spatial_groupnorm_forward": (layers.spatial_groupnorm_forward, "spatial_groupnorm"),
    "affine_relu_forward": (layers.affine_relu_forward, "affine"),
    "conv_relu_forward": (layers.conv_relu_forward, "conv"),
    "conv_relu_pool_forward": (layers.conv_relu_pool_forward, "conv_relu_pool"),
    "conv_bn_relu_forward": (layers.conv_bn_relu_forward, "conv_bn_relu"),
})
LOSSES = {
    "softmax_loss": (layers.softmax_loss, "loss"),
    "svm_loss": (layers.svm_loss, "loss"),
}
MAY_UPDATE = {"batchnorm": ("running_mean", "running_var"),
              "spatial_batchnorm": ("running_mean", "running_var"),
              "conv_bn_relu": ("running_mean", "running_var")}

# backward name -> (callable, forward name whose cache it takes)
BACKWARDS = {}
for _impl in ("im2col", "strides", "fast"):
    BACKWARDS[f"conv_backward_{_impl}"] = (getattr(fast_layers, f"conv_backward_{_impl}"), f"conv_forward_{_impl}")
BACKWARDS["conv_backward_naive"] = (layers.conv_backward_naive, "conv_forward_naive")
for _kind in ("max", "avg"):
    for _impl, _mod in (("naive", layers), ("fast", fast_layers)):
        BACKWARDS[f"{_kind}_pool_backward_{_impl}"] = (getattr(_mod, f"{_kind}_pool_backward_{_impl}"),
                                                       f"{_kind}_pool_forward_{_impl}")
for _name in ("affine", "relu", "dropout", "batchnorm", "layernorm", "spatial_batchnorm",
              "spatial_groupnorm", "affine_relu", "conv_relu", "conv_relu_pool", "conv_bn_relu"):
    BACKWARDS[f"{_name}_backward"] = (getattr(layers, f"{_name}_backward"), f"{_name}_forward")
BACKWARDS["batchnorm_backward_alt"] = (layers.batchnorm_backward_alt, "batchnorm_forward")
BACKWARDS["dropout_backward[test]"] = (layers.dropout_backward, "dropout_forward[test]")
BACKWARDS["batchnorm_backward[test]"] = (layers.batchnorm_backward, "batchnorm_forward[test]")

# Caches that another backward may accept because the same cache is documented for both:
# fast pooling takes the naive pooling cache (and vice versa), the "fast" conv is the strides conv.
COMPATIBLE_CACHES = {
    ("max_pool_backward_fast", "max_pool_forward_naive"), ("max_pool_backward_naive", "max_pool_forward_fast"),
    ("avg_pool_backward_fast", "avg_pool_forward_naive"), ("avg_pool_backward_naive", "avg_pool_forward_fast"),
    ("conv_backward_fast", "conv_forward_strides"), ("conv_backward_strides", "conv_forward_fast"),
}


def build(name, rng, dtype=np.float64):
    """Return ``(callable, args, builder_key)`` for a registered forward or loss."""
    fn, key = FORWARDS[name] if name in FORWARDS else LOSSES[name]
    return fn, BUILDERS[key](rng, dtype), key


def exported_functions():
    """Names of every public callable exported by ``layers`` and ``fast_layers``."""
    names = set()
    for mod in (layers, fast_layers):
        for n in mod.__all__:
            if callable(getattr(mod, n)):
                names.add(n)
    return names


def missing_entries():
    """Exported callables that no registry entry covers (by base name, ignoring ``[variant]``)."""
    covered = {n.split("[")[0] for n in (*FORWARDS, *LOSSES, *BACKWARDS)}
    return sorted(exported_functions() - covered)
