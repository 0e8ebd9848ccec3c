"""The shared geometry/validation helper and the errors every conv implementation raises through it."""

from __future__ import annotations

import numpy as np
import pytest

import fast_layers
from layers import conv_backward_naive, conv_forward_naive
from _rules.geometry import as_pair, conv_geometry, float_dtype, pool_geometry

FORWARDS = {
    "naive": conv_forward_naive,
    "im2col": fast_layers.conv_forward_im2col,
    "strides": fast_layers.conv_forward_strides,
    "fast": fast_layers.conv_forward_fast,
}
BACKWARDS = {
    "naive": conv_backward_naive,
    "im2col": fast_layers.conv_backward_im2col,
    "strides": fast_layers.conv_backward_strides,
    "fast": fast_layers.conv_backward_fast,
}


@pytest.mark.parametrize(
    "x_shape,w_shape,cp,expected",
    [
        # (H + 2p - d(K-1) - 1)//s + 1, worked out by hand for each row.
        ((100, 3, 31, 31), (25, 3, 3, 3), {"stride": 2, "pad": 1}, (16, 16)),   # (31+2-2-1)//2+1
        ((1, 1, 6, 6), (1, 1, 3, 3), {"stride": 2, "pad": 0}, (2, 2)),          # (6-3)//2+1, floor
        ((1, 1, 7, 9), (1, 1, 3, 2), {"stride": (1, 3), "pad": (1, 0)}, (7, 3)),  # 7//1+1-1, (9-2)//3+1
        ((1, 1, 9, 9), (1, 1, 3, 3), {"stride": 1, "pad": 0, "dilation": 3}, (3, 3)),  # 9-6-1+1
        ((1, 1, 5, 5), (1, 1, 5, 5), {"stride": 1, "pad": 0}, (1, 1)),
    ],
)
def test_conv_geometry_output_size_worked_by_hand(x_shape, w_shape, cp, expected):
    g = conv_geometry(x_shape, w_shape, cp)
    assert (g.H_out, g.W_out) == expected
    assert g.out_shape == (x_shape[0], w_shape[0]) + expected


def test_as_pair_accepts_ints_pairs_and_numpy_ints():
    assert as_pair(2, "s", 1) == (2, 2)
    assert as_pair((1, 3), "s", 1) == (1, 3)
    assert as_pair([0, 2], "p", 0) == (0, 2)
    assert as_pair(np.int64(4), "s", 1) == (4, 4)


@pytest.mark.parametrize("bad", [1.5, "2", None, (1, 2, 3), (1.0, 2), True, float("nan")])
def test_as_pair_rejects_non_integers_with_type_error(bad):
    with pytest.raises(TypeError, match=r"stride must be a positive int or a pair"):
        as_pair(bad, "stride", 1)


def test_float_dtype_rules():
    assert float_dtype(np.float32, np.float32) == np.float32
    assert float_dtype(np.float32, np.float64) == np.float64
    assert float_dtype(np.float64, np.int64) == np.float64
    assert float_dtype(np.int64) == np.float64
    assert float_dtype(np.uint8, np.float32) == np.float32
    assert float_dtype(np.float16) == np.float32
    with pytest.raises(TypeError, match="complex128"):
        float_dtype(np.complex128)
    with pytest.raises(TypeError, match="object"):
        float_dtype(np.dtype(object))


def _ok():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)


BAD_FORWARD_CASES = [
    # (description, mutate(x, w, b, cp) -> args, exception, message regex)
    ("x 3-D", lambda x, w, b, cp: (x[0], w, b, cp), ValueError, r"x must be 4-D \(N, C, H, W\), got shape \(3, 6, 6\)"),
    ("w 3-D", lambda x, w, b, cp: (x, w[0], b, cp), ValueError, r"w must be 4-D"),
    ("channel mismatch", lambda x, w, b, cp: (x[:, :2], w, b, cp), ValueError, r"x has C=2 .* w expects 3"),
    ("bias length", lambda x, w, b, cp: (x, w, b[:3], cp), ValueError, r"b must have shape \(F,\) = \(4,\).*\(3,\)"),
    ("bias 2-D", lambda x, w, b, cp: (x, w, b[:, None], cp), ValueError, r"b must have shape"),
    ("stride 0", lambda x, w, b, cp: (x, w, b, {"stride": 0, "pad": 1}), ValueError, r"stride'\] must be >= 1.*got 0"),
    ("stride pair 0", lambda x, w, b, cp: (x, w, b, {"stride": (1, 0), "pad": 1}), ValueError, r"stride'\] must be >= 1.*\(1, 0\)"),
    ("pad -1", lambda x, w, b, cp: (x, w, b, {"stride": 1, "pad": -1}), ValueError, r"pad'\] must be >= 0.*-1"),
    ("dilation 0", lambda x, w, b, cp: (x, w, b, {"stride": 1, "pad": 1, "dilation": 0}), ValueError, r"dilation'\] must be >= 1"),
    ("float stride", lambda x, w, b, cp: (x, w, b, {"stride": 1.5, "pad": 1}), TypeError, r"stride'\] must be a positive int.*1.5"),
    ("missing pad", lambda x, w, b, cp: (x, w, b, {"stride": 1}), ValueError, r"missing required key\(s\) \['pad'\]"),
    ("conv_param not dict", lambda x, w, b, cp: (x, w, b, [1, 1]), TypeError, r"conv_param must be a dict"),
    ("empty output", lambda x, w, b, cp: (x, np.zeros((4, 3, 9, 3)), b, {"stride": 1, "pad": 1}), ValueError, r"output would be empty"),
    ("list x", lambda x, w, b, cp: (x.tolist(), w, b, cp), TypeError, r"x must be a numpy ndarray, got list"),
    ("complex w", lambda x, w, b, cp: (x, w.astype(complex), b, cp), TypeError, r"w must have a real numeric dtype.*complex128"),
    ("zero-size x", lambda x, w, b, cp: (x[:0], w, b, cp), ValueError, r"every dimension of x .* >= 1"),
]


@pytest.mark.parametrize("impl", list(FORWARDS))
@pytest.mark.parametrize("case", BAD_FORWARD_CASES, ids=[c[0] for c in BAD_FORWARD_CASES])
def test_every_conv_forward_rejects_bad_input_with_a_message(impl, case):
    _, make, exc, pattern = case
    x, w, b = _ok()
    args = make(x, w, b, {"stride": 1, "pad": 1})
    with pytest.raises(exc, match=pattern):
        FORWARDS[impl](*args)


@pytest.mark.parametrize("impl", list(FORWARDS))
def test_every_conv_backward_rejects_dout_of_wrong_shape(impl):
    x, w, b = _ok()
    out, cache = FORWARDS[impl](x, w, b, {"stride": 1, "pad": 1})
    assert out.shape == (2, 4, 6, 6)
    with pytest.raises(ValueError, match=r"dout has shape \(2, 4, 6\), but the output .* \(2, 4, 6, 6\)"):
        BACKWARDS[impl](out[:, :, :, 0], cache)


def test_pool_geometry_rules():
    g = pool_geometry((2, 3, 32, 32), {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert (g.H_out, g.W_out, g.tiles) == (16, 16, True)
    g = pool_geometry((2, 3, 7, 7), {"pool_height": 3, "pool_width": 3, "stride": 2})
    assert (g.H_out, g.W_out, g.tiles) == (3, 3, False)
    g = pool_geometry((1, 1, 6, 9), {"pool_height": 2, "pool_width": 3, "stride": (2, 3)})
    assert (g.H_out, g.W_out, g.tiles) == (3, 3, True)
    with pytest.raises(ValueError, match=r"pooling window 5x2 is larger than the input 4x4"):
        pool_geometry((1, 1, 4, 4), {"pool_height": 5, "pool_width": 2, "stride": 1})
    with pytest.raises(ValueError, match=r"pool_param is missing required key\(s\) \['stride'\]"):
        pool_geometry((1, 1, 4, 4), {"pool_height": 2, "pool_width": 2})
    with pytest.raises(ValueError, match=r"pool_param\['pool_width'\] must be >= 1, got 0"):
        pool_geometry((1, 1, 4, 4), {"pool_height": 2, "pool_width": 0, "stride": 1})
