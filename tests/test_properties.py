"""Property tests: every fast convolution and fast pooling equals the naive reference.

For random valid configurations (batch, channels, sizes, per-axis stride / pad / dilation, each
spelled as an int, a tuple, a list or a numpy array), dtypes (float32, float64, and int8 images
that must promote) and memory layouts (C, Fortran, sliced, negative strides, zero strides,
read-only, byte-swapped), the forward output and every gradient of each fast implementation
match the loop-based reference in ``layers`` at the dtype's tolerance, come back in the promoted
dtype, and the backward of each fast convolution equals the numeric gradient on small cases.

The oracles are the naive layers run on plain C-contiguous copies and, for gradients, central
differences from ``gradient_check`` in float64.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fast_layers
import layers
from gradient_check import eval_numerical_gradient_array
from tests._strategies import arrange, conv_configs, float_dtypes, layouts, pool_configs, seeds
from tests.conftest import assert_close, count_case, max_examples

FAST_CONVS = {
    impl: (getattr(fast_layers, f"conv_forward_{impl}"), getattr(fast_layers, f"conv_backward_{impl}"))
    for impl in ("im2col", "strides", "fast")
}


# CS231n's reshape / im2col pools take only windows that tile the input; they are checked
# against the naive pool in tests/fast_layers/test_pool_variants.py instead.
TILING_ONLY_POOLS = {"max_pool_forward_reshape", "max_pool_forward_im2col"}


def _fast_pools():
    """Every exported fast pooling pair with its naive twin, found by name so none is missed."""
    pairs = {}
    for name in fast_layers.__all__:
        m = re.fullmatch(r"(\w+_pool)_forward_(\w+)", name)
        if m and name not in TILING_ONLY_POOLS:
            kind, impl = m.groups()
            pairs[f"{kind}_{impl}"] = (
                getattr(fast_layers, name),
                getattr(fast_layers, f"{kind}_backward_{impl}"),
                getattr(layers, f"{kind}_forward_naive"),
                getattr(layers, f"{kind}_backward_naive"),
            )
    return pairs


FAST_POOLS = _fast_pools()


def _values(rng, shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-4, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@st.composite
def conv_cases(draw, **limits):
    cfg = draw(conv_configs(**limits))
    x_dtype = draw(st.sampled_from([np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int8)]))
    w_dtype, b_dtype = draw(float_dtypes), draw(float_dtypes)
    lay = {k: draw(layouts()) for k in ("x", "w", "b", "dout")}
    return cfg, (x_dtype, w_dtype, b_dtype), lay, draw(seeds)


def _conv_arrays(cfg, dtypes, lay, seed):
    rng = np.random.default_rng(seed)
    x = arrange(_values(rng, (cfg["N"], cfg["C"], cfg["H"], cfg["W"]), dtypes[0]), lay["x"], seed)
    w = arrange(_values(rng, (cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]), dtypes[1]), lay["w"], seed + 1)
    b = arrange(_values(rng, (cfg["F"],), dtypes[2]), lay["b"], seed + 2)
    dout = rng.standard_normal((cfg["N"], cfg["F"], cfg["H_out"], cfg["W_out"]))
    return x, w, b, dout


@pytest.mark.parametrize("impl", list(FAST_CONVS))
@settings(max_examples=max_examples(120))
@given(case=conv_cases())
def test_fast_conv_forward_and_backward_equal_naive(impl, case):
    cfg, dtypes, lay, seed = case
    x, w, b, dout = _conv_arrays(cfg, dtypes, lay, seed)
    # The promoted dtype is worked out here from numpy's rules, not asked of the code under test.
    dtype = np.result_type(*dtypes)
    dout = arrange(dout.astype(dtype), lay["dout"], seed + 3)
    fwd, bwd = FAST_CONVS[impl]
    xc, wc, bc = (np.array(a, order="C") for a in (x, w, b))
    want, cache_n = layers.conv_forward_naive(xc, wc, bc, cfg["conv_param"])
    got, cache = fwd(x, w, b, cfg["conv_param"])
    assert got.dtype == dtype and got.shape == (cfg["N"], cfg["F"], cfg["H_out"], cfg["W_out"])
    K = cfg["C"] * cfg["HH"] * cfg["WW"]
    assert_close(got, want, dtype, scale=K, err_msg=f"{impl} forward, cfg {cfg}, layouts {lay}")
    grads = bwd(dout, cache)
    grads_n = layers.conv_backward_naive(np.array(dout, order="C"), cache_n)
    scale = K + cfg["N"] * cfg["H_out"] * cfg["W_out"]
    for name, g, gn, arg in zip(("dx", "dw", "db"), grads, grads_n, (x, w, b)):
        assert g.dtype == dtype, f"{name} dtype {g.dtype}, expected {dtype}"
        assert g.shape == arg.shape
        assert_close(g, gn, dtype, scale=scale, err_msg=f"{impl} {name}, cfg {cfg}, layouts {lay}")
    count_case("valid hypothesis examples")


def _tiny_blocks():
    """Shrink the fast convolutions' block budget to 1 byte: one image per backward block."""
    from fast_layers import tuning

    return tuning.override(backward_block_bytes=1)


@pytest.mark.parametrize("impl", list(FAST_CONVS))
@settings(max_examples=max_examples(40))
@given(case=conv_cases(max_n=4))
def test_fast_conv_processed_one_image_per_block_equals_naive(impl, case):
    # The fast convolutions may work through the batch in memory-bounded blocks; with the budget
    # forced to one byte every image is its own block, so the block seams are exercised.
    cfg, dtypes, lay, seed = case
    x, w, b, dout = _conv_arrays(cfg, dtypes, lay, seed)
    dtype = np.result_type(*dtypes)
    xc, wc, bc = (np.array(a, order="C") for a in (x, w, b))
    want, cache_n = layers.conv_forward_naive(xc, wc, bc, cfg["conv_param"])
    grads_n = layers.conv_backward_naive(dout.astype(dtype), cache_n)
    fwd, bwd = FAST_CONVS[impl]
    with _tiny_blocks():
        got, cache = fwd(x, w, b, cfg["conv_param"])
        grads = bwd(dout.astype(dtype), cache)
    K = cfg["C"] * cfg["HH"] * cfg["WW"]
    scale = K + cfg["N"] * cfg["H_out"] * cfg["W_out"]
    assert_close(got, want, dtype, scale=K)
    for name, g, gn in zip(("dx", "dw", "db"), grads, grads_n):
        assert_close(g, gn, dtype, scale=scale, err_msg=f"{impl} {name} with one image per block, cfg {cfg}")
    count_case("valid hypothesis examples")


@pytest.mark.parametrize("impl", ["im2col", "strides"])
@settings(max_examples=max_examples(20))
@given(cfg=conv_configs(max_n=2, max_c=2, max_f=2, max_k=3, max_pad=2, max_dilation=2, max_extra=2),
       seed=seeds)
def test_fast_conv_backward_equals_numeric_gradient(impl, cfg, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"]))
    w = rng.standard_normal((cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]))
    b = rng.standard_normal(cfg["F"])
    dout = rng.standard_normal((cfg["N"], cfg["F"], cfg["H_out"], cfg["W_out"]))
    fwd, bwd = FAST_CONVS[impl]
    cp = cfg["conv_param"]
    dx, dw, db = bwd(dout, fwd(x, w, b, cp)[1])
    # Convolution is linear in each argument, so central differences are exact up to rounding.
    num = {
        "dx": eval_numerical_gradient_array(lambda v: fwd(v, w, b, cp)[0], x, dout),
        "dw": eval_numerical_gradient_array(lambda v: fwd(x, v, b, cp)[0], w, dout),
        "db": eval_numerical_gradient_array(lambda v: fwd(x, w, v, cp)[0], b, dout),
    }
    for name, analytic in (("dx", dx), ("dw", dw), ("db", db)):
        np.testing.assert_allclose(analytic, num[name], rtol=1e-6, atol=1e-7,
                                   err_msg=f"{impl} {name} vs numeric gradient, cfg {cfg}")
    count_case("valid hypothesis examples")


@pytest.mark.parametrize("name", list(FAST_POOLS))
@settings(max_examples=max_examples(100))
@given(cfg=pool_configs(), dtype=float_dtypes, x_layout=layouts(exclude=("broadcast",)),
       dout_layout=layouts(), seed=seeds)
def test_fast_pool_forward_and_backward_equal_naive(name, cfg, dtype, x_layout, dout_layout, seed):
    fwd, bwd, fwd_n, bwd_n = FAST_POOLS[name]
    rng = np.random.default_rng(seed)
    # Distinct values (a permutation) so that a max is never tied and the routing is unique.
    size = cfg["N"] * cfg["C"] * cfg["H"] * cfg["W"]
    xc = (rng.permutation(size).reshape(cfg["N"], cfg["C"], cfg["H"], cfg["W"]) / size - 0.5).astype(dtype)
    x = arrange(xc, x_layout, seed)
    dout = arrange(rng.standard_normal((cfg["N"], cfg["C"], cfg["H_out"], cfg["W_out"])).astype(dtype),
                   dout_layout, seed + 1)
    want, cache_n = fwd_n(xc, cfg["pool_param"])
    got, cache = fwd(x, cfg["pool_param"])
    assert got.dtype == dtype and got.shape == want.shape == (cfg["N"], cfg["C"], cfg["H_out"], cfg["W_out"])
    assert_close(got, want, dtype, scale=cfg["HH"] * cfg["WW"], err_msg=f"{name} forward, cfg {cfg}")
    dx = bwd(dout, cache)
    dx_n = bwd_n(np.array(dout, order="C"), cache_n)
    assert dx.dtype == dtype and dx.shape == xc.shape
    assert_close(dx, dx_n, dtype, scale=cfg["HH"] * cfg["WW"], err_msg=f"{name} backward, cfg {cfg}")
    count_case("valid hypothesis examples")


def test_every_exported_fast_pool_is_property_tested():
    # Guards the name-based discovery above: if pooling is exported, it must have been found.
    exported = {n for n in fast_layers.__all__ if "pool" in n and "forward" in n} - TILING_ONLY_POOLS
    found = {n.replace("_pool_", "_pool_forward_", 1) for n in FAST_POOLS}
    assert exported == found, f"fast pooling exports {sorted(exported)} vs tested {sorted(found)}"


@pytest.mark.parametrize("name", list(FAST_POOLS))
@settings(max_examples=max_examples(25))
@given(cfg=pool_configs(max_n=2, max_c=2, max_k=3, max_extra=3), seed=seeds)
def test_fast_pool_backward_equals_numeric_gradient(name, cfg, seed):
    fwd, bwd = FAST_POOLS[name][:2]
    rng = np.random.default_rng(seed)
    size = cfg["N"] * cfg["C"] * cfg["H"] * cfg["W"]
    # Distinct values at least 1/size apart: a step of 1e-5 never changes which element is the max.
    x = rng.permutation(size).reshape(cfg["N"], cfg["C"], cfg["H"], cfg["W"]) / size
    dout = rng.standard_normal((cfg["N"], cfg["C"], cfg["H_out"], cfg["W_out"]))
    dx = bwd(dout, fwd(x, cfg["pool_param"])[1])
    num = eval_numerical_gradient_array(lambda v: fwd(v, cfg["pool_param"])[0], x, dout)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-7, err_msg=f"{name} vs numeric gradient, cfg {cfg}")
    count_case("valid hypothesis examples")


# --- dtype promotion across every registered layer -------------------------------------------

from tests._api_registry import BACKWARDS, FORWARDS, build  # noqa: E402

DTYPE_POOL = [np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16,
                                    np.int32, np.int64, np.bool_)]


def _expected_dtype(dtypes):
    # The documented rule (STYLE/brief): floating promotion of the inputs; ints and bools promote
    # like numpy promotes them with the narrowest float, float16 computes in float32.
    out = np.result_type(*dtypes, np.float16)
    return np.dtype(np.float32) if out == np.float16 else out


@settings(max_examples=max_examples(120))
@given(name=st.sampled_from(sorted(FORWARDS)), data=st.data())
def test_every_layer_returns_the_promoted_dtype_and_grads_in_it(name, data):
    fn, args, _ = build(name, np.random.default_rng(0))
    rng = np.random.default_rng(data.draw(seeds, label="seed"))
    used = {}
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            dt = data.draw(st.sampled_from(DTYPE_POOL), label=f"dtype of arg {i}")
            if dt.kind == "b":
                args[i] = rng.random(a.shape) < 0.5
            elif dt.kind in "iu":
                args[i] = rng.integers(0 if dt.kind == "u" else -3, 4, size=a.shape).astype(dt)
            else:
                args[i] = (a + rng.random(a.shape)).astype(dt)
            used[i] = dt
    want = _expected_dtype(used.values())
    with np.errstate(all="ignore"):
        out, cache = fn(*args)
        assert out.dtype == want, f"{name}: output {out.dtype} for inputs {used}, expected {want}"
        dout_dt = data.draw(st.sampled_from(DTYPE_POOL), label="dout dtype")
        dout = np.ones(out.shape, dtype=dout_dt)
        for bname, (bwd, producer) in BACKWARDS.items():
            if producer == name:
                grads = bwd(dout, cache)
                for k, g in enumerate(grads if isinstance(grads, tuple) else (grads,)):
                    assert g.dtype == want, f"{bname} grad {k}: {g.dtype} for inputs {used}, dout {dout_dt}"
    count_case("valid hypothesis examples")
