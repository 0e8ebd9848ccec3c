"""im2col.py: the CS231n index layout checked by hand, im2col against explicit windows, and
col2im as the adjoint of im2col (<im2col(x), c> == <x, col2im(c)>)."""

from __future__ import annotations

import numpy as np
import pytest

from im2col import col2im_indices, get_im2col_indices, im2col_indices

GEOMETRIES = [((2, 3, 5, 5), 3, 3, 1, 1), ((1, 2, 6, 4), 2, 2, 0, 2), ((3, 1, 7, 9), 3, 2, 1, 3),
              ((2, 2, 4, 4), 1, 1, 0, 1)]


def test_index_layout_hand_computed():
    # x (1, 2, 3, 3), 2x2 field, no padding, stride 1: 2x2 window positions.
    k, i, j = get_im2col_indices((1, 2, 3, 3), 2, 2, padding=0, stride=1)
    assert k.shape == (8, 1) and i.shape == j.shape == (8, 4)
    np.testing.assert_array_equal(k.ravel(), [0, 0, 0, 0, 1, 1, 1, 1])
    # Row (c, di, dj) = (0, 1, 0): rows 1 + py, columns 0 + px over positions (0,0) (0,1) (1,0) (1,1).
    np.testing.assert_array_equal(i[2], [1, 1, 2, 2])
    np.testing.assert_array_equal(j[2], [0, 1, 0, 1])


@pytest.mark.parametrize("shape, HH, WW, pad, stride", GEOMETRIES)
def test_im2col_columns_are_the_windows(shape, HH, WW, pad, stride, rng):
    x = rng.standard_normal(shape)
    N, C, H, W = shape
    cols = im2col_indices(x, HH, WW, pad, stride)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    assert cols.shape == (C * HH * WW, H_out * W_out * N)
    for n in range(N):
        for py in range(H_out):
            for px in range(W_out):
                window = xp[n, :, py * stride:py * stride + HH, px * stride:px * stride + WW]
                np.testing.assert_array_equal(cols[:, (py * W_out + px) * N + n], window.ravel())


@pytest.mark.parametrize("shape, HH, WW, pad, stride", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(shape, HH, WW, pad, stride, rng):
    x = rng.standard_normal(shape)
    cols = im2col_indices(x, HH, WW, pad, stride)
    c = rng.standard_normal(cols.shape)
    back = col2im_indices(c, shape, HH, WW, pad, stride)
    assert back.shape == shape
    assert np.sum(cols * c) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_overlapping_windows_add_up_in_col2im():
    ones = np.ones((9, 4))  # 3x3 image, 2x2 field, stride 1: the centre is in all four windows
    back = col2im_indices(ones[:4], (1, 1, 3, 3), 2, 2, padding=0, stride=1)
    np.testing.assert_array_equal(back[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("args, match", [
    (((1, 1, 5, 5), 2, 2, 0, 2), "not a multiple of stride 2"),
    (((1, 1, 2, 2), 5, 1, 0, 1), "larger than the padded input"),
    (((1, 1, 4, 4), 2, 2, -1, 1), "padding must be an int >= 0"),
    (((1, 1, 4), 2, 2, 0, 1), r"\(N, C, H, W\)"),
])
def test_bad_geometry_raises_value_error(args, match):
    with pytest.raises(ValueError, match=match):
        get_im2col_indices(*args)
