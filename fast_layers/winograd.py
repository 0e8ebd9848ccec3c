"""Winograd convolution for 3x3 filters at stride 1: fewer multiplications, same answer to rounding.

One output row of a 3x3 filter g over an input row d is ``y[i] = d[i]*g[0] + d[i+1]*g[1] +
d[i+2]*g[2]``. Winograd's minimal filtering F(m, 3) computes m such outputs from a window of
alpha = m + 2 inputs with alpha multiplications instead of 3m::

    y = AT @ ((G @ g) * (BT @ d))            # AT (m, alpha), G (alpha, 3), BT (alpha, alpha)

and nesting it on rows and columns gives an m x m output tile from an alpha x alpha input window::

    Y = AT @ ((G @ g @ G.T) * (BT @ d @ BT.T)) @ AT.T

Summed over the input channels, the element-wise product becomes, for each of the alpha*alpha
entries of a tile, one matrix product over channels: with ``U = G g G.T`` for every (filter,
channel) and ``V = BT d BT.T`` for every (channel, window), ``M[k] = U[k] @ V[k]`` is an (F, C) x
(C, tiles) GEMM, and ``AT M AT.T`` gives the outputs. Per output pixel that is alpha^2/m^2 = 2.25
(m = 4) or 4 (m = 2) multiply-adds per (filter, channel) pair instead of 9. The matrices come
from Toom-Cook: evaluate at the points 0, 1, -1 (, 2, -2) and infinity, interpolate
(:func:`transforms` builds them from the points with exact fractions).

The backward is the same picture read in reverse (every step is linear, so its gradient is its
transpose): ``dM = A @ dY @ A.T`` per output tile, then ``dU[k] = dM[k] @ V[k].T`` (summed into
``dw = G.T dU G``) and ``dV[k] = U[k].T @ dM[k]`` (added back onto the overlapping windows of dx
as ``B dV B.T``). Forward and backward each run a block of images at a time, so the tiles of the
whole batch are never held at once (block size: ``tuning.WINOGRAD_BLOCK_BYTES``).

Error bound
-----------
The transforms multiply and add values of very different size (BT and G hold 4, 5, 1/24 ... for
m = 4), so the rounding error grows with the tile: F(4x4)'s output error is 10-15x the direct
sum's (about 2.5 * eps * sqrt(9*C) of the largest output here), F(2x2)'s no larger than the direct
sum's. Measured on case B (x 64x64x32x32, w 64x64x3x3, pad 1, standard normal
x, w, b, dout), max |error| / max |reference| against the naive layer in float64:

===========================  ========  ========  ========  ========
layer, dtype                 out       dx        dw        db
===========================  ========  ========  ========  ========
Winograd F(4x4), float64     1.4e-14   8.3e-15   1.7e-14   8.6e-15
strides, float64             1.1e-15   2.0e-15   1.6e-14   8.6e-15
Winograd F(2x2), float32     3.7e-7    3.2e-7    7.2e-7    4.0e-7
strides, float32             5.2e-7    2.3e-7    4.4e-7    4.0e-7
Winograd F(4x4), float32     8.0e-6    --        --        --
===========================  ========  ========  ========  ========

(the last row against the float64 strides layer, which agrees with the naive one to 1e-15).
F(4x4) in float32 fails the tests' float32 tolerance (``assert_allclose`` with rtol 1e-4 and atol
1e-4, outputs up to 130 on case B: errors up to 1e-3), so each dtype gets its own tile
(:data:`TILE_SIZES`): F(4x4) for float64, well inside its 1e-9 tolerance, and F(2x2) for
float32, as exact as the direct sum. Gradients use the same matrices and have the same bounds.

Speed
-----
On this project's 2-core machine the layer does not beat the strides layer yet, so
:func:`winograd_pays` (the rule for handing it a convolution) says no unless
``tuning.WINOGRAD_MIN_CHANNELS`` is set (see the measurements there). Case B under
``chrt -f 10``, median of 5, fwd+bwd ms (``benchmarks/bench.py``, load average 4.9): float64 Winograd 393, strides 367, bare im2col GEMMs 271, PyTorch 379; float32
Winograd 324, strides 261, GEMMs 154, PyTorch 108. Its GEMMs take 74 ms of the float64 total; the
five tile transforms (x, out, dout, x again, dx; one thread each) about 40 ms apiece.

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

from _rules.cache import param_copy
from _rules.geometry import check_array, check_dout, check_flag, conv_geometry, float_dtype
from _rules.resources import require

from . import _budget, tuning
from .buffers import recycling
from ._kernels import winograd_fold_add, winograd_tiles

__all__ = ["conv_forward_winograd", "conv_backward_winograd", "WinogradCache", "winograd_applies",
           "winograd_pays", "transforms", "TILE_SIZES"]

# Output tile m per dtype, chosen by the error table in the module docstring.
TILE_SIZES = {np.dtype(np.float64): 4, np.dtype(np.float32): 2}

# Interpolation points (besides infinity) of F(m, 3); small integers keep the matrices exact.
_POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2)}


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
# Validation at the door

def winograd_applies(geom, dtype):
    """True when the Winograd layer computes this convolution: 3x3 filters, stride 1, dilation 1,
    float32 or float64 (any pad, any N, C, F, H, W)."""
    return (geom.HH, geom.WW) == (3, 3) and geom.stride == (1, 1) and geom.dilation == (1, 1) \
        and np.dtype(dtype) in TILE_SIZES


def winograd_pays(geom, dtype):
    """True when ``conv_forward_fast`` should pick the Winograd layer: it applies, and C and F are at
    least ``tuning.WINOGRAD_MIN_CHANNELS`` (None, the measured default on this project's machine: never)."""
    least = tuning.WINOGRAD_MIN_CHANNELS
    return least is not None and winograd_applies(geom, dtype) and min(geom.C, geom.F) >= least


def _refuse_geometry(geom, name):
    for what, value, want in (("filter size (HH, WW)", (geom.HH, geom.WW), (3, 3)),
                              ("conv_param['stride']", geom.stride, (1, 1)),
                              ("conv_param['dilation']", geom.dilation, (1, 1))):
        if value != want:
            raise ValueError(
                f"{name} computes 3x3 filters at stride 1 and dilation 1 only; got {what} {value}: use "
                f"conv_forward_fast (or conv_forward_strides) for this convolution"
            )


def _grid(geom, m):
    """(th, tw): output tiles per column and per row."""
    return -(-geom.H_out // m), -(-geom.W_out // m)


def _block(geom, dtype, m, strides_bytes):
    """Images per block: their tiles (input and output side) fit in ``tuning.WINOGRAD_BLOCK_BYTES``
    and in what the strides layer would allocate for the whole call, at least one image."""
    th, tw = _grid(geom, m)
    per_image = (m + 2) ** 2 * th * tw * (geom.C + geom.F) * dtype.itemsize
    return _budget.images_per_block(per_image, geom.N, min(tuning.WINOGRAD_BLOCK_BYTES, strides_bytes))


def _strides_bytes(geom, dtype):
    """Bytes of x_cols and out: what ``conv_forward_strides`` allocates for this geometry."""
    return (geom.cols_shape[0] * geom.cols_shape[1] + geom.N * geom.F * geom.H_out * geom.W_out) * dtype.itemsize


def _forward_inputs(x, w, b, conv_param):
    check_array(x, "x", 4, "(N, C, H, W)")
    check_array(w, "w", 4, "(F, C, HH, WW)")
    check_array(b, "b")
    geom = conv_geometry(x.shape, w.shape, conv_param)
    if b.shape != (geom.F,):
        raise ValueError(f"b must have shape (F,) = ({geom.F},), one bias per filter, got shape {b.shape}")
    _refuse_geometry(geom, "conv_forward_winograd")
    dtype = float_dtype(x, w, b)
    m = TILE_SIZES[dtype]
    block = _block(geom, dtype, m, _strides_bytes(geom, dtype))
    require("conv_forward_winograd", _budget.winograd_forward(geom, dtype, x, w, b, m, _grid(geom, m), block),
            _shapes(x, w))
    return geom, dtype, m, block


def _shapes(x, w):
    return f"x of shape {tuple(x.shape)} and w of shape {tuple(w.shape)}"


def _backward_inputs(dout, cache, input_grad):
    if not isinstance(cache, WinogradCache):
        got = type(cache).__name__ + (f" of length {len(cache)}" if isinstance(cache, tuple) else "")
        raise TypeError(
            f"cache must be the WinogradCache (x, w, b, conv_param, tile) returned by conv_forward_winograd, "
            f"got {got}; a cache of another convolution goes to that convolution's backward"
        )
    x, w, b, conv_param, tile = cache
    for name, a in (("x", x), ("w", w), ("b", b)):
        check_array(a, f"cache {name}")
    geom = conv_geometry(x.shape, w.shape, conv_param)
    _refuse_geometry(geom, "conv_backward_winograd")
    dtype = float_dtype(x, w, b)
    if tile != TILE_SIZES[dtype]:
        raise ValueError(f"cache tile must be {TILE_SIZES[dtype]} for {dtype} (as conv_forward_winograd "
                         f"chose it), got {tile!r}")
    check_dout(dout, geom.out_shape, "the output of conv_forward_winograd")
    block = _block(geom, dtype, tile, _strides_bytes(geom, dtype))
    require("conv_backward_winograd",
            _budget.winograd_backward(geom, dtype, x, w, dout, tile, _grid(geom, tile), block, input_grad),
            _shapes(x, w))
    return geom, dtype, tile, block


def _parallel(nbytes):
    return nbytes >= tuning.PARALLEL_KERNEL_BYTES


# ---------------------------------------------------------------------------------------------
# The layer

@recycling
def conv_forward_winograd(x, w, b, conv_param):
    """Convolve with 3x3 filters at stride 1 by Winograd's minimal filtering F(m x m, 3 x 3).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, 3, 3)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'`` 1 and ``'pad'`` (an int or an (h, w) pair, any value); an optional
        ``'dilation'`` must be 1.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : WinogradCache
        ``(x, w, b, conv_param, tile)``: the forward's own arguments (unmodified; conv_param
        copied) and the output tile m it used.

    Raises
    ------
    ValueError
        For any other filter size, stride or dilation (naming it), besides the checks every
        convolution makes.
    """
    geom, dtype, m, block = _forward_inputs(x, w, b, conv_param)
    AT, G, BT = transforms(m)
    th, tw = _grid(geom, m)
    xf = np.ascontiguousarray(x, dtype=dtype)
    U = _filter_transform(w, G, dtype)
    out = np.empty(geom.out_shape, dtype=dtype)
    out[...] = np.asarray(b, dtype=dtype)[:, None, None]
    tiles_in = np.empty(U.shape[0] * geom.C * block * th * tw, dtype=dtype)
    tiles_out = np.empty(U.shape[0] * geom.F * block * th * tw, dtype=dtype)
    for n0 in range(0, geom.N, block):
        k = min(block, geom.N - n0)
        V = tiles_in[:tiles_in.size // block * k].reshape(-1, geom.C, k * th * tw)
        M = tiles_out[:tiles_out.size // block * k].reshape(-1, geom.F, k * th * tw)
        winograd_tiles(xf[n0:n0 + k], BT, m, geom.pad, (th, tw), out=V, parallel=_parallel(V.nbytes))
        np.matmul(U, V, out=M)
        winograd_fold_add(M, AT.T, m, (0, 0), (th, tw), out[n0:n0 + k], parallel=_parallel(M.nbytes))
    return out, WinogradCache(x, w, b, param_copy(conv_param), m)


@recycling
def conv_backward_winograd(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_forward_winograd`, through the same transforms transposed.

    The input tiles V are transformed again from x, a block of images at a time (the cache holds
    no copy of them), so dw follows the x the cache holds, as the naive layer's does.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : WinogradCache
        From :func:`conv_forward_winograd`.
    input_grad : bool, optional
        Keyword only. False skips dx (returned as None): the GEMMs for dV and the fold onto the
        image are not run, and dw and db are the same bits.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``input_grad`` is False
    dw : ndarray, shape (F, C, 3, 3)
    db : ndarray, shape (F,)
    """
    input_grad = check_flag(input_grad, "input_grad")
    geom, dtype, m, block = _backward_inputs(dout, cache, input_grad)
    AT, G, BT = transforms(m)
    th, tw = _grid(geom, m)
    xf = np.ascontiguousarray(cache.x, dtype=dtype)
    g = np.ascontiguousarray(dout, dtype=dtype)
    U = _filter_transform(cache.w, G, dtype)
    Ut = U.transpose(0, 2, 1)
    dU = np.zeros(U.shape, dtype=dtype)
    dU_block = np.empty(U.shape, dtype=dtype)
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=dtype) if input_grad else None
    tiles_in = np.empty(U.shape[0] * geom.C * block * th * tw, dtype=dtype)
    tiles_out = np.empty(U.shape[0] * geom.F * block * th * tw, dtype=dtype)
    for n0 in range(0, geom.N, block):
        k = min(block, geom.N - n0)
        V = tiles_in[:tiles_in.size // block * k].reshape(-1, geom.C, k * th * tw)
        dM = tiles_out[:tiles_out.size // block * k].reshape(-1, geom.F, k * th * tw)
        winograd_tiles(g[n0:n0 + k], AT.T, m, (0, 0), (th, tw), out=dM, parallel=_parallel(dM.nbytes))
        winograd_tiles(xf[n0:n0 + k], BT, m, geom.pad, (th, tw), out=V, parallel=_parallel(V.nbytes))
        dU += np.matmul(dM, V.transpose(0, 2, 1), out=dU_block)
        if input_grad:
            dV = np.matmul(Ut, dM, out=V)             # V is spent: its buffer takes dV
            winograd_fold_add(dV, BT, m, geom.pad, (th, tw), dx[n0:n0 + k], parallel=_parallel(dV.nbytes))
    dw = _filter_gradient(dU, G, geom.F, geom.C).astype(dtype)
    db = g.sum(axis=(0, 2, 3))
    return dx, dw, db
