"""im2col by fancy indexing, with the CS231n names: ``get_im2col_indices``, ``im2col_indices``,
``col2im_indices``.

Every receptive field of a padded input becomes one column; convolution is then one matrix
product. Here the columns are gathered with three integer index arrays (channel, row, column)
that broadcast against each other: simple and exact, but the gather copies every window
element, so it is slower than the strided view in :mod:`fast_layers.conv`.

Column layout (CS231n's): row ``c * HH * WW + di * WW + dj`` of the column matrix is channel
``c`` at offset ``(di, dj)`` of the window; column ``p * N + n`` is window position ``p`` (in
row-major order over the ``H_out x W_out`` output) of image ``n``.

Notation
--------
N, C, H, W : input batch, channels, height, width
HH, WW : window (field) height and width
H_out, W_out : number of window positions down and across
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["get_im2col_indices", "im2col_indices", "col2im_indices"]


def _check_int(value, name, low):
    if not isinstance(value, (numbers.Integral, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _output_size(size, field, padding, stride, axis):
    span = size + 2 * padding - field
    if span < 0:
        raise ValueError(f"the field {axis} {field} is larger than the padded input {axis} {size + 2 * padding}")
    if span % stride:
        raise ValueError(f"the windows do not tile the padded input: ({axis} {size} + 2 * padding {padding} - "
                         f"field {field}) = {span} is not a multiple of stride {stride}")
    return span // stride + 1


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """Return the index arrays that gather every window of a padded input into columns.

    Parameters
    ----------
    x_shape : tuple of int
        (N, C, H, W) of the (unpadded) input.
    field_height, field_width : int
        HH, WW.
    padding : int
        Zeros added on every side.
    stride : int
        Step between windows (both axes).

    Returns
    -------
    k : ndarray of int, shape (C*HH*WW, 1)
        Channel of each column-matrix row.
    i, j : ndarray of int, shape (C*HH*WW, H_out*W_out)
        Row and column, in the padded input, of each (row, window position).
        ``x_padded[:, k, i, j]`` has shape (N, C*HH*WW, H_out*W_out).
    """
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {tuple(x_shape)}")
    N, C, H, W = (_check_int(v, "each of x_shape", 1) for v in x_shape)
    HH = _check_int(field_height, "field_height", 1)
    WW = _check_int(field_width, "field_width", 1)
    padding = _check_int(padding, "padding", 0)
    stride = _check_int(stride, "stride", 1)
    H_out = _output_size(H, HH, padding, stride, "height")
    W_out = _output_size(W, WW, padding, stride, "width")
    # One row per (c, di, dj), channel slowest; one column per window position (py, px).
    c, di, dj = (a.reshape(-1, 1) for a in np.meshgrid(np.arange(C), np.arange(HH), np.arange(WW), indexing="ij"))
    py, px = (a.reshape(1, -1) for a in np.meshgrid(np.arange(H_out), np.arange(W_out), indexing="ij"))
    return c, di + stride * py, dj + stride * px


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """Gather every window of ``x`` into the columns of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    field_height, field_width, padding, stride : int
        As in :func:`get_im2col_indices`.

    Returns
    -------
    cols : ndarray, shape (C*HH*WW, H_out*W_out*N)
        In the layout of the module docstring; a new array in x's dtype.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"x must be a 4-D ndarray (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, padding, stride)
    p = int(padding)
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant")
    cols = x_padded[:, k, i, j]                       # (N, C*HH*WW, H_out*W_out)
    return cols.transpose(1, 2, 0).reshape(k.shape[0], -1)


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """Scatter-add columns back onto an image: the adjoint (gradient) of :func:`im2col_indices`.

    Where windows overlap, their contributions add up.

    Parameters
    ----------
    cols : ndarray, shape (C*HH*WW, H_out*W_out*N)
    x_shape : tuple of int
        (N, C, H, W) of the image to rebuild.
    field_height, field_width, padding, stride : int

    Returns
    -------
    x : ndarray, shape x_shape
        Padding removed; in the floating dtype of ``cols``.
    """
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, padding, stride)
    N, C, H, W = (int(v) for v in x_shape)
    if not isinstance(cols, np.ndarray) or cols.shape != (k.shape[0], i.shape[1] * N):
        raise ValueError(f"cols must have shape {(k.shape[0], i.shape[1] * N)} for x_shape {tuple(x_shape)} "
                         f"and this field, got {getattr(cols, 'shape', type(cols).__name__)}")
    p = int(padding)
    dtype = np.result_type(cols.dtype, np.float32)
    x_padded = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dtype)
    per_image = cols.reshape(k.shape[0], -1, N).transpose(2, 0, 1)   # (N, C*HH*WW, H_out*W_out)
    np.add.at(x_padded, (slice(None), k, i, j), per_image)
    return x_padded[:, :, p:p + H, p:p + W].copy() if p else x_padded
