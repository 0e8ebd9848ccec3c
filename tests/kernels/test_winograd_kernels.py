"""The Winograd tile kernels (compiled and numpy twin) against a direct loop, and their adjointness.

``winograd_tiles`` takes every s x s window of a grid (one every ``tile`` pixels, shifted by
``offset``, zeros outside the image) to ``L @ window @ L.T``; ``winograd_fold_add`` adds
``L.T @ tile @ L`` back, so <tiles(x), S> = <x, fold(S)> for any S.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fast_layers import _kernels_numpy
from tests.conftest import count_case

try:
    import im2col_cython
except ImportError:  # the fallback CI pass runs the twins only
    im2col_cython = None

IMPLS = {"numpy twin": _kernels_numpy}
if im2col_cython is not None:
    IMPLS["compiled"] = im2col_cython


def _direct_tiles(x, L, m, offset, tiles):
    """The definition, one window at a time, in float64."""
    N, C, H, W = x.shape
    r, s = L.shape
    th, tw = tiles
    out = np.zeros((r, r, C, N, th, tw))
    for n, c, ty, tx in itertools.product(range(N), range(C), range(th), range(tw)):
        window = np.zeros((s, s))
        for i, j in itertools.product(range(s), range(s)):
            y, xx = ty * m - offset[0] + i, tx * m - offset[1] + j
            if 0 <= y < H and 0 <= xx < W:
                window[i, j] = x[n, c, y, xx]
        out[:, :, c, n, ty, tx] = L @ window @ L.T
    return out.reshape(r * r, C, N * th * tw)


# (r, s, tile): the four uses in the layer, and shapes it does not use (s < tile: gaps).
TRANSFORMS = [(6, 6, 4), (4, 4, 2), (6, 4, 4), (4, 2, 2), (3, 5, 2), (2, 3, 5)]
CASES = [((2, 3, 7, 9), (1, 2), (3, 2)), ((1, 1, 1, 2), (0, 0), (1, 1)), ((3, 2, 12, 5), (-1, 3), (4, 5)),
         ((2, 2, 6, 6), (5, -4), (2, 3))]


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rsm", TRANSFORMS)
@pytest.mark.parametrize("shape, offset, tiles", CASES)
def test_tiles_match_the_definition_and_fold_is_their_adjoint(impl, dtype, rsm, shape, offset, tiles):
    r, s, m = rsm
    mod = IMPLS[impl]
    rng = np.random.default_rng(hash((rsm, shape)) % 2**32)
    x = rng.standard_normal(shape).astype(dtype)
    L = rng.standard_normal((r, s)).astype(dtype)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    want = _direct_tiles(x.astype(float), L.astype(float), m, offset, tiles)
    got = mod.winograd_tiles_cython(x, L, m, offset, tiles)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **tol)
    S = rng.standard_normal(got.shape).astype(dtype)
    start = rng.standard_normal(shape).astype(dtype)
    folded = mod.winograd_fold_add_cython(S, L, m, offset, tiles, start.copy())
    # adjoint: <tiles(x), S> == <x, fold(S)>, and the fold adds onto what out held
    np.testing.assert_allclose(np.vdot(want, S.astype(float)), np.vdot(x.astype(float), folded - start),
                               rtol=10 * tol["rtol"], atol=10 * tol["atol"] * S.size)
    count_case("kernel cases")


@pytest.mark.skipif(im2col_cython is None, reason="compiled kernels not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_and_twin_agree_and_threads_change_nothing(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 13, 11)).astype(dtype)
    L = rng.standard_normal((6, 6)).astype(dtype)
    a = im2col_cython.winograd_tiles_cython(x, L, 4, (1, 1), (4, 3), parallel=False)
    b = im2col_cython.winograd_tiles_cython(x, L, 4, (1, 1), (4, 3), parallel=True)
    c = _kernels_numpy.winograd_tiles_cython(x, L, 4, (1, 1), (4, 3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, c, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    d1 = im2col_cython.winograd_fold_add_cython(a, L, 4, (1, 1), (4, 3), np.zeros_like(x), parallel=False)
    d2 = im2col_cython.winograd_fold_add_cython(a, L, 4, (1, 1), (4, 3), np.zeros_like(x), parallel=True)
    np.testing.assert_array_equal(d1, d2)


def _bad_calls():
    x = np.zeros((2, 3, 5, 5))
    L = np.ones((4, 4))
    T = np.zeros((16, 3, 2 * 2 * 2))
    out = np.zeros((2, 3, 5, 5))
    return [
        ("x 3-D", "tiles", (x[0], L, 2, (1, 1), (2, 2)), ValueError),
        ("x a list", "tiles", (x.tolist(), L, 2, (1, 1), (2, 2)), TypeError),
        ("transform 1-D", "tiles", (x, np.ones(4), 2, (1, 1), (2, 2)), ValueError),
        ("transform complex", "tiles", (x, L.astype(complex), 2, (1, 1), (2, 2)), TypeError),
        ("tile 0", "tiles", (x, L, 0, (1, 1), (2, 2)), ValueError),
        ("tile 1.5", "tiles", (x, L, 1.5, (1, 1), (2, 2)), TypeError),
        ("offset a number", "tiles", (x, L, 2, 1, (2, 2)), TypeError),
        ("tiles (0, 2)", "tiles", (x, L, 2, (1, 1), (0, 2)), ValueError),
        ("out of the wrong shape", "tiles", (x, L, 2, (1, 1), (2, 2), np.zeros((16, 3, 7))), ValueError),
        ("out float32 for float64 x", "tiles", (x, L, 2, (1, 1), (2, 2), T.astype(np.float32)), TypeError),
        ("fold: tiles of the wrong shape", "fold", (T[:, :, :4], L, 2, (1, 1), (2, 2), out), ValueError),
        ("fold: dtypes differ", "fold", (T.astype(np.float32), L, 2, (1, 1), (2, 2), out), TypeError),
        ("fold: out not contiguous", "fold", (T, L, 2, (1, 1), (2, 2), np.zeros((2, 3, 5, 10))[..., ::2]), ValueError),
        ("fold: out overlaps the tiles", "fold", (T, L, 2, (1, 1), (2, 2), T.reshape(-1)[:150].reshape(2, 3, 5, 5)),
         ValueError),
    ]


@pytest.mark.parametrize("impl", sorted(IMPLS))
@pytest.mark.parametrize("what, kernel, args, exc", _bad_calls(), ids=[c[0] for c in _bad_calls()])
def test_bad_arguments_are_refused_before_the_loops_run(impl, what, kernel, args, exc):
    fn = getattr(IMPLS[impl], "winograd_tiles_cython" if kernel == "tiles" else "winograd_fold_add_cython")
    with pytest.raises(exc):
        fn(*args)
    count_case("invalid kernel calls (raised cleanly)")
