"""Argument checks shared by the compiled kernels (im2col_cython.pyx) and their numpy twins.

The compiled loops run without bounds checks, so every public kernel validates its arrays and
sizes here first; the numpy twins call the very same functions, which keeps the two
implementations' rules and error messages identical by construction.

Why here and not in ``fast_layers``: the compiled module imports these checks, and importing
anything from the ``fast_layers`` package runs ``fast_layers/__init__.py``, which imports the
compiled module; ``import im2col_cython`` on its own (as ``.ci/run`` does) would then meet a
half-initialized copy of itself. Kept at level 0, the kernels need nothing but ``_rules``.

Notation
--------
N, C, H, W : image batch, channels, height, width
HH, WW : filter (field) height and width
H_out, W_out : output height and width
"""

from __future__ import annotations

import numpy as np

from .geometry import float_dtype, kernel_geometry, pool_geometry, refuse_subclass

__all__ = [
    "floating_array",
    "output_array",
    "im2col_args",
    "col2im_args",
    "col2im_6d_args",
    "im2col_6d_args",
    "col2im_6d_add_args",
    "pool_args",
    "pool_shape_args",
    "pool_dout_args",
    "max_pool_backward_args",
    "avg_pool_backward_args",
]


def floating_array(a, name, ndim):
    """Return ``a`` as a C-contiguous float32/float64 array, or raise naming what is wrong."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(a).__name__}")
    refuse_subclass(a, name)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=float_dtype(a))


def output_array(out, name, shape, dtype):
    """Check a caller-provided output array: the typed loops write into it without bounds checks."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(out).__name__}")
    refuse_subclass(out, name)
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array")
    return out


def _cols6_shape(g):
    return (g.C, g.HH, g.WW, g.N, g.H_out, g.W_out)


def im2col_args(x, field_height, field_width, padding, stride, dilation):
    """Check ``im2col_cython``'s arguments; return x (contiguous, float) and the geometry."""
    x = floating_array(x, "x", 4)
    g = kernel_geometry(*x.shape, field_height, field_width, padding, stride, dilation)
    return x, g


def col2im_args(cols, N, C, H, W, field_height, field_width, padding, stride, dilation):
    """Check ``col2im_cython``'s arguments; return cols (contiguous, float) and the geometry."""
    cols = floating_array(cols, "cols", 2)
    g = kernel_geometry(N, C, H, W, field_height, field_width, padding, stride, dilation)
    if cols.shape != g.cols_shape:
        raise ValueError(
            f"cols has shape {cols.shape}, but N={g.N}, C={g.C}, H={g.H}, W={g.W} with a "
            f"{g.HH}x{g.WW} field, padding {g.pad}, stride {g.stride}, dilation {g.dilation} "
            f"needs shape {g.cols_shape}"
        )
    return cols, g


def col2im_6d_args(cols, N, C, H, W, HH, WW, pad, stride, dilation):
    """Check ``col2im_6d_cython``'s arguments; return cols (contiguous, float) and the geometry."""
    cols = floating_array(cols, "cols", 6)
    g = kernel_geometry(N, C, H, W, HH, WW, pad, stride, dilation)
    if cols.shape != _cols6_shape(g):
        raise ValueError(
            f"cols has shape {cols.shape}, but N={g.N}, C={g.C}, H={g.H}, W={g.W} with a "
            f"{g.HH}x{g.WW} filter, pad {g.pad}, stride {g.stride}, dilation {g.dilation} "
            f"needs shape {_cols6_shape(g)}"
        )
    return cols, g


def im2col_6d_args(x, field_height, field_width, padding, stride, dilation, out):
    """Check ``im2col_6d_cython``'s arguments; return x, the geometry and the output buffer.

    ``out`` is allocated when None; a caller's buffer must have the exact shape and dtype, be
    writeable and C-contiguous, and must not overlap x (the loop would read what it just wrote).
    """
    x, g = im2col_args(x, field_height, field_width, padding, stride, dilation)
    if out is None:
        return x, g, np.empty(_cols6_shape(g), dtype=x.dtype)
    output_array(out, "out", _cols6_shape(g), x.dtype)
    if np.may_share_memory(out, x):
        raise ValueError("out overlaps x; im2col_6d needs an output buffer separate from its input")
    return x, g, out


def _image_to_add_into(out):
    """Check the type, dtype and ndim of an (N, C, H, W) array a kernel adds into in place."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy ndarray, got {type(out).__name__}")
    refuse_subclass(out, "out")
    if out.dtype not in (np.float32, np.float64):
        raise TypeError(f"out must be float32 or float64, got dtype {out.dtype}")
    if out.ndim != 4:
        raise ValueError(f"out must be 4-D (N, C, H, W), got shape {out.shape}")


def col2im_6d_add_args(cols, out, padding, stride, dilation):
    """Check ``col2im_6d_add_cython``'s arguments; return cols (contiguous, float) and the geometry."""
    _image_to_add_into(out)
    cols = floating_array(cols, "cols", 6)
    if cols.dtype != out.dtype:
        raise TypeError(f"cols has dtype {cols.dtype} but out has dtype {out.dtype}; they must match")
    N, C, H, W = out.shape
    g = kernel_geometry(N, C, H, W, cols.shape[1], cols.shape[2], padding, stride, dilation)
    if cols.shape != _cols6_shape(g):
        raise ValueError(
            f"cols has shape {cols.shape}, but out of shape {out.shape} with a {g.HH}x{g.WW} "
            f"filter, padding {g.pad}, stride {g.stride}, dilation {g.dilation} needs shape {_cols6_shape(g)}"
        )
    output_array(out, "out", out.shape, out.dtype)
    if np.may_share_memory(out, cols):
        raise ValueError("out overlaps cols; col2im_6d_add needs an output buffer separate from its input")
    return cols, g


def pool_shape_args(x_shape, pool_height, pool_width, stride):
    """Check a pooling kernel's input shape (N, C, H, W) and window; return the geometry."""
    if (not isinstance(x_shape, tuple) or len(x_shape) != 4
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in x_shape)):
        raise TypeError(f"x_shape must be a tuple of 4 ints (N, C, H, W), got {x_shape!r}")
    return pool_geometry(x_shape, {"pool_height": pool_height, "pool_width": pool_width, "stride": stride})


def pool_args(x, pool_height, pool_width, stride):
    """Check a pooling kernel's x and window; return x (contiguous, float) and the geometry."""
    x = floating_array(x, "x", 4)
    return x, pool_shape_args(x.shape, pool_height, pool_width, stride)


def pool_dout_args(dout, g, dtype):
    """Check a pooling kernel's dout against the geometry; return it contiguous in ``dtype``.

    ``dtype`` None keeps dout's own float dtype.
    """
    if not isinstance(dout, np.ndarray):
        raise TypeError(f"dout must be a numpy ndarray, got {type(dout).__name__}")
    refuse_subclass(dout, "dout")
    own = float_dtype(dout)  # raises TypeError for complex, object, string, ... dtypes
    if dout.shape != g.out_shape:
        raise ValueError(f"dout must have the pooling output's shape {g.out_shape}, got {dout.shape}")
    return np.ascontiguousarray(dout, dtype=own if dtype is None else dtype)


def max_pool_backward_args(x, dout, pool_height, pool_width, stride):
    """Check ``max_pool_backward_cython``'s arguments; return x, dout (both contiguous, x's dtype) and the geometry."""
    x, g = pool_args(x, pool_height, pool_width, stride)
    return x, pool_dout_args(dout, g, x.dtype), g


def avg_pool_backward_args(dout, x_shape, pool_height, pool_width, stride):
    """Check ``avg_pool_backward_cython``'s arguments; return dout (contiguous, its float dtype) and the geometry."""
    g = pool_shape_args(x_shape, pool_height, pool_width, stride)
    return pool_dout_args(dout, g, None), g
