"""One memory budget per fast call, and the measured peak stays inside it.

Every fast convolution and pooling call lists every large buffer it will allocate (output,
x_cols, copies of its inputs, column gradients, block buffers; ``fast_layers/_budget.py``) and
asks ``_rules.resources.require`` once, before allocating, which raises ``MemoryError`` naming the
bytes and the shapes when they cannot fit. Checked here:

* property test: over random geometries, dtypes and memory layouts (hypothesis), each call asks
  exactly once, and its peak (tracemalloc, which sees every numpy buffer) stays within that budget
  plus a small allowance for Python objects; the budget itself stays within a bound worked out
  here from the shapes alone (so it cannot be inflated to pass), whatever the padding;
* with the compiled kernels and with their numpy twins, x (1, 1, 1, 1) with stride = pad = 4000
  (a 3x3 output) peaks under 1 MiB (a padded copy of the image would be 488 MiB);
* buffers other than x_cols are refused too: the output (w (64,1,1,1), pad 200: 78.5 MiB of out
  for 1.2 MiB of x_cols) and the im2col backward's full column gradient.

The numbers of budgeted calls measured go to the "budget checks" count of the run's summary.
"""

from __future__ import annotations

import contextlib
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _rules.resources
from _rules.geometry import conv_geometry
import fast_layers
from fast_layers.kernel_table import KERNELS as KERNEL_TABLE
from fast_layers import conv as fconv
from fast_layers import pool as fpool
from tests._strategies import LAYOUTS, arrange, conv_configs, pool_configs
from tests.conftest import count_case, max_examples

# Python objects (geometry, tuples, messages), numpy's small scalars and its ufunc buffers
# (8192 elements per operand): what a call may allocate beyond its listed buffers.
ALLOWANCE = 256 * 1024

CONV = {"strides": (fast_layers.conv_forward_strides, fast_layers.conv_backward_strides),
        "im2col": (fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col),
        "fast": (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast)}
POOL = {"max": (fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast),
        "avg": (fast_layers.avg_pool_forward_fast, fast_layers.avg_pool_backward_fast)}
KERNELS = ("compiled", "numpy twins")


@contextlib.contextmanager
def kernels(which):
    """Run the fast layers on the compiled kernels (as imported) or on their numpy twins (every table row)."""
    with pytest.MonkeyPatch.context() as mp:
        if which == "numpy twins":
            for k in KERNEL_TABLE:
                for module in (fconv, fpool):
                    if hasattr(module, k.name):
                        mp.setattr(module, k.name, k.twin)
        yield


def measured(fn, *args):
    """Call ``fn(*args)``; return its result, its peak bytes above the start, and the budgets it asked for."""
    budgets = []
    real = getattr(_rules.resources, "budget_bytes", None)

    def recording(buffers):
        total = real(buffers)
        budgets.append(total)
        return total

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rules.resources, "budget_bytes", recording, raising=False)
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            result = fn(*args)
            peak = tracemalloc.get_traced_memory()[1] - start
        finally:
            tracemalloc.stop()
    return result, peak, budgets


def assert_within_budget(what, peak, budgets, bound):
    assert len(budgets) == 1, f"{what}: asked for {len(budgets)} budgets (one per call expected)"
    assert peak <= budgets[0] + ALLOWANCE, f"{what}: peak {peak:,} bytes > budget {budgets[0]:,} + {ALLOWANCE:,}"
    assert budgets[0] <= bound, f"{what}: budget {budgets[0]:,} bytes exceeds the shape bound {bound:,}"
    count_case("budget checks")


def _nbytes(shape, dtype):
    return int(np.prod(shape)) * np.dtype(dtype).itemsize


@st.composite
def conv_cases(draw):
    if draw(st.integers(0, 4)) == 0:
        # A tiny image with a huge pad and a stride to match: the output stays small.
        pad = draw(st.integers(100, 3000))
        stride = draw(st.integers(max(1, pad // 2), 2 * pad))
        H, W, HH = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
        cfg = dict(N=draw(st.integers(1, 3)), C=draw(st.integers(1, 3)), H=H, W=W, F=draw(st.integers(1, 4)),
                   HH=HH, WW=HH, conv_param={"stride": stride, "pad": pad})
    else:
        cfg = draw(conv_configs(max_n=4, max_c=5, max_f=6, max_k=5, max_pad=4, max_dilation=2, max_extra=28))
    dtype = draw(st.sampled_from(["float32", "float64", "int16", "float16"]))
    return cfg, dtype, draw(st.sampled_from(LAYOUTS)), draw(st.sampled_from(LAYOUTS))


def _conv_bound(cfg, geom, dtype):
    """What a conv call may budget, from the shapes alone: 3x (x_cols + out + x + w) and the (F, K) gradients."""
    cols = _nbytes((geom.C * geom.HH * geom.WW, geom.N * geom.H_out * geom.W_out), dtype)
    out = _nbytes(geom.out_shape, dtype)
    x = _nbytes((cfg["N"], cfg["C"], cfg["H"], cfg["W"]), dtype)
    w = _nbytes((cfg["F"], cfg["C"], cfg["HH"], cfg["WW"]), dtype)
    return 3 * (cols + out + x + w) + 4096


@settings(max_examples=max_examples(150), deadline=None)
@given(case=conv_cases(), variant=st.sampled_from(sorted(CONV)), which=st.sampled_from(KERNELS),
       seed=st.integers(0, 2**31))
def test_conv_peak_memory_stays_within_its_budget(case, variant, which, seed):
    cfg, dtype, x_layout, dout_layout = case
    rng = np.random.default_rng(seed)
    x = arrange((rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])) * 3).astype(dtype), x_layout, seed)
    w = rng.standard_normal((cfg["F"], cfg["C"], cfg["HH"], cfg["WW"])).astype(dtype)
    b = rng.standard_normal(cfg["F"]).astype(dtype)
    fwd, bwd = CONV[variant]
    with kernels(which):
        (out, cache), peak, budgets = measured(fwd, x, w, b, cfg["conv_param"])
        geom = conv_geometry(x.shape, w.shape, cfg["conv_param"])
        compute = out.dtype
        assert_within_budget(f"{variant} forward {cfg} {dtype} x {x_layout}", peak, budgets,
                             _conv_bound(cfg, geom, compute))
        dout = arrange(rng.standard_normal(out.shape).astype(dtype), dout_layout, seed + 1)
        _, peak, budgets = measured(bwd, dout, cache)
        assert_within_budget(f"{variant} backward {cfg} {dtype} dout {dout_layout}", peak, budgets,
                             _conv_bound(cfg, geom, compute) + _nbytes(out.shape, compute))


@settings(max_examples=max_examples(150), deadline=None)
@given(cfg=pool_configs(max_n=4, max_c=5, max_k=6, max_stride=4, max_extra=30),
       dtype=st.sampled_from(["float32", "float64", "int16"]), kind=st.sampled_from(sorted(POOL)),
       x_layout=st.sampled_from(LAYOUTS), which=st.sampled_from(KERNELS), seed=st.integers(0, 2**31))
def test_pool_peak_memory_stays_within_its_budget(cfg, dtype, kind, x_layout, which, seed):
    rng = np.random.default_rng(seed)
    x = arrange(rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype), x_layout, seed)
    fwd, bwd = POOL[kind]
    with kernels(which):
        _pool_within_budget(cfg, dtype, kind, x_layout, rng, fwd, bwd, x)


def _pool_within_budget(cfg, dtype, kind, x_layout, rng, fwd, bwd, x):
    (out, cache), peak, budgets = measured(fwd, x, cfg["pool_param"])
    xb, ob = _nbytes(x.shape, out.dtype), _nbytes(out.shape, out.dtype)
    K = cfg["HH"] * cfg["WW"]
    # Copies of x and dx, out and its masks, and one window position's (N, C, K) copy and indices.
    bound = 3 * (xb + ob) + _nbytes((cfg["N"], cfg["C"], K + 8), np.float64) + 4096
    assert_within_budget(f"{kind} pool forward {cfg} {dtype} {x_layout}", peak, budgets, bound)
    dout = rng.standard_normal(out.shape).astype(dtype)
    _, peak, budgets = measured(bwd, dout, cache)
    assert_within_budget(f"{kind} pool backward {cfg} {dtype} {x_layout}", peak, budgets, bound + 2 * ob)
    if kind == "max":   # the ReLU + max-pool pair fused for layer_utils.conv_relu_pool_forward/backward
        _, peak, budgets = measured(fpool.relu_max_pool_backward, dout, cache)
        assert_within_budget(f"relu + max pool backward {cfg} {dtype} {x_layout}", peak, budgets, bound + 2 * ob)
        (_, relu_cache), peak, budgets = measured(fpool.relu_max_pool_forward, x, cfg["pool_param"])
        assert_within_budget(f"relu + max pool forward {cfg} {dtype} {x_layout}", peak, budgets, bound)
        _, peak, budgets = measured(fpool.relu_max_pool_backward, dout, relu_cache)
        assert_within_budget(f"relu + max pool backward of its cache {cfg} {dtype} {x_layout}", peak, budgets,
                             bound + 2 * ob)


@pytest.mark.parametrize("which", KERNELS)
@pytest.mark.parametrize("variant", sorted(CONV))
def test_huge_pad_needs_memory_of_the_output_not_of_a_padded_image(variant, which):
    # x (1, 1, 1, 1), stride = pad = 4000: a 3x3 output, 72 bytes of x_cols. A padded copy of the
    # image would be 8001 x 8001 float64 = 488 MiB.
    x, w, b = np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), np.zeros(1)
    fwd, bwd = CONV[variant]
    with kernels(which):
        (out, cache), peak_f, _ = measured(fwd, x, w, b, {"stride": 4000, "pad": 4000})
        grads, peak_b, _ = measured(bwd, np.ones_like(out), cache)
    assert out.shape == (1, 1, 3, 3) and out[0, 0, 1, 1] == 1 and out.sum() == 1
    assert grads[0][0, 0, 0, 0] == 1 and grads[1].item() == 1 and grads[2].item() == 9
    assert peak_f < 2**20 and peak_b < 2**20, f"forward peak {peak_f:,}, backward peak {peak_b:,} bytes"
    count_case("budget checks", 2)


@pytest.mark.parametrize("variant", sorted(CONV))
def test_output_larger_than_available_memory_is_refused_before_allocating(variant, monkeypatch):
    # x_cols (1, 401*401) float64 is 1.29 MB and fits; out (1, 64, 401, 401) is 82.3 MB and does not.
    x, w, b = np.ones((1, 1, 1, 1)), np.ones((64, 1, 1, 1)), np.zeros(64)
    out_bytes = 64 * 401 * 401 * 8
    monkeypatch.setattr(_rules.resources, "available_memory", lambda: 64 * 2**20)
    with pytest.raises(MemoryError) as info:
        _, peak, _ = measured(CONV[variant][0], x, w, b, {"stride": 1, "pad": 200})
    msg = str(info.value)
    assert f"out (1, 64, 401, 401) float64: {out_bytes:,} bytes" in msg, msg
    assert "(64, 1, 1, 1)" in msg and "(1, 1, 1, 1)" in msg, msg
    count_case("budget checks")


def test_im2col_backward_refuses_its_full_column_gradient(monkeypatch):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((8, 4, 16, 16)), rng.standard_normal((2, 4, 5, 5)), np.zeros(2)
    out, cache = fast_layers.conv_forward_im2col(x, w, b, {"stride": 1, "pad": 2})
    cols_bytes = 100 * 8 * 16 * 16 * 8   # K = 4*5*5, N*P = 8*16*16, float64
    # Room for everything but a second x_cols-sized buffer.
    monkeypatch.setattr(_rules.resources, "available_memory", lambda: cols_bytes)
    with pytest.raises(MemoryError) as info:
        fast_layers.conv_backward_im2col(np.ones_like(out), cache)
    assert f"the column gradient dx_cols (100, 2048) float64: {cols_bytes:,} bytes" in str(info.value)
    count_case("budget checks")


@pytest.mark.parametrize("by_kernel", [True, False], ids=["im2col_6d copy", "as_strided view copy"])
def test_strides_forward_budget_is_exactly_its_buffers(by_kernel, monkeypatch):
    # Worked out by hand: x (2, 3, 8, 8) and w (4, 3, 3, 3) float64, C-contiguous, pad 1: x_cols
    # (27, 128) = 27,648 bytes and out (2, 4, 8, 8) = 4,096 bytes: the per-image GEMMs write into
    # out. The window view needs x padded, (2, 3, 10, 10) = 4,800 bytes; the kernel needs no copy.
    monkeypatch.setattr(fconv, "HAVE_CYTHON", by_kernel)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
    _, peak, budgets = measured(fast_layers.conv_forward_strides, x, w, b, {"stride": 1, "pad": 1})
    assert budgets == [27648 + 4096 + (0 if by_kernel else 4800)]
    assert peak <= budgets[0] + ALLOWANCE
    count_case("budget checks")


# CS231n's reshape and im2col max pools (fast_layers.pool_variants): tiling windows only.
VARIANTS = {"reshape": (fast_layers.max_pool_forward_reshape, fast_layers.max_pool_backward_reshape),
            "im2col": (fast_layers.max_pool_forward_im2col, fast_layers.max_pool_backward_im2col)}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("shape, k", [((2, 3, 8, 8), 2), ((3, 2, 12, 6), 3), ((1, 4, 16, 16), 4), ((5, 1, 4, 8), 2)])
def test_pool_variant_peak_memory_stays_within_its_budget(variant, dtype, layout, shape, k):
    fwd, bwd = VARIANTS[variant]
    x = np.asarray(np.random.default_rng(0).standard_normal(shape) * 10, dtype=dtype, order=layout)
    pool_param = {"pool_height": k, "pool_width": k, "stride": k}
    (out, cache), peak, budgets = measured(fwd, x, pool_param)
    assert_within_budget(f"{variant} pool forward {shape} {k} {np.dtype(dtype)} {layout}", peak, budgets,
                         8 * _nbytes(shape, np.float64) + ALLOWANCE)
    dout = np.ones(out.shape, out.dtype)
    _, peak, budgets = measured(bwd, dout, cache)
    assert_within_budget(f"{variant} pool backward {shape} {k} {np.dtype(dtype)} {layout}", peak, budgets,
                         8 * _nbytes(shape, np.float64) + ALLOWANCE)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_pool_variants_refuse_before_allocating(variant, monkeypatch):
    fwd, bwd = VARIANTS[variant]
    x = np.ones((4, 8, 64, 64))          # 1 MiB of float64
    out, cache = fwd(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    monkeypatch.setattr(_rules.resources, "available_memory", lambda: 2**18)
    with pytest.raises(MemoryError, match=f"max_pool_forward_{variant} for x of shape"):
        measured(fwd, x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(MemoryError, match=f"max_pool_backward_{variant}.*dx \\(4, 8, 64, 64\\) float64"):
        bwd(np.ones_like(out), cache)
    count_case("budget checks")
