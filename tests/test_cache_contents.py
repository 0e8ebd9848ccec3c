"""Caches tell the truth: what the forward computed with, not what the caller's objects hold later.

* Every forward keeps its own copy of its parameter dicts (conv_param, pool_param, ...) and of
  anything else its backward reads, so editing the caller's dict in place between forward and
  backward (a new stride, a cleared dict, a list value changed in place, batchnorm's running
  statistics changed in place) changes no gradient, and no message blames the caller's dout.
* When x itself was changed in place after a fast convolution's forward, the backward says so,
  instead of blaming the column order of another layer's cache.

The layers come from the layer specifications (``tests/_api_registry.py``); each mutation tried
adds to the "cache-mutation probes" count of the run's summary.
"""

from __future__ import annotations

import numpy as np
import pytest

import fast_layers
import layers
from tests._api_registry import BACKWARDS, build
from tests.conftest import count_case


def _changed(v):
    """A different value of the same kind as ``v`` (what a caller might set next)."""
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, float):
        return v * 0.5 + 0.25
    if isinstance(v, str):
        return {"train": "test", "test": "train"}.get(v, v + "x")
    if isinstance(v, tuple):
        return tuple(_changed(e) for e in v)
    return v


def _mutations(d):
    """In-place edits of a caller's dict: every value changed, array values shifted, then cleared."""
    def change_values():
        for k, v in list(d.items()):
            if isinstance(v, np.ndarray):
                v += 1.0      # in place: the array object the caller (and maybe a cache) holds
            elif isinstance(v, list):
                v[:] = [_changed(e) for e in v]
            else:
                d[k] = _changed(v)

    return [("every value changed", change_values), ("cleared", d.clear)]


def _grads(bwd, dout, cache):
    g = bwd(dout, cache)
    return g if isinstance(g, tuple) else (g,)


def _layers_with_dicts():
    return sorted(n for n, (_, f) in BACKWARDS.items()
                  if any(isinstance(a, dict) for a in build(f, np.random.default_rng(0))[1]))


@pytest.mark.parametrize("name", _layers_with_dicts())
def test_editing_the_callers_param_dicts_after_the_forward_changes_no_gradient(name):
    bwd, fwd_name = BACKWARDS[name]
    probes = 0
    for i in range(len(build(fwd_name, np.random.default_rng(0))[1])):
        fwd, args, _ = build(fwd_name, np.random.default_rng(0))
        if not isinstance(args[i], dict):
            continue
        for what, mutate in _mutations(args[i]):
            fwd, args, _ = build(fwd_name, np.random.default_rng(0))
            out, cache = fwd(*args)
            dout = np.random.default_rng(1).standard_normal(out.shape)
            expected = _grads(bwd, dout, cache)
            dict(_mutations(args[i]))[what]()
            got = _grads(bwd, dout, cache)
            for k, (e, g) in enumerate(zip(expected, got)):
                np.testing.assert_array_equal(g, e, err_msg=f"{name}: gradient {k} changed after the caller's "
                                                           f"argument {i} was {what}")
            probes += 1
            count_case("cache-mutation probes")
    assert probes


@pytest.mark.parametrize("fwd, bwd", [(layers.conv_forward_naive, layers.conv_backward_naive),
                                      (fast_layers.conv_forward_strides, fast_layers.conv_backward_strides),
                                      (fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col)],
                         ids=["naive", "strides", "im2col"])
def test_conv_param_lists_edited_in_place_change_no_gradient(fwd, bwd):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    cp = {"stride": [1, 2], "pad": [1, 1]}
    out, cache = fwd(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    expected = bwd(dout, cache)
    cp["pad"][0] = 2          # the list object the forward was given
    cp["stride"][1] = 1
    for e, g in zip(expected, bwd(dout, cache)):
        np.testing.assert_array_equal(g, e)
    count_case("cache-mutation probes")


@pytest.mark.parametrize("name", ["conv_forward_strides", "conv_forward_im2col", "conv_forward_fast"])
@pytest.mark.parametrize("image", ["first", "last"])
def test_fast_conv_backward_says_x_was_modified_in_place(name, image):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 2, 5, 5)), rng.standard_normal((4, 2, 3, 3)), np.zeros(4)
    fwd = getattr(fast_layers, name)
    bwd = getattr(fast_layers, name.replace("forward", "backward"))
    out, cache = fwd(x, w, b, {"stride": 1, "pad": 1})
    x[0 if image == "first" else -1, 1, 2, 3] += 1.0
    with pytest.raises(ValueError) as info:
        bwd(np.ones_like(out), cache)
    msg = str(info.value)
    assert "modified in place" in msg and "column order" not in msg, msg
    count_case("cache-mutation probes")


def test_a_cache_of_the_other_fast_conv_is_still_named_as_such():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 2, 5, 5)), rng.standard_normal((4, 2, 3, 3)), np.zeros(4)
    out, cache = fast_layers.conv_forward_im2col(x, w, b, {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match="column order"):
        fast_layers.conv_backward_strides(np.ones_like(out), cache)
    count_case("cache-mutation probes")
