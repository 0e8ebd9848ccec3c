"""benchmarks/winograd.py (a worked example, not shipped) against the naive reference,
numeric gradients and hand-worked cases.

Shapes cover outputs that do not divide into tiles, images smaller than a tile, per-axis and
large pads. The example is loaded from the checkout's benchmarks/ folder by path.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import importlib.util
import sys

import fast_layers
from _rules.geometry import conv_geometry
from gradient_check import eval_numerical_gradient_array
from layers import conv_backward_naive, conv_forward_naive
from tests._product import SOURCE_ROOT
from tests._strategies import LAYOUTS, arrange
from tests.conftest import assert_close, max_examples

_PATH = SOURCE_ROOT / "benchmarks" / "winograd.py"
_spec = importlib.util.spec_from_file_location("benchmarks_winograd", _PATH)
wg = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = wg  # the NamedTuple cache needs its module registered
_spec.loader.exec_module(wg)

fwd, bwd = wg.conv_forward_winograd, wg.conv_backward_winograd


def _case(seed, x_shape, F, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((F, x_shape[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return rng, x, w, b


def _against_naive(x, w, b, cp, dout_dtype=None, dout_layout="C", seed=0):
    """Compare forward and backward with the naive layer run on the same values."""
    dtype = np.result_type(x, w, b)
    ref_out, ref_cache = conv_forward_naive(np.array(x), w, b, cp)
    out, cache = fwd(x, w, b, cp)
    assert out.dtype == dtype and out.shape == ref_out.shape
    assert_close(out, ref_out, dtype, scale=10, err_msg="forward")
    dout = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(dout_dtype or dtype)
    dout = arrange(dout, dout_layout, seed)          # "broadcast" repeats image 0: compare on these values
    ref = conv_backward_naive(np.array(dout, dtype=dtype), ref_cache)
    got = bwd(dout, cache)
    for name, g, r in zip(("dx", "dw", "db"), got, ref):
        assert g.dtype == dtype and g.shape == r.shape, name
        assert_close(g, r, dtype, scale=10, err_msg=name)


# (H, W): tiles that fit and that do not, an image smaller than a tile, a single row.
SIZES = [(4, 4), (7, 5), (8, 9), (3, 3), (1, 2), (2, 6)]
PADS = [0, 1, 2, 3, (2, 0), (0, 1)]


def _grid():
    for (H, W), pad in itertools.product(SIZES, PADS):
        ph, pw = pad if isinstance(pad, tuple) else (pad, pad)
        if H + 2 * ph >= 3 and W + 2 * pw >= 3:
            yield (H, W), pad


GRID = list(_grid())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw,pad", GRID)
def test_winograd_matches_naive_over_grid(hw, pad, dtype):
    N, C, F = 2, 3, 4
    rng, x, w, b = _case(zlib.crc32(repr((hw, pad)).encode()), (N, C) + hw, F, dtype)
    _against_naive(x, w, b, {"stride": 1, "pad": pad})


def test_grid_covers_the_tile_edge_cases():
    assert len(GRID) >= 30
    # an output smaller than one tile of either size, and outputs that are not multiples of 4
    assert any(h + 2 * (p if isinstance(p, int) else p[0]) - 2 < 2 for (h, _), p in GRID)
    assert any((h + 2 * (p if isinstance(p, int) else p[0]) - 2) % 4 not in (0,) for (h, _), p in GRID)


@settings(max_examples=max_examples(60), deadline=None)
@given(N=st.integers(1, 3), C=st.integers(1, 5), F=st.integers(1, 5), H=st.integers(1, 11), W=st.integers(1, 11),
       ph=st.integers(0, 3), pw=st.integers(0, 3), dtype=st.sampled_from(["float32", "float64"]),
       x_layout=st.sampled_from(LAYOUTS), dout_layout=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**31))
def test_winograd_matches_naive_for_any_shape_pad_dtype_and_layout(N, C, F, H, W, ph, pw, dtype, x_layout,
                                                                    dout_layout, seed):
    H, W = max(H, 3 - 2 * ph), max(W, 3 - 2 * pw)
    rng, x, w, b = _case(seed, (N, C, H, W), F, dtype)
    _against_naive(arrange(x, x_layout, seed), w, b, {"stride": 1, "pad": (ph, pw)}, dout_layout=dout_layout,
                   seed=seed)


def test_small_blocks_give_the_same_result_as_one_block():
    rng, x, w, b = _case(5, (5, 3, 9, 7), 4, np.float64)
    cp = {"stride": 1, "pad": 1}
    out, cache = fwd(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    grads = bwd(dout, cache)
    out1, cache1 = fwd(x, w, b, cp, block_bytes=1)     # one image per block
    grads1 = bwd(dout, cache1, block_bytes=1)
    np.testing.assert_array_equal(out1, out)
    for g1, g in zip(grads1, grads):
        np.testing.assert_allclose(g1, g, rtol=1e-13, atol=1e-13)


def test_int_and_mixed_inputs_promote_like_every_conv():
    x = (np.arange(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) % 7).astype(np.int16)   # int16 + float32 -> float32
    w = (np.arange(3 * 2 * 9).reshape(3, 2, 3, 3) % 5 - 2).astype(np.float32)
    b = np.array([1, -1, 0], dtype=np.int8)
    out, cache = fwd(x, w, b, {"stride": 1, "pad": 1})
    ref, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == ref.dtype == np.float32
    assert_close(out, ref, np.float32, scale=10)


def test_hand_worked_ones():
    # x and w all ones: each output is the number of taps inside the image, plus the bias.
    x, w, b = np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.array([0.5])
    out, cache = fwd(x, w, b, {"stride": 1, "pad": 1})
    np.testing.assert_allclose(out[0, 0], [[4.5, 6.5, 4.5], [6.5, 9.5, 6.5], [4.5, 6.5, 4.5]], rtol=0, atol=1e-14)
    dx, dw, db = bwd(np.ones_like(out), cache)
    # dx: how many outputs see each pixel; dw: how many pixels each tap sees; db: 9 outputs.
    np.testing.assert_allclose(dx[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]], rtol=0, atol=1e-13)
    np.testing.assert_allclose(dw[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]], rtol=0, atol=1e-13)
    assert db.tolist() == [9.0]


def test_gradients_match_numeric_gradients():
    rng, x, w, b = _case(7, (2, 2, 6, 5), 3, np.float64)
    cp = {"stride": 1, "pad": (1, 2)}
    out, cache = fwd(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = bwd(dout, cache)
    for name, arr, got in (("x", x, dx), ("w", w, dw), ("b", b, db)):
        def f(_):
            return fwd(x, w, b, cp)[0]
        num = eval_numerical_gradient_array(f, arr, dout)
        np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("dtype, bound", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_error_stays_within_the_documented_bound_on_many_channels(dtype, bound):
    # 64 channels, as case B: max |error| / max |reference| for out, dx and dw against float64.
    rng, x, w, b = _case(11, (2, 64, 12, 12), 16, np.float64)
    cp = {"stride": 1, "pad": 1}
    ref_out, ref_cache = fast_layers.conv_forward_strides(x, w, b, cp)
    dout = rng.standard_normal(ref_out.shape)
    ref = (ref_out,) + fast_layers.conv_backward_strides(dout, ref_cache)
    out, cache = fwd(x.astype(dtype), w.astype(dtype), b.astype(dtype), cp)
    got = (out,) + bwd(dout.astype(dtype), cache)
    for name, g, r in zip(("out", "dx", "dw", "db"), got, ref):
        err = np.abs(g - r).max() / np.abs(r).max()
        assert err < bound, f"{name}: relative error {err:.2e} above {bound:.0e}"


def test_tile_sizes_are_what_the_error_table_chose():
    assert wg.TILE_SIZES == {np.dtype(np.float64): 4, np.dtype(np.float32): 2}
    _, x, w, b = _case(0, (1, 1, 5, 5), 1, np.float32)
    assert fwd(x, w, b, {"stride": 1, "pad": 0})[1].tile == 2
    assert fwd(x.astype(float), w, b, {"stride": 1, "pad": 0})[1].tile == 4


@pytest.mark.parametrize("m", [2, 4])
def test_transforms_compute_the_one_dimensional_correlation(m):
    AT, G, BT = wg.transforms(m)
    assert AT.shape == (m, m + 2) and G.shape == (m + 2, 3) and BT.shape == (m + 2, m + 2)
    assert np.array_equal(BT, np.round(BT)), "the data transform should hold integers"
    rng = np.random.default_rng(m)
    for _ in range(5):
        d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
        want = [d[i:i + 3] @ g for i in range(m)]
        np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), want, rtol=1e-13, atol=1e-13)


# --- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("w_shape, cp, named", [
    ((2, 2, 5, 5), {"stride": 1, "pad": 2}, "filter size (HH, WW) (5, 5)"),
    ((2, 2, 3, 1), {"stride": 1, "pad": 1}, "filter size (HH, WW) (3, 1)"),
    ((2, 2, 3, 3), {"stride": 2, "pad": 1}, "conv_param['stride'] (2, 2)"),
    ((2, 2, 3, 3), {"stride": (1, 2), "pad": 1}, "conv_param['stride'] (1, 2)"),
    ((2, 2, 3, 3), {"stride": 1, "pad": 2, "dilation": 2}, "conv_param['dilation'] (2, 2)"),
])
def test_other_convolutions_are_refused_naming_the_value(w_shape, cp, named):
    x, w, b = np.ones((1, 2, 8, 8)), np.ones(w_shape), np.zeros(w_shape[0])
    with pytest.raises(ValueError) as info:
        fwd(x, w, b, cp)
    assert named in str(info.value), str(info.value)


def test_backward_refuses_the_cache_of_another_convolution():
    x, w, b = np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), np.zeros(2)
    cp = {"stride": 1, "pad": 1}
    out, cache = fwd(x, w, b, cp)
    _, strides_cache = fast_layers.conv_forward_strides(x, w, b, cp)
    with pytest.raises(TypeError, match="WinogradCache"):
        bwd(np.ones_like(out), strides_cache)


def test_winograd_applies_is_the_shape_rule():
    g = conv_geometry
    assert wg.winograd_applies(g((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 1, "pad": 7}), np.float32)
    assert wg.winograd_applies(g((1, 1, 2, 1), (1, 1, 3, 3), {"stride": 1, "pad": (1, 1)}), np.float64)
    assert not wg.winograd_applies(g((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 2, "pad": 1}), np.float64)
    assert not wg.winograd_applies(g((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 1, "pad": 1, "dilation": 2}), np.float64)
    assert not wg.winograd_applies(g((1, 1, 5, 5), (1, 1, 3, 2), {"stride": 1, "pad": 1}), np.float64)
    assert not wg.winograd_applies(g((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 1, "pad": 1}), np.float16)
