"""Fast 2-D max and average pooling in numpy, for every valid pooling configuration.

Same arguments, caches and results as the naive references in ``layers.pool``, including the
tie rule of max pooling: the gradient of a window goes to the FIRST maximal element in
row-major window order (what ``np.argmax`` of the flattened window picks; a NaN counts as the
maximum, and the first NaN of a window gets its gradient).

How: a window has only K = HH*WW offsets, and the offset (a, b) of every window at once is a
strided view of x. So instead of copying the (N, C, H_out, W_out, K) windows and reducing along
a short axis (slow in numpy), both passes loop over the K offsets with whole-array operations:

* forward: ``out = max (or sum / K)`` over the K offset views;
* max backward: walk the offsets in row-major order; an offset receives a window's gradient
  where it equals the window's maximum and no earlier offset did (a "still free" mask), which
  is exactly the first-maximum rule;
* avg backward: every offset receives ``dout / K``.

The offset views come from one of two window views, chosen by ``PoolGeometry.tiles``:

* reshape path, when the windows tile x exactly (stride == window, nothing left over):
  ``x.reshape(N, C, H_out, HH, W_out, WW)``, and the same reshape of dx receives the gradient
  of each offset (windows are disjoint: every pixel receives exactly one value);
* as_strided path otherwise (overlaps, gaps, leftover rows/columns): a read-only
  ``as_strided`` view of shape (N, C, H_out, W_out, HH, WW); the gradient of offset (a, b) is
  added into the strided slice ``dx[:, :, a::stride_h, b::stride_w]`` (cut to H_out x W_out), so
  overlapping windows accumulate without ``np.add.at``.

When a window has more elements than there are output pixels (K > H_out*W_out, e.g. a global
pool over the whole image), looping over offsets would be the long loop; those pools loop over
the H_out*W_out window positions instead, each step vectorized over N and C, with the same tie
rule (``argmax`` of the flattened window). :func:`_strategy` names the path a geometry takes.

Notation
--------
N : batch size
C : channels
H, W : input height and width
HH, WW : pooling window height and width
H_out, W_out : output height and width (floor semantics, see ``_rules.geometry``)
K : ``HH*WW``, the number of offsets (elements) in one window
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, float_dtype, pool_geometry

__all__ = [
    "max_pool_forward_fast",
    "max_pool_backward_fast",
    "avg_pool_forward_fast",
    "avg_pool_backward_fast",
]


class _Windows:
    """The K offset views of x (each shape (N, C, H_out, W_out)) and where their gradient goes."""

    def __init__(self, xf, geom):
        self.geom = geom
        self.xf = xf
        self.offsets = [(a, b) for a in range(geom.HH) for b in range(geom.WW)]  # row-major order
        if geom.tiles:
            self._view = xf.reshape(geom.N, geom.C, geom.H_out, geom.HH, geom.W_out, geom.WW)
        else:
            sN, sC, sH, sW = xf.strides
            sh, sw = geom.stride
            self._view = as_strided(
                xf,
                shape=(geom.N, geom.C, geom.H_out, geom.W_out, geom.HH, geom.WW),
                strides=(sN, sC, sh * sH, sw * sW, sH, sW),
                writeable=False,
            )

    def at(self, a, b):
        """Offset (a, b) of every window, shape (N, C, H_out, W_out), a view of x."""
        if self.geom.tiles:
            return self._view[:, :, :, a, :, b]
        return self._view[:, :, :, :, a, b]

    def add(self, dx, a, b, values):
        """Add ``values`` (N, C, H_out, W_out) to the pixels of dx at offset (a, b) of every window.

        ``dx`` starts as zeros; adding (rather than assigning, even where windows are disjoint)
        also turns the -0.0 of ``negative * False`` into +0.0.
        """
        g = self.geom
        if g.tiles:
            target = dx.reshape(g.N, g.C, g.H_out, g.HH, g.W_out, g.WW)[:, :, :, a, :, b]
        else:
            sh, sw = g.stride
            target = dx[:, :, a:a + sh * (g.H_out - 1) + 1:sh, b:b + sw * (g.W_out - 1) + 1:sw]
        np.add(target, values, out=target)


def _strategy(geom) -> str:
    """Name the path a pooling geometry takes: 'per_window', 'reshape' or 'as_strided'."""
    if geom.HH * geom.WW > geom.H_out * geom.W_out:
        return "per_window"
    return "reshape" if geom.tiles else "as_strided"


def _positions(geom):
    """Yield (i, j, rows, cols): each output pixel and the slices of x its window covers."""
    sh, sw = geom.stride
    for i in range(geom.H_out):
        for j in range(geom.W_out):
            yield i, j, slice(i * sh, i * sh + geom.HH), slice(j * sw, j * sw + geom.WW)


def _max_forward_per_window(xf, geom):
    out = np.empty(geom.out_shape, dtype=xf.dtype)
    for i, j, rows, cols in _positions(geom):
        out[:, :, i, j] = xf[:, :, rows, cols].max(axis=(2, 3))
    return out


def _max_backward_per_window(xf, g, geom):
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=xf.dtype)
    n_idx, c_idx = np.meshgrid(np.arange(geom.N), np.arange(geom.C), indexing="ij")
    for i, j, rows, cols in _positions(geom):
        first_max = xf[:, :, rows, cols].reshape(geom.N, geom.C, -1).argmax(axis=2)
        # Each (n, c) appears once per window position, so the fancy += never drops a term.
        dx[n_idx, c_idx, rows.start + first_max // geom.WW, cols.start + first_max % geom.WW] += g[:, :, i, j]
    return dx


def _avg_forward_per_window(xf, geom):
    out = np.empty(geom.out_shape, dtype=xf.dtype)
    for i, j, rows, cols in _positions(geom):
        out[:, :, i, j] = xf[:, :, rows, cols].mean(axis=(2, 3))
    return out


def _avg_backward_per_window(share, geom):
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=share.dtype)
    for i, j, rows, cols in _positions(geom):
        dx[:, :, rows, cols] += share[:, :, i, j][:, :, None, None]
    return dx


def _forward_windows(x, pool_param):
    check_array(x, "x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    return _Windows(x.astype(float_dtype(x), copy=False), geom)


def _backward_windows(dout, cache, producer):
    x, pool_param = unpack_cache(cache, ("x", "pool_param"), producer)
    check_array(x, "cache x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    check_dout(dout, geom.out_shape, f"the output of {producer}")
    dtype = float_dtype(x)
    return _Windows(x.astype(dtype, copy=False), geom), dtype, dout.astype(dtype, copy=False)


def _window_max(win):
    first, *rest = win.offsets
    out = win.at(*first).copy()
    for a, b in rest:
        # np.maximum propagates NaN, as the naive window.max() does.
        np.maximum(out, win.at(a, b), out=out)
    return out


def max_pool_forward_fast(x, pool_param):
    """Take the maximum of each pooling window (fast; same results as the naive version).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` (positive ints) and ``'stride'`` (positive int or
        (h, w) pair).

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        In the floating dtype of x.
    cache : tuple
        ``(x, pool_param)``: the forward's own arguments, unmodified (backward recomputes the
        maxima, which costs less than one pass over x and keeps the cache free of state that
        the caller could alter).
    """
    win = _forward_windows(x, pool_param)
    if _strategy(win.geom) == "per_window":
        return _max_forward_per_window(win.xf, win.geom), (x, pool_param)
    return _window_max(win), (x, pool_param)


def max_pool_backward_fast(dout, cache):
    """Gradient of :func:`max_pool_forward_fast`: each window's gradient goes to its first maximum.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` from :func:`max_pool_forward_fast` (or :func:`layers.max_pool_forward_naive`).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        One array, not a tuple.
    """
    win, dtype, g = _backward_windows(dout, cache, "max_pool_forward_fast")
    if _strategy(win.geom) == "per_window":
        return _max_backward_per_window(win.xf, g, win.geom)
    out = _window_max(win)
    nan_out = np.isnan(out)
    has_nan = bool(nan_out.any())
    # g * hit is exact for finite g; inf * False would be NaN, so non-finite dout takes copyto.
    finite_g = bool(np.isfinite(g).all())
    # Buffers reused for every offset: fresh allocations per offset cost more than the arithmetic.
    free = np.ones(out.shape, dtype=bool)  # windows whose gradient has not been routed yet
    hit = np.empty(out.shape, dtype=bool)
    routed = np.empty(out.shape, dtype=dtype)
    dx = np.zeros((win.geom.N, win.geom.C, win.geom.H, win.geom.W), dtype=dtype)
    for a, b in win.offsets:
        v = win.at(a, b)
        np.equal(v, out, out=hit)
        if has_nan:
            # NaN != NaN: in a window whose maximum is NaN, the first NaN is the maximum.
            hit |= np.isnan(v) & nan_out
        hit &= free
        free ^= hit
        if finite_g:
            np.multiply(g, hit, out=routed)
        else:
            routed.fill(0)
            np.copyto(routed, g, where=hit)
        win.add(dx, a, b, routed)
    return dx


def avg_pool_forward_fast(x, pool_param):
    """Take the mean of each pooling window (fast; same results as the naive version to rounding).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)``: the forward's own arguments, unmodified.
    """
    win = _forward_windows(x, pool_param)
    if _strategy(win.geom) == "per_window":
        return _avg_forward_per_window(win.xf, win.geom), (x, pool_param)
    first, *rest = win.offsets
    out = win.at(*first).copy()
    for a, b in rest:
        out += win.at(a, b)
    out /= out.dtype.type(len(win.offsets))
    return out, (x, pool_param)


def avg_pool_backward_fast(dout, cache):
    """Gradient of :func:`avg_pool_forward_fast`: each window spreads ``dout / K`` evenly.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` from :func:`avg_pool_forward_fast` (or :func:`layers.avg_pool_forward_naive`).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    win, dtype, g = _backward_windows(dout, cache, "avg_pool_forward_fast")
    share = g / dtype.type(len(win.offsets))
    if _strategy(win.geom) == "per_window":
        return _avg_backward_per_window(share, win.geom)
    dx = np.zeros((win.geom.N, win.geom.C, win.geom.H, win.geom.W), dtype=dtype)
    for a, b in win.offsets:
        win.add(dx, a, b, share)
    return dx
