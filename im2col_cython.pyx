"""Compiled kernels of cnnkit's fast layers: im2col / col2im (2-D and 6-D) and pooling.

Each public ``def`` has a row in ``fast_layers.kernel_table`` and a numpy twin in
``fast_layers._kernels_numpy``. They keep the CS231n names and argument order, extended with
per-axis (h, w) pairs and dilation, and validate every size and array through
``_rules.kernel_args`` (the same geometry rules as every layer) before any typed loop runs,
because the loops trust their arguments and run without bounds checks.

Compiler directives (boundscheck, wraparound, ...) are set once, in setup.py; building with
CNNKIT_DEBUG_KERNELS=1 turns bounds checking back on for test runs.
"""

import numpy as np

cimport cython
from cython.parallel cimport prange, threadid
from libc.math cimport NAN

from _rules.kernel_args import (
    avg_pool_backward_args,
    col2im_6d_add_args,
    col2im_6d_args,
    col2im_args,
    im2col_6d_args,
    im2col_args,
    max_pool_backward_args,
    pool_args,
)

cdef extern from *:
    """
    #ifndef CNNKIT_DEBUG_KERNELS
    #define CNNKIT_DEBUG_KERNELS 0
    #endif
    """
    int _DEBUG_KERNELS "CNNKIT_DEBUG_KERNELS"

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int cnnkit_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int cnnkit_max_threads(void) { return 1; }
    #endif
    """
    int cnnkit_max_threads() noexcept nogil

# True when built with CNNKIT_DEBUG_KERNELS=1 (bounds checking on); .ci/run asserts it for its debug pass.
BOUNDS_CHECKED = bool(_DEBUG_KERNELS)

ctypedef fused floating:
    float
    double


cdef void _im2col(const floating[:, :, :, ::1] x, floating[:, ::1] cols,
                  Py_ssize_t HH, Py_ssize_t WW,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw,
                  Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    # Row index: (c, fi, fj); column index: (yy, xx, n), the CS231n im2col layout.
    cdef Py_ssize_t N = x.shape[0], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t rows = cols.shape[0]
    cdef Py_ssize_t row, c, fi, fj, yy, xx, n, ii, jj, base
    for row in prange(rows, schedule='static'):
        c = row // (HH * WW)
        fi = (row // WW) % HH
        fj = row % WW
        for yy in range(H_out):
            ii = yy * sh + fi * dh - ph
            for xx in range(W_out):
                jj = xx * sw + fj * dw - pw
                base = (yy * W_out + xx) * N
                if 0 <= ii < H and 0 <= jj < W:
                    for n in range(N):
                        cols[row, base + n] = x[n, c, ii, jj]
                else:
                    for n in range(N):
                        cols[row, base + n] = 0


cdef void _col2im(const floating[:, ::1] cols, floating[:, :, :, ::1] x,
                  Py_ssize_t HH, Py_ssize_t WW,
                  Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                  Py_ssize_t dh, Py_ssize_t dw,
                  Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    # Parallel over (n, c): every task writes only its own x[n, c] plane, so no races.
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t task, n, c, fi, fj, yy, xx, ii, jj, row
    for task in prange(N * C, schedule='static'):
        n = task // C
        c = task % C
        for fi in range(HH):
            for fj in range(WW):
                row = (c * HH + fi) * WW + fj
                for yy in range(H_out):
                    ii = yy * sh + fi * dh - ph
                    if ii < 0 or ii >= H:
                        continue
                    for xx in range(W_out):
                        jj = xx * sw + fj * dw - pw
                        if 0 <= jj < W:
                            x[n, c, ii, jj] += cols[row, (yy * W_out + xx) * N + n]


cdef inline Py_ssize_t _first_valid(Py_ssize_t j0, Py_ssize_t sw, Py_ssize_t W_out) noexcept nogil:
    # Output columns xx in [_first_valid, _end_valid) read input column xx*sw + j0 inside [0, W);
    # the others read padding. Working out this range once per filter column lets the inner loops
    # run without a per-element bounds test, which is what allows the compiler to vectorize them.
    # (Two functions returning values rather than one with out-pointers: prange makes a variable
    # thread-private only when it is assigned in the loop body.)
    cdef Py_ssize_t a = 0 if j0 >= 0 else (-j0 + sw - 1) // sw
    return a if a < W_out else W_out


cdef inline Py_ssize_t _end_valid(Py_ssize_t j0, Py_ssize_t sw, Py_ssize_t W, Py_ssize_t W_out,
                                  Py_ssize_t lo) noexcept nogil:
    cdef Py_ssize_t z = 0 if W - j0 <= 0 else (W - j0 + sw - 1) // sw
    if z < lo:
        z = lo
    return z if z < W_out else W_out


cdef void _im2col_6d(const floating[:, :, :, ::1] x, floating[:, :, :, :, :, ::1] cols,
                     Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                     Py_ssize_t dh, Py_ssize_t dw, int num_threads) noexcept nogil:
    # cols is (C, HH, WW, N, H_out, W_out). One task per filter tap (c, fi, fj) writes the
    # contiguous slab cols[c, fi, fj]: the threads write disjoint memory (and take the first-touch
    # page faults of a fresh buffer in parallel), and the 9 taps of one channel run back to back
    # while that channel of x is still in cache.
    cdef Py_ssize_t C = cols.shape[0], HH = cols.shape[1], WW = cols.shape[2]
    cdef Py_ssize_t N = cols.shape[3], H_out = cols.shape[4], W_out = cols.shape[5]
    cdef Py_ssize_t H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t task, c, fi, fj, n, yy, xx, ii, j0, lo, hi
    cdef floating* dst
    cdef const floating* src
    for task in prange(C * HH * WW, schedule='static', num_threads=num_threads):
        c = task // (HH * WW)
        fi = (task // WW) % HH
        fj = task % WW
        j0 = fj * dw - pw
        lo = _first_valid(j0, sw, W_out)
        hi = _end_valid(j0, sw, W, W_out, lo)
        for n in range(N):
            for yy in range(H_out):
                ii = yy * sh + fi * dh - ph
                dst = &cols[c, fi, fj, n, yy, 0]
                if ii < 0 or ii >= H:
                    for xx in range(W_out):
                        dst[xx] = 0
                else:
                    src = &x[n, c, ii, 0]
                    for xx in range(lo):
                        dst[xx] = 0
                    if sw == 1:
                        for xx in range(lo, hi):
                            dst[xx] = src[xx + j0]
                    else:
                        for xx in range(lo, hi):
                            dst[xx] = src[xx * sw + j0]
                    for xx in range(hi, W_out):
                        dst[xx] = 0


cdef void _col2im_6d_add(const floating[:, :, :, :, :, ::1] cols, floating[:, :, :, ::1] x,
                         Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t ph, Py_ssize_t pw,
                         Py_ssize_t dh, Py_ssize_t dw, int num_threads) noexcept nogil:
    # x += adjoint of _im2col_6d(cols). cols is (C, HH, WW, N, H_out, W_out); parallel over
    # (n, c) planes: every task writes only its own x[n, c] plane, so no races.
    cdef Py_ssize_t C = cols.shape[0], HH = cols.shape[1], WW = cols.shape[2]
    cdef Py_ssize_t N = cols.shape[3], H_out = cols.shape[4], W_out = cols.shape[5]
    cdef Py_ssize_t H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t task, n, c, fi, fj, yy, xx, ii, j0, lo, hi
    cdef floating* dst
    cdef const floating* src
    for task in prange(N * C, schedule='static', num_threads=num_threads):
        n = task // C
        c = task % C
        for fi in range(HH):
            for fj in range(WW):
                j0 = fj * dw - pw
                lo = _first_valid(j0, sw, W_out)
                hi = _end_valid(j0, sw, W, W_out, lo)
                for yy in range(H_out):
                    ii = yy * sh + fi * dh - ph
                    if ii < 0 or ii >= H:
                        continue
                    src = &cols[c, fi, fj, n, yy, 0]
                    dst = &x[n, c, ii, 0]
                    if sw == 1:
                        for xx in range(lo, hi):
                            dst[xx + j0] += src[xx]
                    else:
                        for xx in range(lo, hi):
                            dst[xx * sw + j0] += src[xx]


def im2col_cython(x, field_height, field_width, padding, stride, dilation=1):
    """Unfold every filter-sized window of ``x`` into a column.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    field_height, field_width : int
        Filter size HH, WW.
    padding, stride, dilation : int or (int, int)
        Zero padding per side, step between windows, spacing of filter taps.

    Returns
    -------
    cols : ndarray, shape (C*HH*WW, H_out*W_out*N)
        Row ``(c*HH + i)*WW + j`` holds tap (i, j) of channel c; column ``(y*W_out + x)*N + n``
        holds output pixel (y, x) of image n. The dtype follows ``_rules.geometry.float_dtype``:
        float32 (and int8/int16/uint8, bool, float16, which it holds exactly) give float32;
        float64 and wider ints give float64.
    """
    x, g = im2col_args(x, field_height, field_width, padding, stride, dilation)
    cols = np.empty(g.cols_shape, dtype=x.dtype)
    if x.dtype == np.float32:
        _im2col[float](x, cols, g.HH, g.WW, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                       g.dilation[0], g.dilation[1], g.H_out, g.W_out)
    else:
        _im2col[double](x, cols, g.HH, g.WW, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                        g.dilation[0], g.dilation[1], g.H_out, g.W_out)
    return cols


def col2im_cython(cols, N, C, H, W, field_height, field_width, padding, stride, dilation=1):
    """Sum columns back into an image: the adjoint (transpose) of :func:`im2col_cython`.

    Parameters
    ----------
    cols : ndarray, shape (C*HH*WW, H_out*W_out*N)
        In the layout :func:`im2col_cython` produces.
    N, C, H, W : int
        Shape of the (unpadded) image to rebuild.
    field_height, field_width : int
    padding, stride, dilation : int or (int, int)

    Returns
    -------
    x : ndarray, shape (N, C, H, W)
        Each pixel receives the sum of every column entry that was copied from it; entries
        that came from the zero padding are dropped.
    """
    cols, g = col2im_args(cols, N, C, H, W, field_height, field_width, padding, stride, dilation)
    x = np.zeros((g.N, g.C, g.H, g.W), dtype=cols.dtype)
    if cols.dtype == np.float32:
        _col2im[float](cols, x, g.HH, g.WW, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                       g.dilation[0], g.dilation[1], g.H_out, g.W_out)
    else:
        _col2im[double](cols, x, g.HH, g.WW, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                        g.dilation[0], g.dilation[1], g.H_out, g.W_out)
    return x


def col2im_6d_cython(cols, N, C, H, W, HH, WW, pad, stride, dilation=1):
    """Sum a 6-D column array back into an image (the backward of the strides convolution).

    Parameters
    ----------
    cols : ndarray, shape (C, HH, WW, N, H_out, W_out)
        ``cols[c, i, j, n, y, x]`` is the gradient reaching input pixel
        ``(n, c, y*stride_h + i*dilation_h - pad_h, x*stride_w + j*dilation_w - pad_w)``.
    N, C, H, W : int
        Shape of the (unpadded) image to rebuild.
    HH, WW : int
        Filter size.
    pad, stride, dilation : int or (int, int)

    Returns
    -------
    x : ndarray, shape (N, C, H, W)
    """
    cols, g = col2im_6d_args(cols, N, C, H, W, HH, WW, pad, stride, dilation)
    x = np.zeros((g.N, g.C, g.H, g.W), dtype=cols.dtype)
    if cols.dtype == np.float32:
        _col2im_6d_add[float](cols, x, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                              g.dilation[0], g.dilation[1], cnnkit_max_threads())
    else:
        _col2im_6d_add[double](cols, x, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                               g.dilation[0], g.dilation[1], cnnkit_max_threads())
    return x


def im2col_6d_cython(x, field_height, field_width, padding, stride, dilation=1, out=None, parallel=True):
    """Unfold every filter-sized window of ``x`` into a 6-D column array (strides-layer layout).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    field_height, field_width : int
        Filter size HH, WW.
    padding, stride, dilation : int or (int, int)
    out : ndarray, shape (C, HH, WW, N, H_out, W_out), optional
        C-contiguous array of x's float dtype to fill (every element is written); lets the
        caller allocate (and size-check) the buffer.
    parallel : bool
        Use the OpenMP threads (default) or only the calling thread. Idle OpenMP threads spin
        for a while after a parallel loop and hold a core the BLAS threads of the next matrix
        product then wait for, so callers run small problems on one thread.

    Returns
    -------
    cols : ndarray, shape (C, HH, WW, N, H_out, W_out)
        ``cols[c, i, j, n, y, x]`` is the padded-input pixel
        ``(n, c, y*stride_h + i*dilation_h - pad_h, x*stride_w + j*dilation_w - pad_w)``, zero where
        that falls in the padding. Reshaped to (C*HH*WW, N*H_out*W_out) it is the x_cols matrix of
        ``fast_layers.conv_forward_strides``; this is the adjoint of :func:`col2im_6d_cython`.
    """
    x, g, out = im2col_6d_args(x, field_height, field_width, padding, stride, dilation, out)
    if x.dtype == np.float32:
        _im2col_6d[float](x, out, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                          g.dilation[0], g.dilation[1], cnnkit_max_threads() if parallel else 1)
    else:
        _im2col_6d[double](x, out, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                           g.dilation[0], g.dilation[1], cnnkit_max_threads() if parallel else 1)
    return out


def col2im_6d_add_cython(cols, out, padding, stride, dilation=1, parallel=True):
    """Add the adjoint of :func:`im2col_6d_cython` of ``cols`` into ``out``, in place.

    The backward of the strides convolution calls this once per block of images, each block
    writing its own slice of one dx, so no full-size column gradient is ever allocated.

    Parameters
    ----------
    cols : ndarray, shape (C, HH, WW, N, H_out, W_out)
        Same float dtype as ``out``.
    out : ndarray, shape (N, C, H, W)
        Writeable, C-contiguous float32/float64 array; receives
        ``out[n, c, y*stride_h + i*dilation_h - pad_h, x*stride_w + j*dilation_w - pad_w] +=
        cols[c, i, j, n, y, x]`` for every entry that does not fall in the padding.
    padding, stride, dilation : int or (int, int)
    parallel : bool
        Use the OpenMP threads (default) or only the calling thread (see :func:`im2col_6d_cython`).

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
        The same array, updated.
    """
    cols, g = col2im_6d_add_args(cols, out, padding, stride, dilation)
    if out.dtype == np.float32:
        _col2im_6d_add[float](cols, out, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                              g.dilation[0], g.dilation[1], cnnkit_max_threads() if parallel else 1)
    else:
        _col2im_6d_add[double](cols, out, g.stride[0], g.stride[1], g.pad[0], g.pad[1],
                               g.dilation[0], g.dilation[1], cnnkit_max_threads() if parallel else 1)
    return out


# ---------------------------------------------------------------------------------------------
# Pooling. One task per (n, c) plane: a thread writes only its own plane of the output (or of
# dx, which it zeroes itself while the plane is in cache), so there are no races and no extra
# pass over memory. The fused ``floating`` signatures of these ``def`` kernels let Cython pick
# the float32 or float64 loop from the arrays' dtype: no hand-written dispatch.

# The tie rule: a row-major scan keeps the FIRST maximum (only a strictly larger value replaces
# it), and NaN counts as the maximum (the window's first NaN wins, as np.argmax of the window
# picks). The scan itself is branch-free (``v > best`` selects, which compiles to a conditional
# move: a branch on random data mispredicts half the time); NaNs,
# which ``v > best`` never selects, are tracked on the side.

cdef extern from *:
    """
    /* The first-maximum scan step: v replaces the running pick m when v is larger, or when v is
       the first NaN (a NaN pick stays). Written with || and && (not | and &), the form gcc
       vectorizes as masks. */
    #define CNNKIT_TAKES(v, m) ((v) > (m) || ((v) != (v) && (m) == (m)))
    """
    bint _takes_float "CNNKIT_TAKES"(float v, float m) noexcept nogil
    bint _takes_double "CNNKIT_TAKES"(double v, double m) noexcept nogil


cdef inline bint _takes(floating v, floating m) noexcept nogil:
    if floating is float:
        return _takes_float(v, m)
    else:
        return _takes_double(v, m)


cdef inline void _max_row(const floating* top, floating* o, Py_ssize_t W, Py_ssize_t W_out, Py_ssize_t HH,
                          Py_ssize_t WW, Py_ssize_t sw, floating floor, bint zero_fill) noexcept nogil:
    # One output row: o[j] is the running pick of window j (``top`` is the row's first input row),
    # updated tap by tap in row-major window order, each tap one loop over the whole row (which
    # the compiler vectorizes, where a loop over one window's few taps it cannot).
    cdef Py_ssize_t j, a, b
    cdef const floating* row
    cdef floating m, v
    for j in range(W_out):
        o[j] = top[j * sw]
    for a in range(HH):
        row = top + a * W
        for b in range(WW):
            if a == 0 and b == 0:
                continue
            for j in range(W_out):
                v = row[j * sw + b]
                m = o[j]
                o[j] = v if _takes(v, m) else m
    for j in range(W_out):
        m = o[j]
        o[j] = NAN if m != m else (m if m > floor else (0 if zero_fill else top[j * sw]))


def _max_pool_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                      Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t sh, Py_ssize_t sw, double floor_, bint zero_fill,
                      int num_threads):
    # A window whose maximum is not above ``floor_`` gives +0.0 (zero_fill) or its first element
    # (floor_ 0 for the options of max_pool_forward_cython; with -inf that element IS the maximum).
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], H_out = out.shape[2], W_out = out.shape[3]
    cdef Py_ssize_t W = x.shape[3]
    cdef Py_ssize_t task, n, c, i
    cdef floating floor = <floating>floor_
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            for i in range(H_out):
                _max_row(&x[n, c, i * sh, 0], &out[n, c, i, 0], W, W_out, HH, WW, sw, floor, zero_fill)


def _max_pool_backward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dout,
                       floating[:, :, :, ::1] dx, Py_ssize_t HH, Py_ssize_t WW,
                       Py_ssize_t sh, Py_ssize_t sw, bint positive_only, int num_threads):
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], H_out = dout.shape[2], W_out = dout.shape[3]
    cdef Py_ssize_t H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t task, n, c, i, j, a, b, p, arg, first_nan, take
    cdef floating best, v
    cdef const floating* plane
    cdef floating* dplane
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            plane = &x[n, c, 0, 0]
            dplane = &dx[n, c, 0, 0]
            for p in range(H * W):
                dplane[p] = 0
            for i in range(H_out):
                for j in range(W_out):
                    arg = i * sh * W + j * sw
                    best = plane[arg]
                    first_nan = -1
                    for a in range(HH):
                        for b in range(WW):
                            p = (i * sh + a) * W + j * sw + b
                            v = plane[p]
                            # arithmetic select: gcc turned an if/else pair into a mispredicted branch
                            take = v > best
                            arg = arg + take * (p - arg)
                            best = v if take else best
                            if v != v and first_nan < 0:
                                first_nan = p
                    if first_nan >= 0:
                        arg = first_nan
                        if positive_only:
                            continue  # NaN > 0 is false: a ReLU passes no gradient
                    elif positive_only and not best > 0:
                        continue
                    # += (not =): overlapping windows may share a maximum; 0 + (-0.0) gives +0.0.
                    dplane[arg] += dout[n, c, i, j]


def _avg_pool_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                      Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t sh, Py_ssize_t sw, int num_threads):
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], H_out = out.shape[2], W_out = out.shape[3]
    cdef Py_ssize_t task, n, c, i, j, a, b
    cdef floating total
    cdef floating count = HH * WW
    cdef const floating* row
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            for i in range(H_out):
                for j in range(W_out):
                    total = 0
                    for a in range(HH):
                        row = &x[n, c, i * sh + a, j * sw]
                        for b in range(WW):
                            total = total + row[b]
                    out[n, c, i, j] = total / count


def _avg_pool_backward(const floating[:, :, :, ::1] dout, floating[:, :, :, ::1] dx,
                       Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t sh, Py_ssize_t sw, int num_threads):
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], H_out = dout.shape[2], W_out = dout.shape[3]
    cdef Py_ssize_t H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t task, n, c, i, j, a, b, p
    cdef floating share
    cdef floating count = HH * WW
    cdef floating* drow
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            drow = &dx[n, c, 0, 0]
            for p in range(H * W):
                drow[p] = 0
            for i in range(H_out):
                for j in range(W_out):
                    share = dout[n, c, i, j] / count
                    for a in range(HH):
                        drow = &dx[n, c, i * sh + a, j * sw]
                        for b in range(WW):
                            drow[b] += share


# ---------------------------------------------------------------------------------------------
# 2x2 windows with stride 2 (the coursework nets' pool): one loop over a whole output row.
#
# The general loops above scan one window at a time, a short inner loop the compiler cannot
# vectorize. Here the four taps of window j are r0[2j], r0[2j+1], r1[2j], r1[2j+1] (r0, r1 the
# window's two input rows), and every step is a select (``a if cond else b``) that gcc turns into
# SIMD compares and blends: the row runs several windows per instruction, at about the speed of
# reading x once. (setup.py's -fno-trapping-math lets gcc evaluate both sides of a select; no
# result changes.) The tie rule is the one above: ``v > m`` keeps the earlier of equal values,
# and a window holding a NaN gives NaN (forward) or routes to its first NaN (backward, which
# does such rare rows again with the exact one-window-at-a-time scan).

cdef inline floating _max_2x2(const floating* r0, const floating* r1, Py_ssize_t j) noexcept nogil:
    # The maximum of window j in row-major order; ``>``: a later equal value does not replace it
    # (so its sign of zero is the first one's). A NaN not in first place is skipped: callers check.
    cdef floating m = r0[2 * j]
    m = r0[2 * j + 1] if r0[2 * j + 1] > m else m
    m = r1[2 * j] if r1[2 * j] > m else m
    m = r1[2 * j + 1] if r1[2 * j + 1] > m else m
    return m


cdef inline bint _has_nan_2x2(const floating* r0, const floating* r1, Py_ssize_t j) noexcept nogil:
    return (r0[2 * j] != r0[2 * j]) | (r0[2 * j + 1] != r0[2 * j + 1]) | (r1[2 * j] != r1[2 * j]) | (
        r1[2 * j + 1] != r1[2 * j + 1])


cdef inline void _max_2x2_row(const floating* r0, const floating* r1, floating* o, Py_ssize_t W_out,
                              floating floor, bint zero_fill) noexcept nogil:
    # Where the maximum is not above floor: +0.0 (zero_fill) or the window's first element. Called
    # with a constant zero_fill, so that the compiler makes one branch-free loop of each.
    cdef Py_ssize_t j
    cdef floating m
    cdef floating zero = 0
    for j in range(W_out):
        m = _max_2x2(r0, r1, j)
        m = m if m > floor else (zero if zero_fill else r0[2 * j])
        o[j] = NAN if _has_nan_2x2(r0, r1, j) else m


cdef inline bint _route_2x2_row(const floating* r0, const floating* r1, const floating* g,
                                floating* d0, floating* d1, Py_ssize_t W_out, floating floor) noexcept nogil:
    # Writes all four pixels of every window of the row: zero, except ``0 + g[j]`` at the window's
    # first maximum unless that maximum is <= floor (0 for the fused ReLU; NaN for the plain pool,
    # since no comparison with NaN is true). Returns whether the row holds a NaN: the caller does
    # that row again with _route_2x2_row_exact.
    cdef Py_ssize_t j
    cdef floating m, k, gj
    cdef floating zero = 0
    cdef floating nan = 0  # a flag in the data's own width: an int flag keeps gcc from vectorizing float64
    for j in range(W_out):
        m = _max_2x2(r0, r1, j)
        k = 3  # the first tap equal to the maximum (taken in reverse, so the earliest one stays)
        k = 2 if r1[2 * j] == m else k
        k = 1 if r0[2 * j + 1] == m else k
        k = 0 if r0[2 * j] == m else k
        nan = 1 if _has_nan_2x2(r0, r1, j) else nan
        gj = zero + g[j]  # 0 + (-0.0) is +0.0, as the general kernel's dx[arg] += g gives
        gj = zero if m <= floor else gj
        d0[2 * j] = gj if k == 0 else zero
        d0[2 * j + 1] = gj if k == 1 else zero
        d1[2 * j] = gj if k == 2 else zero
        d1[2 * j + 1] = gj if k == 3 else zero
    return nan != 0


cdef inline void _route_2x2_row_exact(const floating* r0, const floating* r1, const floating* g,
                                      floating* d0, floating* d1, Py_ssize_t W_out, bint positive_only) noexcept nogil:
    # The general kernel's scan, one window at a time, for a row that holds a NaN.
    cdef Py_ssize_t j, t, arg, first_nan
    cdef floating v, best
    cdef floating zero = 0
    cdef floating* dst[4]
    cdef floating taps[4]
    for j in range(W_out):
        taps[0] = r0[2 * j]
        taps[1] = r0[2 * j + 1]
        taps[2] = r1[2 * j]
        taps[3] = r1[2 * j + 1]
        dst[0] = &d0[2 * j]
        dst[1] = &d0[2 * j + 1]
        dst[2] = &d1[2 * j]
        dst[3] = &d1[2 * j + 1]
        arg = 0
        best = taps[0]
        first_nan = -1
        for t in range(4):
            v = taps[t]
            dst[t][0] = zero
            if v > best:
                arg = t
                best = v
            if v != v and first_nan < 0:
                first_nan = t
        if first_nan >= 0:
            if positive_only:
                continue  # NaN > 0 is false: a ReLU passes no gradient
            arg = first_nan
        elif positive_only and not best > 0:
            continue
        dst[arg][0] = zero + g[j]


cdef inline void _zero_unreached_2x2(floating* plane, Py_ssize_t H, Py_ssize_t W, Py_ssize_t H_out,
                                     Py_ssize_t W_out) noexcept nogil:
    # The pixels of one dx plane that no 2x2 window reaches (an odd last column, an odd last row).
    cdef Py_ssize_t p
    if W > 2 * W_out:
        for p in range(2 * H_out):
            plane[p * W + W - 1] = 0
    for p in range(2 * H_out * W, H * W):
        plane[p] = 0


def _max_pool_2x2_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out, double floor_,
                          bint zero_fill, int num_threads):
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], H_out = out.shape[2], W_out = out.shape[3]
    cdef Py_ssize_t task, n, c, i
    cdef floating floor = <floating>floor_
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            for i in range(H_out):
                if zero_fill:
                    _max_2x2_row(&x[n, c, 2 * i, 0], &x[n, c, 2 * i + 1, 0], &out[n, c, i, 0], W_out, floor, True)
                else:
                    _max_2x2_row(&x[n, c, 2 * i, 0], &x[n, c, 2 * i + 1, 0], &out[n, c, i, 0], W_out, floor, False)


def _max_pool_2x2_backward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dout,
                           floating[:, :, :, ::1] dx, bint positive_only, int num_threads):
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], H_out = dout.shape[2], W_out = dout.shape[3]
    cdef Py_ssize_t H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t task, n, c, i
    # Route where the maximum is above floor: above 0 for the fused ReLU, always otherwise (x <= NaN is false).
    cdef floating floor = 0 if positive_only else NAN
    cdef floating* d0
    cdef floating* d1
    cdef const floating* r0
    cdef const floating* r1
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            for i in range(H_out):
                r0 = &x[n, c, 2 * i, 0]
                r1 = &x[n, c, 2 * i + 1, 0]
                d0 = &dx[n, c, 2 * i, 0]
                d1 = &dx[n, c, 2 * i + 1, 0]
                if _route_2x2_row(r0, r1, &dout[n, c, i, 0], d0, d1, W_out, floor):
                    _route_2x2_row_exact(r0, r1, &dout[n, c, i, 0], d0, d1, W_out, positive_only)
            _zero_unreached_2x2(&dx[n, c, 0, 0], H, W, H_out, W_out)


# The average pool's 2x2 stride-2 rows: the general loops' sums in the same order
# (((0 + v0) + v1) + v2) + v3, so the same bits, one vectorized loop per output row.

def _avg_pool_2x2_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out, int num_threads):
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], H_out = out.shape[2], W_out = out.shape[3]
    cdef Py_ssize_t task, n, c, i, j
    cdef floating zero = 0
    cdef floating count = 4
    cdef const floating* r0
    cdef const floating* r1
    cdef floating* o
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            for i in range(H_out):
                r0 = &x[n, c, 2 * i, 0]
                r1 = &x[n, c, 2 * i + 1, 0]
                o = &out[n, c, i, 0]
                for j in range(W_out):
                    o[j] = ((((zero + r0[2 * j]) + r0[2 * j + 1]) + r1[2 * j]) + r1[2 * j + 1]) / count


def _avg_pool_2x2_backward(const floating[:, :, :, ::1] dout, floating[:, :, :, ::1] dx, int num_threads):
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], H_out = dout.shape[2], W_out = dout.shape[3]
    cdef Py_ssize_t H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t task, n, c, i, j
    cdef floating zero = 0
    cdef floating count = 4
    cdef floating share
    cdef const floating* g
    cdef floating* d0
    cdef floating* d1
    with nogil:
        for task in prange(N * C, schedule='static', num_threads=num_threads):
            n = task // C
            c = task % C
            for i in range(H_out):
                g = &dout[n, c, i, 0]
                d0 = &dx[n, c, 2 * i, 0]
                d1 = &dx[n, c, 2 * i + 1, 0]
                for j in range(W_out):
                    share = zero + g[j] / count  # 0 + share, as the general loop's zeroed dx += share
                    d0[2 * j] = share
                    d0[2 * j + 1] = share
                    d1[2 * j] = share
                    d1[2 * j + 1] = share
            _zero_unreached_2x2(&dx[n, c, 0, 0], H, W, H_out, W_out)


def _threads(parallel):
    return cnnkit_max_threads() if parallel else 1


def _is_2x2_stride_2(g):
    return g.HH == 2 and g.WW == 2 and tuple(g.stride) == (2, 2)


def max_pool_forward_cython(x, pool_height, pool_width, stride, parallel=True, first_if_nonpositive=False,
                            zero_if_nonpositive=False):
    """Maximum of every pooling window.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_height, pool_width : int
        Window size HH, WW.
    stride : int or (int, int)
    parallel : bool
        Use the OpenMP threads (one (n, c) plane per task) or only the calling thread.
    first_if_nonpositive : bool
        Where a window's maximum is <= 0 (and the window holds no NaN), give the window's FIRST
        element instead. Then ``np.maximum(out, 0)`` is, bit for bit, the max pool of
        ``np.maximum(x, 0)``: a ReLU before the pool, done on the pool's smaller output, whatever
        sign of zero numpy's ReLU gives (the ReLU'd window is all zeros and its first one wins).
    zero_if_nonpositive : bool
        Where a window's maximum is <= 0 (and no NaN), give +0.0: then ``out`` itself is the max
        pool of ``np.maximum(x, 0)`` wherever that ReLU maps every x <= 0 (-0.0 included) to +0.0,
        as numpy's does on x86-64 (``fast_layers.pool`` checks this once per dtype).

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        In x's float dtype (``_rules.geometry.float_dtype``); NaN where a window holds a NaN.
    """
    x, g = pool_args(x, pool_height, pool_width, stride)
    out = np.empty(g.out_shape, dtype=x.dtype)
    zero_fill = bool(zero_if_nonpositive)
    # -inf: a maximum equal to it is the first element
    floor = 0.0 if (first_if_nonpositive or zero_fill) else -np.inf
    if _is_2x2_stride_2(g):
        _max_pool_2x2_forward(x, out, floor, zero_fill, _threads(parallel))
    else:
        _max_pool_forward(x, out, g.HH, g.WW, g.stride[0], g.stride[1], floor, zero_fill, _threads(parallel))
    return out


def max_pool_backward_cython(x, dout, pool_height, pool_width, stride, parallel=True, positive_only=False):
    """Route each window's ``dout`` to the window's first maximum (row-major order; NaN is a maximum).

    The maxima are found again from x in the same pass that writes dx (one read of x, one write
    of dx per (n, c) plane, while the plane is in cache).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    dout : ndarray, shape (N, C, H_out, W_out)
    pool_height, pool_width : int
    stride : int or (int, int)
    parallel : bool
    positive_only : bool
        Route gradient only to maxima that are > 0. With x the output of a ReLU this is the
        ReLU's backward fused in: the gradient with respect to the ReLU's input, in one pass.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        Zero except at window maxima, which receive the sum of ``dout`` over the windows
        whose maximum they are.
    """
    x, dout, g = max_pool_backward_args(x, dout, pool_height, pool_width, stride)
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=x.dtype)
    if _is_2x2_stride_2(g):
        _max_pool_2x2_backward(x, dout, dx, bool(positive_only), _threads(parallel))
    else:
        _max_pool_backward(x, dout, dx, g.HH, g.WW, g.stride[0], g.stride[1], bool(positive_only),
                           _threads(parallel))
    return dx


def avg_pool_forward_cython(x, pool_height, pool_width, stride, parallel=True):
    """Mean of every pooling window (summed in x's dtype, then divided by HH*WW).

    Parameters and returns as :func:`max_pool_forward_cython`.
    """
    x, g = pool_args(x, pool_height, pool_width, stride)
    out = np.empty(g.out_shape, dtype=x.dtype)
    if _is_2x2_stride_2(g):
        _avg_pool_2x2_forward(x, out, _threads(parallel))
    else:
        _avg_pool_forward(x, out, g.HH, g.WW, g.stride[0], g.stride[1], _threads(parallel))
    return out


def avg_pool_backward_cython(dout, x_shape, pool_height, pool_width, stride, parallel=True):
    """Spread each window's ``dout / (HH*WW)`` over the window's pixels.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    x_shape : tuple of int, (N, C, H, W)
        Shape of the forward input.
    pool_height, pool_width : int
    stride : int or (int, int)
    parallel : bool

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        In dout's float dtype.
    """
    dout, g = avg_pool_backward_args(dout, x_shape, pool_height, pool_width, stride)
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    if _is_2x2_stride_2(g):
        _avg_pool_2x2_backward(dout, dx, _threads(parallel))
    else:
        _avg_pool_backward(dout, dx, g.HH, g.WW, g.stride[0], g.stride[1], _threads(parallel))
    return dx
