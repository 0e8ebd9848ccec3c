"""The compiled kernels in im2col_cython.pyx against their numpy twins and hand-worked layouts."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import im2col_cython as compiled
from fast_layers.kernel_table import TWINS as twin
from tests.conftest import tol

CONFIGS = [
    # (N, C, H, W), (HH, WW), pad, stride, dilation
    ((2, 3, 5, 5), (3, 3), 1, 1, 1),
    ((2, 2, 7, 6), (3, 2), 0, 1, 1),  # the non-square kernel that corrupts the heap in the original
    ((1, 2, 6, 7), (2, 3), (1, 0), (2, 1), 1),
    ((3, 1, 5, 4), (1, 1), 0, 2, 1),
    ((2, 2, 4, 5), (4, 5), 0, 1, 1),  # kernel = input
    ((2, 2, 8, 9), (3, 2), 2, 3, (2, 1)),
    ((1, 3, 9, 9), (2, 2), (0, 2), (1, 3), 2),
]


def _ids(c):
    return f"x{c[0]}-k{c[1]}-p{c[2]}-s{c[3]}-d{c[4]}"


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _out_size(H, W, k, pad, stride, dil):
    (ph, pw), (sh, sw), (dh, dw) = _pair(pad), _pair(stride), _pair(dil)
    return (H + 2 * ph - dh * (k[0] - 1) - 1) // sh + 1, (W + 2 * pw - dw * (k[1] - 1) - 1) // sw + 1


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_cython_matches_numpy_twin_and_hand_layout(cfg, dtype):
    shape, k, pad, stride, dil = cfg
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    cols = compiled.im2col_cython(x, k[0], k[1], pad, stride, dil)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(cols, twin.im2col_cython(x, k[0], k[1], pad, stride, dil))
    # Spot-check the documented layout directly from the definition, element by element.
    N, C, H, W = shape
    Ho, Wo = _out_size(H, W, k, pad, stride, dil)
    (ph, pw), (sh, sw), (dh, dw) = _pair(pad), _pair(stride), _pair(dil)
    assert cols.shape == (C * k[0] * k[1], Ho * Wo * N)
    for c, i, j, y, xx, n in itertools.product(range(C), range(k[0]), range(k[1]), range(Ho), range(Wo), range(N)):
        r, q = y * sh + i * dh - ph, xx * sw + j * dw - pw
        expected = x[n, c, r, q] if 0 <= r < H and 0 <= q < W else 0.0
        assert cols[(c * k[0] + i) * k[1] + j, (y * Wo + xx) * N + n] == expected


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_cython_is_the_adjoint_of_im2col_and_matches_twin(cfg, dtype):
    shape, k, pad, stride, dil = cfg
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    cols_x = compiled.im2col_cython(x, k[0], k[1], pad, stride, dil)
    c = rng.standard_normal(cols_x.shape).astype(dtype)
    back = compiled.col2im_cython(c, *shape, k[0], k[1], pad, stride, dil)
    assert back.dtype == dtype and back.shape == shape
    np.testing.assert_allclose(back, twin.col2im_cython(c, *shape, k[0], k[1], pad, stride, dil), **tol(dtype))
    # <im2col(x), c> == <x, col2im(c)> holds for the true adjoint, in any layout.
    np.testing.assert_allclose(np.vdot(cols_x, c.astype(np.float64)), np.vdot(x, back.astype(np.float64)),
                               rtol=tol(dtype)["rtol"])


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_6d_cython_matches_twin_and_adjoint(cfg, dtype):
    shape, k, pad, stride, dil = cfg
    N, C, H, W = shape
    Ho, Wo = _out_size(H, W, k, pad, stride, dil)
    rng = np.random.default_rng(2)
    cols = rng.standard_normal((C, k[0], k[1], N, Ho, Wo)).astype(dtype)
    dx = compiled.col2im_6d_cython(cols, N, C, H, W, k[0], k[1], pad, stride, dil)
    assert dx.dtype == dtype and dx.shape == shape
    np.testing.assert_allclose(dx, twin.col2im_6d_cython(cols, N, C, H, W, k[0], k[1], pad, stride, dil), **tol(dtype))
    # Same adjoint identity, with im2col's (y, x, n) columns reordered to the 6-D (n, y, x) order.
    x = rng.standard_normal(shape)
    cols_x = compiled.im2col_cython(x, k[0], k[1], pad, stride, dil).reshape(C, k[0], k[1], Ho, Wo, N)
    cols_x = cols_x.transpose(0, 1, 2, 5, 3, 4)
    np.testing.assert_allclose(np.vdot(cols_x, cols.astype(np.float64)), np.vdot(x, dx.astype(np.float64)),
                               rtol=tol(dtype)["rtol"])


def test_col2im_6d_hand_worked_overlap_counts():
    # 1x1x3x3 image, 2x2 filter, stride 1, no pad, all-ones columns: each pixel receives one
    # contribution per window covering it -> corners 1, edges 2, centre 4.
    dx = compiled.col2im_6d_cython(np.ones((1, 2, 2, 1, 2, 2)), 1, 1, 3, 3, 2, 2, 0, 1)
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("module", [compiled, twin], ids=["compiled", "numpy"])
def test_kernels_validate_before_touching_memory(module):
    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match="x must be 4-D"):
        module.im2col_cython(np.zeros((3, 5, 5)), 3, 3, 1, 1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        module.im2col_cython(x, 3, 3, 1, 0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        module.im2col_cython(x, 3, 3, -1, 1)
    with pytest.raises(TypeError, match="field_height must be a positive int, got 2.5"):
        module.im2col_cython(x, 2.5, 3, 1, 1)
    with pytest.raises(ValueError, match="output would be empty"):
        module.im2col_cython(x, 9, 3, 1, 1)
    with pytest.raises(ValueError, match=r"cols has shape \(27, 49\).*needs shape \(27, 50\)"):
        module.col2im_cython(np.zeros((27, 49)), 2, 3, 5, 5, 3, 3, 1, 1)
    with pytest.raises(ValueError, match=r"cols has shape .* needs shape \(3, 3, 3, 2, 5, 5\)"):
        module.col2im_6d_cython(np.zeros((3, 3, 3, 2, 5, 4)), 2, 3, 5, 5, 3, 3, 1, 1)
    with pytest.raises(TypeError, match="ndarray"):
        module.im2col_cython(x.tolist(), 3, 3, 1, 1)
    with pytest.raises(TypeError, match="complex"):
        module.im2col_cython(x.astype(complex), 3, 3, 1, 1)


def test_kernels_promote_ints_to_float64_and_accept_non_contiguous():
    x = np.arange(2 * 2 * 6 * 5).reshape(2, 2, 6, 5)
    cols = compiled.im2col_cython(x, 2, 2, 0, 1)
    assert cols.dtype == np.float64
    xf = np.asfortranarray(x.astype(np.float32))[:, :, ::-1]
    np.testing.assert_array_equal(compiled.im2col_cython(xf, 3, 2, 1, (2, 1)),
                                  twin.im2col_cython(np.ascontiguousarray(xf), 3, 2, 1, (2, 1)))


def test_kernel_does_not_mutate_its_input():
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    keep = x.copy()
    cols = compiled.im2col_cython(x, 3, 3, 1, 1)
    compiled.col2im_cython(cols, 2, 2, 5, 5, 3, 3, 1, 1)
    np.testing.assert_array_equal(x, keep)


def _run_python(code, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CNNKIT_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                          env=full_env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def test_fallback_is_announced_exactly_once_and_selected():
    code = ("import fast_layers, fast_layers.conv, layers\n"
            "import importlib; importlib.import_module('fast_layers._kernels')\n"
            "print(fast_layers.HAVE_CYTHON, fast_layers._kernels.im2col.__module__)")
    res = _run_python(code, CNNKIT_DISABLE_CYTHON="1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "fast_layers._kernels_numpy"]
    assert res.stderr.count("RuntimeWarning") == 1 and "pip install -e ." in res.stderr


def test_compiled_kernels_are_selected_without_warning_when_built():
    res = _run_python("import fast_layers; print(fast_layers.HAVE_CYTHON)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "True"
    assert "RuntimeWarning" not in res.stderr
