"""``input_grad=False``: a backward that skips dx gives the same parameter gradients, bit for bit.

A net's first layer reads the data, whose gradient is never used; the models pass
``input_grad=False`` there (as PyTorch skips inputs that do not require a gradient). The flag is a
keyword-only extension after the official parameters, so an official call is unchanged.

The backwards under test are found from the layer specifications: every registered backward that
takes ``input_grad``. The set of names is also checked against the list below, so the flag cannot
silently disappear from a layer the models rely on.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tests._api_registry import BACKWARDS, build

# The backwards the models call on their first layer, and the layers those are built from.
EXPECTED = {
    "affine_backward",
    "affine_relu_backward",
    "affine_bn_relu_backward",
    "affine_ln_relu_backward",
    "conv_backward_strides",
    "conv_backward_im2col",
    "conv_backward_fast",
    "conv_relu_backward",
    "conv_relu_pool_backward",
    "conv_bn_relu_backward",
}


def _takes_input_grad(fn):
    p = inspect.signature(fn).parameters.get("input_grad")
    return p is not None and p.kind is p.KEYWORD_ONLY and p.default is True


WITH_FLAG = sorted(b for b, (fn, _) in BACKWARDS.items() if _takes_input_grad(fn))


def test_the_layers_the_models_use_take_the_flag():
    assert EXPECTED <= set(WITH_FLAG), sorted(EXPECTED - set(WITH_FLAG))


def _forward_and_dout(bname, dtype):
    producer = BACKWARDS[bname][1]
    rng = np.random.default_rng(3)
    fwd, args, _ = build(producer, rng, dtype)
    out, cache = fwd(*args)
    dout = rng.standard_normal(np.shape(out)).astype(dtype)
    return dout, cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("bname", WITH_FLAG)
def test_skipping_dx_changes_no_other_gradient(bname, dtype):
    bwd = BACKWARDS[bname][0]
    dout, cache = _forward_and_dout(bname, dtype)
    full = bwd(dout, cache)
    explicit = bwd(dout, cache, input_grad=True)
    params_only = bwd(dout, cache, input_grad=False)
    assert isinstance(full[0], np.ndarray) and full[0].shape != ()
    assert params_only[0] is None
    assert len(params_only) == len(full)
    for a, b in zip(full, explicit):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(full[1:], params_only[1:]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["no", 0, 1, None, 1.0, np.array([True])])
@pytest.mark.parametrize("bname", WITH_FLAG)
def test_a_flag_that_is_not_a_bool_is_refused(bname, bad):
    bwd = BACKWARDS[bname][0]
    dout, cache = _forward_and_dout(bname, np.float64)
    with pytest.raises(TypeError, match="input_grad must be True or False"):
        bwd(dout, cache, input_grad=bad)


@pytest.mark.parametrize("ok", [np.bool_(False), np.array(False)])
def test_numpy_bools_are_flags(ok):
    bwd = BACKWARDS["conv_backward_fast"][0]
    dout, cache = _forward_and_dout("conv_backward_fast", np.float64)
    assert bwd(dout, cache, input_grad=ok)[0] is None
