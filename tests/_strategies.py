"""Hypothesis strategies and memory layouts shared by the property and matrix tests.

A *configuration* is drawn as plain ints (N, C, H, W, F, HH, WW and per-axis stride, pad and
dilation) that are valid by construction: H is drawn at least as large as the dilated filter
minus the padding, so the output is never empty. The test then turns it into arrays.

A *layout* is a way of holding the same values in memory: C order, Fortran order, a strided
slice of a larger buffer, a view with negative strides, a zero-stride broadcast, a read-only
array, a byte-swapped array, an array one byte off its dtype's alignment. Fast layers and kernels must give the same answer for all of them.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

LAYOUTS = ("C", "F", "sliced", "negative", "broadcast", "readonly", "byteswapped", "unaligned")


def arrange(a: np.ndarray, layout: str, axes_seed: int = 0) -> np.ndarray:
    """Return an array holding ``a``'s values (or, for "broadcast", a zero-stride version of them).

    "negative" flips a seed-chosen non-empty subset of axes twice: the values are ``a``'s, the
    strides of the flipped axes are negative. "broadcast" repeats ``a[0]`` along axis 0 with
    stride 0, so the values change; callers compare against ``np.array(result)``.
    """
    a = np.asarray(a)
    if layout == "C":
        return np.ascontiguousarray(a).copy()
    if layout == "F":
        return np.asfortranarray(a).copy()
    if layout == "sliced":
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
        view = big[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if layout == "negative":
        rs = np.random.default_rng(axes_seed)
        flip = [ax for ax in range(a.ndim) if rs.random() < 0.5] or [a.ndim - 1]
        index = tuple(slice(None, None, -1) if ax in flip else slice(None) for ax in range(a.ndim))
        return a[index].copy()[index]
    if layout == "broadcast":
        return np.broadcast_to(a[:1], a.shape)
    if layout == "readonly":
        r = a.copy()
        r.flags.writeable = False
        return r
    if layout == "byteswapped":
        return a.astype(a.dtype.newbyteorder())
    if layout == "unaligned":
        # C-contiguous but one byte off the dtype's alignment: ascontiguousarray keeps it as is.
        buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
        u = np.frombuffer(buf.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
        u[...] = a
        return u
    raise ValueError(f"unknown layout {layout!r}")


def pair_form(draw, h: int, w: int):
    """Draw one of the accepted spellings of an (h, w) hyper-parameter."""
    if h == w:
        forms = [h, np.int64(h), (h, w), [h, w]]
    else:
        forms = [(h, w), [h, w], np.array([h, w]), (np.int32(h), np.int64(w))]
    return forms[draw(st.integers(0, len(forms) - 1))]


@st.composite
def conv_configs(draw, max_n=3, max_c=3, max_f=3, max_k=4, max_stride=3, max_pad=3,
                 max_dilation=3, max_extra=5):
    """Draw a valid convolution configuration (dict of ints plus a ``conv_param`` dict)."""
    N = draw(st.integers(1, max_n))
    C = draw(st.integers(1, max_c))
    F = draw(st.integers(1, max_f))
    HH = draw(st.integers(1, max_k))
    WW = draw(st.integers(1, max_k))
    sh, sw = draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))
    ph, pw = draw(st.integers(0, max_pad)), draw(st.integers(0, max_pad))
    dh, dw = draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation))
    low_h = max(1, dh * (HH - 1) + 1 - 2 * ph)
    low_w = max(1, dw * (WW - 1) + 1 - 2 * pw)
    H = draw(st.integers(low_h, low_h + max_extra))
    W = draw(st.integers(low_w, low_w + max_extra))
    conv_param = {"stride": pair_form(draw, sh, sw), "pad": pair_form(draw, ph, pw)}
    if (dh, dw) != (1, 1) or draw(st.booleans()):
        conv_param["dilation"] = pair_form(draw, dh, dw)
    H_out = (H + 2 * ph - dh * (HH - 1) - 1) // sh + 1
    W_out = (W + 2 * pw - dw * (WW - 1) - 1) // sw + 1
    return dict(N=N, C=C, H=H, W=W, F=F, HH=HH, WW=WW, stride=(sh, sw), pad=(ph, pw),
                dilation=(dh, dw), H_out=H_out, W_out=W_out, conv_param=conv_param)


@st.composite
def pool_configs(draw, max_n=3, max_c=3, max_k=4, max_stride=4, max_extra=6):
    """Draw a valid pooling configuration; sometimes the exact-tiling case (stride == window)."""
    N = draw(st.integers(1, max_n))
    C = draw(st.integers(1, max_c))
    HH = draw(st.integers(1, max_k))
    WW = draw(st.integers(1, max_k))
    if draw(st.integers(0, 3)) == 0:
        # Non-overlapping windows that tile the input exactly: implementations often special-case it.
        sh, sw = HH, WW
        H, W = HH * draw(st.integers(1, 3)), WW * draw(st.integers(1, 3))
    else:
        sh, sw = draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))
        H = draw(st.integers(HH, HH + max_extra))
        W = draw(st.integers(WW, WW + max_extra))
    stride = sh if sh == sw and draw(st.booleans()) else (sh, sw)
    pool_param = {"pool_height": HH, "pool_width": WW, "stride": stride}
    H_out, W_out = (H - HH) // sh + 1, (W - WW) // sw + 1
    return dict(N=N, C=C, H=H, W=W, HH=HH, WW=WW, stride=(sh, sw), H_out=H_out, W_out=W_out,
                pool_param=pool_param)


def layouts(exclude=()):
    """Strategy over :data:`LAYOUTS` minus ``exclude``."""
    return st.sampled_from([lay for lay in LAYOUTS if lay not in exclude])


float_dtypes = st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])
seeds = st.integers(0, 2**32 - 1)
