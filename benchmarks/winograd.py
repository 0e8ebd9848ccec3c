"""A worked example, not part of cnnkit's API: Winograd convolution for 3x3 filters at stride 1.

cnnkit's ``conv_forward_fast`` is the strides layer; this Winograd layer was measured slower than
it on every shape tried (``benchmarks/RESULTS.md``), so it lives here, where ``bench.py`` can still
time it and a reader can see how the algorithm works.

One output row of a 3x3 filter g over an input row d is ``y[i] = d[i]*g[0] + d[i+1]*g[1] +
d[i+2]*g[2]``. Winograd's minimal filtering F(m, 3) computes m such outputs from a window of
alpha = m + 2 inputs with alpha multiplications instead of 3m::

    y = AT @ ((G @ g) * (BT @ d))            # AT (m, alpha), G (alpha, 3), BT (alpha, alpha)

and nesting it on rows and columns gives an m x m output tile from an alpha x alpha input window::

    Y = AT @ ((G @ g @ G.T) * (BT @ d @ BT.T)) @ AT.T

Summed over the input channels, the element-wise product becomes, for each of the alpha*alpha
entries of a tile, one matrix product over channels: with ``U = G g G.T`` for every (filter,
channel) and ``V = BT d BT.T`` for every (channel, window), ``M[k] = U[k] @ V[k]`` is an (F, C) x
(C, tiles) GEMM, and ``AT M AT.T`` gives the outputs. The matrices come from Toom-Cook: evaluate
at the points 0, 1, -1 (, 2, -2) and infinity, interpolate (:func:`transforms` builds them from
the points with exact fractions).

The backward is the same picture read in reverse (every step is linear, so its gradient is its
transpose): ``dM = A @ dY @ A.T`` per output tile, then ``dU[k] = dM[k] @ V[k].T`` (summed into
``dw = G.T dU G``) and ``dV[k] = U[k].T @ dM[k]`` (added back onto the overlapping windows of dx
as ``B dV B.T``). Both run a block of images at a time (``block_bytes``).

Rounding: the transforms mix values of very different size, so F(4x4)'s error is larger than the
direct sum's; float64 uses F(4x4) and float32 F(2x2) (:data:`TILE_SIZES`), which keeps both within
the tests' tolerance of the naive layer (the measured errors are in ``benchmarks/RESULTS.md``).

Notation
--------
N : batch size
C : input channels
H, W : input height and width
F : number of filters
H_out, W_out : output height and width (H + 2*pad - 2, W + 2*pad - 2)
m : output tile size; alpha = m + 2 : input window size
th, tw : tiles per column and per row, ceil(H_out / m) and ceil(W_out / m)
T : N*th*tw, tiles in the batch
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from _rules.cache import param_copy
from _rules.geometry import check_conv_inputs, check_dout, conv_geometry, float_dtype

__all__ = ["conv_forward_winograd", "conv_backward_winograd", "WinogradCache", "winograd_applies",
           "transforms", "TILE_SIZES"]

# Output tile m per dtype: the largest whose rounding error stays within the dtype's tolerance.
TILE_SIZES = {np.dtype(np.float64): 4, np.dtype(np.float32): 2}

# Interpolation points (besides infinity) of F(m, 3); small integers keep the matrices exact.
_POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2)}

# Bytes of the tiles of one block of images.
BLOCK_BYTES = 16 << 20


class WinogradCache(NamedTuple):
    """What :func:`conv_backward_winograd` needs: the forward's own arguments and its tile size.

    Attributes
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, 3, 3)
    b : ndarray, shape (F,)
    conv_param : dict
        A copy of the forward's ``conv_param``.
    tile : int
        The output tile m of the forward (2 or 4).
    """

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    conv_param: dict
    tile: int


# ---------------------------------------------------------------------------------------------
# The transform matrices

def _solve(rows):
    """The inverse of a square matrix of Fractions, by Gauss-Jordan elimination (exact)."""
    n = len(rows)
    aug = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(rows)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if aug[r][col] != 0)
        aug[col], aug[pivot] = aug[pivot], aug[col]
        aug[col] = [v / aug[col][col] for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                aug[r] = [a - aug[r][col] * c for a, c in zip(aug[r], aug[col])]
    return [r[n:] for r in aug]


def _evaluation(points, k):
    """(alpha, k): row p evaluates a polynomial of k coefficients at point p; the last row, at infinity."""
    return [[Fraction(p) ** j for j in range(k)] for p in points] + [[Fraction(0)] * (k - 1) + [Fraction(1)]]


@functools.lru_cache(maxsize=None)
def transforms(m):
    """The matrices ``(AT, G, BT)`` of F(m, 3), as float64 arrays.

    Correlating d with g is the transpose of multiplying polynomials, so with E_k the evaluation
    of k-coefficient polynomials at the alpha points: ``AT = E_m.T``, ``G = E_3`` and ``BT =
    inverse(E_alpha).T``. Each row of BT is then scaled to integers and G's row divided by the
    same factor (their product is unchanged): the data transform adds small integers.

    Returns
    -------
    AT : ndarray, shape (m, alpha)
    G : ndarray, shape (alpha, 3)
    BT : ndarray, shape (alpha, alpha)
    """
    points = _POINTS[m]
    alpha = m + 2
    BT = [list(col) for col in zip(*_solve(_evaluation(points, alpha)))]
    G = _evaluation(points, 3)
    for k in range(alpha):
        scale = math.lcm(*(v.denominator for v in BT[k]))
        BT[k] = [v * scale for v in BT[k]]
        G[k] = [v / scale for v in G[k]]
    AT = [list(col) for col in zip(*_evaluation(points, m))]
    return tuple(np.array(mat, dtype=np.float64) for mat in (AT, G, BT))


def _filter_transform(w, G, dtype):
    """``U[a*alpha + b, f, c] = (G @ w[f, c] @ G.T)[a, b]`` (computed in float64), shape (alpha^2, F, C)."""
    F, C = w.shape[:2]
    alpha = G.shape[0]
    U = np.empty((alpha, alpha, F, C), dtype=dtype)
    np.copyto(U, (G @ w.astype(np.float64, copy=False) @ G.T).transpose(2, 3, 0, 1), casting="unsafe")
    return U.reshape(alpha * alpha, F, C)


def _filter_gradient(dU, G, F, C):
    """The transpose of :func:`_filter_transform`: ``dw[f, c] = G.T @ dU[:, f, c] @ G``, (F, C, 3, 3)."""
    alpha = G.shape[0]
    # contract one transform axis at a time: no (F, C, alpha, alpha) float64 copy of dU
    half = np.tensordot(G, dU.reshape(alpha, alpha, F, C), axes=(0, 0))      # (3, alpha, F, C)
    return np.tensordot(half, G, axes=(1, 0)).transpose(1, 2, 0, 3)       # (F, C, 3, 3)


# ---------------------------------------------------------------------------------------------
# Tile transforms: every s x s window of a zero-padded block of images, one every m pixels, as a
# strided view, transformed by two broadcast matrix products; the fold adds each transformed
# window back, one of its s*s offsets at a time (neighbouring windows overlap).

def _canvas(images_shape, s, m, offset, tiles, dtype):
    """A zero (N, C, Hc, Wc) canvas covering every window, and the (canvas, image) slices where they meet."""
    N, C, H, W = images_shape
    (oh, ow), (th, tw) = offset, tiles
    Hc, Wc = (th - 1) * m + s, (tw - 1) * m + s
    return np.zeros((N, C, Hc, Wc), dtype=dtype), _overlap(H, Hc, oh), _overlap(W, Wc, ow)


def _overlap(size, canvas, offset):
    """(canvas slice, image slice) of the pixels at image index ``i`` = canvas index ``i + offset``."""
    lo, hi = max(0, offset), min(canvas, offset + size)
    hi = max(lo, hi)
    return slice(lo, hi), slice(lo - offset, hi - offset)


def _tiles(x, L, m, offset, tiles):
    """``L @ window @ L.T`` of every s x s window of x (L is (r, s)), shape (r*r, C, N*th*tw)."""
    r, s = L.shape
    N, C = x.shape[:2]
    canvas, (crows, xrows), (ccols, xcols) = _canvas(x.shape, s, m, offset, tiles, x.dtype)
    canvas[:, :, crows, ccols] = x[:, :, xrows, xcols]
    sN, sC, sH, sW = canvas.strides
    windows = as_strided(canvas, shape=(N, C, tiles[0], tiles[1], s, s),
                         strides=(sN, sC, m * sH, m * sW, sH, sW), writeable=False)
    transformed = L.astype(x.dtype) @ windows @ L.T.astype(x.dtype)          # (N, C, th, tw, r, r)
    return np.ascontiguousarray(transformed.transpose(4, 5, 1, 0, 2, 3)).reshape(r * r, C, -1)


def _fold_add(tiles_array, L, m, offset, tiles, out):
    """Add ``L.T @ tile @ L`` of every tile onto its window of ``out``: the adjoint of :func:`_tiles`."""
    r, s = L.shape
    N, C = out.shape[:2]
    th, tw = tiles
    grid = tiles_array.reshape(r, r, C, N, th, tw).transpose(3, 2, 4, 5, 0, 1)
    windows = L.T.astype(out.dtype) @ grid @ L.astype(out.dtype)              # (N, C, th, tw, s, s)
    canvas, (crows, orows), (ccols, ocols) = _canvas(out.shape, s, m, offset, tiles, out.dtype)
    for i in range(s):
        for j in range(s):
            canvas[:, :, i:i + (th - 1) * m + 1:m, j:j + (tw - 1) * m + 1:m] += windows[..., i, j]
    out[:, :, orows, ocols] += canvas[:, :, crows, ccols]
    return out


# ---------------------------------------------------------------------------------------------
# Validation at the door

def winograd_applies(geom, dtype):
    """True when the Winograd layer computes this convolution: 3x3 filters, stride 1, dilation 1,
    float32 or float64 (any pad, any N, C, F, H, W)."""
    return (geom.HH, geom.WW) == (3, 3) and geom.stride == (1, 1) and geom.dilation == (1, 1) \
        and np.dtype(dtype) in TILE_SIZES


def _refuse_geometry(geom, name):
    for what, value, want in (("filter size (HH, WW)", (geom.HH, geom.WW), (3, 3)),
                              ("conv_param['stride']", geom.stride, (1, 1)),
                              ("conv_param['dilation']", geom.dilation, (1, 1))):
        if value != want:
            raise ValueError(f"{name} computes 3x3 filters at stride 1 and dilation 1 only; got {what} {value}")


def _grid(geom, m):
    """(th, tw): output tiles per column and per row."""
    return -(-geom.H_out // m), -(-geom.W_out // m)


def _block(geom, dtype, m, block_bytes):
    """Images per block: their input- and output-side tiles fit in ``block_bytes``, at least one image."""
    th, tw = _grid(geom, m)
    per_image = (m + 2) ** 2 * th * tw * (geom.C + geom.F) * dtype.itemsize
    return max(1, min(geom.N, block_bytes // max(1, per_image)))


def _forward_inputs(x, w, b, conv_param):
    geom = check_conv_inputs(x, w, b, conv_param)
    _refuse_geometry(geom, "conv_forward_winograd")
    dtype = float_dtype(x, w, b)
    return geom, dtype, TILE_SIZES[dtype]


def _backward_inputs(dout, cache):
    if not isinstance(cache, WinogradCache):
        raise TypeError(f"cache must be the WinogradCache returned by conv_forward_winograd, "
                        f"got {type(cache).__name__}")
    x, w, b, conv_param, tile = cache
    geom = conv_geometry(x.shape, w.shape, conv_param)
    dtype = float_dtype(x, w, b)
    check_dout(dout, geom.out_shape, "the output of conv_forward_winograd")
    return geom, dtype, tile


# ---------------------------------------------------------------------------------------------
# The layer

def conv_forward_winograd(x, w, b, conv_param, block_bytes=BLOCK_BYTES):
    """Convolve with 3x3 filters at stride 1 by Winograd's minimal filtering F(m x m, 3 x 3).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, 3, 3)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'`` 1 and ``'pad'`` (an int or an (h, w) pair); an optional ``'dilation'`` must be 1.
    block_bytes : int, optional
        Bytes of the tiles of one block of images.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : WinogradCache
        ``(x, w, b, conv_param, tile)``: the forward's own arguments and the output tile m it used.
    """
    geom, dtype, m = _forward_inputs(x, w, b, conv_param)
    AT, G, BT = transforms(m)
    th, tw = _grid(geom, m)
    block = _block(geom, dtype, m, block_bytes)
    xf = np.ascontiguousarray(x, dtype=dtype)
    U = _filter_transform(w, G, dtype)
    out = np.empty(geom.out_shape, dtype=dtype)
    out[...] = np.asarray(b, dtype=dtype)[:, None, None]
    for n0 in range(0, geom.N, block):
        V = _tiles(xf[n0:n0 + block], BT, m, geom.pad, (th, tw))
        _fold_add(np.matmul(U, V), AT.T, m, (0, 0), (th, tw), out[n0:n0 + block])
    return out, WinogradCache(x, w, b, param_copy(conv_param), m)


def conv_backward_winograd(dout, cache, block_bytes=BLOCK_BYTES):
    """Gradients of :func:`conv_forward_winograd`, through the same transforms transposed.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : WinogradCache
        From :func:`conv_forward_winograd`.
    block_bytes : int, optional
        Bytes of the tiles of one block of images.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, 3, 3)
    db : ndarray, shape (F,)
    """
    geom, dtype, m = _backward_inputs(dout, cache)
    AT, G, BT = transforms(m)
    th, tw = _grid(geom, m)
    block = _block(geom, dtype, m, block_bytes)
    xf = np.ascontiguousarray(cache.x, dtype=dtype)
    g = np.ascontiguousarray(dout, dtype=dtype)
    U = _filter_transform(cache.w, G, dtype)
    dU = np.zeros(U.shape, dtype=dtype)
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=dtype)
    for n0 in range(0, geom.N, block):
        dM = _tiles(g[n0:n0 + block], AT.T, m, (0, 0), (th, tw))
        V = _tiles(xf[n0:n0 + block], BT, m, geom.pad, (th, tw))
        dU += np.matmul(dM, V.transpose(0, 2, 1))
        _fold_add(np.matmul(U.transpose(0, 2, 1), dM), BT, m, geom.pad, (th, tw), dx[n0:n0 + block])
    dw = _filter_gradient(dU, G, geom.F, geom.C).astype(dtype)
    db = g.sum(axis=(0, 2, 3))
    return dx, dw, db
